"""Rule compute_tangent_source: a second tangent store at the same test points as ``tangent.zarr``, from
another source of the registry (``manifold_xai.tangent.registry``: ``vae``, a β-TCVAE trained on an
analytic dataset's images; ``local_pca``, PCA of the differences to the nearest training images;
``denoiser``, a denoiser's Jacobian; ``flipd``, the denoiser's store with FLIPD's dimension)."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.data.dataset_store import test_rows
    from manifold_xai.tangent.registry import SOURCES

    source = SOURCES[job.wildcards["source"]]
    job.metrics = source.write(
        job.output.store,
        data=job.input.data,
        model=job.input.get("model"),
        index=test_rows(job.input.data, job.params["n_test"]),
        settings=job.params["settings"],
        device=job.device,
        reads=job.input.get("reads"),
    )


run_job(snakemake, main)
