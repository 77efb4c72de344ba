"""Rule upsample_manifold: the base dataset's decoder followed by bilinear upsampling (MNIST256)."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.models.io import load_model, save_model
    from manifold_xai.models.upsampled import UpsampledDecoder

    base = load_model(job.input.base, expect="burgess_vae")
    kwargs = {
        "base_class": "burgess_vae",
        "base_kwargs": base.constructor_kwargs(),
        "image_size": job.params["upsample"]["image_size"],
    }
    model = UpsampledDecoder(**kwargs)
    model.base.load_state_dict(base.state_dict())
    save_model(job.output.model, "upsampled_decoder", kwargs, model)
    job.metrics = {"latent_dim": model.latent_dim, "image_size": kwargs["image_size"]}


run_job(snakemake, main)
