"""On- and off-manifold robustness of a classifier (docs/evaluations.md), as measured by the paper's
follow-up (Srinivas, Bordt, Lakkaraju, NeurIPS 2023: models whose gradients align with the manifold are
robust to noise orthogonal to it and sensitive along it).

At each image ``x`` (with tangent space ``T``), Gaussian noise ``g ~ N(0, I_d)`` is split into its tangent
part ``P_T g`` and its orthogonal part ``g − P_T g``; each is scaled to the same l2 ``norm`` (absolute,
in pixel units: the follow-up's step sizes), giving an **on-manifold** and an **off-manifold** perturbation.
The model's response is the absolute change of the **logit of the predicted class** ``c`` (predicted on
the clean image) and of its **softmax probability**, averaged over ``draws`` noise vectors per image.

``relative_off_robustness = change_on / (change_on + change_off)`` in [0, 1]: 0.5 when the model reacts
alike to both, towards 1 when it ignores off-manifold noise more than on-manifold noise. For a linear
model with gradient ``g`` and small noise it is a monotone function of the gradient's fraction in
tangent space, ``||P g|| / ||g||`` (random unit directions in a k- and a (d − k)-dimensional subspace).

Noise vectors of sample ``i`` come from ``default_rng([seed, i])``, so every checkpoint of a run sees the
same directions and only the model changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:  # torch only where the model runs: the summaries and figures read tables
    import torch

    from manifold_xai.tangent.space import TangentSpace

DIRECTIONS = ("on", "off")


def reference_norm(norms) -> float:
    """The noise norm the robustness claims and the figure's scatter use: the median of the configured
    norms (the upper of the two middle ones for an even count)."""
    norms = sorted(float(v) for v in norms)
    return norms[len(norms) // 2]


def split_noise(
    tangent: TangentSpace, samples: np.ndarray, norm: float, draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """On- and off-manifold noise at ``samples`` of ``tangent``: ``(on, off)``, each ``(draws, n, d)
    float64`` with l2 norm ``norm`` per vector; ``on`` in the tangent space, ``off`` orthogonal to it. A
    sample whose tangent space is undefined gets NaN."""
    samples = np.asarray(samples)
    gaussian = np.stack(
        [
            np.random.default_rng([seed, int(i)]).standard_normal((draws, tangent.d))
            for i in samples
        ],
        axis=1,
    )  # (draws, n, d)
    on = tangent.project(gaussian, samples)
    off = gaussian - on
    with np.errstate(invalid="ignore", divide="ignore"):
        on *= norm / np.linalg.norm(on, axis=-1, keepdims=True)
        off *= norm / np.linalg.norm(off, axis=-1, keepdims=True)
    return on, off


def noise_directions(
    tangent: TangentSpace, n: int, draws: int, seed: int, batch_size: int = 64
) -> np.ndarray:
    """Unit on- and off-manifold directions at the first ``n`` samples of ``tangent``: ``(2, draws, n,
    d) float32`` (``split_noise`` at norm 1), computed once per run: they do not depend on the model."""
    out = np.empty((2, draws, n, tangent.d), np.float32)
    for start in range(0, n, batch_size):
        samples = np.arange(start, min(n, start + batch_size))
        out[:, :, samples] = np.stack(split_noise(tangent, samples, 1.0, draws, seed))
    return out


def output_change(
    model, clean: torch.Tensor, perturbed: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``|Δ logit_c|`` and ``|Δ softmax_c|`` between the clean images' logits ``clean (n, classes)`` and
    the model's logits on ``perturbed (m, n, ...)``, for class ``target (n,)``: two ``(m, n)`` tensors."""
    import torch

    m, n = perturbed.shape[:2]
    with torch.no_grad():
        noisy = model(perturbed.reshape(m * n, *perturbed.shape[2:])).reshape(m, n, -1)
    index = target.view(1, n, 1).expand(m, n, 1)
    logit = (noisy.gather(2, index) - clean.gather(1, target.view(n, 1)).view(1, n, 1)).abs()
    prob = (
        noisy.softmax(-1).gather(2, index)
        - clean.softmax(-1).gather(1, target.view(n, 1)).view(1, n, 1)
    ).abs()
    return logit[..., 0], prob[..., 0]


