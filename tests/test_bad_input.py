"""Bad input, one case per row: each ends in a clear one-line error naming the problem, a non-zero exit,
and no partial output. Config errors go through the real Snakefile (they stop the run before any job);
data, store and training errors run the rule's real script as Snakemake runs it (tests/rule_harness.py)."""

from __future__ import annotations

import errno
import subprocess

import numpy as np
import pytest
import torch
import yaml
from fake_data import write_image_csv, write_image_folder
from rule_harness import run_rule
from test_workflow import snakemake_command

from conftest import REPO, with_examples
from manifold_xai.data.dataset_store import Dataset, write_dataset
from manifold_xai.models.classifiers import LeNet, SimpleNet
from manifold_xai.models.io import save_model
from manifold_xai.store import create_store, write_array, write_json
from manifold_xai.tangent.basis_store import write_tangent_store

# ------------------------------------------------------------------ config: the Snakefile refuses to start


def _tiny():
    return yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())


def _set(path, value):
    def edit(config):
        node = config
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value

    return edit


# One case per kind of check (schema key, type, cross-field); tests/test_config.py holds the full table.
CONFIG_CASES = {
    "unknown-key": (
        _set("datasets.digits.manifold.latnt_dim", 3),
        "unknown key 'datasets.digits.manifold.latnt_dim'",
    ),
    "wrong-type": (
        _set("datasets.digits.classifier.epochs", "ten"),
        "classifier.epochs: 'ten' is not of type 'integer'",
    ),
    "latent-dim-too-large": (
        _set("datasets.digits.manifold.latent_dim", 1024),
        "latent_dim: 1024 must be smaller than the image dimension 1024",
    ),
    "projection-of-an-unknown-method": (
        _set("datasets.digits.attributions.projected_gradient", {"project": "gradiant"}),
        "datasets.digits.attributions.projected_gradient: 'projected_gradient': projects "
        "'gradiant', which is neither a method of the block",
    ),
    "robustness-noise-norm-not-positive": (
        _set("datasets.digits.evaluation.robustness", {"norms": [0.5, 0]}),
        "robustness.norms",
    ),
}


def _renamed(name):
    def edit(config):
        config["datasets"] = {name: config["datasets"]["digits"]}

    return edit


CONFIG_CASES.update(
    {
        "dataset-name-with-a-space": (
            _renamed("my digits"),
            "invalid name 'my digits' at datasets (letters, digits and _, starting with a letter)",
        ),
        "dataset-name-leaving-results": (
            _renamed("../digits"),
            "invalid name '../digits' at datasets (letters, digits and _, starting with a letter)",
        ),
        # the directed regimes need every training image's tangent basis; matrix-free tangents store none
        "directed-regime-without-training-bases": (
            _set("datasets.digits.tangent.projection", "matrix_free"),
            "datasets.digits.classifier.regimes: ['adversarial_normal', 'adversarial_tangent'] confine "
            "the attack to each training image's tangent space, but this dataset has no stored "
            "training-image bases",
        ),
        "denoiser-noise-level-outside-training": (
            _set(
                "datasets.digits.tangent_sources",
                {"sources": ["denoiser"], "denoiser": {"sigma": 2.0}},
            ),
            "datasets.digits.tangent_sources.denoiser.sigma: 2.0 lies outside the training noise "
            "levels [0.05, 0.2]",
        ),
    }
)

