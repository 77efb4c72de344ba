"""Compute floors of the heavy rules, for ``run_cost.py``: the FLOPs a job must do over this machine's
throughput on the same model and batch size.

A job's FLOPs are (images it passes through the classifier) x (FLOPs of one image's forward and backward),
counted with ``torch.utils.flop_counter.FlopCounterMode`` on one batch of the run's own architecture. The
images come from the job's params and metrics (its sidecar): a training step of batch size b is b images
forward and backward, an l2-PGD step adds ``steps`` such passes, an attribution method evaluates its
gradient ``steps`` or ``samples`` times per test image. Throughput is the same pass timed on one thread in
this process (median of repeats after a warm-up). Work the count leaves out (evaluating accuracy, writing
checkpoints and stores, the manifold methods' decoder passes) is part of what the ratio measures.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from manifold_xai.models.classifiers import build_classifier

# Gradient evaluations per test image of each attribution method (the counted ones; a projection adds
# a projection, not a gradient). Integrated Gradients and SmoothGrad pass all their interpolants or
# noisy copies of a batch at once, so their pass is that many times the method's batch.
GRADIENTS_PER_IMAGE = {
    "gradient": lambda p: 1,
    "input_x_gradient": lambda p: 1,
    "integrated_gradients": lambda p: int(p.get("steps", 50)),
    "smoothgrad": lambda p: int(p.get("samples", 50)),
    "projected_gradient": lambda p: 1,
}


_measured: dict[tuple, tuple[float, float]] = {}


def pass_cost(batch_size: int, image_size: int = 32, channels: int = 1) -> tuple[float, float]:
    """(FLOPs of one forward and backward of LeNet per image, measured FLOP/s on one thread) at
    ``batch_size`` (measured once per batch size)."""
    key = (batch_size, image_size, channels)
    if key not in _measured:
        _measured[key] = _measure(*key)
    return _measured[key]


def _measure(batch_size: int, image_size: int, channels: int) -> tuple[float, float]:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_classifier("lenet", channels=channels, image_size=image_size, n_classes=10)
    x = torch.randn(batch_size, channels, image_size, image_size, requires_grad=True)
    target = torch.randint(0, 10, (batch_size,))

    def step():
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), target)
        loss.backward()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return flops / batch_size, flops / statistics.median(times)


def pass_cost_batches() -> list[int]:
    """The batch sizes ``pass_cost`` measured in this process."""
    return [key[0] for key in _measured]


def _training_images(job: dict, block: dict) -> int | None:
    steps = job.get("metrics", {}).get("steps_trained")
    return None if steps is None else int(steps) * int(block["batch_size"])


def classifier_images(job: dict) -> list[tuple[int, int]] | None:
    """[(images forward and backward, batch size)] of a train_classifier job."""
    params, regime = job["params"]["classifier"], job["wildcards"]["regime"]
    block = params.get(regime, params)
    images = _training_images(job, block)
    if images is None or params.get("arch", "lenet") != "lenet":
        return None
    if regime == "adversarial":
        images *= int(block["steps"]) + 1  # each PGD step is a forward and backward
    return [(images, int(block["batch_size"]))]


def roar_images(job: dict) -> list[tuple[int, int]] | None:
    """[(images forward and backward, batch size)] of a roar_retrain job: every repeat's training."""
    p, m = job["params"]["roar"], job.get("metrics", {})
    if "n_train" not in m or job["params"]["classifier"].get("arch", "lenet") != "lenet":
        return None
    return [(int(m["n_train"]) * int(p["epochs"]) * len(m["repeat_seeds"]), int(p["batch_size"]))]


def attribution_images(job: dict) -> list[tuple[int, int]] | None:
    """[(images forward and backward, batch size)] of a compute_attributions job, one per counted
    method: its gradient evaluations on every test image (``n`` in the job's metrics)."""
    n = job.get("metrics", {}).get("n")
    if n is None:
        return None
    out = []
    for method, p in job["params"]["attributions"].items():
        if method in GRADIENTS_PER_IMAGE:
            per_image = GRADIENTS_PER_IMAGE[method](p)
            out.append((int(n) * per_image, min(int(n), int(p.get("batch_size", 100))) * per_image))
    return out


COUNTED = {
    "train_classifier": classifier_images,
    "roar_retrain": roar_images,
    "compute_attributions": attribution_images,
}


# Batch sizes timed besides the rules' own, for the floor at the best batch this machine has.
REFERENCE_BATCHES = (32, 100, 250, 1000)


def rule_floors(jobs: list[dict]) -> dict:
    """Per counted rule, over all its jobs: job-seconds, FLOPs, the floor at the rule's own batch sizes
    and its ratio, and the floor at the fastest batch size measured (``floor_s_best_batch``: what the
    same FLOPs would take batched the way this machine does them fastest)."""
    out = {}
    for batch in REFERENCE_BATCHES:
        pass_cost(batch)
    for rule, count in COUNTED.items():
        seconds = flops = floor = 0.0
        counted = 0
        for job in (j for j in jobs if j["rule"] == rule):
            passes = count(job)
            if not passes:
                continue
            counted += 1
            seconds += job["finished"] - job["started"]
            for n, batch in passes:
                per_image, throughput = pass_cost(batch)
                flops += n * per_image
                floor += n * per_image / throughput
        if counted:
            best = flops / max(pass_cost(b)[1] for b in pass_cost_batches())
            out[rule] = {
                "jobs": counted,
                "job_seconds": round(seconds, 1),
                "gflop": round(flops / 1e9, 1),
                "floor_s": round(floor, 2),
                "ratio": round(seconds / floor, 2),
                "floor_s_best_batch": round(best, 2),
                "ratio_best_batch": round(seconds / best, 2),
            }
    out["throughput_gflops_by_batch"] = {
        str(b): round(pass_cost(b)[1] / 1e9, 2) for b in sorted(pass_cost_batches())
    }
    out["mflop_per_image"] = round(pass_cost(32)[0] / 1e6, 2)
    return out
