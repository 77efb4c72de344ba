"""Tiny datasets written in the exact on-disk formats the real loaders read (MNIST/EMNIST IDX files,
CIFAR-10 python pickles, image folders with class sub-folders or a labels CSV). Images carry a bar
whose position encodes the label, so orientation and label handling are checkable."""

from __future__ import annotations

import pickle
import struct

import numpy as np


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file as the MNIST distribution ships it (big-endian header, uint8 payload)."""
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        struct.pack(">i", magic)
        + struct.pack(f">{array.ndim}i", *array.shape)
        + array.astype(np.uint8).tobytes()
    )


def fake_digits(n, seed, transpose=False, n_classes=10):
    """``(images (n, 28, 28) uint8, labels (n,) uint8)``: a bar in row 2 + label (transposed for EMNIST)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    labels = rng.integers(0, n_classes, n).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + label, 4:8] = 255
        images[i, 14:20, 10:18] = rng.integers(
            0, 80
        )  # a faint block so no two images are identical
    return (images.transpose(0, 2, 1) if transpose else images), labels


def write_mnist(root, n_train, n_test, seed=0):
    """``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``; returns the train and test parts."""
    raw = root / "MNIST" / "raw"
    train, test = fake_digits(n_train, seed), fake_digits(n_test, seed + 1)
    write_idx(raw / "train-images-idx3-ubyte", train[0])
    write_idx(raw / "train-labels-idx1-ubyte", train[1])
    write_idx(raw / "t10k-images-idx3-ubyte", test[0])
    write_idx(raw / "t10k-labels-idx1-ubyte", test[1])
    return train, test


def write_emnist(root, n_train, n_test, split="balanced", seed=2):
    """``root/EMNIST/raw/emnist-<split>-{train,test}-{images-idx3,labels-idx1}-ubyte`` (images stored
    transposed, as EMNIST ships them)."""
    raw = root / "EMNIST" / "raw"
    parts = (
        fake_digits(n_train, seed, transpose=True),
        fake_digits(n_test, seed + 1, transpose=True),
    )
    for part, (images, labels) in zip(("train", "test"), parts, strict=True):
        write_idx(raw / f"emnist-{split}-{part}-images-idx3-ubyte", images)
        write_idx(raw / f"emnist-{split}-{part}-labels-idx1-ubyte", labels)
    return parts


def write_cifar10(root, n_train_per_batch, n_test, seed=0):
    """The CIFAR-10 python layout: five training batches, a test batch and batches.meta, each a pickle
    of a dict with ``data (n, 3072) uint8`` (channel-major rows) and ``labels``."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = {}
    for name, n in [
        *((f"data_batch_{i}", n_train_per_batch) for i in range(1, 6)),
        ("test_batch", n_test),
    ]:
        images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        (folder / name).write_bytes(pickle.dumps({"data": images.reshape(n, -1), "labels": labels}))
        batches[name] = (images, labels)
    (folder / "batches.meta").write_bytes(
        pickle.dumps({"label_names": [f"class{i}" for i in range(10)]})
    )
    return batches


def fake_scan(label: int, size: tuple[int, int], rng, rgb: bool = False) -> np.ndarray:
    """``(h, w)`` or ``(h, w, 3)`` uint8: noise plus a bright disc on the left (0) or right (1)."""
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    cx = w * (0.3 if label == 0 else 0.7)
    disc = ((yy - h / 2) ** 2 + (xx - cx) ** 2) < (min(h, w) / 5) ** 2
    img = rng.integers(20, 90, (h, w)) + 150 * disc
    img = np.clip(img, 0, 255).astype(np.uint8)
    return np.stack([img, img // 2, img // 3], axis=-1) if rgb else img


def write_image_folder(
    root,
    n_per_class,
    size=(40, 36),
    classes=("NORMAL", "PNEUMONIA"),
    seed=0,
    splits=("train", "test"),
    suffix=".png",
):
    """The Kaggle chest-xray layout ``root/<split>/<class>/<image>``; returns ``{split: [(path, class)]}``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = {}
    for split, n in zip(splits, n_per_class, strict=True):
        written[split] = []
        for label, name in enumerate(classes):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                path = folder / f"img{i:03d}{suffix}"
                Image.fromarray(fake_scan(label, size, rng)).save(path)
                written[split].append((path, name))
    return written


def write_image_csv(root, n_train, n_test, size=(32, 32), seed=0):
    """The paper's retinopathy layout: ``root/images/*.png`` (RGB) and ``root/{train,test}.csv`` with
    columns ``Index`` (file name without suffix) and ``B_Lable`` (0/1); returns the label arrays."""
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    labels = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(0, 2, n)
        names = [f"{split}_{i:03d}" for i in range(n)]
        for name, label in zip(names, y, strict=True):
            Image.fromarray(fake_scan(int(label), size, rng, rgb=True)).save(
                root / "images" / f"{name}.png"
            )
        pd.DataFrame({"Index": names, "B_Lable": y}).to_csv(root / f"{split}.csv", index=False)
        labels[split] = y
    return labels