# A `--config` override of each top-level key with a value of the wrong type (Snakemake parses the
# value as YAML): the same one line as from a file.
OVERRIDES = {
    "standalone": ("standalone=maybe", "standalone: 'maybe' is not of type 'boolean'"),
    "seeds": ("seeds=zero", "seeds: 'zero' is not of type 'array'"),
    "device": ("device=3", "device: 3 is not of type 'string'"),
    "threads_per_job": ("threads_per_job=many", "threads_per_job: 'many' is not of type 'integer'"),
    "bootstrap_resamples": (
        "bootstrap_resamples=many",
        "bootstrap_resamples: 'many' is not of type 'integer'",
    ),
    "dask": ("dask=7", "dask: 7 is not of type 'object'"),
    "figures": ("figures=big", "figures: 'big' is not of type 'object'"),
    "theorem1": ("theorem1=5", "theorem1: 5 is not"),
    "study": ("study=5", "study: 5 is not"),
    "datasets": ("datasets=[]", "datasets: [] is not of type 'object'"),
}


def _run_snakemake(work, *args):
    cmd = snakemake_command(work, "--cores", "1", *args, configfile=None)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _one_config_line(result, message, work):
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("manifold-xai: invalid config: "), result.stderr
    assert message in lines[0], lines[0]
    assert not (work / "results").exists()


