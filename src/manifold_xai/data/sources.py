"""Image sources by kind (``source.kind`` in the config, the table ``SOURCES``); each returns a
``SourceData`` (``manifold_xai.data.source_data``); image folders are ``manifold_xai.data.image_folder``.

Images are ``(n, c, s, s) float32`` in [0, 1], labels ``(n,) int64``, split ``(n,) int8`` with
``TRAIN = 0`` and ``TEST = 1``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import torch

from manifold_xai.data.image_folder import load_image_folder_source
from manifold_xai.data.packaged import load_packaged_mnist_source
from manifold_xai.data.source_data import SourceData, resize_images, stratified_split
from manifold_xai.data.splits import TEST, TRAIN  # noqa: F401 (re-exported)

# Image channels of each source kind with a fixed format (image folders say theirs in `color`).


def load_digits_source(
    image_size: int = 32, test_fraction: float = 0.2, split_seed: int = 0
) -> SourceData:
    """scikit-learn's handwritten digits (1797 images, 8×8, 17 grey levels) scaled to [0, 1] and
    resized to ``image_size``: a small offline analogue of MNIST32 that ships with a dependency."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None]
    labels = digits.target.astype(np.int64)
    return SourceData(
        images=resize_images(images, image_size),
        labels=labels,
        split=stratified_split(labels, test_fraction, split_seed),
        n_classes=10,
        description=f"sklearn digits 8x8 resized to {image_size}x{image_size}",
    )


def _torchvision_split(dataset_class, root, download: bool, name: str, **kwargs):
    """``(images uint8 (n, h, w), labels (n,))`` of the train and test split of a torchvision dataset
    stored under ``root`` (downloaded there first when ``download``), with an error naming the path."""
    from pathlib import Path

    root = Path(root).expanduser()
    parts = []
    for train in (True, False):
        try:
            ds = dataset_class(str(root), train=train, download=download, **kwargs)
        except RuntimeError as e:  # torchvision: "Dataset not found. You can use download=True ..."
            raise FileNotFoundError(
                f"{name}: no {name} data under {root} ({e}). Put the raw files there (see README) or set "
                f"`download: true` in the source block on a machine with internet access"
            ) from e
        parts.append((np.asarray(ds.data), np.asarray(ds.targets, dtype=np.int64)))
    return parts


def _from_splits(parts, image_size: int, n_classes: int, description: str, transpose: bool = False):
    (train_x, train_y), (test_x, test_y) = parts
    images = np.concatenate([train_x, test_x])  # (n, h, w) grey or (n, h, w, c) colour, uint8
    if transpose:  # EMNIST images are stored transposed (column-major)
        images = images.transpose(0, 2, 1)
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    images = images.astype(np.float32) / 255.0
    split = np.concatenate(
        [np.full(len(train_y), TRAIN, np.int8), np.full(len(test_y), TEST, np.int8)]
    )
    return SourceData(
        images=resize_images(images, image_size),
        labels=np.concatenate([train_y, test_y]),
        split=split,
        n_classes=n_classes,
        description=description,
    )


def load_mnist_source(root: str, download: bool = False, image_size: int = 32) -> SourceData:
    """MNIST via ``torchvision.datasets.MNIST`` (raw idx files under ``root/MNIST/raw``): 60000 train and
    10000 test images, 28×28, scaled to [0, 1] and resized to ``image_size`` (the paper's MNIST32: 32)."""
    from torchvision.datasets import MNIST

    parts = _torchvision_split(MNIST, root, download, "MNIST")
    return _from_splits(parts, image_size, 10, f"MNIST 28x28 resized to {image_size}x{image_size}")


def load_emnist_source(
    root: str,
    split: str = "balanced",
    download: bool = False,
    image_size: int = 128,
    classes: list[int] | None = None,
    max_per_split: int | None = None,
) -> SourceData:
    """EMNIST via ``torchvision.datasets.EMNIST`` (raw idx files under ``root/EMNIST/raw``), oriented
    upright, scaled to [0, 1] and resized to ``image_size``. ``classes``: keep only these labels,
    renumbered 0..len-1 in the given order (the paper used a subset of 60 classes). ``max_per_split``: keep
    the first n images of each split (EMNIST byclass has 814k images, 53 GB at 128×128 in float32)."""
    from torchvision.datasets import EMNIST

    parts = _torchvision_split(EMNIST, root, download, "EMNIST", split=split)
    n_classes = int(max(y.max() for _, y in parts)) + 1
    if classes is not None:
        lookup = {c: i for i, c in enumerate(classes)}
        parts = [
            (
                x[np.isin(y, classes)],
                np.array([lookup[v] for v in y[np.isin(y, classes)]], np.int64),
            )
            for x, y in parts
        ]
        n_classes = len(classes)
    parts = [(x[:max_per_split], y[:max_per_split]) for x, y in parts]
    desc = f"EMNIST {split} ({n_classes} classes) resized to {image_size}x{image_size}"
    return _from_splits(parts, image_size, n_classes, desc, transpose=True)


