"""Rule plot_intrinsic_dimension: the figure of summary/intrinsic_dimension.csv, each estimator's
per-image dimension against the true one across the datasets (``manifold_xai.figures.tangent_sources``)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.figures.style import use_styles
    from manifold_xai.figures.tangent_sources import intrinsic_dimension_figure

    use_styles(job.params["styles"])
    table = pd.read_csv(job.input.table, keep_default_na=False, na_values=[""])
    intrinsic_dimension_figure(table, job.output.figure, dpi=job.params["dpi"])
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
