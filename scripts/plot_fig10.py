"""Rule plot_fig10: Figure 10 for one run: random samples of the generated dataset with their labels."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.figures.dataset import fig10_samples
    from manifold_xai.figures.style import use_styles

    use_styles(job.params["styles"])
    n = len(read_rows(job.input.data, "split"))
    rng = np.random.default_rng(job.stage_seed("fig10"))
    idx = np.sort(rng.choice(n, size=min(job.params["samples"], n), replace=False))
    images, labels = (
        read_rows(job.input.data, "images", idx),
        read_rows(job.input.data, "labels", idx),
    )
    kind = {
        "reconstructive": "autoencoder reconstructions",
        "analytic": "rendered images of the known manifold",
        "upsampled": "upsampled generated samples",
    }.get(store_attrs(job.input.data).get("approach"), "generated samples")
    title = (
        f"Figure 10: {job.wildcards['dataset']} seed {job.wildcards['seed']}, {kind} (label above)"
    )
    fig10_samples(images, labels, job.output.figure, title=title, dpi=job.params["dpi"])
    job.metrics = {"samples": len(idx)}


run_job(snakemake, main)
