"""Counterfactual walks along an explanation (after Mahler et al.: tangent-projected steps), and their
summary (``results/summary/counterfactuals.csv``).

From a test image ``x0 = D(z0)`` on the dataset's own manifold, a walk takes normalised steps of l2
length ``step`` **against** one direction built from the attribution ``a`` of the predicted class (so
that the explained class loses evidence), and after every step projects the image back onto the
manifold: ``z <- argmin ||D(z) - x||`` by Gauss-Newton from the current latent (``project_to_manifold``;
for the analytic renderer its parameters, for a decoder its latent), so every image of a walk is
``D(z)`` exactly. The walk ends when the classifier's label differs from its label at ``x0`` (a flip)
or after ``max_steps`` (no flip: NaN steps and distance, never the budget as a number).

Directions (``DIRECTIONS``, each ``(n, d)``, fixed at ``x0``):

- ``tangent``: ``-P_T a``, the attribution's tangent part;
- ``orthogonal``: ``-(a - P_T a)``, its part orthogonal to the tangent space;
- ``whole``: ``-a``;
- ``random_tangent``: ``P_T r`` for Gaussian ``r`` (one per image, seeded), the control of the same
  (unit) step length.

Per walk: ``steps`` to the flip, ``distance`` ``||x_flip - x0||`` (l2, pixel units), whether the
labeller (the generative approach's ground-truth labelling network, or an analytic manifold's label
function of its parameters) changes its label between ``x0`` and ``x_flip`` (a semantic change rather
than an adversarial one), and the latent at the flip.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

DIRECTIONS = ("tangent", "orthogonal", "whole", "random_tangent")
COUNTERFACTUAL_COLUMNS = [
    "dataset",
    "seed",
    "regime",
    "method",
    "direction",
    "n",
    "n_walked",
    "flip_rate",
    "median_steps",
    "median_steps_ci_low",
    "median_steps_ci_high",
    "median_distance",
    "median_distance_ci_low",
    "median_distance_ci_high",
    "censored_median_steps",
    "labeller_agreement",
    "max_steps",
    "step",
]


def walk_directions(space, attribution: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The four walk directions (module docstring) at the first ``n`` samples of ``space`` (a
    ``TangentSpace``) for ``attribution (n, d)``: ``{name: (n, d) float64}``. ``seed`` draws the random
    tangent directions (the same for every method and regime of a run)."""
    attribution = np.asarray(attribution, dtype=np.float64).reshape(len(attribution), -1)
    samples = np.arange(len(attribution))
    tangent, orthogonal = space.decompose(attribution, samples)
    noise = np.random.default_rng(seed).standard_normal(attribution.shape)
    return {
        "tangent": -tangent,
        "orthogonal": -orthogonal,
        "whole": -attribution,
        "random_tangent": space.project(noise, samples),
    }


HALVINGS = 8  # backtracking: Gauss-Newton step scales 1, 1/2, ..., 1/2**(HALVINGS - 1)


def project_to_manifold(decode, target, z, iterations: int, rtol: float = 1e-3):
    """Latents whose decoding is closest to ``target (b, d)``: ``iterations`` Gauss-Newton steps
    ``dz = J^+ (target - D(z))`` from ``z (b, k)`` (``J = dD/dz``; pseudo-inverse with the tangent
    stores' relative cut-off ``rtol``, so a collapsed latent direction is not moved), each scaled by the
    largest of 1, 1/2, 1/4, ... that lowers ``||D(z) - target||`` (no scale does: ``z`` stays). The
    residual therefore never grows: from a start on the manifold a distance ``s`` from the target, the
    projection lands within ``2 s`` of the start. Torch tensors in, ``(b, k)`` out."""
    import torch

    from manifold_xai.tangent.bases import decoder_jacobian

    b = len(z)
    scales = 0.5 ** torch.arange(HALVINGS, dtype=z.dtype)
    with torch.no_grad():
        best = (target - decode(z).reshape(b, -1)).norm(dim=1)
    for _ in range(iterations):
        with torch.no_grad():
            residual = target - decode(z).reshape(b, -1)
        jacobian = decoder_jacobian(decode, z).detach()  # (b, d, k)
        step = (torch.linalg.pinv(jacobian, rtol=rtol) @ residual.unsqueeze(-1)).squeeze(-1)
        trials = z[:, None] + scales[None, :, None] * step[:, None]  # (b, HALVINGS, k)
        with torch.no_grad():
            decoded = decode(trials.reshape(b * HALVINGS, -1)).reshape(b, HALVINGS, -1)
            errors = (decoded - target[:, None]).norm(dim=2)  # (b, HALVINGS)
        better = errors < best[:, None]
        first = torch.where(better.any(1), better.float().argmax(1), -1)
        chosen = first >= 0
        z = z.clone()
        z[chosen] = trials[chosen, first[chosen]]
        best = torch.where(chosen, errors[torch.arange(b), first.clamp_min(0)], best)
    return z.detach()


