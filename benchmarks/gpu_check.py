"""The CUDA paths, checked against CPU in one prepared call (run by ``benchmarks/gpu_check.sh``).

    python3 benchmarks/gpu_check.py [--device cuda] [--cores N] [--workdir DIR]

1. **The tiny pipeline** (configs/tiny.yaml, the real Snakefile): a run with ``device: cpu`` and, beside
   it, a run with ``device: cuda`` from scratch (every torch job on the GPU, training included). Then the
   CPU run's directory is copied and its tangent spaces, attributions and alignments are recomputed on
   CUDA from the *same* trained models (``--forcerun``); their fractions are compared sample by sample
   with the CPU ones. Tolerances: ``PER_SAMPLE_TOL`` (absolute, every sample) for deterministic methods,
   ``MEAN_TOL`` on the mean for every method (SmoothGrad-like methods draw their noise on the device, and
   CUDA's generator gives other numbers than CPU's). The from-scratch CUDA run must complete; its means
   are reported beside the CPU run's (other trained weights: no tolerance).
2. **The tangent benchmark** (benchmarks/tangent.py) on the device: its JSON is included.
3. **The API** on random-weight models: dense tangent bases, the matrix-free space, attributions by name
   and fractions on the device against CPU.

Prints one JSON object and, last, ``gpu_check: passed`` or ``gpu_check: FAILED (...)``; exit 0 only when
passed. Without a CUDA device it prints one line saying so and exits 1. ``--device cpu`` runs everything
with CPU in CUDA's place: a self-test of this script on any machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # helpers shared with the tests
from snakemake_cli import snakemake_command  # noqa: E402

TINY = REPO / "configs" / "tiny.yaml"
PER_SAMPLE_TOL = 1e-3  # |fraction on device − fraction on CPU|, each sample, deterministic methods
MEAN_TOL = 0.02  # |mean fraction on device − on CPU|, every method
NOISY = ("smoothgrad", "smoothed_gradient")  # noise drawn on the device
RECOMPUTED = ("compute_tangent", "compute_attributions", "compute_alignment")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, round(time.perf_counter() - start, 3)


def snakemake(workdir: Path, device: str, cores: int, *extra: str) -> float:
    """Run the tiny pipeline in ``workdir`` on ``device``; its wall time (s). Raises with the log's end."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "examples").exists():
        (workdir / "examples").symlink_to(REPO / "examples")
    cmd = snakemake_command(
        workdir,
        "--cores",
        str(cores),
        "--rerun-incomplete",
        *extra,
        "--config",  # last: it takes every KEY=VALUE after it
        f"device={device}",
        configfiles=[TINY],
    )
    start = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(
            f"tiny pipeline on {device} failed:\n{(out.stdout + out.stderr)[-4000:]}"
        )
    return round(time.monotonic() - start, 1)


def fractions(workdir: Path) -> dict[str, np.ndarray]:
    """``{"<run>/<method>": fractions (n,)}`` of every alignment store of a run."""
    import xarray as xr

    found = {}
    for store in sorted((workdir / "results").glob("*/seed*/alignment/*.zarr")):
        run = str(store.relative_to(workdir / "results")).removesuffix(".zarr")
        with xr.open_zarr(store, consolidated=False) as ds:
            for method in ds["method_name"].values:
                found[f"{run}/{method}"] = ds["fraction"].sel(method_name=method).values
    return found


def compare(cpu: dict, other: dict, per_sample: bool) -> tuple[dict, list[str]]:
    rows, failures = {}, []
    for key, values in cpu.items():
        if key not in other:
            failures.append(f"{key}: missing on the device")
            continue
        diff = np.abs(values - other[key])
        row = {
            "cpu_mean": round(float(np.nanmean(values)), 4),
            "device_mean": round(float(np.nanmean(other[key])), 4),
            "max_abs_diff": float(np.nanmax(diff)),
        }
        rows[key] = row
        if not per_sample:
            continue
        if abs(row["cpu_mean"] - row["device_mean"]) > MEAN_TOL:
            failures.append(f"{key}: mean differs by more than {MEAN_TOL}")
        if not key.endswith(NOISY) and row["max_abs_diff"] > PER_SAMPLE_TOL:
            failures.append(
                f"{key}: a sample differs by {row['max_abs_diff']:.2e} > {PER_SAMPLE_TOL}"
            )
    return rows, failures


