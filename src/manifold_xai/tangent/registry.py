"""The tangent sources, registered in one place (docs/extending.md).

A tangent source computes, at the test images of a run, the tangent space the fractions are measured
in, and writes it in the layout of ``tangent.zarr`` (``tangent.basis_store.write_basis_store``), so that
``tangent.space.open_tangent_space``, the alignment, the principal angles and the figures need nothing
new. The dataset's own source (``exact`` for an analytic dataset, ``vae`` otherwise) is written by rule
``compute_tangent``; every other listed source by rule ``compute_tangent_source`` through ``write``.

Adding a source: one ``TangentSource`` entry here (its writer, the config slice it depends on, its
label and colour) and its settings block under ``tangent_sources`` in the config schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from manifold_xai.data.dataset_store import read_rows, store_attrs
from manifold_xai.data.splits import TRAIN


@dataclass(frozen=True)
class TangentSource:
    """``write(path, *, data, model, index, settings, device, reads) -> metrics`` writes the source's
    tangent store at the test ``index`` rows of ``data`` (``model``: the trained model file
    ``{run}/{model}/model.pt`` when ``model`` names one, else None; ``reads``: the tangent store of the
    source named by ``reads`` when the source derives from one, else None); ``settings(config,
    dataset)`` is the slice of the validated config the job depends on (and nothing else, so that a
    local-PCA change re-runs only the local-PCA jobs)."""

    label: str
    colour: str
    model: str | None = None
    reads: str | None = None
    write: Callable[..., dict] | None = (
        None  # None: only the dataset's own source (compute_tangent)
    )
    settings: Callable[[dict, str], dict] | None = None


def _write_vae(path, *, data, model, index, settings, device, reads=None) -> dict:
    """A β-TCVAE trained on the dataset's images, its decoder's tangent spaces at the encoder mean."""
    from manifold_xai.models.io import load_model
    from manifold_xai.tangent.bases import prepare_decoder
    from manifold_xai.tangent.basis_store import store_options, write_tangent_store
    from manifold_xai.training.inference import reconstruct

    images = read_rows(data, "images", index)
    vae = load_model(model, device, expect="burgess_vae")
    latents, _ = reconstruct(vae, images, device)
    options = {**store_options(settings["tangent"]), "storage_dtype": "float32"}  # as the others
    return write_tangent_store(
        path,
        prepare_decoder(vae).decode,
        latents,
        index,
        tuple(store_attrs(data)["image_shape"]),
        device=device,
        attrs={"tangent_source": "vae"},
        **options,
    )


def _write_local_pca(path, *, data, model, index, settings, device, reads=None) -> dict:
    """PCA of the differences to the nearest training images (no generative model)."""
    from manifold_xai.tangent.sources import local_pca_store

    images = read_rows(data, "images", index)
    split = read_rows(data, "split")
    reference = read_rows(data, "images", np.flatnonzero(split == TRAIN))
    return local_pca_store(
        path,
        images.reshape(len(images), -1),
        reference.reshape(len(reference), -1),
        index,
        tuple(store_attrs(data)["image_shape"]),
        k=settings["k"],
        neighbours=settings["neighbours"],
        batch_size=settings["batch_size"],
    )


def _local_pca_settings(config: dict, dataset: str) -> dict:
    from manifold_xai.config_facts import local_pca_k

    p = config["datasets"][dataset]["tangent_sources"]["local_pca"]
    return {
        "k": local_pca_k(config, dataset),
        "neighbours": p["neighbours"],
        "batch_size": p["batch_size"],
    }


DENOISER_TRAINING_KEYS = ("width", "epochs", "lr", "batch_size", "sigma_min", "sigma_max")


def _write_denoiser(path, *, data, model, index, settings, device, reads=None) -> dict:
    """The leading singular directions of a trained denoiser's Jacobian at noise level ``sigma``, k per
    image from the spectrum (``tangent.denoiser``); also its held-out denoising error at ``sigma``."""
    from manifold_xai.models.io import load_model
    from manifold_xai.tangent.denoiser import denoiser_store
    from manifold_xai.training.denoising import denoising_error

    images = read_rows(data, "images", index)
    denoiser = load_model(model, device, expect="denoiser")
    p = settings
    metrics = denoiser_store(
        path,
        denoiser,
        images,
        index,
        tuple(store_attrs(data)["image_shape"]),
        sigma=p["sigma"],
        max_k=p["max_k"],
        k=p["k"],
        rule=p["k_rule"],
        threshold=p["threshold"],
        min_ratio=p["min_ratio"],
        oversample=p["oversample"],
        power_iterations=p["power_iterations"],
        trace_probes=p["trace_probes"],
        images_per_batch=p["images_per_batch"],
        device=device,
    )
    error = denoising_error(denoiser, images, p["sigma"], seed=0, device=device)
    return {**metrics, "denoising_error_at_sigma": error}


def _denoiser_settings(config: dict, dataset: str) -> dict:
    """The tangent-store keys of the ``denoiser`` block (the training keys reach ``train_denoiser``)."""
    p = config["datasets"][dataset]["tangent_sources"]["denoiser"]
    return {key: value for key, value in p.items() if key not in DENOISER_TRAINING_KEYS}


def denoiser_training(config: dict, dataset: str) -> dict:
    """The training keys of the ``denoiser`` block (rule ``train_denoiser``)."""
    p = config["datasets"][dataset]["tangent_sources"]["denoiser"]
    return {key: p[key] for key in DENOISER_TRAINING_KEYS}


def _write_flipd(path, *, data, model, index, settings, device, reads=None) -> dict:
    """The denoiser's singular vectors with the dimension read from its FLIPD estimate (computed with
    the denoiser's store: ``tangent.denoiser``), so that no Jacobian is taken twice."""
    from manifold_xai.tangent.denoiser import rederive_store

    return rederive_store(reads, path, rule="flipd", source="flipd", sample_index=index)


