"""Rule plot_fig7: the gradient's fraction in tangent space, standard vs l2-robust classifier, pooled
over seeds, with the per-seed means and test errors in the note."""

from manifold_xai.jobs import run_job


def _gradient(paths):
    import xarray as xr

    runs = [xr.open_zarr(p, consolidated=False).load() for p in paths]
    return runs, [r["fraction"].sel({"method_name": "gradient"}).values for r in runs]


def main(job):
    import numpy as np

    from manifold_xai.figures.alignment import fig7_standard_vs_robust
    from manifold_xai.figures.style import use_styles
    from manifold_xai.store import read_json

    use_styles(job.params["styles"])
    standard_runs, standard = _gradient(job.input.standard)
    _, robust = _gradient(job.input.robust)
    errors = {
        regime: [1 - read_json(p)["test_accuracy"] for p in getattr(job.input, f"{regime}_metrics")]
        for regime in ("standard", "robust")
    }
    seeds = [int(r.attrs["seed"]) for r in standard_runs]
    per_seed = ", ".join(
        f"seed {s}: {np.nanmean(a):.2f} vs {np.nanmean(b):.2f}"
        for s, a, b in zip(seeds, standard, robust, strict=True)
    )
    note = (
        f"mean fraction standard vs robust: {per_seed}\ntest error standard "
        f"{np.mean(errors['standard']):.3f}, robust {np.mean(errors['robust']):.3f}"
    )
    fig7_standard_vs_robust(
        np.concatenate(standard),
        np.concatenate(robust),
        float(standard_runs[0].attrs["baseline"]),
        job.wildcards["dataset"],
        job.output.figure,
        dpi=job.params["dpi"],
        note=note,
    )
    job.metrics = {
        "per_seed": {
            str(s): {"standard": float(np.nanmean(a)), "robust": float(np.nanmean(b))}
            for s, a, b in zip(seeds, standard, robust, strict=True)
        },
        "test_error": {k: float(np.mean(v)) for k, v in errors.items()},
    }


run_job(snakemake, main)
