"""Rule render_manifold (analytic approach): the ellipse renderer saved as the run's manifold model, so that
the tangent rule takes its exact Jacobian like a decoder's. Nothing is trained."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.data.torus import TorusRenderer
    from manifold_xai.models.io import save_model

    p = job.params["renderer"]
    renderer = TorusRenderer(
        size=p["image_size"],
        orbit=p["orbit"],
        axes=p["axes"],
        sharpness=p["sharpness"],
        parameters=p["parameters"],
    )
    save_model(job.output.model, "torus_renderer", renderer.constructor_kwargs(), renderer)
    job.metrics = {"latent_dim": renderer.latent_dim, **renderer.constructor_kwargs()}


run_job(snakemake, main)