@pytest.mark.parametrize("key", OVERRIDES)
def test_a_wrong_type_from_the_command_line_stops_the_run_with_one_line(tmp_path, key):
    override, message = OVERRIDES[key]
    work = with_examples(tmp_path / "work")
    tiny = REPO / "configs" / "tiny.yaml"
    result = _run_snakemake(work, "--configfile", str(tiny), "--config", override)
    _one_config_line(result, message, work)


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config_stops_the_run_with_one_line(tmp_path, case):
    edit, message = CONFIG_CASES[case]
    config = _tiny()
    edit(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    work = with_examples(tmp_path / "work")
    _one_config_line(_run_snakemake(work, "--configfile", str(path)), message, work)


# ------------------------------------------------------------------ data, stores, training: the job fails


def _digits_data(path, n=40, nan=False):
    """A data.zarr of 8×8 images, 3 classes, k = 4 latents; ``nan`` writes a NaN pixel (bypassing
    write_dataset's own check, as a corrupted store would)."""
    rng = np.random.default_rng(0)
    images = rng.random((n, 1, 8, 8), dtype=np.float32)
    labels = rng.integers(0, 3, n).astype(np.int64)
    split = np.array([0] * (n - 10) + [1] * 10, np.int8)
    attrs = {"approach": "generative", "n_classes": 3, "image_shape": [1, 8, 8], "latent_dim": 4}
    latents = rng.standard_normal((n, 4)).astype(np.float32)
    if not nan:
        write_dataset(path, Dataset(images, labels, latents, split, attrs))
        return
    images[3, 0, 2, 2] = np.nan
    group = create_store(path, attrs)
    write_array(group, "images", images, ("sample", "channel", "y", "x"))
    write_array(group, "labels", labels, ("sample",))
    write_array(group, "latents", latents, ("sample", "latent"))
    write_array(group, "split", split, ("sample",))


CLASSIFIER = {
    "arch": "lenet",
    "width": 1.0,
    "pretrained": False,
    "lr_schedule": "step",
    "epochs": 1,
    "lr": 0.001,
    "batch_size": 16,
    "lr_step_epochs": 10,
    "lr_gamma": 0.1,
    "checkpoints": [],
}


def source_case(spec_for):
    def build(tmp):
        return (
            "prepare_source",
            {},
            {"store": tmp / "out" / "source.zarr"},
            {"source": spec_for(tmp)},
            {"dataset": "d"},
        )

    return build


def _empty_folder(tmp):
    for split in ("train", "test"):
        (tmp / "xray" / split / "NORMAL").mkdir(parents=True)
    return {"kind": "image_folder", "root": str(tmp / "xray")}


def _folder_then(change):
    def spec(tmp):
        write_image_folder(tmp / "xray", n_per_class=(2, 1))
        change(tmp / "xray")
        return {"kind": "image_folder", "root": str(tmp / "xray")}

    return spec


def _mixed(root):
    from PIL import Image

    Image.new("L", (12, 9)).save(root / "train" / "NORMAL" / "small.png")


def _csv_without_label(tmp):
    write_image_csv(tmp / "retina", 3, 2)
    (tmp / "retina" / "train.csv").write_text("Index,grade\ntrain_000,1\n")
    return {
        "kind": "image_folder",
        "root": str(tmp / "retina"),
        "layout": "csv",
        "images_dir": "images",
        "file_suffix": ".png",
        "labels": {"train": "train.csv", "test": "test.csv"},
    }


def train_case(classifier=None, **data_kwargs):
    def build(tmp):
        _digits_data(tmp / "data.zarr", **data_kwargs)
        out = {
            "model": tmp / "out" / "model.pt",
            "metrics": tmp / "out" / "metrics.json",
            "checkpoints": tmp / "out" / "checkpoints",
        }
        return (
            "train_classifier",
            {"data": tmp / "data.zarr"},
            out,
            {"classifier": {**CLASSIFIER, **(classifier or {})}, "device": "cpu"},
            {"dataset": "d", "seed": "0", "regime": "standard"},
        )

    return build


def _lenet_file(path, arch=LeNet, name="lenet"):
    kwargs = {"channels": 1, "image_size": 8, "n_classes": 3}
    save_model(path, name, kwargs, arch(**kwargs))


def _attributions_case(model_writer):
    def build(tmp):
        _digits_data(tmp / "data.zarr")
        model_writer(tmp / "model.pt")
        return (
            "compute_attributions",
            {"data": tmp / "data.zarr", "model": tmp / "model.pt"},
            {"store": tmp / "out" / "attributions.zarr"},
            {"n_test": None, "attributions": {"gradient": {"batch_size": 10}}, "device": "cpu"},
            {"dataset": "d", "seed": "0", "regime": "standard"},
        )

    return build


def _tangent(path, image_shape):
    """A tangent store of a random linear decoder for 10 test samples of ``image_shape``."""
    d = int(np.prod(image_shape))
    weight = torch.randn(d, 4, generator=torch.Generator().manual_seed(0))
    write_tangent_store(
        path,
        lambda z: (z @ weight.T).reshape(-1, *image_shape),
        np.zeros((10, 4), np.float32),
        np.arange(30, 40),
        image_shape,
        device=torch.device("cpu"),
    )


def _alignment_case(tangent_shape=(1, 8, 8), dask=None):
    """compute_alignment on real attributions of the digits data; the tangent store's images are
    ``tangent_shape``; reductions on ``dask`` (default: local threads)."""

    def build(tmp):
        _digits_data(tmp / "data.zarr")
        _lenet_file(tmp / "model.pt")
        status, err = run_rule(
            "compute_attributions",
            input={"data": tmp / "data.zarr", "model": tmp / "model.pt"},
            output={"store": tmp / "attributions.zarr"},
            params={
                "n_test": None,
                "device": "cpu",
                "attributions": {"gradient": {"batch_size": 10}},
            },
            wildcards={"dataset": "d", "seed": "0", "regime": "standard"},
            log=tmp / "attr.log",
        )
        assert status == 0, err
        _tangent(tmp / "tangent.zarr", tangent_shape)
        return (
            "compute_alignment",
            {
                "data": tmp / "data.zarr",
                "tangent": tmp / "tangent.zarr",
                "attributions": tmp / "attributions.zarr",
                "manifold": tmp / "model.pt",
            },
            {"store": tmp / "out" / "alignment.zarr"},
            {"n_test": None, "device": "cpu", "dask": dask or {"address": None}},
            {"dataset": "d", "seed": "0", "regime": "standard"},
        )

    return build


def _checkpoint_of_another_architecture(tmp):
    _digits_data(tmp / "data.zarr")
    _tangent(tmp / "tangent.zarr", (1, 8, 8))
    ckpt = tmp / "checkpoints"
    _lenet_file(ckpt / "step0000000.pt")
    _lenet_file(
        ckpt / "step0000002.pt", SimpleNet, "simplenet"
    )  # a SimpleNet file where a LeNet belongs
    write_json(
        ckpt / "index.json",
        {
            "format": "manifold-xai/checkpoints/1",
            "class": "lenet",
            "kwargs": {"channels": 1, "image_size": 8, "n_classes": 3},
            "steps": [0, 2],
            "epochs": [0, 1],
            "files": ["step0000000.pt", "step0000002.pt"],
        },
    )
    _lenet_file(tmp / "manifold.pt")
    return (
        "evaluate_checkpoints",
        {
            "data": tmp / "data.zarr",
            "tangent": tmp / "tangent.zarr",
            "checkpoints": ckpt,
            "manifold": tmp / "manifold.pt",
        },
        {"store": tmp / "out" / "curves.zarr"},
        {
            "curves": {"n_test": 5, "n_train_error": 10, "methods": ["gradient"]},
            "attributions": {"gradient": {"batch_size": 10}},
            "random_labels_n_train": None,
            "device": "cpu",
        },
        {"dataset": "d", "seed": "0", "regime": "standard"},
    )


def _full_disk(monkeypatch):
    import manifold_xai.data.dataset_store as dataset_store

    real = dataset_store.write_array

    def write_until_full(group, name, *args, **kwargs):
        if name == "labels":  # the images are written; then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(group, name, *args, **kwargs)

    monkeypatch.setattr(dataset_store, "write_array", write_until_full)


def _torus_source_for_another_renderer(tmp):
    from manifold_xai.data.torus import TorusRenderer

    status, err = run_rule(
        "prepare_source",
        input={},
        output={"store": tmp / "source.zarr"},
        params={
            "source": {
                "kind": "torus",
                "n_train": 20,
                "n_test": 5,
                "seed": 0,
                "image_size": 16,
                "n_classes": 4,
                "orbit": 0.35,
                "axes": [0.28, 0.12],
                "sharpness": 12.0,
            }
        },
        wildcards={"dataset": "t"},
        log=tmp / "src.log",
    )
    assert status == 0, err
    renderer = TorusRenderer(size=16, orbit=0.2)  # rendered with another orbit than the source
    save_model(tmp / "renderer.pt", "torus_renderer", renderer.constructor_kwargs(), renderer)
    return (
        "render_dataset",
        {"source": tmp / "source.zarr", "manifold": tmp / "renderer.pt"},
        {"store": tmp / "out" / "data.zarr"},
        {"device": "cpu"},
        {"dataset": "t", "seed": "0"},
    )


def _local_pca_with_too_few_images(tmp):
    _digits_data(tmp / "data.zarr")  # 30 training images
    return (
        "compute_tangent_source",
        {"data": tmp / "data.zarr"},
        {"store": tmp / "out" / "tangent_local_pca.zarr"},
        {"n_test": None, "settings": {"k": 4, "neighbours": 40, "batch_size": 8}, "device": "cpu"},
        {"dataset": "d", "seed": "0", "source": "local_pca"},
    )


def _responses_not_from_the_page(tmp):
    write_json(tmp / "stimuli.json", {"tasks": [{"name": "T", "cases": []}]})
    write_json(tmp / "responses-x.json", {"answers": [1, 2]})
    return (
        "analyze_study",
        {"stimuli": tmp / "stimuli.json", "responses": [tmp / "responses-x.json"]},
        {"table": tmp / "out" / "analysis.csv"},
        {},
        {},
    )


def _responses_case(content: str):
    """analyze_study on a stimuli.json with one task of two cases and one response file ``content``."""

    def build(tmp):
        write_json(
            tmp / "stimuli.json",
            {
                "tasks": [
                    {
                        "name": "T",
                        "cases": [
                            {"id": 0, "fraction_a": 0.2, "fraction_b": 0.4},
                            {"id": 1, "fraction_a": 0.3, "fraction_b": 0.5},
                        ],
                    }
                ]
            },
        )
        (tmp / "responses-x.json").write_text(content)
        return (
            "analyze_study",
            {"stimuli": tmp / "stimuli.json", "responses": [tmp / "responses-x.json"]},
            {"table": tmp / "out" / "analysis.csv"},
            {},
            {},
        )

    return build


def _response_file(*cases) -> str:
    import json

    choices = [{"task": task, "case": case, "choice": "B"} for task, case in cases]
    return json.dumps({"format": "manifold-xai/study-responses/1", "choices": choices})


def _damaged_chunk(damage):
    """train_classifier on a data.zarr one of whose image chunks is ``damage``d on disk."""

    def build(tmp):
        case = train_case()(tmp)
        chunk = next(
            p for p in sorted((tmp / "data.zarr" / "images" / "c").rglob("*")) if p.is_file()
        )
        damage(chunk)
        return case

    return build


def _truncate(path):
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])