def walk(
    classify: Callable,
    decode: Callable,
    z0: np.ndarray,
    direction: np.ndarray,
    *,
    step: float,
    max_steps: int,
    iterations: int = 3,
    keep: int = 0,
) -> dict[str, np.ndarray]:
    """Walk from ``D(z0)`` (``z0 (n, k)``) along ``direction (n, d)`` (module docstring).

    ``classify(images (b, d) tensor) -> (b,) int labels``; ``decode(z (b, k) tensor) -> (b, ...)``
    images. Returns ``steps (n,) float64`` (NaN: no flip within ``max_steps``, or a zero direction),
    ``distance (n,) float64`` (NaN likewise), ``start (n, d)`` and ``end (n, d) float32`` images (end:
    at the flip, else after the last step), ``latent_end (n, k)``, ``flipped (n,) bool``, ``moved (n,)
    bool`` (a direction to walk along) and ``path (keep, max_steps + 1, d) float32``: every image of
    the first ``keep`` walks (repeated after their flip).
    """
    import torch

    z = torch.as_tensor(np.asarray(z0), dtype=torch.float32)
    n = len(z)
    with torch.no_grad():
        x = decode(z).reshape(n, -1)
        start_label = classify(x)
    start = x.clone()
    direction = torch.as_tensor(np.asarray(direction, dtype=np.float32)).reshape(n, -1)
    norms = direction.norm(dim=1)
    moved = torch.isfinite(norms) & (norms > 0)
    unit = torch.where(moved[:, None], direction / norms.clamp_min(1e-30)[:, None], 0.0)
    steps = torch.full((n,), float("nan"), dtype=torch.float64)
    path = torch.zeros((min(keep, n), max_steps + 1, x.shape[1]))
    path[:, 0] = x[: len(path)]
    active = moved.clone()
    for t in range(1, max_steps + 1):
        rows = torch.nonzero(active).flatten()
        if len(rows) == 0:
            path[:, t] = path[:, t - 1]
            continue
        target = x[rows] + step * unit[rows]
        z[rows] = project_to_manifold(decode, target, z[rows], iterations)
        with torch.no_grad():
            x[rows] = decode(z[rows]).reshape(len(rows), -1)
            labels = classify(x[rows])
        flipped = labels != start_label[rows]
        steps[rows[flipped]] = float(t)
        active[rows[flipped]] = False
        path[:, t] = x[: len(path)]
    flipped = torch.isfinite(steps)
    distance = torch.where(flipped, (x - start).norm(dim=1).double(), float("nan"))
    return {
        "steps": steps.numpy(),
        "distance": distance.numpy(),
        "flipped": flipped.numpy(),
        "moved": moved.numpy(),
        "start": start.numpy(),
        "end": x.numpy(),
        "latent_end": z.numpy(),
        "path": path.numpy(),
    }


def split_walk(walks: dict, part: int, n: int, keep: int) -> dict[str, np.ndarray]:
    """The ``part``-th block of ``n`` walks of a ``walk`` result over several blocks stacked along the
    sample axis (walked together as one batch), with the ``path`` of its first ``keep`` walks (the
    batch must have been walked with ``keep`` covering them)."""
    rows = slice(part * n, (part + 1) * n)
    out = {name: value[rows] for name, value in walks.items() if name != "path"}
    out["path"] = walks["path"][part * n : part * n + min(keep, n)]
    return out


def labeller_flips(label: Callable | None, start, end, latent_start, latent_end, flipped):
    """``(n,) float64``: 1 where the labeller's label at the walk's end differs from its label at the
    start, 0 where not, NaN where the walk did not flip or there is no labeller (``label(images (b, d),
    latents (b, k)) -> (b,)``)."""
    out = np.full(len(flipped), np.nan)
    if label is None or not flipped.any():
        return out
    before = np.asarray(label(start[flipped], latent_start[flipped]))
    after = np.asarray(label(end[flipped], latent_end[flipped]))
    out[flipped] = (before != after).astype(np.float64)
    return out


