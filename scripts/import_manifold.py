"""Rule import_manifold: a researcher's own decoder and encoder (``manifold: {model: external}``),
checked on the source images (decode maps ``(b, latent_dim)`` latents to images of their shape, encode
back) and written as the run's manifold model; nothing is trained."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.attribution.plugins import files_of
    from manifold_xai.data.dataset_store import read_dataset
    from manifold_xai.data.splits import TEST
    from manifold_xai.models.external import import_external
    from manifold_xai.models.io import save_payload
    from manifold_xai.store import sha256_path, write_json
    from manifold_xai.training.inference import reconstruct

    spec = job.params["manifold"]
    source = read_dataset(job.input.source)
    test_x, _, _ = source.part(TEST)
    payload, model = import_external(
        spec, "manifold", test_x, latent_dim=spec["latent_dim"], encoder=True
    )
    _, reconstructions = reconstruct(model.to(job.device), test_x, job.device)
    job.metrics = {
        "model": "external",
        "trained": False,
        "latent_dim": spec["latent_dim"],
        "files": {path: sha256_path(path) for path in files_of(spec)},
        "test_reconstruction_l1": float(np.abs(reconstructions - test_x).mean()),
    }
    save_payload(job.output.model, payload)
    write_json(job.output.metrics, job.metrics)


run_job(snakemake, main)
