"""Rule evaluate_robustness: on- and off-manifold robustness of one run's classifier at every saved
checkpoint, on the first n test images and their tangent spaces (tangent.zarr)."""

import logging

from manifold_xai.jobs import run_job

log = logging.getLogger("manifold_xai")


def main(job):
    import numpy as np

    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TEST
    from manifold_xai.evaluation.alignment import first_n_space
    from manifold_xai.evaluation.robustness import (
        manifold_robustness,
        noise_directions,
        robustness_dataset,
    )
    from manifold_xai.store import open_store, write_xarray
    from manifold_xai.training.checkpoints import load_checkpoint, read_index

    p, regime = job.params["robustness"], job.wildcards["regime"]
    test_x, _, _ = read_dataset(job.input.data).part(TEST)
    n = min(p["n_test"], open_store(job.input.tangent)["sample_index"].shape[0], len(test_x))
    space = first_n_space(job.input.tangent, n, manifold=job.input.manifold, device=job.device)
    index = read_index(job.input.checkpoints)
    seed = job.seed(f"robustness/{job.wildcards['dataset']}")  # the same noise for every regime
    # once per run: the directions do not depend on the model
    directions = noise_directions(space, n, p["draws"], seed)
    per_step = {}
    for step in index["steps"]:
        model = load_checkpoint(job.input.checkpoints, index, step, job.device)
        per_step[step] = manifold_robustness(
            model, test_x[:n], directions, norms=p["norms"], device=job.device
        )
        change = np.nanmean(per_step[step]["logit_change"], axis=-1).round(4)
        log.info("step %d: |Δ logit| on %s off %s", step, change[:, 0], change[:, 1])
    ds = robustness_dataset(
        per_step,
        p["norms"],
        {
            "dataset": job.wildcards["dataset"],
            "seed": int(job.wildcards["seed"]),
            "regime": regime,
            "draws": p["draws"],
            "target": "predicted class (clean image)",
        },
    )
    write_xarray(ds, job.output.store)
    last = ds.isel(step=-1)["logit_change"].mean("sample")
    job.metrics = {
        "steps": len(index["steps"]),
        "n": n,
        "final_logit_change": {
            d: [round(float(v), 5) for v in last.sel(direction=d).values] for d in ("on", "off")
        },
    }


run_job(snakemake, main)
