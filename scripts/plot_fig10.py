"""Rule plot_fig10: Figure 10 for one run: random samples of the generated dataset with their labels."""

import numpy as np

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.figures import fig10_samples
from manifold_xai.jobs import run_job


def main(job):
    data = read_dataset(job.input.data)
    rng = np.random.default_rng(job.seed("fig10"))
    idx = np.sort(
        rng.choice(
            len(data.images), size=min(job.params["samples"], len(data.images)), replace=False
        )
    )
    title = (
        f"{job.wildcards['dataset']} seed {job.wildcards['seed']}: generated samples (label above)"
    )
    fig10_samples(
        data.images[idx], data.labels[idx], job.output.figure, title=title, dpi=job.params["dpi"]
    )
    job.metrics = {"samples": len(idx)}


run_job(snakemake, main)
