"""Resumable training: a run killed mid-training and resumed ends with the same model, bit for bit, as an
uninterrupted run (CPU); stale states are discarded; a non-finite loss keeps the last good state."""

import numpy as np
import pytest
import torch

from manifold_xai.models.classifiers import LeNet
from manifold_xai.training.checkpoints import checkpoint_directory, read_index
from manifold_xai.training.loops import train_adversarial, train_classifier
from manifold_xai.training.resume import TrainingState


class Killed(Exception):
    """Stands in for SIGKILL: training stops at an arbitrary step, mid-epoch."""


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 8, 8), dtype=np.float32), rng.integers(0, 3, n).astype(np.int64)


def run(kind, resume, kill_at=None, on_step=None):
    torch.manual_seed(0)  # the job seeds the global RNG (dropout) before training
    model = LeNet(1, 8, 3)
    x, y = data()

    def step_hook(step, epoch, m):
        if kill_at is not None and step == kill_at:
            raise Killed(step)
        if on_step is not None:
            on_step(step, epoch, m)

    common = {
        "epochs": 4,
        "batch_size": 16,
        "lr_gamma": 0.5,
        "generator": torch.Generator().manual_seed(1),
        "device": torch.device("cpu"),
        "on_step": step_hook,
        "resume": resume,
    }
    if kind == "adversarial":
        history = train_adversarial(
            model,
            x,
            y,
            lr=0.05,
            milestones=[2],
            epsilons=[0.5, 1.0],
            steps=2,
            projection="per_sample",
            **common,
        )
    else:
        history = train_classifier(
            model, x, y, lr=0.01, lr_step_epochs=1, lr_schedule=kind, **common
        )
    return model, history


@pytest.mark.parametrize("kind", ["step", "cosine", "adversarial"])
def test_a_killed_and_resumed_run_ends_with_the_same_model(tmp_path, kind):
    reference, ref_history = run(kind, None)
    state = TrainingState(tmp_path / ".resume", "fp")
    with pytest.raises(Killed):
        run(kind, state, kill_at=7)  # epoch 3 of 4 (3 steps per epoch), after two saved epochs
    assert torch.load(state.path, weights_only=True)["epoch"] == 2
    resumed, history = run(kind, state)
    assert history == ref_history
    for name, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_a_state_from_another_configuration_is_discarded(tmp_path):
    with pytest.raises(Killed):
        run("step", TrainingState(tmp_path / ".resume", "config-a"), kill_at=4)
    assert (tmp_path / ".resume" / "state.pt").is_file()
    assert TrainingState(tmp_path / ".resume", "config-b").load() is None
    assert not (tmp_path / ".resume").exists()


def run_with_checkpoints(path, resume, kill_at=None):
    """``run`` with a checkpoint directory at ``path`` on steps 0, 4, 8 and the last, 12 (the job's layout)."""
    with checkpoint_directory(path, "lenet", {}, [0, 4, 8], resume=resume) as writer:
        model, _ = run("step", resume, kill_at=kill_at, on_step=writer)
        writer.final(12, 4, model)
    if resume is not None:
        resume.clear()
    return read_index(path)


@pytest.mark.parametrize("lost", [False, True])
def test_a_resumed_job_keeps_its_checkpoints_or_starts_over_when_they_are_gone(
    tmp_path, lost, caplog
):
    reference = run_with_checkpoints(tmp_path / "ref", None)
    state = TrainingState(tmp_path / ".resume", "fp")
    with pytest.raises(Killed):
        run_with_checkpoints(tmp_path / "ckpt", state, kill_at=7)
    recorded = torch.load(state.path, weights_only=True)["checkpoints"]
    assert sorted(recorded) == [0, 4]  # the state names the checkpoints saved up to its epoch
    if lost:
        (tmp_path / ".resume" / "checkpoints" / recorded[4][1]).unlink()
    with caplog.at_level("WARNING"):
        resumed = run_with_checkpoints(tmp_path / "ckpt", TrainingState(tmp_path / ".resume", "fp"))
    assert ("its checkpoints are missing" in caplog.text) == lost
    assert resumed == reference
    for name in reference["files"]:
        ref = torch.load(tmp_path / "ref" / name, weights_only=True)
        got = torch.load(tmp_path / "ckpt" / name, weights_only=True)
        assert all(torch.equal(v, got["state_dict"][k]) for k, v in ref["state_dict"].items())


def test_a_non_finite_loss_stops_naming_the_kept_last_good_state(tmp_path):
    state = TrainingState(tmp_path / ".resume", "fp")
    torch.manual_seed(0)
    model = LeNet(1, 8, 3)
    x, y = data()

    def poison(step, epoch, m):
        if step == 4:  # in epoch 2: the next loss is NaN
            with torch.no_grad():
                m.head[-1].weight.fill_(float("nan"))

    with pytest.raises(
        FloatingPointError, match=f"non-finite loss nan at step 4.*kept in {state.path}"
    ):
        train_classifier(
            model,
            x,
            y,
            epochs=3,
            lr=0.01,
            batch_size=16,
            lr_step_epochs=1,
            lr_gamma=0.5,
            generator=torch.Generator().manual_seed(1),
            device=torch.device("cpu"),
            on_step=poison,
            resume=state,
        )
    kept = torch.load(state.path, weights_only=True)
    assert kept["epoch"] == 1 and all(torch.isfinite(v).all() for v in kept["model"].values())