def _scramble(path):
    size = len(path.read_bytes())
    path.write_bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())


def _checkpoint_index_listing_a_missing_file(tmp):
    case = _checkpoint_of_another_architecture(tmp)
    (tmp / "checkpoints" / "step0000002.pt").unlink()
    return case


# A researcher's own models for the 8×8, 3-class data above (models.external).
OWN_NETS = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class AutoEncoder(nn.Module):
    def __init__(self, latent_dim=4, side=8):
        super().__init__()
        self.side = side
        self.enc = nn.Linear(64, latent_dim)
        self.dec = nn.Linear(latent_dim, side * side)

    def encode(self, x):
        return self.enc(x.flatten(1))

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).reshape(-1, 1, self.side, self.side)
"""


def _own_nets(tmp):
    path = tmp / "own_nets.py"
    path.write_text(OWN_NETS)
    import importlib.util

    spec = importlib.util.spec_from_file_location("own_nets_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def _external_case(role, make_spec):
    """An import_classifier / import_manifold job on _digits_data with the spec ``make_spec(tmp, path,
    module)`` returns (it writes the files it names)."""

    def build(tmp):
        _digits_data(tmp / "data.zarr")
        path, module = _own_nets(tmp)
        spec = make_spec(tmp, path, module)
        out = {"model": tmp / "out" / "model.pt", "metrics": tmp / "out" / "metrics.json"}
        if role == "classifier":
            return (
                "import_classifier",
                {"data": tmp / "data.zarr"},
                out,
                {"external": spec, "device": "cpu"},
                {"dataset": "d", "seed": "0", "regime": "external"},
            )
        return (
            "import_manifold",
            {"source": tmp / "data.zarr"},
            out,
            {"manifold": {"model": "external", "latent_dim": 4, **spec}, "device": "cpu"},
            {"dataset": "d", "seed": "0"},
        )

    return build


def _weights(module_class, state=None, **kwargs):
    """A spec naming ``module_class`` of own_nets.py with weights ``state(model)`` (default: its own)."""

    def make(tmp, path, module):
        model = getattr(module, module_class)(**kwargs)
        torch.save(state(model) if state else model.state_dict(), tmp / "weights.pt")
        return {
            "module": f"{path}:{module_class}",
            "kwargs": kwargs,
            "weights": str(tmp / "weights.pt"),
        }

    return make


def _whole_module_pickled(tmp, path, module):
    # a pickled module object, not a state dict: unpickling it would run code
    torch.save(LeNet(channels=1, image_size=8, n_classes=3), tmp / "weights.pt")
    return {"module": f"{path}:Net", "kwargs": {}, "weights": str(tmp / "weights.pt")}


def _weights_of_another_architecture(tmp, path, module):
    torch.save(LeNet(channels=1, image_size=8, n_classes=3).state_dict(), tmp / "weights.pt")
    return {"module": f"{path}:Net", "kwargs": {}, "weights": str(tmp / "weights.pt")}


def _archive_with_a_fixed_batch(tmp, path, module):
    program = torch.export.export(module.Net().eval(), (torch.rand(2, 1, 8, 8),))
    torch.export.save(program, tmp / "net.pt2")
    return {"archive": str(tmp / "net.pt2")}


def _not_an_archive(tmp, path, module):
    (tmp / "net.pt2").write_bytes(b"not a zip archive at all")
    return {"archive": str(tmp / "net.pt2")}


def _without_a_key(model):
    state = model.state_dict()
    del state["fc.bias"]
    return state


JOB_CASES = {
    "external-weights-a-pickled-module": (
        _external_case("classifier", _whole_module_pickled),
        "weights.pt is not a weights file \\(a state dict loadable with weights_only=True\\)",
    ),
    "external-weights-of-another-architecture": (
        _external_case("classifier", _weights_of_another_architecture),
        "weights.pt: the weights do not fit .*own_nets.py:Net: Missing key\\(s\\) in state_dict: "
        '"fc.weight", "fc.bias"',
    ),
    "external-weights-missing-a-key": (
        _external_case("classifier", _weights("Net", _without_a_key)),
        'weights.pt: the weights do not fit .*Net: Missing key\\(s\\) in state_dict: "fc.bias"',
    ),
    "external-classifier-shape-mismatch-with-the-data": (
        _external_case("classifier", _weights("Net", n_classes=10)),
        r"weights.pt: the classifier maps the data's images \(4, 1, 8, 8\) to \(4, 10\); "
        r"expected logits \(4, 3\)",
    ),
    "external-archive-with-a-fixed-batch": (
        _external_case("classifier", _archive_with_a_fixed_batch),
        r"net.pt2: the classifier fails on input of shape \(4, 1, 8, 8\)",
    ),
    "external-archive-not-an-archive": (
        _external_case("classifier", _not_an_archive),
        r"net.pt2 is not a torch.export or TorchScript archive \(not a zip\)",
    ),
    "external-decoder-shape-mismatch-with-the-data": (
        _external_case("manifold", _weights("AutoEncoder", side=6)),
        r"weights.pt: decode maps latents \(4, 4\) to \(4, 1, 6, 6\); the data's images are "
        r"\(4, 1, 8, 8\)",
    ),
    "external-decoder-of-another-latent-dim": (
        _external_case("manifold", _weights("AutoEncoder", latent_dim=5)),
        r"weights.pt: decode with latent_dim 4 fails on input of shape \(4, 4\)",
    ),
    "missing-data-directory": (
        source_case(
            lambda tmp: {
                "kind": "mnist",
                "root": str(tmp / "nowhere"),
                "download": False,
                "image_size": 32,
            }
        ),
        "no MNIST data under .*nowhere",
    ),
    "empty-image-folder": (source_case(_empty_folder), "no images in class folders under .*train"),
    "corrupt-image-file": (
        source_case(
            _folder_then(lambda r: (r / "train" / "NORMAL" / "img000.png").write_bytes(b"GIF"))
        ),
        "img000.png is not a readable image",
    ),
    "mixed-image-sizes": (
        source_case(_folder_then(_mixed)),
        "images of mixed sizes: .*small.png is 9x12 \\(height x width\\)",
    ),
    "labels-csv-missing-column": (
        source_case(_csv_without_label),
        r"train.csv has no column \['B_Lable'\]",
    ),
    "nan-in-data": (train_case(nan=True), "data.zarr: images contain NaN or inf values"),
    # diverges in its first epoch, so there is no good state to keep yet (test_resume.py covers a later one)
    "non-finite-loss": (
        train_case(classifier={"lr": 1e30, "epochs": 3}),
        "non-finite loss nan at step 1; lower the learning rate \\(traceback",
    ),
    "tangent-store-shape-mismatch": (
        _alignment_case(tangent_shape=(1, 6, 6)),  # another dataset's: 6×6 images
        r"attributions \(1, 10, 1, 8, 8\) .* do not match the tangent store .* d=36",
    ),
    "dask-scheduler-unreachable": (
        _alignment_case(dask={"address": "tcp://127.0.0.1:9", "timeout": "2s"}),
        r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2s \(config dask.address",
    ),
    "checkpoint-of-another-architecture": (
        _checkpoint_of_another_architecture,
        r"step0000002.pt holds a 'simplenet' model, expected one of \['lenet'\]",
    ),
    "model-file-not-a-model": (
        _attributions_case(lambda p: p.write_bytes(b"\x00" * 64)),
        "model.pt is not a readable model file",
    ),
    "store-not-a-dataset": (
        _attributions_case(_lenet_file),
        None,
    ),  # replaced below: data.zarr emptied
    "torus-source-of-another-renderer": (
        _torus_source_for_another_renderer,
        "source.zarr images differ from the renderer's",
    ),
    "local-pca-with-too-few-images": (
        _local_pca_with_too_few_images,
        "local PCA with 40 neighbours needs more than 40 training images",
    ),
    "responses-not-from-the-page": (
        _responses_not_from_the_page,
        "responses-x.json is not a response file saved by the study page",
    ),
    "truncated-zarr-chunk": (
        _damaged_chunk(_truncate),
        r"data.zarr/images: a chunk cannot be decoded, the store is corrupted or truncated",
    ),
    "corrupted-zarr-chunk": (
        _damaged_chunk(_scramble),
        r"data.zarr/images: a chunk cannot be decoded, the store is corrupted or truncated",
    ),
    "checkpoint-index-lists-a-missing-file": (
        _checkpoint_index_listing_a_missing_file,
        r"checkpoints: checkpoint files listed in index.json are missing: \['step0000002.pt'\]",
    ),
    "responses-not-json": (
        _responses_case('{"format": "manifold-xai/study-responses/1", "choices": [{"task"'),
        r"responses-x.json is not valid JSON",
    ),
    "responses-from-another-stimulus-set": (
        _responses_case(_response_file(("T", 0), ("T", 7), ("Other", 1))),
        r"responses-x.json answers 2 cases that .*stimuli.json does not have \(first: task 'T', "
        r"case 7\): it was saved from another stimulus set",
    ),
    "full-disk-while-writing": (
        source_case(
            lambda tmp: {"kind": "digits", "image_size": 8, "test_fraction": 0.2, "split_seed": 0}
        ),
        r"OSError: \[Errno 28\] No space left on device",
    ),
}


@pytest.mark.parametrize("case", JOB_CASES)
def test_bad_input_fails_the_job_with_one_line_and_no_partial_output(tmp_path, case, monkeypatch):
    build, message = JOB_CASES[case]
    script, inputs, outputs, params, wildcards = build(tmp_path)
    if (
        case == "store-not-a-dataset"
    ):  # a directory that is not a Zarr store where data.zarr belongs
        import shutil

        shutil.rmtree(tmp_path / "data.zarr")
        (tmp_path / "data.zarr").mkdir()
        (tmp_path / "data.zarr" / "zarr.json").write_text("{not json")
        message = "data.zarr is not a readable Zarr store"
    if case == "full-disk-while-writing":
        _full_disk(monkeypatch)
    status, stderr = run_rule(
        script,
        input=inputs,
        output=outputs,
        params=params,
        wildcards=wildcards,
        log=tmp_path / "job.log",
    )
    assert status != 0
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"manifold-xai error: rule {script} "), stderr[-2000:]
    import re

    assert re.search(message, last), last
    assert "Traceback" not in stderr and "Traceback" in (tmp_path / "job.log").read_text()
    for path in outputs.values():
        assert not path.exists(), path
        assert not list(path.parent.glob(f".{path.name}.tmp-*")), "temporary left behind"
        assert not path.with_name(path.name + ".prov.json").exists()
