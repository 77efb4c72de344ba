"""Rule compute_attributions: every configured method on the test samples, stored in attributions/{regime}.zarr."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.attribution import attribute_each
    from manifold_xai.data.dataset_store import read_rows, test_rows
    from manifold_xai.models.io import load_model
    from manifold_xai.store import atomic_path, create_store, write_array, write_labels

    methods = job.params["attributions"]
    index = test_rows(job.input.data, job.params["n_test"])
    images = read_rows(job.input.data, "images", index)
    model = load_model(job.input.model, job.device)
    seed = job.seed(f"attributions/{job.wildcards['regime']}")
    manifold = job.manifold_context(methods, index)
    # One pass per method so each method gets its own batch size; the predicted class is the same.
    results, predicted = attribute_each(
        model, images, methods, device=job.device, seed=seed, manifold=manifold
    )
    with atomic_path(job.output.store) as tmp:
        group = create_store(
            tmp,
            {"methods": list(methods), "method_params": methods, "target": "predicted class logit"},
        )
        stacked = np.stack([results[name] for name in methods])
        write_array(
            group,
            "attribution",
            stacked,
            ("method_name", "sample", "channel", "y", "x"),
            chunks=(len(methods), min(256, len(images)), *images.shape[1:]),
        )
        write_labels(group, "method_name", methods)
        write_array(group, "predicted", predicted, ("sample",))
        write_array(group, "sample_index", index, ("sample",))
    job.metrics = {"n": len(images), "methods": list(methods)}


run_job(snakemake, main)
