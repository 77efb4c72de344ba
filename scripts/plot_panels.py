"""Rules plot_fig3_all and plot_fig7_all: the paper's multi-dataset Figures 3 and 7, one density panel
per dataset (seeds pooled). ``params.panels``: ``[[dataset, {series: [alignment store, ...]}], ...]``;
``params.method``: the method shown (None: every method, one series each)."""

from manifold_xai.jobs import run_job

SERIES = {
    "standard": ("tab:blue", "Standard gradient"),
    "robust": ("tab:gray", "Robust gradient (l2-PGD)"),
}


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.figures.alignment import density_panels
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    panels, metrics = [], {}
    for dataset, series in job.params["panels"]:
        fractions, baseline, seeds = {}, None, set()
        for name, paths in series.items():
            runs = [xr.open_zarr(p, consolidated=False).load() for p in paths]
            baseline = float(runs[0].attrs["baseline"])
            seeds |= {int(r.attrs["seed"]) for r in runs}
            methods = (
                [job.params["method"]]
                if job.params["method"]
                else [str(m) for m in runs[0]["method_name"].values]
            )
            for m in methods:
                key = name if job.params["method"] else m
                fractions[key] = np.concatenate(
                    [r["fraction"].sel({"method_name": m}).values for r in runs]
                )
        panels.append((f"{dataset} (seeds {sorted(seeds)} pooled)", fractions, baseline))
        metrics[dataset] = {k: float(np.nanmean(v)) for k, v in fractions.items()}
    colors = {k: c for k, (c, _) in SERIES.items()} if job.params["method"] else None
    labels = {k: lab for k, (_, lab) in SERIES.items()} if job.params["method"] else None
    density_panels(
        panels,
        job.output.figure,
        title=job.params["title"],
        dpi=job.params["dpi"],
        colors=colors,
        labels=labels,
    )
    job.metrics = {"mean_fraction": metrics}


run_job(snakemake, main)
