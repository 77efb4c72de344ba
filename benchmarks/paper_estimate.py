"""Estimate the compute of the full paper run (configs/paper.yaml) from per-step timings measured here.

For each dataset it builds the configured models at the paper's image size and times, on this machine's
device: one manifold-training step, one classifier-training step (forward + backward at the configured
batch size), one attribution backward pass per image, and one decoder JVP + VJP (the unit of the tangent
computation). It multiplies them by the step counts the config implies (epochs × samples / batch, PGD
iterations, SmoothGrad/IG samples, k JVPs per basis, or for matrix-free stores one Gram factorisation per
image (k JVPs + k VJPs in float64, assumed 2× the float32 timings, and an eigendecomposition of k × k
scaled as k³ from one measured at k = 1000) plus one JVP + VJP per vector, checkpoints × curve images)
and prints JSON: per dataset and job kind the estimated hours on this device.

    uv run python benchmarks/paper_estimate.py [--device cuda] [--repeats 3] [--datasets mnist32 ...]

Dataset sizes not in the config (the image folders) are the public datasets' (pneumonia: Kaggle
chest-xray 5216 train / 624 test; retinopathy: the paper's 3000 / 400 subset).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from manifold_xai.config import load_experiment, validate_config
from manifold_xai.config_facts import dataset_seeds, image_shape, latent_dim
from manifold_xai.models.autoencoder import ConvAutoEncoder
from manifold_xai.models.classifiers import build_classifier
from manifold_xai.models.upsampled import UpsampledDecoder
from manifold_xai.models.vae import BurgessVAE
from manifold_xai.training.tracking import tracking_steps

REPO = Path(__file__).resolve().parents[1]
SIZES = {  # (n_train, n_test) where the config does not say (image folders)
    "pneumonia": (5216, 624),
    "retinopathy": (3000, 400),
    "cifar10": (50000, 10000),
}


def timed(fn, repeats: int, device) -> float:
    """Median seconds of ``fn()`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def train_step(model, x, loss_fn):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model, x).backward()
        opt.step()

    return step


def sizes(cfg, name) -> tuple[int, int]:
    ds = cfg["datasets"][name]
    if ds["approach"] == "upsampled":
        return sizes(cfg, ds["upsample"]["base"])
    if ds["approach"] == "generative":
        return ds["sampling"]["n_train"], ds["sampling"]["n_test"]
    if ds["source"]["kind"] == "emnist" and ds["source"]["max_per_split"]:
        return ds["source"]["max_per_split"], ds["source"]["max_per_split"] // 6
    return SIZES[name]


def manifold_model(cfg, name, shape):
    ds = cfg["datasets"][name]
    if ds["approach"] == "upsampled":
        base = cfg["datasets"][ds["upsample"]["base"]]["manifold"]
        base_shape = image_shape(cfg, ds["upsample"]["base"])
        kwargs = {
            "channels": base_shape[0],
            "image_size": base_shape[1],
            "latent_dim": base["latent_dim"],
        }
        return UpsampledDecoder("burgess_vae", kwargs, shape[1]), None
    m = ds["manifold"]
    if m["model"] == "btcvae":
        return BurgessVAE(shape[0], shape[1], m["latent_dim"]), m
    ae = ConvAutoEncoder(
        shape[0], shape[1:], m["latent_channels"], m["n_res_block"], m["n_res_channel"], m["stride"]
    )
    return ae, m


def eigh_seconds(k: int) -> float:
    """Seconds for a float64 symmetric eigendecomposition of k × k, scaled as k³ from k = 1000."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((1000, 1000))
    start = time.perf_counter()
    np.linalg.eigh(a + a.T)
    return (time.perf_counter() - start) * (k / 1000) ** 3


def estimate(cfg, name, device, repeats) -> dict:
    ds = cfg["datasets"][name]
    shape, k = image_shape(cfg, name), latent_dim(cfg, name)
    d = math.prod(shape)
    n_train, n_test = sizes(cfg, name)
    n_eval = min(n_test, ds["evaluation"]["n_test"] or n_test)
    seeds = len(dataset_seeds(cfg, name))
    hours: dict[str, float] = {}

    model, m = manifold_model(cfg, name, shape)
    model = model.to(device)
    if m is not None:  # trained here (upsampled datasets reuse their base's)
        x = torch.rand(m["batch_size"], *shape, device=device)
        if m["model"] == "btcvae":
            loss = lambda net, x: F.binary_cross_entropy(net(x)[0], x)  # noqa: E731 (same cost as β-TCVAE's terms)
        else:
            loss = lambda net, x: F.l1_loss(net(x), x)  # noqa: E731
        t = timed(train_step(model, x, loss), repeats, device)
        hours["train_manifold"] = (
            seeds * t * m["epochs"] * math.ceil(n_train / m["batch_size"]) / 3600
        )
    decode = model.decode
    z = torch.rand(1, k, device=device)
    v = torch.rand(1, *shape, device=device)
    jvp = timed(lambda: torch.func.jvp(decode, (z,), (z,)), repeats, device)
    vjp = timed(lambda: torch.func.vjp(decode, z)[1](v), repeats, device)
    matrix_free = ds["tangent"]["projection"] == "matrix_free" or (
        ds["tangent"]["projection"] == "auto" and k * d > ds["tangent"]["matrix_free_above"]
    )
    per_vector = jvp + vjp  # matrix-free: one VJP and one JVP per projected vector
    factor = 2 * k * (jvp + vjp) + eigh_seconds(k) if matrix_free else 0.0  # per image, float64
    if not matrix_free:
        hours["compute_tangent"] = (
            seeds * n_eval * k * jvp / 3600
        )  # k JVPs per image (+ a cheap QR)

    clf = ds["classifier"]
    kwargs = {"channels": shape[0], "image_size": min(shape[1:]), "n_classes": 10}
    if clf["arch"] in ("simplenet", "vgg16"):
        kwargs["width"] = clf["width"]
    net = build_classifier(clf["arch"], **kwargs).to(device)
    x = torch.rand(clf["batch_size"], *shape, device=device)
    y = torch.zeros(clf["batch_size"], dtype=torch.long, device=device)
    step = timed(train_step(net, x, lambda n, x: F.cross_entropy(n(x), y)), repeats, device)
    net.eval()
    xb = torch.rand(8, *shape, device=device, requires_grad=True)
    backward = timed(lambda: torch.autograd.grad(net(xb)[:, 0].sum(), xb), repeats, device) / 8
    attr = ds["attributions"]
    passes = sum({"gradient": 1, "input_x_gradient": 1}.get(mth, 0) for mth in attr)
    passes += attr.get("integrated_gradients", {}).get("steps", 0) + attr.get("smoothgrad", {}).get(
        "samples", 0
    )
    passes += attr.get("path_averaged_gradient", {}).get("steps", 0)
    curves = ds["evaluation"]["curves"]
    curve_passes = sum(
        {
            "gradient": 1,
            "input_x_gradient": 1,
            "integrated_gradients": attr.get("integrated_gradients", {}).get("steps", 0),
            "path_averaged_gradient": attr.get("path_averaged_gradient", {}).get("steps", 0),
            "smoothgrad": attr.get("smoothgrad", {}).get("samples", 0),
        }[mth]
        for mth in curves["methods"]
    )
    for regime in clf["regimes"]:
        r = clf.get(regime, clf) if regime != "standard" else clf
        n = n_train if regime != "random_labels" or r.get("n_train") is None else r["n_train"]
        batch = r["batch_size"]
        steps = r["epochs"] * math.ceil(n / batch)
        cost = step * batch / clf["batch_size"]
        if regime == "adversarial":
            cost *= 1 + r["steps"]  # each step attacks with `steps` forward+backward passes
        hours[f"train_classifier/{regime}"] = seeds * steps * cost / 3600
        hours[f"compute_attributions/{regime}"] = seeds * n_eval * passes * backward / 3600
        projections = factor + (len(attr) + 1) * per_vector if matrix_free else 0.0
        hours[f"compute_alignment/{regime}"] = seeds * n_eval * projections / 3600
        checkpoints = len(tracking_steps(steps, clf["checkpoints"]))
        curve_projection = factor + len(curves["methods"]) * per_vector if matrix_free else 0.0
        curve_cost = curves["n_test"] * (curve_passes * backward + curve_projection)
        hours[f"evaluate_checkpoints/{regime}"] = seeds * checkpoints * curve_cost / 3600
    hours.update(evaluation_hours(cfg, name, shape, n_train, n_eval, step, backward, passes, net))
    return {
        "k": k,
        "d": d,
        "n_train": n_train,
        "n_eval": n_eval,
        "seeds": seeds,
        "matrix_free": matrix_free,
        "measured_s": {
            "classifier_step": step,
            "attribution_backward_per_image": backward,
            "decoder_jvp": jvp,
            "decoder_vjp": vjp,
        },
        "hours": {key: round(val, 3) for key, val in hours.items()},
        "total_hours": round(sum(hours.values()), 2),
    }


def evaluation_hours(cfg, name, shape, n_train, n_eval, step, backward, passes, net) -> dict:
    """ROAR (retrainings, importance maps, ROAD's imputation) and the sanity checks, where configured."""
    import numpy as np

    from manifold_xai.config_facts import evaluation_seeds
    from manifold_xai.evaluation.roar import noisy_linear_impute, removal_mask
    from manifold_xai.evaluation.sanity import parameter_layers

    ds, clf, hours = cfg["datasets"][name], cfg["datasets"][name]["classifier"], {}
    roar = ds["roar"]
    if roar is not None:
        seeds = len(evaluation_seeds(cfg, name, "roar"))
        n_tr, n_te = roar["n_train"] or n_train, roar["n_test"] or n_eval
        retrainings = len(roar["methods"]) * len(roar["fractions"]) + 1
        steps = roar["epochs"] * math.ceil(n_tr / roar["batch_size"])
        hours["roar_retrain"] = (
            seeds * retrainings * steps * step * roar["batch_size"] / clf["batch_size"] / 3600
        )
        hours["roar_importance"] = seeds * (n_tr + n_te) * passes * backward / 3600
        image, rng = np.random.default_rng(0).random(shape), np.random.default_rng(0)
        mask = removal_mask(rng.random((1, *shape[1:])), 0.5, seed=0)[0]
        impute = timed(
            lambda: noisy_linear_impute(image, mask, noise=0.01, rng=rng), 1, torch.device("cpu")
        )
        levels = len(roar["methods"]) * len(roar["road"]["orders"]) * len(roar["road"]["fractions"])
        hours["road"] = (
            seeds * n_te * levels * impute / 3600
        )  # CPU imputation at half the pixels removed
    sanity = ds["sanity"]
    if sanity is not None:
        layers = len(
            parameter_layers(net, torch.zeros(2, *shape, device=next(net.parameters()).device))
        )
        states = 1 + layers * len(sanity["modes"])
        hours["sanity_checks"] = (
            len(evaluation_seeds(cfg, name, "sanity"))
            * states
            * sanity["n_test"]
            * passes
            * backward
            / 3600
        )
    return hours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "paper.yaml"))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--datasets", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    import yaml

    given = yaml.safe_load(Path(args.config).read_text())
    cfg = validate_config(
        load_experiment(given, REPO / "config.yaml"), REPO / "workflow/schemas/config.schema.yaml"
    )
    device = torch.device(args.device)
    results = {}
    for name in args.datasets or list(cfg["datasets"]):
        results[name] = estimate(cfg, name, device, args.repeats)
        print(json.dumps({name: results[name]["total_hours"]}), flush=True)
    device_name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or 'cpu'}, {args.threads} threads"
    )
    print(
        json.dumps(
            {
                "device": device_name,
                "config": args.config,
                "datasets": results,
                "total_hours": round(sum(r["total_hours"] for r in results.values()), 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