def _write_denoiser_mle(path, *, data, model, index, settings, device, reads=None) -> dict:
    """The denoiser's singular vectors with the dimension of each test image from the Levina–Bickel
    estimate (its ``neighbours`` nearest training images; no model), read from the denoiser's store:
    a decoder-free source whose k comes from the data's distances and whose directions come from the
    denoiser (docs/intrinsic-dimension.md)."""
    from manifold_xai.tangent.denoiser import rederive_store
    from manifold_xai.tangent.dimension import levina_bickel

    test = read_rows(data, "images", index)
    train = read_rows(data, "images", np.flatnonzero(read_rows(data, "split") == TRAIN))
    estimate = levina_bickel(
        test.reshape(len(test), -1), train.reshape(len(train), -1), settings["neighbours"]
    )
    return rederive_store(
        reads,
        path,
        rule="levina_bickel",
        source="denoiser_mle",
        sample_index=index,
        estimate=estimate,
    )


SOURCES: dict[str, TangentSource] = {
    "exact": TangentSource("exact (renderer)", "black"),
    "vae": TangentSource(
        "VAE decoder",
        "tab:purple",
        model="vae",
        write=_write_vae,
        settings=lambda config, dataset: {"tangent": config["datasets"][dataset]["tangent"]},
    ),
    "local_pca": TangentSource(
        "local PCA", "tab:olive", write=_write_local_pca, settings=_local_pca_settings
    ),
    "denoiser": TangentSource(
        "denoiser Jacobian",
        "tab:cyan",
        model="denoiser",
        write=_write_denoiser,
        settings=_denoiser_settings,
    ),
    "flipd": TangentSource(
        "FLIPD (denoiser)",
        "tab:orange",
        reads="denoiser",
        write=_write_flipd,
        settings=lambda config, dataset: {"rule": "flipd"},
    ),
    "denoiser_mle": TangentSource(
        "denoiser, Levina-Bickel k",
        "tab:brown",
        reads="denoiser",
        write=_write_denoiser_mle,
        settings=lambda config, dataset: {
            "rule": "levina_bickel",
            "neighbours": config["datasets"][dataset]["tangent_sources"]["levina_bickel"][
                "neighbours"
            ],
        },
    ),
}


def second_sources() -> list[str]:
    """The sources rule ``compute_tangent_source`` can write (the ``source`` wildcard's values)."""
    return [name for name, source in SOURCES.items() if source.write is not None]
