"""Facts of a validated config that the rest of the project reads: each dataset's image shape and
manifold dimension k, its seeds, its tangent sources (its own first) and the seeds of its ROAR and
sanity blocks. Plain functions of the config dict; they import nothing heavy.
"""

from __future__ import annotations

import math

from manifold_xai.shapes import (
    SOURCE_CHANNELS,
    TORUS_PARAMS,
    autoencoder_latent_shape,
)


def image_shape(config: dict, name: str) -> tuple[int, int, int] | None:
    """``(channels, height, width)`` of dataset ``name``'s images, or None when only the files tell
    (an image folder without ``image_size``)."""
    ds = config["datasets"][name]
    if ds["approach"] == "upsampled":
        base = image_shape(config, ds["upsample"]["base"])
        size = ds["upsample"]["image_size"]
        return None if base is None else (base[0], size, size)
    source = ds["source"]
    if source["kind"] == "image_folder":
        if source["image_size"] is None:
            return None
        return (1 if source["color"] == "gray" else 3, *source["image_size"])
    return (SOURCE_CHANNELS[source["kind"]], source["image_size"], source["image_size"])


def latent_dim(config: dict, name: str) -> int | None:
    """k of dataset ``name``'s manifold model (None when the image size is only known from the files)."""
    ds = config["datasets"][name]
    if ds["approach"] == "upsampled":
        return latent_dim(config, ds["upsample"]["base"])
    if ds["approach"] == "analytic":  # the renderer's free parameters (default: the 2-torus)
        return len(ds["source"].get("parameters", [None] * TORUS_PARAMS))
    m = ds["manifold"]
    if m["model"] in ("btcvae", "external"):
        return m["latent_dim"]
    shape = image_shape(config, name)
    if shape is None:
        return None
    c, h, w = autoencoder_latent_shape(shape[1:], m["latent_channels"], m["stride"])
    return c * h * w


def dataset_seeds(config: dict, name: str) -> list[int]:
    return config["datasets"][name]["seeds"] or config["seeds"]


# The directed adversarial regimes and the subspace their attack is confined to.
DIRECTED_REGIMES = {"adversarial_normal": "normal", "adversarial_tangent": "tangent"}


def regime_seeds(config: dict, name: str, regime: str) -> list[int]:
    """The seeds one regime of a dataset runs on: the dataset's, or those of them that
    ``classifier.regime_seeds`` names for the regime."""
    seeds = dataset_seeds(config, name)
    chosen = config["datasets"][name]["classifier"]["regime_seeds"].get(regime)
    return seeds if chosen is None else [s for s in seeds if s in chosen]


def own_tangent_source(config: dict, name: str) -> str:
    """The tangent source of the dataset's own manifold (``tangent.zarr``): the renderer's exact Jacobian
    for an analytic dataset, the decoder's (``vae``) otherwise."""
    return "exact" if config["datasets"][name]["approach"] == "analytic" else "vae"


def tangent_sources(config: dict, name: str) -> list[str]:
    """The dataset's tangent sources, its own first, then the others in config order."""
    own = own_tangent_source(config, name)
    listed = config["datasets"][name]["tangent_sources"]["sources"] or []
    return [own] + [s for s in listed if s != own]


def local_pca_k(config: dict, name: str) -> int | None:
    """k of the dataset's local-PCA tangent spaces: configured, or the dataset's own manifold's k."""
    return config["datasets"][name]["tangent_sources"]["local_pca"]["k"] or latent_dim(config, name)


def evaluation_seeds(config: dict, name: str, block: str) -> list[int]:
    """The seeds of dataset ``name`` that run the ``roar`` or ``sanity`` block (default: the first)."""
    return config["datasets"][name][block]["seeds"] or dataset_seeds(config, name)[:1]


# Images per split of the source kinds whose size the config alone fixes: (n images, or (train, test)).
SOURCE_SIZES = {
    "digits": 1797,
    "mnist_packaged": 5000,
    "mnist": (60000, 10000),
    "cifar10": (50000, 10000),
}


def split_sizes(config: dict, name: str) -> tuple[int, int] | None:
    """``(n_train, n_test)`` samples of dataset ``name``'s data, or None when only the files tell: the
    generated samples of a generative dataset, the rendered ones of an analytic dataset, the source's
    split otherwise (a stratified ``test_fraction`` takes ceil(n · fraction) test images)."""
    ds = config["datasets"][name]
    if ds["approach"] == "upsampled":
        return split_sizes(config, ds["upsample"]["base"])
    if ds["approach"] == "generative":
        return ds["sampling"]["n_train"], ds["sampling"]["n_test"]
    source = ds["source"]
    if source["kind"] == "torus":
        return source["n_train"], source["n_test"]
    size = SOURCE_SIZES.get(source["kind"])
    if size is None:
        return None
    if isinstance(size, tuple):
        return size
    n_test = math.ceil(size * source["test_fraction"])
    return size - n_test, n_test


def paper_dataset(config: dict, name: str) -> bool:
    """Whether dataset ``name`` runs the paper's MNIST32 protocol (generated from real MNIST digits at
    32×32), so that the paper's numbers apply to it."""
    ds = config["datasets"][name]
    return (
        ds["approach"] == "generative"
        and ds["source"]["kind"] in ("mnist", "mnist_packaged")
        and ds["source"]["image_size"] == 32
    )
