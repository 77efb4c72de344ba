"""Rule train_classifier: train a classifier on the generated training set in one regime
(standard, adversarial, random_labels, or adversarial_normal / adversarial_tangent: the adversarial
attack confined to each training image's normal / tangent space, read from tangent_train.zarr), saving
checkpoints on the tracking schedule."""

from manifold_xai.jobs import run_job


def main(job):
    import torch

    from manifold_xai.data.dataset_store import read_dataset, train_rows
    from manifold_xai.data.splits import TEST, TRAIN
    from manifold_xai.models.classifiers import build_classifier, load_pretrained
    from manifold_xai.models.io import save_model
    from manifold_xai.store import write_json
    from manifold_xai.tangent.basis_store import stored_bases
    from manifold_xai.training.checkpoints import checkpoint_directory
    from manifold_xai.training.inference import accuracy, predict_logits
    from manifold_xai.training.loops import random_label_set, train_adversarial, train_classifier
    from manifold_xai.training.tracking import steps_per_epoch, tracking_steps

    p, regime = job.params["classifier"], job.wildcards["regime"]
    data = read_dataset(job.input.data)
    train_x, train_y, _ = data.part(TRAIN)
    test_x, test_y, _ = data.part(TEST)
    kwargs = {
        "channels": train_x.shape[1],
        "image_size": train_x.shape[-1],
        "n_classes": data.attrs["n_classes"],
    }
    if p["arch"] in ("simplenet", "vgg16"):
        kwargs["width"] = p["width"]
    part = p.get("part")  # a directed regime: "normal" or "tangent"
    bases = None
    if part is not None:
        r = p["adversarial"]  # the adversarial block's attack, confined to one subspace
        bases = torch.from_numpy(stored_bases(job.input.train_tangent, train_rows(job.input.data)))
    else:
        r = p.get(regime, p)  # the regime's own block (adversarial, random_labels) or the shared
    if regime == "random_labels":
        kwargs["dropout"] = False  # the paper's MNIST32OverfitModel
        train_x, train_y = random_label_set(
            train_x, train_y, r["n_train"], job.seed("random_labels/permutation")
        )
    seed = job.seed(f"classifier/{regime}")
    generator = torch.Generator().manual_seed(seed)
    model = build_classifier(p["arch"], **kwargs)
    if p["pretrained"]:
        load_pretrained(model, p["arch"])
    max_steps = r["epochs"] * steps_per_epoch(len(train_x), r["batch_size"])
    schedule = tracking_steps(max_steps, p["checkpoints"])
    # Killed mid-training, the job resumes from the end of its last epoch (state beside the outputs).
    resume = job.training_state()
    common = {
        "epochs": r["epochs"],
        "lr": r["lr"],
        "batch_size": r["batch_size"],
        "lr_gamma": r["lr_gamma"],
        "generator": generator,
        "device": job.device,
        "resume": resume,
    }
    with checkpoint_directory(
        job.output.checkpoints,
        p["arch"],
        kwargs,
        schedule,
        resume=resume,
    ) as checkpoints:
        if regime == "adversarial" or part is not None:
            history = train_adversarial(
                model,
                train_x,
                train_y,
                milestones=r["milestones"],
                epsilons=r["epsilons"],
                steps=r["steps"],
                projection=r["projection"],
                on_step=checkpoints,
                bases=bases,
                part=part,
                **common,
            )
        else:
            history = train_classifier(
                model,
                train_x,
                train_y,
                lr_step_epochs=r["lr_step_epochs"],
                lr_schedule=r.get("lr_schedule", "step"),
                target_train_accuracy=r.get("target_train_accuracy"),
                on_step=checkpoints,
                **common,
            )
        checkpoints.final(history[-1]["step"], history[-1]["epoch"], model)
    save_model(job.output.model, p["arch"], kwargs, model)
    job.metrics = {
        "regime": regime,
        "test_accuracy": accuracy(predict_logits(model, test_x, job.device), test_y),
        "train_accuracy": accuracy(predict_logits(model, train_x, job.device), train_y),
        "epochs_trained": len(history),
        "steps_trained": history[-1]["step"],
        "checkpoints": len(checkpoints.saved),
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})
    resume.clear()


run_job(snakemake, main)
