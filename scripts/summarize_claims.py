"""Rule summarize_claims: ``summary/claims.csv``, one row per (claim, dataset) with its statistic, value,
95% interval (across seeds where the dataset has several), the paper's value and a verdict
(``manifold_xai.evaluation.claims``)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.evaluation.claims import claims_table
    from manifold_xai.store import read_json, write_csv

    table = claims_table(
        pd.read_csv(job.input.alignment),
        curves=pd.read_csv(job.input.curves) if "curves" in job.input.keys() else None,
        roar_repeats=pd.read_csv(job.input.roar_repeats)
        if "roar_repeats" in job.input.keys()
        else None,
        theorem1=read_json(job.input.theorem1) if "theorem1" in job.input.keys() else None,
        robustness=pd.read_csv(job.input.robustness) if "robustness" in job.input.keys() else None,
        tangent_fractions=pd.read_csv(job.input.tangent_fractions)
        if "tangent_fractions" in job.input.keys()
        else None,
        models=pd.read_csv(job.input.models) if "models" in job.input.keys() else None,
        counterfactuals=pd.read_csv(job.input.counterfactuals)
        if "counterfactuals" in job.input.keys()
        else None,
    )
    write_csv(job.output.claims, table)
    job.metrics = {"claims": len(table), "verdicts": table["verdict"].value_counts().to_dict()}


run_job(snakemake, main)
