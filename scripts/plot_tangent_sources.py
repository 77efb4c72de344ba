"""Rule plot_tangent_sources: for one dataset, the mean fraction of each attribution method under each
tangent source, the histogram of principal angles to the dataset's own tangent space and the dimension
of each source's tangent space per image, pooled over seeds."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.evaluation.alignment import bootstrap_ci
    from manifold_xai.figures.style import use_styles
    from manifold_xai.figures.tangent_sources import tangent_sources_figure

    use_styles(job.params["styles"])
    sources, n_resamples = job.params["sources"], job.params["bootstrap_resamples"]
    stores = [xr.open_zarr(p, consolidated=False).load() for p in job.input.stores]
    by_source = {s: [ds for ds in stores if ds.attrs["tangent_source"] == s] for s in sources}
    if not stores:  # a dataset without classifiers: tangent spaces only
        by_source = {}
    methods = [str(m) for m in stores[0]["method_name"].values] if stores else []
    means, baselines = {}, {}
    for source, runs in by_source.items():
        if not runs:
            raise ValueError(f"no alignment store under tangent source {source!r} among the inputs")
        baselines[source] = float(runs[0].attrs["baseline"])
        means[source] = {}
        for method in methods:
            values = np.concatenate(
                [r["fraction"].sel({"method_name": method}).values for r in runs]
            )
            values = values[np.isfinite(values)]
            means[source][method] = (
                float(values.mean()),
                *bootstrap_ci(values, n_resamples=n_resamples, seed=0),
            )
    angle_runs = [xr.open_zarr(p, consolidated=False).load() for p in job.input.angles]
    angles = {  # per image: the mean and the largest principal angle
        str(s): tuple(
            np.concatenate(
                [reduce(a["angle"].sel({"source": s}).values, axis=1) for a in angle_runs]
            )
            for reduce in (np.nanmean, np.nanmax)
        )
        for s in angle_runs[0]["source"].values
    }
    reference = angle_runs[0].attrs["reference"]
    dimensions = {
        reference: (
            np.concatenate([a["reference_rank"].values for a in angle_runs]),
            int(angle_runs[0].attrs["reference_k"]),
        )
    }
    for i, s in enumerate(angle_runs[0]["source"].values):
        dimensions[str(s)] = (
            np.concatenate([a["dimension"].sel({"source": s}).values for a in angle_runs]),
            int(angle_runs[0].attrs["k"][i]),
        )
    seeds = sorted(int(a.attrs["seed"]) for a in angle_runs)
    tangent_sources_figure(
        means,
        baselines,
        angles,
        reference,
        f"{job.wildcards['dataset']}: {job.params['regime']} classifier"
        if job.params["regime"]
        else job.wildcards["dataset"],
        job.output.figure,
        dimensions=dimensions,
        dpi=job.params["dpi"],
        note=f"seeds {seeds}, {angle_runs[0].sizes['sample']} test images each",
    )
    job.metrics = {
        "mean_fraction": {s: {m: v[0] for m, v in ms.items()} for s, ms in means.items()},
        "mean_angle_deg": {s: float(np.nanmean(v[0])) for s, v in angles.items()},
        "largest_angle_deg": {s: float(np.nanmean(v[1])) for s, v in angles.items()},
        "mean_dimension": {s: float(np.nanmean(v[0])) for s, v in dimensions.items()},
    }


run_job(snakemake, main)
