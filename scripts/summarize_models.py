"""Rule summarize_models: how well every run's models were trained (labeller accuracy on held-out real
digits and on their reconstructions, each classifier's test error), across seeds and beside the paper's
values, in summary/models.csv (``manifold_xai.evaluation.paper_comparison``)."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.evaluation.paper_comparison import model_quality
    from manifold_xai.store import read_json, write_csv

    labellers = {
        tuple(run): read_json(path)
        for path, run in zip(job.input.labellers, job.params["labeller_runs"], strict=True)
    }
    classifiers = {
        tuple(run): read_json(path)
        for path, run in zip(job.input.classifiers, job.params["runs"], strict=True)
    }
    table = model_quality(labellers, classifiers, set(job.params["paper_datasets"]))
    write_csv(job.output.csv, table)
    job.metrics = {"rows": len(table), "reached": table["reached"].value_counts().to_dict()}


run_job(snakemake, main)