def _kill_after(model, calls):
    """Make ``model`` raise Killed on its ``calls``-th forward pass (mid-epoch)."""
    forward, count = model.forward, [0]

    def counting(*args, **kwargs):
        count[0] += 1
        if count[0] == calls:
            raise Killed(calls)
        return forward(*args, **kwargs)

    model.forward = counting
    return model


def _manifold_run(kind, resume, kill_at=None):
    from manifold_xai.models.autoencoder import ConvAutoEncoder
    from manifold_xai.models.vae import BurgessVAE
    from manifold_xai.training.loops import train_autoencoder, train_btcvae

    torch.manual_seed(0)
    images = np.random.default_rng(0).random((24, 1, 16, 16), dtype=np.float32)
    common = {
        "epochs": 3,
        "lr": 1e-3,
        "batch_size": 8,
        "generator": torch.Generator().manual_seed(2),
        "device": torch.device("cpu"),
        "resume": resume,
    }
    if kind == "btcvae":
        model = BurgessVAE(1, 16, 3)
        if kill_at:
            _kill_after(model, kill_at)
        train_btcvae(model, images, alpha=1, beta=6, gamma=1, reg_anneal_steps=5, **common)
    else:
        model = ConvAutoEncoder(1, (16, 16), 4, 1, 4, 4)
        if kill_at:
            _kill_after(model, kill_at)
        train_autoencoder(model, images, lr_schedule="cosine", **common)
    return model


@pytest.mark.parametrize("kind", ["btcvae", "autoencoder"])
def test_a_killed_manifold_training_resumes_to_the_same_model(tmp_path, kind):
    reference = _manifold_run(kind, None)
    state = TrainingState(tmp_path / ".resume", "fp")
    with pytest.raises(Killed):
        _manifold_run(kind, state, kill_at=8)  # 3 batches per epoch: in epoch 3
    assert torch.load(state.path, weights_only=True)["epoch"] == 2
    resumed = _manifold_run(kind, state)
    for name, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


@pytest.mark.parametrize("moment", ["after a saved epoch", "after its checkpoints are in place"])
def test_a_sigkilled_classifier_job_resumes_to_the_same_model_and_checkpoints(tmp_path, moment):
    """The real rule script, killed with SIGKILL once it has saved an epoch, or once its finished
    checkpoint directory is in place but before the model is written (the moment fault injection on the
    default config found: Snakemake then deletes the failed job's outputs, checkpoints included), then
    run again, writes the same model and checkpoint files as an uninterrupted run."""
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from test_bad_input import CLASSIFIER, _digits_data

    from manifold_xai.store import sha256_path

    _digits_data(tmp_path / "data.zarr", n=400)
    params = {
        "classifier": {
            **CLASSIFIER,
            "epochs": 4,
            "batch_size": 8,
            "checkpoints": [{"until": None, "every": 10}],
        },
        "device": "cpu",
    }
    # the job kills itself with SIGKILL when it starts writing model.pt
    die_before_model = (
        "import os, signal, manifold_xai.models.io as io\n"
        "save = io.save_model\n"
        "def dying(path, *a, **k):\n"
        "    if str(path).endswith('model.pt'): os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return save(path, *a, **k)\n"
        "io.save_model = dying\n"
    )

    def job(out, die=False):
        return (
            f"import sys; sys.path[:0] = {[str(p) for p in sys.path if p]!r}\n"
            + (die_before_model if die else "")
            + "from rule_harness import run_rule\n"
            f"status, err = run_rule('train_classifier', input={{'data': {str(tmp_path / 'data.zarr')!r}}}, "
            f"output={{'model': {str(out / 'model.pt')!r}, 'metrics': {str(out / 'metrics.json')!r}, "
            f"'checkpoints': {str(out / 'checkpoints')!r}}}, params={params!r}, "
            "wildcards={'dataset': 'd', 'seed': '0', 'regime': 'standard'}, "
            f"log={str(out / 'job.log')!r})\n"
            "sys.stderr.write(err); sys.exit(status)\n"
        )

    def run(out):
        out.mkdir()
        return subprocess.run(
            [sys.executable, "-c", job(out)], capture_output=True, text=True, timeout=300
        )

    assert run(tmp_path / "clean").returncode == 0
    killed = tmp_path / "killed"
    killed.mkdir()
    state = killed / ".resume" / "state.pt"
    if moment == "after a saved epoch":
        proc = subprocess.Popen([sys.executable, "-c", job(killed)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        epoch = torch.load(state, weights_only=True)["epoch"]
        assert 1 <= epoch < 4
    else:
        died = subprocess.run([sys.executable, "-c", job(killed, die=True)], timeout=300)
        assert died.returncode == -signal.SIGKILL
        assert (killed / "checkpoints" / "index.json").exists()
        epoch = torch.load(state, weights_only=True)["epoch"]
        assert epoch == 4
        shutil.rmtree(killed / "checkpoints")  # as Snakemake removes a failed job's outputs
    assert state.exists() and not (killed / "model.pt").exists()
    (killed / "job.log").unlink()
    result = subprocess.run(
        [sys.executable, "-c", job(killed)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert f"resuming from {state}: epoch {epoch}" in (killed / "job.log").read_text()
    assert not (killed / ".resume").exists()
    for name in ("model.pt", "checkpoints"):
        assert sha256_path(killed / name) == sha256_path(tmp_path / "clean" / name), name
