"""Rule train_denoiser: the noise-conditional denoiser of the ``denoiser`` tangent source, trained on the
run's training images (``manifold_xai.training.denoising``); its held-out error is measured on the test
images the tangent spaces are computed at. Killed mid-training, it resumes from its last saved epoch."""

import math

from manifold_xai.jobs import run_job


def main(job):
    import torch

    from manifold_xai.data.dataset_store import read_dataset, test_rows
    from manifold_xai.data.splits import TRAIN
    from manifold_xai.models.denoiser import Denoiser
    from manifold_xai.models.io import save_model
    from manifold_xai.store import write_json
    from manifold_xai.training.denoising import train_denoiser

    p = job.params["denoiser"]
    dataset = read_dataset(job.input.data)
    images, _, _ = dataset.part(TRAIN)
    held_out = dataset.images[test_rows(job.input.data, job.params["n_test"])]
    generator = torch.Generator().manual_seed(job.seed("denoiser"))
    model = Denoiser(images.shape[1], list(images.shape[-2:]), p["width"])
    resume = job.training_state()
    history = train_denoiser(
        model,
        images,
        epochs=p["epochs"],
        lr=p["lr"],
        batch_size=p["batch_size"],
        sigma_min=p["sigma_min"],
        sigma_max=p["sigma_max"],
        sigma_eval=math.sqrt(p["sigma_min"] * p["sigma_max"]),
        held_out=held_out,
        generator=generator,
        device=job.device,
        resume=resume,
    )
    save_model(job.output.model, "denoiser", model.constructor_kwargs(), model)
    job.metrics = {
        "final": history[-1],
        "heldout_error_untrained": history[0]["heldout_error"],
        "n_train": len(images),
        "n_held_out": len(held_out),
    }
    write_json(job.output.metrics, {"history": history, **job.metrics})
    resume.clear()


run_job(snakemake, main)
