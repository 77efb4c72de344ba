"""Rule evaluate_checkpoints: the training curve of one run, from its saved checkpoints (no retraining):
fraction in tangent space of the tracked attributions on the first n test images, train and test error."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.evaluation.alignment import first_n_fractions
    from manifold_xai.evaluation.curves import evaluate_checkpoints
    from manifold_xai.store import open_store, write_xarray
    from manifold_xai.training.loops import random_label_set

    curves, regime = job.params["curves"], job.wildcards["regime"]
    data = read_dataset(job.input.data)
    train_x, train_y, _ = data.part(TRAIN)
    test_x, test_y, _ = data.part(TEST)
    if regime == "random_labels":  # the train error on the labels the model was trained on
        n_train = job.params["random_labels_n_train"]
        train_x, train_y = random_label_set(
            train_x, train_y, n_train, job.seed("random_labels/permutation")
        )
    n_train_error = curves["n_train_error"]
    n = min(curves["n_test"], len(test_x))
    tangent = open_store(job.input.tangent)
    fractions = first_n_fractions(
        job.input.tangent, n, manifold=job.input.get("manifold"), device=job.device
    )
    methods = {m: job.params["attributions"][m] for m in curves["methods"]}
    ds = evaluate_checkpoints(
        job.input.checkpoints,
        images=test_x[:n],
        fractions=fractions,
        methods=methods,
        manifold=job.manifold_context(methods, data.test_index[:n]),
        train=(train_x[:n_train_error], train_y[:n_train_error]),
        test=(test_x, test_y),
        k=int(tangent.attrs["k"]),
        seed=job.seed(f"curves/{regime}"),
        device=job.device,
    )
    ds.attrs.update(
        {"dataset": job.wildcards["dataset"], "seed": int(job.wildcards["seed"]), "regime": regime}
    )
    write_xarray(ds, job.output.store)
    job.metrics = {
        "steps": ds.sizes["step"],
        "n": n,
        "final_mean_fraction": {
            m: float(ds["fraction"].sel({"method_name": m})[-1].mean()) for m in curves["methods"]
        },
        "final_test_error": float(ds["test_error"][-1]),
    }


run_job(snakemake, main)