def walks_dataset(walks: dict, attrs: dict, image_shape) -> xr.Dataset:
    """One run's walks as an xarray Dataset: ``walks[(method, direction)]`` is ``walk``'s dict plus
    ``labeller_flipped``. Variables ``steps``, ``distance``, ``labeller_flipped``, ``moved``
    ``(method_name, direction, sample)``, ``latent_end`` ``(method_name, direction, sample, latent)``
    and ``path`` ``(method_name, direction, example, step, channel, y, x)`` (the dimension is not called
    ``method``, which ``Dataset.sel`` takes as a keyword)."""
    methods = list(dict.fromkeys(m for m, _ in walks))
    directions = list(dict.fromkeys(d for _, d in walks))

    def stack(name):
        return np.stack([np.stack([walks[(m, d)][name] for d in directions]) for m in methods])

    path = stack("path")
    path = path.reshape(*path.shape[:4], *image_shape)
    return xr.Dataset(
        {
            "steps": (("method_name", "direction", "sample"), stack("steps")),
            "distance": (("method_name", "direction", "sample"), stack("distance")),
            "labeller_flipped": (("method_name", "direction", "sample"), stack("labeller_flipped")),
            "moved": (("method_name", "direction", "sample"), stack("moved")),
            "latent_end": (("method_name", "direction", "sample", "latent"), stack("latent_end")),
            "path": (("method_name", "direction", "example", "step", "channel", "y", "x"), path),
        },
        coords={"method_name": methods, "direction": directions},
        attrs=attrs,
    )


def median_ci(values: np.ndarray, resamples: int, seed: int) -> tuple[float, float, float]:
    """Median of the finite ``values`` and its 95% percentile-bootstrap interval (NaN when none)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    boot = np.median(rng.choice(values, size=(resamples, len(values))), axis=1)
    return (float(np.median(values)), *(float(q) for q in np.quantile(boot, [0.025, 0.975])))


def counterfactual_rows(ds: xr.Dataset, resamples: int = 2000) -> list[dict]:
    """``counterfactuals.csv``'s rows of one run (``COUNTERFACTUAL_COLUMNS``): per (method,
    direction) the flip rate among the walks with a direction, the median steps and distance to the
    flip over the walks that flipped (with bootstrap intervals), the median steps with no flip counted
    as ``max_steps + 1`` (``censored_median_steps``: what the claims compare), and the share of flips
    the labeller agrees with (its label changes too). The bootstrap is seeded by the run's seed."""
    rows, max_steps, seed = [], int(ds.attrs["max_steps"]), int(ds.attrs["seed"])
    for method in ds["method_name"].values:
        for direction in ds["direction"].values:
            one = ds.sel({"method_name": method, "direction": direction})
            moved = one["moved"].values.astype(bool)
            steps, distance = one["steps"].values[moved], one["distance"].values[moved]
            flipped = np.isfinite(steps)
            agree = one["labeller_flipped"].values[moved][flipped]
            censored = np.where(flipped, steps, max_steps + 1)
            med_steps = median_ci(steps, resamples, seed)
            med_dist = median_ci(distance, resamples, seed)
            rows.append(
                {
                    "dataset": ds.attrs["dataset"],
                    "seed": int(ds.attrs["seed"]),
                    "regime": ds.attrs["regime"],
                    "method": str(method),
                    "direction": str(direction),
                    "n": int(len(moved)),
                    "n_walked": int(moved.sum()),
                    "flip_rate": float(flipped.mean()) if moved.any() else np.nan,
                    "median_steps": med_steps[0],
                    "median_steps_ci_low": med_steps[1],
                    "median_steps_ci_high": med_steps[2],
                    "median_distance": med_dist[0],
                    "median_distance_ci_low": med_dist[1],
                    "median_distance_ci_high": med_dist[2],
                    "censored_median_steps": float(np.median(censored)) if moved.any() else np.nan,
                    "labeller_agreement": float(np.nanmean(agree))
                    if np.isfinite(agree).any()
                    else np.nan,
                    "max_steps": max_steps,
                    "step": float(ds.attrs["step"]),
                }
            )
    return rows


def counterfactual_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COUNTERFACTUAL_COLUMNS)
