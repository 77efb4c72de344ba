"""Rule build_explorer: the per-image explorer page and its data folder from every run's stores."""

import logging

from manifold_xai.jobs import run_job

log = logging.getLogger("manifold_xai")


def main(job):
    from manifold_xai.explorer import build_explorer

    metrics = build_explorer(
        job.output.page, job.output.data, job.params["runs"], title=job.params["title"]
    )
    for entry in metrics["missing"]:
        log.warning("explorer: %s (%s) missing: %s", entry["what"], entry["path"], entry["why"])
    job.metrics = metrics


run_job(snakemake, main)