def load_cifar10_source(
    root: str, download: bool = False, image_size: int = 32, verify_checksums: bool = True
) -> SourceData:
    """CIFAR-10, the python version (``root/cifar-10-batches-py/{data_batch_1..5,test_batch}``): 50000
    train and 10000 test RGB images, ``(n, 3, s, s)`` in [0, 1]. ``download: true`` fetches and checks the
    official archive with torchvision's downloader; ``verify_checksums`` compares each batch file's MD5
    with torchvision's list (``false``: a re-packed copy, the tests' tiny files).

    The batches are pickles, so they are read here with an unpickler that admits only what a batch holds
    (dicts, lists, strings, numpy arrays) instead of torchvision's plain ``pickle.load``: a tampered file
    cannot run code."""
    from pathlib import Path

    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity, download_and_extract_archive

    base = Path(root).expanduser()
    folder = base / CIFAR10.base_folder
    if download and not folder.is_dir():
        download_and_extract_archive(
            CIFAR10.url, str(base), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
        )
    parts = []
    for files in (CIFAR10.train_list, CIFAR10.test_list):
        images, labels = [], []
        for name, md5 in files:
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(
                    f"CIFAR-10: no CIFAR-10 data under {base} ({path} is missing). Put the python version there "
                    f"(see README) or set `download: true` on a machine with internet access"
                )
            if verify_checksums and not check_integrity(str(path), md5):
                raise ValueError(
                    f"CIFAR-10: {path} does not match the official MD5 (set `verify_checksums: false` "
                    f"for a re-packed copy)"
                )
            batch = read_restricted_pickle(path)
            data = batch.get("data", batch.get(b"data"))
            batch_labels = batch.get("labels", batch.get(b"labels"))
            if data is None or batch_labels is None:
                raise ValueError(f"CIFAR-10: {path} has no 'data' and 'labels' entries")
            images.append(np.asarray(data, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch_labels, np.int64))
        parts.append((np.concatenate(images), np.concatenate(labels)))
    return _from_splits(parts, image_size, 10, f"CIFAR-10 RGB resized to {image_size}x{image_size}")


# What a CIFAR-10 batch pickle may reference: numpy's array reconstruction, nothing else.
_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


def read_restricted_pickle(path) -> dict:
    """A pickled dict of plain values and numpy arrays; any other global (a class, ``os.system``, ...)
    raises ``ValueError`` naming the file."""
    import pickle

    class Restricted(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in _PICKLE_GLOBALS:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed")

    try:
        with open(path, "rb") as fh:
            obj = Restricted(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
        raise ValueError(f"{path} is not a CIFAR-10 batch: {e}") from e
    if not isinstance(obj, dict):
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: a pickled {type(obj).__name__}, not a dict"
        )
    return obj


def load_torus_source(
    n_train: int = 4000,
    n_test: int = 500,
    seed: int = 0,
    image_size: int = 32,
    n_classes: int = 4,
    orbit: float = 0.35,
    axes: tuple[float, float] = (0.28, 0.12),
    sharpness: float = 12.0,
    parameters: tuple[str, ...] = ("orbit_angle", "spin"),
) -> SourceData:
    """Images of an analytic ellipse manifold (``manifold_xai.data.torus``; the default ``parameters``
    make the 2-torus): parameters drawn uniformly with ``seed``, rendered, labelled by the orbit sector;
    the parameters are kept as latents."""
    from manifold_xai.data.torus import TorusRenderer, label_params, sample_params

    renderer = TorusRenderer(
        size=image_size, orbit=orbit, axes=list(axes), sharpness=sharpness, parameters=parameters
    )
    params = sample_params(n_train + n_test, seed, renderer.parameters_free)
    with torch.no_grad():
        images = renderer.decode(torch.from_numpy(params)).numpy()
    split = np.r_[np.full(n_train, TRAIN, np.int8), np.full(n_test, TEST, np.int8)]
    free = ", ".join(renderer.parameters_free)
    return SourceData(
        images=images,
        labels=label_params(params, n_classes),
        split=split,
        n_classes=n_classes,
        description=f"ellipse manifold of dimension {renderer.latent_dim} ({free}), "
        f"{image_size}x{image_size}, {n_classes} orbit sectors",
        latents=params,
    )


SOURCES: dict[str, Callable[..., SourceData]] = {
    "torus": load_torus_source,
    "digits": load_digits_source,
    "mnist": load_mnist_source,
    "mnist_packaged": load_packaged_mnist_source,
    "emnist": load_emnist_source,
    "cifar10": load_cifar10_source,
    "image_folder": load_image_folder_source,
}


def load_source(spec: dict) -> SourceData:
    """Load the source described by a config ``source:`` block (``kind`` plus that kind's options)."""
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind not in SOURCES:
        raise ValueError(f"unknown source kind {kind!r}; known: {sorted(SOURCES)}")
    try:
        inspect.signature(SOURCES[kind]).bind(**spec)
    except TypeError as e:
        raise ValueError(f"source kind {kind!r}: {e}") from e
    return SOURCES[kind](**spec)
