"""Source loaders, offline, on tiny files in the exact on-disk formats torchvision reads."""

import os
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


def write_cifar10(root, n_train_per_batch, n_test, seed=0):
    """The CIFAR-10 python layout: five training batches, a test batch and batches.meta, each a pickle
    of a dict with ``data (n, 3072) uint8`` (channel-major rows) and ``labels``."""
    import pickle

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


def test_cifar10_loader_reads_the_python_pickles_offline(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as cifar

    batches = write_cifar10(tmp_path, 2, 3)
    # torchvision checks each file's md5 against the official archive; tiny files cannot match it.
    monkeypatch.setattr(cifar, "check_integrity", lambda path, md5=None: os.path.isfile(path))
    src = load_source({"kind": "cifar10", "root": str(tmp_path), "image_size": 32})
    assert src.images.shape == (13, 3, 32, 32) and src.n_classes == 10
    train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_allclose(src.images[:10], train / 255.0, atol=1e-6)  # channel order kept
    np.testing.assert_array_equal(src.labels[10:], batches["test_batch"][1])
    np.testing.assert_array_equal(src.split, [TRAIN] * 10 + [TEST] * 3)
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 data under"):
        load_source({"kind": "cifar10", "root": str(tmp_path / "elsewhere")})
