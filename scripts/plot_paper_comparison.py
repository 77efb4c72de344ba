"""Rule plot_paper_comparison: the figure of summary/paper_comparison.csv, our interval beside the
paper's value (``manifold_xai.figures.claims``)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.figures.claims import paper_comparison_figure

    table = pd.read_csv(job.input.table, keep_default_na=False, na_values=[""])
    paper_comparison_figure(table, job.output.figure, dpi=job.params["dpi"])


run_job(snakemake, main)
