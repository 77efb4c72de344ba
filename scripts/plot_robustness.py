"""Rule plot_robustness: one dataset's on- and off-manifold robustness (figures.robustness_figure)."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.figures.robustness import robustness_figure

    dataset = job.wildcards["dataset"]
    table = job.dataset_rows(job.input.csv)
    robustness_figure(
        table,
        job.output.figure,
        regimes=job.params["regimes"],
        title=dataset,
        dpi=job.params["dpi"],
    )
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
