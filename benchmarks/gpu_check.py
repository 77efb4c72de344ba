"""The CUDA paths, checked against CPU on one prepared call (run by ``benchmarks/gpu_check.sh``).

    uv run python benchmarks/gpu_check.py

With a GPU: dense tangent bases (forward-mode Jacobians), the matrix-free tangent space, attributions by
name and the API's fractions, each on CUDA and on CPU for the same random-weight models; prints one JSON
object with the largest difference of each and the CUDA timings. Without a GPU it says so and exits 0.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

import manifold_xai as mx
from manifold_xai.models.classifiers import LeNet
from manifold_xai.models.vae import BurgessVAE


def timed(fn):
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, round(time.perf_counter() - start, 4)


def main() -> None:
    if not torch.cuda.is_available():
        print(json.dumps({"cuda": False, "note": "no CUDA device: nothing to check"}))
        return
    torch.manual_seed(0)
    vae = BurgessVAE(channels=1, image_size=32, latent_dim=10).eval()
    classifier = LeNet(channels=1, image_size=32, n_classes=10).eval()
    latents = torch.randn(64, 10, generator=torch.Generator().manual_seed(1)).numpy()
    with torch.no_grad():
        images = vae.decode(torch.from_numpy(latents)).numpy()
    report = {"cuda": True, "device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    cpu = mx.from_decoder(vae, latents)
    gpu, report["dense_bases_cuda_s"] = timed(lambda: mx.from_decoder(vae, latents, device="cuda"))
    vectors = np.random.default_rng(2).standard_normal((64, 1024))
    report["dense_fraction_max_diff"] = float(
        np.nanmax(np.abs(mx.fractions(cpu, vectors) - mx.fractions(gpu, vectors)))
    )
    free = mx.from_decoder(vae, latents[:8], matrix_free=True, device="cuda")
    fractions, report["matrix_free_cuda_s"] = timed(lambda: mx.fractions(free, vectors[:8]))
    report["matrix_free_vs_dense_max_diff"] = float(
        np.nanmax(np.abs(fractions - mx.fractions(cpu, vectors[:8], samples=range(8))))
    )
    for method in ("gradient", "integrated_gradients", "smoothgrad"):
        on_cpu = mx.explain(classifier, images, method)
        on_gpu, seconds = timed(lambda m=method: mx.explain(classifier.cuda(), images, m))
        classifier.cpu()
        scale = float(np.abs(on_cpu).max()) or 1.0
        report[f"{method}_max_rel_diff"] = float(np.abs(on_cpu - on_gpu).max() / scale)
        report[f"{method}_cuda_s"] = seconds
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
