"""Rule compare_paper: every number of docs/paper.md §15 the run measures beside the paper's value, in
summary/paper_comparison.csv (``manifold_xai.evaluation.paper_comparison``)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.evaluation.paper_comparison import comparison
    from manifold_xai.store import write_csv

    table = comparison(
        pd.read_csv(job.input.alignment),
        pd.read_csv(job.input.models),
        pd.read_csv(job.input.claims, keep_default_na=False, na_values=[""]),
        job.params["paper_datasets"],
    )
    write_csv(job.output.csv, table)
    job.metrics = {"rows": len(table), "inside": table["inside"].value_counts().to_dict()}


run_job(snakemake, main)
