"""Training regimes: l2-PGD, the checkpoint schedule, random labels, early stopping."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from manifold_xai.models import io
from manifold_xai.training.adversarial import pgd_l2, project_l2
from manifold_xai.training.checkpoints import checkpoint_directory, load_checkpoint, read_index
from manifold_xai.training.loops import (
    permuted_labels,
    random_label_set,
    train_adversarial,
    train_classifier,
)
from manifold_xai.training.tracking import tracking_steps


class Linear(nn.Sequential):
    """A registered model class, so checkpoints of it can be saved and loaded."""

    def __init__(self):
        super().__init__(nn.Flatten(), nn.Linear(16, 3))


@pytest.fixture(autouse=True)
def register_linear(monkeypatch):
    monkeypatch.setitem(io.MODEL_CLASSES, "linear", Linear)


def linear_model(seed=0):
    torch.manual_seed(seed)
    return Linear()


def test_projection_keeps_each_example_or_the_batch_inside_the_ball():
    delta = torch.randn(5, 1, 4, 4) * torch.tensor([0.1, 1, 5, 10, 50]).view(5, 1, 1, 1)
    per_sample = project_l2(delta, 2.0)
    norms = per_sample.flatten(1).norm(dim=1)
    assert torch.all(norms <= 2.0 + 1e-5)
    torch.testing.assert_close(per_sample[0], delta[0])  # already inside: unchanged
    batch = project_l2(delta, 2.0, "batch")
    assert batch.norm().item() == pytest.approx(2.0, rel=1e-5)


@pytest.mark.parametrize("projection", ["per_sample", "batch"])
def test_pgd_increases_the_loss_within_the_budget(projection):
    model = linear_model()
    x = torch.rand(8, 1, 4, 4)
    y = model(x).argmax(1)
    adv = pgd_l2(
        model,
        x,
        y,
        eps=0.5,
        steps=10,
        projection=projection,
        generator=torch.Generator().manual_seed(0),
    )
    delta = adv - x
    if projection == "per_sample":
        assert torch.all(delta.flatten(1).norm(dim=1) <= 0.5 + 1e-5)
    else:
        assert delta.norm().item() <= 0.5 + 1e-5
    assert F.cross_entropy(model(adv), y) > F.cross_entropy(model(x), y)
    assert all(p.requires_grad and p.grad is None for p in model.parameters())


def test_per_sample_pgd_on_a_linear_model_reaches_the_budget():
    """For a linear model the loss grows monotonically along the gradient: PGD ends on the sphere."""
    model = linear_model(1)
    x = torch.rand(4, 1, 4, 4)
    y = model(x).argmax(1)
    adv = pgd_l2(model, x, y, eps=1.0, steps=20)
    torch.testing.assert_close(
        (adv - x).flatten(1).norm(dim=1), torch.ones(4), rtol=1e-4, atol=1e-4
    )


def test_tracking_steps_are_the_papers_schedule():
    steps = tracking_steps(101_000)
    expected = (
        list(range(21))
        + list(range(25, 601, 25))
        + list(range(700, 2001, 100))
        + list(range(3000, 101_001, 1000))
    )
    assert steps == expected and len(steps) == 158
    assert tracking_steps(30) == [*range(21), 25, 30]


def test_permuted_labels_are_a_fixed_permutation_per_seed():
    labels = np.arange(100) % 10
    a, b, c = permuted_labels(labels, 0), permuted_labels(labels, 0), permuted_labels(labels, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, labels)
    np.testing.assert_array_equal(np.sort(a), np.sort(labels))


def test_training_stops_once_the_target_train_accuracy_is_reached():
    x = np.zeros((64, 1, 4, 4), np.float32)
    y = np.arange(64) % 2
    x[y == 1] = 1.0  # trivially separable
    history = train_classifier(
        linear_model(),
        x,
        y,
        epochs=50,
        lr=0.1,
        batch_size=16,
        lr_step_epochs=10,
        lr_gamma=1.0,
        generator=torch.Generator().manual_seed(0),
        device=torch.device("cpu"),
        target_train_accuracy=0.99,
    )
    assert len(history) < 50 and history[-1]["train_accuracy"] >= 0.99


def test_adversarial_training_runs_and_is_deterministic():
    x = np.random.default_rng(0).random((32, 1, 4, 4), dtype=np.float32)
    y = (x.reshape(32, -1).mean(1) > 0.5).astype(np.int64)
    runs = []
    for _ in range(2):
        model = linear_model()
        history = train_adversarial(
            model,
            x,
            y,
            epochs=2,
            lr=0.1,
            batch_size=8,
            milestones=[1],
            lr_gamma=0.1,
            epsilons=[0.1, 0.2],
            steps=3,
            projection="per_sample",
            generator=torch.Generator().manual_seed(0),
            device=torch.device("cpu"),
        )
        runs.append(torch.cat([p.flatten() for p in model.parameters()]))
        assert len(history) == 2 and np.isfinite(history[-1]["loss"])
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)


def test_tracking_schedule_can_be_configured_or_switched_off():
    assert tracking_steps(7, []) == [0, 7]
    assert tracking_steps(50, [{"until": 4, "every": 2}, {"until": None, "every": 20}]) == [
        0,
        2,
        4,
        20,
        40,
        50,
    ]
    assert tracking_steps(0) == [0]


def test_random_label_set_takes_the_first_samples_and_permutes_their_labels():
    x = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1)
    y = np.arange(20) % 5
    sx, sy = random_label_set(x, y, 10, seed=3)
    np.testing.assert_array_equal(sx, x[:10])
    np.testing.assert_array_equal(sy, permuted_labels(y[:10], 3))
    assert len(random_label_set(x, y, None, 3)[1]) == 20


def _separable(n=64):
    x = np.zeros((n, 1, 4, 4), np.float32)
    y = np.arange(n) % 2
    x[y == 1] = 1.0
    return x, y


def test_checkpoints_are_saved_on_the_schedule_and_reload_the_weights_of_that_step(tmp_path):
    x, y = _separable()
    states = {}

    def remember(step, epoch, model):
        states[step] = [p.detach().clone() for p in model.parameters()]

    schedule = tracking_steps(2 * 4, [{"until": 3, "every": 1}, {"until": None, "every": 3}])
    path = tmp_path / "checkpoints"
    with checkpoint_directory(path, "linear", {}, schedule) as writer:

        def on_step(step, epoch, model):
            remember(step, epoch, model)
            writer(step, epoch, model)

        model = linear_model()
        history = train_classifier(
            model,
            x,
            y,
            epochs=2,
            lr=0.1,
            batch_size=16,
            lr_step_epochs=10,
            lr_gamma=1.0,
            generator=torch.Generator().manual_seed(0),
            device=torch.device("cpu"),
            on_step=on_step,
        )
        writer.final(history[-1]["step"], history[-1]["epoch"], model)
    index = read_index(path)
    assert index["steps"] == [0, 1, 2, 3, 6, 8] and index["epochs"] == [0, 1, 1, 1, 2, 2]
    for step in index["steps"]:
        loaded = load_checkpoint(path, index, step)
        for saved, expected in zip(loaded.parameters(), states[step], strict=True):
            torch.testing.assert_close(saved, expected, rtol=0, atol=0)
    assert not list(tmp_path.glob(".*tmp*"))


def test_a_failed_training_leaves_no_checkpoint_directory(tmp_path):
    path = tmp_path / "checkpoints"
    with pytest.raises(RuntimeError, match="killed"):
        with checkpoint_directory(path, "linear", {}, [0, 1]) as writer:
            writer(0, 0, linear_model())
            raise RuntimeError("killed")
    assert not path.exists() and not list(tmp_path.iterdir())


def test_adversarial_training_makes_the_model_more_robust_to_the_attack():
    """The effect, not only the shapes: on a problem with one robust feature (±2, right 90% of the time)
    and 15 weak, non-robust ones (mean ±0.4 in unit noise), standard training leans on the weak ones and
    l2-PGD at eps = 1.5 breaks it; adversarial training at the same eps keeps most of its accuracy."""
    rng = np.random.default_rng(0)
    n = 512
    y = rng.integers(0, 2, n)
    s = 2 * y - 1
    flat = np.empty((n, 16), np.float32)
    flat[:, 0] = s * 2.0 * np.where(rng.random(n) < 0.9, 1, -1)
    flat[:, 1:] = s[:, None] * 0.4 + rng.standard_normal((n, 15))
    x = flat.reshape(n, 1, 4, 4)

    def linear():
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(16, 2))

    common = {"epochs": 20, "batch_size": 64, "generator": None, "device": torch.device("cpu")}
    standard = linear()
    train_classifier(
        standard,
        x,
        y,
        lr=0.05,
        lr_step_epochs=100,
        lr_gamma=1.0,
        **{**common, "generator": torch.Generator().manual_seed(0)},
    )
    robust = linear()
    train_adversarial(
        robust,
        x,
        y,
        lr=0.5,
        milestones=[100],
        lr_gamma=1.0,
        epsilons=[1.5],
        steps=10,
        projection="per_sample",
        **{**common, "generator": torch.Generator().manual_seed(0)},
    )
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    robust_accuracy = {}
    for name, model in (("standard", standard), ("robust", robust)):
        model.eval()
        adv = pgd_l2(model, xt, yt, 1.5, 20, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            robust_accuracy[name] = (model(adv).argmax(1) == yt).float().mean().item()
    assert robust_accuracy["robust"] > robust_accuracy["standard"] + 0.1, robust_accuracy
