"""Rule sanity_checks: model-parameter randomisation of the standard classifier (cascading from the output
layer and one layer at a time, in execution order). For every state and method: Spearman rank correlation
(of |a| and of a) and SSIM with the original attribution, and the randomised attribution's fraction in
tangent space; ``random_tangent`` (a random vector in the tangent space) is the attribution that passes the
manifold criterion and fails this check by construction."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np
    import torch
    import xarray as xr

    from manifold_xai.attribution import attribute_each
    from manifold_xai.attribution.registry import RANDOM_TANGENT
    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.evaluation.sanity import (
        describe_layer,
        parameter_layers,
        random_tangent_attribution,
        randomisation_states,
        spearman,
        ssim,
    )
    from manifold_xai.models.io import load_model
    from manifold_xai.store import open_store, write_xarray
    from manifold_xai.tangent.bases import fraction_in_tangent_space

    p, methods = job.params["sanity"], job.params["attributions"]
    tangent = open_store(job.input.tangent, required=("basis", "rank", "sample_index"))
    n = min(p["n_test"], tangent["basis"].shape[0])
    basis, rank = np.asarray(tangent["basis"][:n], np.float32), np.asarray(tangent["rank"][:n])
    rows = np.asarray(tangent["sample_index"][:n])
    images = read_rows(job.input.data, "images", rows)
    model = load_model(job.input.model, job.device)
    seed = job.seed("sanity/attributions")
    manifold = job.manifold_context(methods, rows)
    original, predicted = attribute_each(
        model, images, methods, device=job.device, seed=seed, manifold=manifold
    )
    random_tangent = random_tangent_attribution(
        basis, rank, job.seed("sanity/random_tangent")
    ).reshape(images.shape)
    original[RANDOM_TANGENT] = random_tangent
    names = list(original)
    layers = parameter_layers(model, torch.from_numpy(images[:2]).to(job.device))
    shape = (len(p["modes"]), len(layers), len(names), n)
    metrics = {
        key: np.full(shape, np.nan) for key in ("spearman_abs", "spearman", "ssim", "fraction")
    }
    for i, mode in enumerate(p["modes"]):
        for j, (_, randomised) in enumerate(
            randomisation_states(model, layers, mode, job.seed(f"sanity/{mode}"))
        ):
            # Explain the original prediction, so that a changed argmax does not change the question.
            maps, _ = attribute_each(
                randomised,
                images,
                methods,
                device=job.device,
                seed=seed,
                targets=predicted,
                manifold=manifold,
            )
            maps[RANDOM_TANGENT] = random_tangent  # independent of the model
            for m, name in enumerate(names):
                a0, a = original[name], maps[name]
                metrics["spearman_abs"][i, j, m] = spearman(np.abs(a0), np.abs(a))
                metrics["spearman"][i, j, m] = spearman(a0, a)
                metrics["ssim"][i, j, m] = ssim(a0, a)
                metrics["fraction"][i, j, m] = fraction_in_tangent_space(basis, a.reshape(n, -1))
    original_fraction = np.stack(
        [fraction_in_tangent_space(basis, original[m].reshape(n, -1)) for m in names]
    )
    dims = ("mode", "layer", "method_name", "sample")
    ds = xr.Dataset(
        {
            **{key: (dims, value) for key, value in metrics.items()},
            "original_fraction": (("method_name", "sample"), original_fraction),
        },
        coords={
            "mode": list(p["modes"]),
            "layer": list(reversed(layers)),
            "layer_description": (
                ("layer",),
                [describe_layer(model.get_submodule(name)) for name in reversed(layers)],
            ),
            "method_name": names,
            "sample": rows,
        },
        attrs={
            "dataset": job.wildcards["dataset"],
            "seed": int(job.wildcards["seed"]),
            "layer_order": "top-down: states randomise from the output layer; cascading keeps earlier states",
            "execution_order": layers,
        },
    )
    write_xarray(ds, job.output.store)
    job.metrics = {
        "layers": layers,
        "n": n,
        "fully_randomised_spearman_abs": {
            m: float(np.nanmean(metrics["spearman_abs"][0, -1, k])) for k, m in enumerate(names)
        },
    }


run_job(snakemake, main)
