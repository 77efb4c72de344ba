"""Source loaders, offline, on tiny files in the exact on-disk formats torchvision reads."""

import os

import numpy as np
import pytest
from fake_data import fake_digits, write_cifar10, write_idx, write_image_csv, write_image_folder

from manifold_xai.data.sources import TEST, TRAIN, load_source


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


def test_cifar10_loader_reads_the_python_pickles_offline(tmp_path):
    batches = write_cifar10(tmp_path, 2, 3)
    # tiny files cannot match the official archive's MD5s
    src = load_source(
        {"kind": "cifar10", "root": str(tmp_path), "image_size": 32, "verify_checksums": False}
    )
    assert src.images.shape == (13, 3, 32, 32) and src.n_classes == 10
    train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    np.testing.assert_allclose(src.images[:10], train / 255.0, atol=1e-6)  # channel order kept
    np.testing.assert_array_equal(src.labels[10:], batches["test_batch"][1])
    np.testing.assert_array_equal(src.split, [TRAIN] * 10 + [TEST] * 3)
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 data under"):
        load_source({"kind": "cifar10", "root": str(tmp_path / "elsewhere")})


def test_cifar10_loader_without_checksums_reads_repacked_files(tmp_path):
    write_cifar10(tmp_path, 2, 3)
    src = load_source({"kind": "cifar10", "root": str(tmp_path), "verify_checksums": False})
    assert src.images.shape == (13, 3, 32, 32)
    with pytest.raises(ValueError, match="data_batch_1 does not match the official MD5"):
        load_source({"kind": "cifar10", "root": str(tmp_path)})


def test_cifar10_loader_refuses_a_pickle_that_would_run_code(tmp_path):
    import pickle

    write_cifar10(tmp_path, 2, 3)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(
        pickle.dumps({"data": Exploit(), "labels": []})
    )
    with pytest.raises(
        ValueError, match=r"data_batch_3 is not a CIFAR-10 batch: .*system is not allowed"
    ):
        load_source({"kind": "cifar10", "root": str(tmp_path), "verify_checksums": False})
    assert not marker.exists()


def test_image_folder_loader_reads_class_folders_as_gray3_min_max(tmp_path):
    written = write_image_folder(tmp_path, n_per_class=(3, 2), size=(40, 36))
    src = load_source(
        {"kind": "image_folder", "root": str(tmp_path), "label_map": {"NORMAL": 0, "PNEUMONIA": 1}}
    )
    assert src.images.shape == (10, 3, 40, 36) and src.n_classes == 2
    np.testing.assert_array_equal(src.split, [TRAIN] * 6 + [TEST] * 4)
    np.testing.assert_array_equal(src.labels, [0, 0, 0, 1, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(src.images[:, 0], src.images[:, 2])  # grey stacked 3 times
    flat = src.images.reshape(10, -1)
    np.testing.assert_allclose(flat.min(1), 0) and np.testing.assert_allclose(
        flat.max(1), 1
    )  # per image
    from PIL import Image

    raw = np.asarray(Image.open(written["train"][0][0]), np.float32)
    np.testing.assert_allclose(
        src.images[0, 0], (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-6
    )
    # the disc is left for class 0, right for class 1: the labels follow the folders
    left = src.images[:, 0, :, :18].mean((1, 2)) > src.images[:, 0, :, 18:].mean((1, 2))
    np.testing.assert_array_equal(left, src.labels == 0)


def test_image_folder_loader_reads_a_labels_csv_as_rgb_and_resizes(tmp_path):
    labels = write_image_csv(tmp_path, 5, 3, size=(32, 32))
    spec = {
        "kind": "image_folder",
        "root": str(tmp_path),
        "layout": "csv",
        "labels": {"train": "train.csv", "test": "test.csv"},
        "images_dir": "images",
        "file_suffix": ".png",
        "color": "rgb",
        "image_size": [16, 24],
    }
    src = load_source(spec)
    assert src.images.shape == (8, 3, 16, 24)
    np.testing.assert_array_equal(src.labels, np.concatenate([labels["train"], labels["test"]]))
    assert not np.allclose(src.images[:, 0], src.images[:, 1])  # colour kept
    assert load_source({**spec, "max_per_split": 2}).images.shape[0] == 4


def _mixed_size(root):
    from PIL import Image

    Image.new("L", (10, 10)).save(root / "train" / "NORMAL" / "x.png")


def _unknown_class(root):
    (root / "train" / "OTHER").mkdir()
    (root / "train" / "NORMAL" / "img000.png").rename(root / "train" / "OTHER" / "a.png")


BAD_FOLDERS = {
    "missing-dir": (lambda root: None, "data directory .*nowhere does not exist"),
    "missing-split": (
        lambda root: (root / "test").rename(root / "val"),
        "split folder .*test does not exist",
    ),
    "empty-folder": (
        lambda root: [p.unlink() for p in (root / "test").rglob("*.png")],
        "no images in class folders",
    ),
    "corrupt-image": (
        lambda root: (root / "train" / "NORMAL" / "img000.png").write_bytes(b"not a png"),
        "img000.png is not a readable image",
    ),
    "mixed-sizes": (_mixed_size, "images of mixed sizes"),
    "unknown-label": (_unknown_class, "labels \\['OTHER'\\] .* not in label_map"),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_image_folder_loader_names_the_problem_in_bad_input(tmp_path, case):
    write_image_folder(tmp_path, n_per_class=(2, 1))
    break_it, message = BAD_FOLDERS[case]
    break_it(tmp_path)
    root = tmp_path / "nowhere" if case == "missing-dir" else tmp_path
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        load_source(
            {"kind": "image_folder", "root": str(root), "label_map": {"NORMAL": 0, "PNEUMONIA": 1}}
        )


def test_image_folder_csv_missing_column_or_file_is_named(tmp_path):
    import pandas as pd

    write_image_csv(tmp_path, 3, 2)
    spec = {
        "kind": "image_folder",
        "root": str(tmp_path),
        "layout": "csv",
        "images_dir": "images",
        "file_suffix": ".png",
        "labels": {"train": "train.csv", "test": "test.csv"},
    }
    table = pd.read_csv(tmp_path / "test.csv")
    table.rename(columns={"B_Lable": "label"}).to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(ValueError, match=r"test.csv has no column \['B_Lable'\]"):
        load_source(spec)
    table.to_csv(tmp_path / "test.csv", index=False)
    (tmp_path / "images" / "test_001.png").unlink()
    with pytest.raises(FileNotFoundError, match="1 images listed in .*test.csv are missing"):
        load_source(spec)