def pipeline_check(device: str, cores: int, root: Path) -> tuple[dict, list[str]]:
    half = max(1, cores // 2)
    report: dict = {}
    with ThreadPoolExecutor(2) as pool:
        cpu_run = pool.submit(snakemake, root / "cpu", "cpu", half)
        scratch = pool.submit(snakemake, root / "device_from_scratch", device, half)
        report["cpu_run_s"] = cpu_run.result()
        shutil.copytree(root / "cpu", root / "device_same_models", symlinks=True)
        report["device_same_models_s"] = snakemake(
            root / "device_same_models",
            device,
            half,
            "--rerun-triggers",
            "mtime",
            "--forcerun",
            *RECOMPUTED,
        )
        report["device_from_scratch_s"] = scratch.result()
    cpu = fractions(root / "cpu")
    report["same_models"], failures = compare(
        cpu, fractions(root / "device_same_models"), per_sample=True
    )
    report["from_scratch"], missing = compare(
        cpu, fractions(root / "device_from_scratch"), per_sample=False
    )
    return report, failures + missing


def tangent_benchmark(device: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "tangent.py"),
            "--device",
            device,
            "--streaming-n",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    if out.returncode:
        return {"failed": (out.stdout + out.stderr)[-2000:]}
    return json.loads(out.stdout[out.stdout.index("{") :])


def api_check(device: str) -> tuple[dict, list[str]]:
    import manifold_xai as mx
    from manifold_xai.models.classifiers import LeNet
    from manifold_xai.models.vae import BurgessVAE

    torch.manual_seed(0)
    vae = BurgessVAE(channels=1, image_size=32, latent_dim=10).eval()
    classifier = LeNet(channels=1, image_size=32, n_classes=10).eval()
    latents = torch.randn(64, 10, generator=torch.Generator().manual_seed(1)).numpy()
    with torch.no_grad():
        images = vae.decode(torch.from_numpy(latents)).numpy()
    report: dict = {}
    cpu = mx.from_decoder(vae, latents)
    on_device, report["dense_bases_s"] = timed(lambda: mx.from_decoder(vae, latents, device=device))
    vectors = np.random.default_rng(2).standard_normal((64, 1024))
    report["dense_fraction_max_diff"] = float(
        np.nanmax(np.abs(mx.fractions(cpu, vectors) - mx.fractions(on_device, vectors)))
    )
    free = mx.from_decoder(vae, latents[:8], matrix_free=True, device=device)
    matrix_free, report["matrix_free_s"] = timed(lambda: mx.fractions(free, vectors[:8]))
    report["matrix_free_vs_dense_max_diff"] = float(
        np.nanmax(np.abs(matrix_free - mx.fractions(cpu, vectors[:8], samples=range(8))))
    )
    for method in ("gradient", "integrated_gradients", "smoothgrad"):
        on_cpu = mx.explain(classifier, images, method)
        moved, seconds = timed(lambda m=method: mx.explain(classifier.to(device), images, m))
        classifier.cpu()
        scale = float(np.abs(on_cpu).max()) or 1.0
        report[f"{method}_max_rel_diff"] = float(np.abs(on_cpu - moved).max() / scale)
        report[f"{method}_s"] = seconds
    failures = [
        f"api {key} = {value:.2e} > {PER_SAMPLE_TOL}"
        for key, value in report.items()
        if key.endswith("diff") and not key.startswith("smoothgrad") and value > PER_SAMPLE_TOL
    ]
    return report, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a self-test")
    parser.add_argument("--cores", type=int, default=min(16, os.cpu_count() or 2))
    parser.add_argument("--workdir", help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--skip-benchmark", action="store_true", help="leave out tangent.py")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device on this machine (torch.cuda.is_available() is False); "
            "nothing was checked"
        )
        sys.exit(1)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="gpu-check-"))
    root.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "tolerances": {"per_sample": PER_SAMPLE_TOL, "mean": MEAN_TOL, "noisy": list(NOISY)},
    }
    start = time.monotonic()
    report["pipeline"], failures = pipeline_check(args.device, args.cores, root)
    report["api"], api_failures = api_check(args.device)
    failures += api_failures
    if not args.skip_benchmark:
        report["tangent_benchmark"] = tangent_benchmark(args.device)
        if "failed" in report["tangent_benchmark"]:
            failures.append("the tangent benchmark failed")
    report["seconds"] = round(time.monotonic() - start, 1)
    report["failures"] = failures
    print(json.dumps(report, indent=1))
    print("gpu_check: passed" if not failures else f"gpu_check: FAILED ({'; '.join(failures)})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
