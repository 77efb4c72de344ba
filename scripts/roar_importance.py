"""Rule roar_importance: per-pixel importance maps of the ROAR/ROAD images (the first n training and test
images) for every ROAR method: |attribution| of the standard classifier (its predicted class; the test
images' stored attributions are reused), the tangent space's leverage, the Gaussian-blurred |gradient| and
random scores."""

from manifold_xai.jobs import run_job


def roar_rows(data_path, n_train, n_test) -> "tuple[np.ndarray, np.ndarray]":
    import numpy as np

    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.data.splits import TEST, TRAIN

    split = read_rows(data_path, "split")
    train, test = np.flatnonzero(split == TRAIN)[:n_train], np.flatnonzero(split == TEST)[:n_test]
    return np.concatenate([train, test]), np.r_[
        np.full(len(train), TRAIN), np.full(len(test), TEST)
    ].astype(np.int8)


def leverage(job, rows, image_shape) -> "np.ndarray":
    """Tangent leverage at the rows, 64 at a time (the bases are not stored): the tangent spaces of the
    attribution context (``attribution.context.load_context``), the stores' definition."""
    import numpy as np

    from manifold_xai.attribution.context import load_context
    from manifold_xai.evaluation.roar import tangent_importance
    from manifold_xai.tangent.space import BasisTangentSpace

    context = load_context(
        job.input.manifold, job.input.data, rows, job.params["tangent"], job.device
    )
    parts = []
    for start in range(0, len(rows), 64):
        space = context.tangent_at(np.arange(start, min(len(rows), start + 64)))
        if not isinstance(space, BasisTangentSpace):
            raise ValueError(
                "roar method 'tangent' needs tangent bases, but this dataset's tangent spaces are "
                "projected matrix-free (k·d too large); leave 'tangent' out of roar.methods"
            )
        parts.append(tangent_importance(space.bases(), image_shape))
    return np.concatenate(parts)


def attribution_maps(job, rows, images, methods) -> "dict[str, np.ndarray]":
    """``{method: (n, c, h, w)}`` at ``rows``: the standard classifier's stored test attributions where they
    cover a row (same model, methods and parameters: computed once, as Captum's and Quantus's metric practice asks), the
    rest computed here."""
    import numpy as np

    from manifold_xai.attribution import attribute_each
    from manifold_xai.models.io import load_model
    from manifold_xai.store import open_store

    stored = open_store(job.input.attributions, required=("attribution", "sample_index"))
    position = {int(r): i for i, r in enumerate(np.asarray(stored["sample_index"][...]))}
    stored_methods = list(stored.attrs["methods"])
    have = np.array([int(r) in position for r in rows])
    reuse = [
        m for m in methods if m in stored_methods and stored.attrs["method_params"][m] == methods[m]
    ]
    maps = {m: np.zeros(images.shape, np.float32) for m in methods}
    if have.any():
        at = np.array([position[int(r)] for r in rows[have]])
        for m in reuse:
            maps[m][have] = np.asarray(stored["attribution"].oindex[stored_methods.index(m), at])
    model = load_model(job.input.model, job.device)
    todo = {m: p for m, p in methods.items() if m not in reuse}

    if todo:  # methods not stored: every row
        computed, _ = attribute_each(
            model,
            images,
            todo,
            device=job.device,
            seed=job.seed("roar/attributions"),
            manifold=job.manifold_context(todo, rows),
        )
        maps.update(computed)
    if reuse and not have.all():  # stored methods: the rows the store lacks (the training images)
        again = {m: methods[m] for m in reuse}
        computed, _ = attribute_each(
            model,
            images[~have],
            again,
            device=job.device,
            seed=job.seed("roar/attributions/new_rows"),
            manifold=job.manifold_context(again, rows[~have]),
        )
        for m in reuse:
            maps[m][~have] = computed[m]
    return maps


def main(job):
    import numpy as np
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.evaluation.roar import blurred, pixel_importance, random_importance
    from manifold_xai.store import write_xarray

    p = job.params["roar"]
    rows, split = roar_rows(job.input.data, p["n_train"], p["n_test"])
    images = read_rows(job.input.data, "images", rows)
    image_shape = tuple(store_attrs(job.input.data)["image_shape"])
    attributions = job.params["attributions"]
    wanted = [m for m in p["methods"] if m in attributions]
    if "blurred_gradient" in p["methods"] and "gradient" not in wanted:
        wanted.append("gradient")
    maps = attribution_maps(job, rows, images, {m: attributions[m] for m in wanted})
    importance = {}
    for method in p["methods"]:
        if method == "tangent":
            importance[method] = leverage(job, rows, image_shape)
        elif method == "blurred_gradient":
            importance[method] = blurred(pixel_importance(maps["gradient"]), p["blur_sigma"])
        elif method == "random":
            importance[method] = random_importance(
                (len(rows), *image_shape[1:]), job.seed("roar/random")
            )
        else:
            importance[method] = pixel_importance(maps[method])
    ds = xr.Dataset(
        {
            "importance": (
                ("method_name", "sample", "y", "x"),
                np.stack([importance[m] for m in p["methods"]]).astype(np.float32),
            ),
            "split": (("sample",), split),
            "sample_index": (("sample",), rows),
        },
        coords={"method_name": list(p["methods"])},
        attrs={
            "dataset": job.wildcards["dataset"],
            "seed": int(job.wildcards["seed"]),
            "blur_sigma": p["blur_sigma"],
        },
    )
    write_xarray(ds, job.output.store)
    job.metrics = {
        "n_train": int((split == TRAIN).sum()),
        "n_test": int((split == TEST).sum()),
        "methods": list(p["methods"]),
    }


run_job(snakemake, main)