def manifold_robustness(
    model, images: np.ndarray, directions: np.ndarray, *, norms, device, batch_size: int = 64
) -> dict[str, np.ndarray]:
    """On- and off-manifold output changes of ``model`` at ``images (n, c, h, w)`` under the unit
    ``directions (2, draws, n, d)`` (``noise_directions``) scaled to each of ``norms``:
    ``{"logit_change", "prob_change"}``, each ``(norm, direction, sample) float64`` (direction:
    ``DIRECTIONS``), means over the draws; NaN where the tangent space is undefined. The model is used as
    given (eval mode, on ``device``)."""
    import torch

    n, draws = len(images), directions.shape[1]
    out = {k: np.full((len(norms), 2, n), np.nan) for k in ("logit_change", "prob_change")}
    for start in range(0, n, batch_size):
        samples = slice(start, min(n, start + batch_size))
        x = torch.from_numpy(np.asarray(images[samples], np.float32)).to(device)
        with torch.no_grad():
            clean = model(x)  # once per batch, for every direction and norm
        target = clean.argmax(1)
        for b in range(2):
            unit = torch.from_numpy(directions[b, :, samples]).to(device).reshape(draws, *x.shape)
            for a, norm in enumerate(norms):
                logit, prob = output_change(model, clean, x.unsqueeze(0) + norm * unit, target)
                out["logit_change"][a, b, samples] = logit.mean(0).cpu().numpy()
                out["prob_change"][a, b, samples] = prob.mean(0).cpu().numpy()
    return out


def robustness_dataset(
    per_step: dict[int, dict[str, np.ndarray]], norms, attrs: dict
) -> xr.Dataset:
    """The robustness store of one run: ``logit_change`` and ``prob_change`` on ``(step, norm,
    direction, sample)`` from ``{step: manifold_robustness(...)}``."""
    steps = sorted(per_step)
    return xr.Dataset(
        {
            key: (
                ("step", "norm", "direction", "sample"),
                np.stack([per_step[s][key] for s in steps]),
            )
            for key in ("logit_change", "prob_change")
        },
        coords={
            "step": np.asarray(steps, np.int64),
            "norm": np.asarray(norms, np.float64),
            "direction": list(DIRECTIONS),
            "sample": np.arange(next(iter(per_step.values()))["logit_change"].shape[-1]),
        },
        attrs=attrs,
    )


ROBUSTNESS_COLUMNS = [
    "dataset",
    "seed",
    "regime",
    "step",
    "norm",
    "on_logit",
    "off_logit",
    "on_prob",
    "off_prob",
    "relative_off_robustness",
    "n",
]


def robustness_rows(ds: xr.Dataset, *, dataset: str, seed: int, regime: str) -> list[dict]:
    """Rows of ``results/summary/robustness.csv`` (``ROBUSTNESS_COLUMNS``) for one run: per step and
    norm, the mean changes over the images and the relative off-manifold robustness of the means."""
    rows = []
    logit = ds["logit_change"].values
    prob = ds["prob_change"].values
    for i, step in enumerate(ds["step"].values):
        for j, norm in enumerate(ds["norm"].values):
            on, off = np.nanmean(logit[i, j, 0]), np.nanmean(logit[i, j, 1])
            rows.append(
                {
                    "dataset": dataset,
                    "seed": seed,
                    "regime": regime,
                    "step": int(step),
                    "norm": float(norm),
                    "on_logit": float(on),
                    "off_logit": float(off),
                    "on_prob": float(np.nanmean(prob[i, j, 0])),
                    "off_prob": float(np.nanmean(prob[i, j, 1])),
                    "relative_off_robustness": float(on / (on + off)) if on + off > 0 else np.nan,
                    "n": int(np.isfinite(logit[i, j, 0]).sum()),
                }
            )
    return rows


def robustness_table(runs: dict[tuple[str, int, str], xr.Dataset], curves) -> pd.DataFrame:
    """``results/summary/robustness.csv``: ``robustness_rows`` of every ``(dataset, seed, regime)`` run
    plus ``gradient_fraction``, the gradient's mean fraction in tangent space at the same checkpoint
    (``curves``: the rows of summary/curves.csv; NaN where the curves do not track the gradient)."""
    rows = [
        row
        for (dataset, seed, regime), ds in runs.items()
        for row in robustness_rows(ds, dataset=dataset, seed=int(seed), regime=regime)
    ]
    table = pd.DataFrame(rows, columns=ROBUSTNESS_COLUMNS)
    gradient = curves[curves["method"] == "gradient"][["dataset", "seed", "regime", "step", "mean"]]
    gradient = gradient.rename(columns={"mean": "gradient_fraction"})
    table = table.merge(gradient, on=["dataset", "seed", "regime", "step"], how="left")
    return table.sort_values(["dataset", "seed", "regime", "step", "norm"], ignore_index=True)
