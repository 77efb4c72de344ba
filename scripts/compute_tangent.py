"""Rule compute_tangent: orthonormal tangent bases at the test samples' latents, streamed into tangent.zarr."""

from manifold_xai.data.dataset_store import read_dataset
from manifold_xai.jobs import run_job
from manifold_xai.models.io import load_model
from manifold_xai.tangent import write_tangent_store


def main(job):
    p = job.params["tangent"]
    data = read_dataset(job.input.data)
    vae = load_model(job.input.manifold, job.device, expect="burgess_vae")
    index = data.test_index
    job.metrics = write_tangent_store(
        job.output.store, vae.decode, data.latents[index], index, data.images.shape[1:],
        device=job.device, rtol=p["rank_rtol"], batch_size=p["batch_size"], chunk_samples=p["chunk_samples"],
    )  # fmt: skip


run_job(snakemake, main)
