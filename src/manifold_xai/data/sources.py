"""Image sources by kind (``source.kind`` in the config); each returns a ``SourceData``.

Images are ``(n, c, s, s) float32`` in [0, 1], labels ``(n,) int64``, split ``(n,) int8`` with
``TRAIN = 0`` and ``TEST = 1``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from manifold_xai.data.splits import TEST, TRAIN  # noqa: F401 (re-exported)

# Image channels of each source kind with a fixed format (image folders say theirs in `color`).


@dataclass
class SourceData:
    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    n_classes: int
    description: str
    # ``(n, k) float32`` coordinates of each image on a known manifold (the torus's angles); None for
    # real images, whose manifold is unknown.
    latents: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.images)
        if self.latents is not None and len(self.latents) != n:
            raise ValueError("source latents and images differ in length")
        if self.images.ndim != 4:
            raise ValueError(f"source images must be (n, c, h, w), got shape {self.images.shape}")
        if len(self.labels) != n or len(self.split) != n:
            raise ValueError("source images, labels and split differ in length")
        if not np.isfinite(self.images).all():
            raise ValueError("source images contain NaN or inf values")
        if n == 0:
            raise ValueError("source has no images")

    def part(self, which: int) -> tuple[np.ndarray, np.ndarray]:
        mask = self.split == which
        return self.images[mask], self.labels[mask]


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Bilinear (antialiased) resize of ``(n, c, h, w)`` images to ``(n, c, size, size)`` (or
    ``(n, c, *size)`` for a ``(height, width)`` pair), clipped to [0, 1]."""
    hw = (size, size) if isinstance(size, int) else tuple(size)
    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if tuple(t.shape[-2:]) != hw:
        t = F.interpolate(t, size=hw, mode="bilinear", align_corners=False, antialias=True)
    return t.clamp_(0.0, 1.0).numpy()


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """``(n,) int8`` split marking a stratified ``test_fraction`` of the samples as TEST."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    _, test_idx = train_test_split(idx, test_size=test_fraction, stratify=labels, random_state=seed)
    split = np.full(len(labels), TRAIN, dtype=np.int8)
    split[test_idx] = TEST
    return split


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


def load_image_folder_source(
    root: str,
    layout: str = "class_folders",
    splits: dict | None = None,
    labels: dict | None = None,
    images_dir: str = ".",
    file_column: str = "Index",
    label_column: str = "B_Lable",
    file_suffix: str = "",
    label_map: dict | None = None,
    color: str = "gray3",
    image_size: list[int] | None = None,
    normalise: str = "min_max",
    max_per_split: int | None = None,
) -> SourceData:
    """A local folder of images (the paper's X-ray pneumonia and diabetic retinopathy; docs/paper.md §1.3).

    ``layout: class_folders``: ``root/<split folder>/<class folder>/<image>`` (the Kaggle chest-xray
    layout ``train/NORMAL``, ``test/PNEUMONIA``); ``splits`` names the split folders
    (default ``{train: train, test: test}``). ``layout: csv``: ``labels`` maps each split to a CSV under
    ``root`` with ``file_column`` (file name under ``root/images_dir``, plus ``file_suffix``) and
    ``label_column`` (the paper's ``Index`` and ``B_Lable``). ``label_map`` maps raw labels (folder names or
    CSV values, as strings) to class indices, e.g. ``{NORMAL: 0, PNEUMONIA: 1}`` or retinopathy grades
    ``{0: 0, 1: 1, 2: 1, 3: 1, 4: 1}`` (binary as the paper); without it the sorted raw labels are numbered.

    ``color``: ``gray3`` (greyscale stacked to 3 channels, the paper's pneumonia), ``rgb`` (retinopathy) or
    ``gray``. ``image_size: [height, width]`` resizes every image (bilinear, antialiased); ``null`` keeps
    the files' size, which must then agree. ``normalise: min_max`` maps each image to [0, 1] by its own
    minimum and maximum, as the paper's loaders; ``none`` divides 8-bit values by 255.
    ``max_per_split``: keep the first n images of each split (sorted by file name) for a smaller run.
    """
    from pathlib import Path

    base = Path(root).expanduser()
    if not base.is_dir():
        raise FileNotFoundError(
            f"image_folder: the data directory {base} does not exist (see README)"
        )
    if layout == "class_folders":
        entries = _class_folder_entries(base, splits or {"train": "train", "test": "test"})
    elif layout == "csv":
        if not labels:
            raise ValueError("image_folder: layout csv needs `labels: {train: <csv>, test: <csv>}`")
        entries = _csv_entries(
            base, labels, base / images_dir, file_column, label_column, file_suffix
        )
    else:
        raise ValueError(f"image_folder: unknown layout {layout!r}; known: class_folders, csv")
    if max_per_split is not None:
        entries = {k: v[:max_per_split] for k, v in entries.items()}
    raw = sorted({lab for part in entries.values() for _, lab in part})
    if label_map is None:
        label_map = {lab: i for i, lab in enumerate(raw)}
    label_map = {str(k): int(v) for k, v in label_map.items()}
    unknown = [lab for lab in raw if lab not in label_map]
    if unknown:
        raise ValueError(
            f"image_folder: labels {unknown} under {base} are not in label_map {label_map}"
        )
    files = [
        (path, label_map[lab], which) for which in (TRAIN, TEST) for path, lab in entries[which]
    ]
    images = _read_images(files, color, image_size, normalise)
    return SourceData(
        images=images,
        labels=np.array([lab for _, lab, _ in files], np.int64),
        split=np.array([which for _, _, which in files], np.int8),
        n_classes=max(label_map.values()) + 1,
        description=f"image folder {base} ({layout}, {color}, {images.shape[2]}x{images.shape[3]})",
    )


def _class_folder_entries(base, splits: dict) -> dict[int, list[tuple]]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    entries = {}
    for which, name in ((TRAIN, splits["train"]), (TEST, splits["test"])):
        folder = base / name
        if not folder.is_dir():
            raise FileNotFoundError(f"image_folder: the split folder {folder} does not exist")
        found = [
            (p, cls.name)
            for cls in sorted(folder.iterdir())
            if cls.is_dir()
            for p in sorted(cls.iterdir())
            if p.suffix.lower() in IMG_EXTENSIONS
        ]
        if not found:
            raise ValueError(f"image_folder: no images in class folders under {folder}")
        entries[which] = found
    return entries


def _csv_entries(
    base, labels: dict, images, file_column, label_column, suffix
) -> dict[int, list[tuple]]:
    import pandas as pd

    entries = {}
    for which, name in ((TRAIN, "train"), (TEST, "test")):
        if name not in labels:
            raise ValueError(f"image_folder: `labels` has no {name!r} CSV")
        csv = base / labels[name]
        if not csv.is_file():
            raise FileNotFoundError(f"image_folder: the labels CSV {csv} does not exist")
        table = pd.read_csv(csv, dtype=str)
        missing = [c for c in (file_column, label_column) if c not in table.columns]
        if missing:
            raise ValueError(
                f"image_folder: {csv} has no column {missing} (columns: {list(table.columns)})"
            )
        if table.empty:
            raise ValueError(f"image_folder: {csv} lists no images")
        found = [
            (images / f"{f}{suffix}", str(lab))
            for f, lab in zip(table[file_column], table[label_column], strict=True)
        ]
        absent = [str(p) for p, _ in found if not p.is_file()]
        if absent:
            raise FileNotFoundError(
                f"image_folder: {len(absent)} images listed in {csv} are missing, e.g. {absent[0]}"
            )
        entries[which] = found
    return entries


def _read_images(files, color: str, image_size, normalise: str) -> np.ndarray:
    """``(n, c, h, w) float32`` from image files; errors name the offending file."""
    from PIL import Image, UnidentifiedImageError

    mode = {"gray3": "L", "gray": "L", "rgb": "RGB"}[color]
    out, first = None, None
    for i, (path, _, _) in enumerate(files):
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert(mode), dtype=np.float32)
        except (UnidentifiedImageError, OSError, SyntaxError) as e:
            raise ValueError(f"image_folder: {path} is not a readable image ({e})") from e
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (c, h, w)
        if image_size is None:
            if first is None:
                first = (path, arr.shape)
            elif arr.shape != first[1]:
                raise ValueError(
                    f"image_folder: images of mixed sizes: {first[0]} is {first[1][1]}x{first[1][2]}, {path} is "
                    f"{arr.shape[1]}x{arr.shape[2]} (height x width); set `image_size: [height, width]` to resize them"
                )
        if normalise == "min_max":  # per image, as the paper's loaders (a constant image becomes 0)
            lo, hi = arr.min(), arr.max()
            arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        else:
            arr = arr / 255.0
        if image_size is not None:
            arr = resize_images(arr[None], tuple(image_size))[0]
        if color == "gray3":
            arr = np.repeat(arr, 3, axis=0)
        if out is None:
            out = np.empty((len(files), *arr.shape), np.float32)
        out[i] = arr
    return out


def load_torus_source(
    n_train: int = 4000,
    n_test: int = 500,
    seed: int = 0,
    image_size: int = 32,
    n_classes: int = 4,
    orbit: float = 0.35,
    axes: tuple[float, float] = (0.28, 0.12),
    sharpness: float = 12.0,
) -> SourceData:
    """Images of the analytic torus manifold (``manifold_xai.data.torus``): angles drawn uniformly on the
    torus with ``seed``, rendered, labelled by the orbit sector; the angles are kept as latents."""
    from manifold_xai.data.torus import TorusRenderer, label_params, sample_params

    params = sample_params(n_train + n_test, seed)
    renderer = TorusRenderer(size=image_size, orbit=orbit, axes=list(axes), sharpness=sharpness)
    with torch.no_grad():
        images = renderer.decode(torch.from_numpy(params)).numpy()
    split = np.r_[np.full(n_train, TRAIN, np.int8), np.full(n_test, TEST, np.int8)]
    return SourceData(
        images=images,
        labels=label_params(params, n_classes),
        split=split,
        n_classes=n_classes,
        description=f"torus: ellipse orbiting and spinning, {image_size}x{image_size}, "
        f"{n_classes} orbit sectors",
        latents=params,
    )


SOURCES: dict[str, Callable[..., SourceData]] = {
    "torus": load_torus_source,
    "digits": load_digits_source,
    "mnist": load_mnist_source,
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
