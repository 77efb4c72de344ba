"""Rule evaluate_counterfactuals: walks from the first n test images along each walked method's
attribution (tangent part, orthogonal part, whole map, random tangent direction), projected back onto
the dataset's own manifold after every step, until the classifier's label flips
(``manifold_xai.evaluation.counterfactuals``); one store per run."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import torch

    from manifold_xai.data.dataset_store import read_rows, store_attrs, test_rows
    from manifold_xai.data.torus import label_params
    from manifold_xai.evaluation.alignment import first_n_space
    from manifold_xai.evaluation.counterfactuals import (
        DIRECTIONS,
        labeller_flips,
        split_walk,
        walk,
        walk_directions,
        walks_dataset,
    )
    from manifold_xai.models.io import load_model
    from manifold_xai.store import open_store, write_xarray
    from manifold_xai.tangent.bases import prepare_decoder

    p, regime = job.params["counterfactuals"], job.wildcards["regime"]
    attributions = open_store(job.input.attributions, required=("attribution",))
    methods = list(attributions.attrs["methods"])
    missing = [m for m in p["methods"] if m not in methods]
    if missing:
        raise ValueError(f"{job.input.attributions}: no attributions for {missing}")
    n = min(p["n_test"], attributions["attribution"].shape[1])
    index = test_rows(job.input.data, n)
    latents = read_rows(job.input.data, "latents", index)
    attrs = store_attrs(job.input.data)
    image_shape = tuple(attrs["image_shape"])
    space = first_n_space(job.input.tangent, n, manifold=job.input.manifold, device=job.device)
    decoder = prepare_decoder(load_model(job.input.manifold, job.device))
    classifier = load_model(job.input.model, job.device).eval()

    def classify(images):
        with torch.no_grad():
            return classifier(images.reshape(-1, *image_shape).to(job.device)).argmax(1).cpu()

    label = None  # the ground truth's labelling: the labeller network, or the renderer's sectors
    if "labeller" in job.input.keys():
        labeller = load_model(job.input.labeller, job.device).eval()

        def label(images, _latents):
            with torch.no_grad():
                x = torch.from_numpy(images.reshape(-1, *image_shape)).to(job.device)
                return labeller(x).argmax(1).cpu().numpy()
    elif attrs.get("approach") == "analytic":

        def label(_images, latents):
            return label_params(latents, int(attrs["n_classes"]))

    seed = job.stage_seed("counterfactuals/random_tangent")  # the same for every regime and method
    walks = {}
    for method in p["methods"]:
        attribution = np.asarray(attributions["attribution"][methods.index(method), :n])
        directions = walk_directions(space, attribution.reshape(n, -1), seed)
        # the four directions' walks as one batch: one decoder pass per step for all of them
        together = walk(
            classify,
            decoder.decode,
            np.tile(latents, (len(directions), 1)),
            np.concatenate(list(directions.values())),
            step=p["step"],
            max_steps=p["max_steps"],
            iterations=p["projection_iterations"],
            keep=len(directions) * n if p["strip_examples"] else 0,
        )
        for i, direction in enumerate(directions):
            result = split_walk(together, i, n, p["strip_examples"])
            result["labeller_flipped"] = labeller_flips(
                label,
                result["start"],
                result["end"],
                latents,
                result["latent_end"],
                result["flipped"],
            )
            walks[(method, direction)] = result
    ds = walks_dataset(
        walks,
        {
            "dataset": job.wildcards["dataset"],
            "seed": int(job.wildcards["seed"]),
            "regime": regime,
            "step": p["step"],
            "max_steps": p["max_steps"],
            "projection_iterations": p["projection_iterations"],
            "labeller": "none" if label is None else "labeller network or label function",
        },
        image_shape,
    )
    write_xarray(ds, job.output.store)
    job.metrics = {
        "n": n,
        "flip_rate": {
            f"{m}/{d}": float(np.isfinite(walks[(m, d)]["steps"]).mean())
            for m in p["methods"]
            for d in DIRECTIONS
        },
    }


run_job(snakemake, main)
