"""Rule roar_retrain: remove the given fraction of each image's most important pixels under one method,
retrain a fresh classifier on the modified training images ``repeats`` times (distinct seeds), and test
each on the equally modified test images (ROAR). Method ``none`` at fraction 0 is the unmodified baseline."""

from manifold_xai.jobs import run_job


def main(job):
    import torch
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.evaluation.roar import removal_mask, remove, repeat_seeds
    from manifold_xai.models.classifiers import build_classifier
    from manifold_xai.store import write_json
    from manifold_xai.training.inference import accuracy, predict_logits
    from manifold_xai.training.loops import train_classifier

    p, clf = job.params["roar"], job.params["classifier"]
    method, fraction = job.wildcards["method"], float(job.wildcards["fraction"])
    ds = xr.open_zarr(job.input.importance, consolidated=False)
    rows, split = ds["sample_index"].values, ds["split"].values
    images = read_rows(job.input.data, "images", rows)
    labels = read_rows(job.input.data, "labels", rows)
    if method != "none":
        importance = ds["importance"].sel({"method_name": method}).values
        mask = removal_mask(
            importance, fraction, seed=job.seed(f"roar/mask/{method}/{fraction}"), order=p["order"]
        )
        fill = images[split == TRAIN].mean(axis=(0, 2, 3)) if p["fill"] == "mean" else 0.0
        images = remove(images, mask, fill)
    train_x, train_y = images[split == TRAIN], labels[split == TRAIN]
    test_x, test_y = images[split == TEST], labels[split == TEST]
    kwargs = {
        "channels": images.shape[1],
        "image_size": images.shape[-1],
        "n_classes": int(store_attrs(job.input.data)["n_classes"]),
    }
    if clf["arch"] in ("simplenet", "vgg16"):
        kwargs["width"] = clf["width"]
    accuracies, train_accuracies, seeds = (
        [],
        [],
        repeat_seeds(job.seed, method, fraction, p["repeats"]),
    )
    for (
        seed
    ) in seeds:  # each repeat: a fresh classifier with its own initialisation and batch order
        torch.manual_seed(seed)
        model = build_classifier(clf["arch"], **kwargs)
        history = train_classifier(
            model,
            train_x,
            train_y,
            epochs=p["epochs"],
            lr=p["lr"],
            batch_size=p["batch_size"],
            lr_step_epochs=p["lr_step_epochs"],
            lr_gamma=p["lr_gamma"],
            generator=torch.Generator().manual_seed(seed),
            device=job.device,
        )
        accuracies.append(accuracy(predict_logits(model, test_x, job.device), test_y))
        train_accuracies.append(history[-1]["train_accuracy"])
    job.metrics = {
        "dataset": job.wildcards["dataset"],
        "seed": int(job.wildcards["seed"]),
        "method": method,
        "fraction": fraction,
        "accuracies": accuracies,
        "train_accuracies": train_accuracies,
        "repeat_seeds": seeds,
        "removed_pixels_per_image": int(round(fraction * images.shape[2] * images.shape[3])),
        "n_train": len(train_x),
        "n_test": len(test_x),
        "fill": p["fill"],
        "order": p["order"],
    }
    write_json(job.output.result, job.metrics)


run_job(snakemake, main)
