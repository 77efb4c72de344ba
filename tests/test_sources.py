"""Source loaders, offline, on tiny files in the exact on-disk formats torchvision reads."""

import struct

import numpy as np
import pytest

from manifold_xai.data.sources import TEST, TRAIN, load_source


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file as the MNIST distribution ships it (big-endian header, uint8 payload)."""
    magic = {3: 0x0803, 1: 0x0801}[array.ndim]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack(">i", magic) + struct.pack(f">{array.ndim}i", *array.shape)
                     + array.astype(np.uint8).tobytes())  # fmt: skip


def fake_digits(n, seed, transpose=False):
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + label, 4:8] = 255  # a bar whose row encodes the label: checks orientation
    return (images.transpose(0, 2, 1) if transpose else images), labels


def test_mnist_loader_reads_the_raw_idx_files_offline(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    train, test = fake_digits(12, 0), fake_digits(5, 1)
    write_idx(raw / "train-images-idx3-ubyte", train[0])
    write_idx(raw / "train-labels-idx1-ubyte", train[1])
    write_idx(raw / "t10k-images-idx3-ubyte", test[0])
    write_idx(raw / "t10k-labels-idx1-ubyte", test[1])
    src = load_source({"kind": "mnist", "root": str(tmp_path), "image_size": 28})
    assert src.images.shape == (17, 1, 28, 28) and src.images.dtype == np.float32
    assert src.images.max() == 1.0 and src.images.min() == 0.0
    np.testing.assert_array_equal(src.split, [TRAIN] * 12 + [TEST] * 5)
    np.testing.assert_array_equal(src.labels, np.concatenate([train[1], test[1]]))
    np.testing.assert_array_equal(src.images[:12, 0] > 0.5, train[0] > 127)
    assert load_source({"kind": "mnist", "root": str(tmp_path), "image_size": 32}).images.shape == (
        17,
        1,
        32,
        32,
    )


def test_emnist_loader_orients_images_and_keeps_a_class_subset(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    train, test = fake_digits(20, 2, transpose=True), fake_digits(6, 3, transpose=True)
    for part, (images, labels) in (("train", train), ("test", test)):
        write_idx(raw / f"emnist-balanced-{part}-images-idx3-ubyte", images)
        write_idx(raw / f"emnist-balanced-{part}-labels-idx1-ubyte", labels)
    src = load_source(
        {"kind": "emnist", "root": str(tmp_path), "image_size": 28, "classes": [7, 3]}
    )
    keep = np.isin(np.concatenate([train[1], test[1]]), [7, 3])
    assert len(src.labels) == keep.sum() and src.n_classes == 2
    np.testing.assert_array_equal(
        src.labels, np.where(np.concatenate([train[1], test[1]])[keep] == 7, 0, 1)
    )
    rows = src.images[:, 0].max(axis=2).argmax(axis=1)  # upright: the bar is a row again
    np.testing.assert_array_equal(rows, 2 + np.concatenate([train[1], test[1]])[keep])


@pytest.mark.parametrize("kind", ["mnist", "emnist"])
def test_a_missing_dataset_directory_names_the_path(tmp_path, kind):
    with pytest.raises(
        FileNotFoundError, match=f"no {kind.upper()} data under {tmp_path / 'nowhere'}"
    ):
        load_source({"kind": kind, "root": str(tmp_path / "nowhere")})
