"""Rules compute_tangent and compute_train_tangent: tangent bases at the test samples' latents (or, with
``part: train``, every training sample's), streamed chunk by chunk into tangent.zarr (tangent_train.zarr)
or, for large k·d, the latents alone for matrix-free projection."""

import logging
import math

from manifold_xai.jobs import run_job

log = logging.getLogger("manifold_xai")


def main(job):
    from manifold_xai.data.dataset_store import read_rows, store_attrs, test_rows, train_rows
    from manifold_xai.data.torus import TorusRenderer
    from manifold_xai.models.io import load_model
    from manifold_xai.tangent.bases import prepare_decoder
    from manifold_xai.tangent.basis_store import store_options, write_tangent_store
    from manifold_xai.tangent.space import uses_matrix_free

    p = job.params["tangent"]
    if job.params["part"] == "train":
        index = train_rows(job.input.data)
    else:
        index = test_rows(job.input.data, job.params["n_test"])
    latents = read_rows(job.input.data, "latents", index)
    image_shape = tuple(store_attrs(job.input.data)["image_shape"])
    model = load_model(job.input.manifold, job.device)
    source = (
        "exact" if isinstance(model, TorusRenderer) else "vae"
    )  # the renderer's Jacobian is exact
    decoder = prepare_decoder(model)
    matrix_free = uses_matrix_free(p, latents.shape[1], math.prod(image_shape))
    job.metrics = write_tangent_store(
        job.output.store,
        decoder.decode,
        latents,
        index,
        image_shape,
        device=job.device,
        matrix_free=matrix_free,
        attrs={"tangent_source": source},
        **store_options(p),
    )
    degenerate = job.metrics.get("rank_counts", {}).get(0, 0)
    if degenerate:  # e.g. an autoencoder whose ReLUs are all off at E(x)
        log.warning(
            "%d of %d samples have a tangent space of rank 0 (zero decoder Jacobian): their fraction "
            "in tangent space is undefined (NaN) and counted as n_undefined",
            degenerate,
            len(index),
        )


run_job(snakemake, main)
