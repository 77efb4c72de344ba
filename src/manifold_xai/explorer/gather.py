"""One (dataset, seed) run's stores as the explorer reads them, with what is missing or unreadable.

``RunInputs`` names the stores (paths relative to the working directory, as the rule passes them):
the dataset store, per regime its attributions and, per tangent source, its alignment store, and per
source its tangent store. ``open_run`` reads every small array (labels, predictions, fractions) at once
and the test images ``(n, c, h, w)`` at once and checks that the stores describe the same test samples;
the maps (attributions ``(m, n, c, h, w)``, bases ``(n, k, d)``) are read page by page (``page_maps``),
so beyond the images memory stays one page whatever n.
A store that is absent or cannot be read becomes a ``Missing`` entry and its part of the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Missing:
    what: str  # e.g. "mnist32 seed 1, attributions (standard)"
    path: str
    why: str

    def as_dict(self) -> dict:
        return {"what": self.what, "path": self.path, "why": self.why}


@dataclass
class SourceView:
    """One tangent source of one regime: per-method fractions ``(n,)`` (NaN: undefined), the random
    vectors' fractions ``(n,)``, ``sqrt(k/d)``, ranks ``(n,)``; ``space``: the tangent space that gives
    the tangent parts (None: not available, ``note`` says why)."""

    name: str
    fraction: dict[str, np.ndarray]
    random: np.ndarray
    baseline: float
    rank: np.ndarray
    space: object | None
    note: str = ""


@dataclass
class RegimeView:
    name: str
    methods: list[str]
    predicted: np.ndarray  # (n,) int
    attributions: object | None  # the zarr array (m, n, c, h, w), read page by page
    sources: list[SourceView] = field(default_factory=list)


@dataclass
class RunView:
    dataset: str
    seed: int
    sample_index: np.ndarray  # (n,) rows of data.zarr
    labels: np.ndarray  # (n,) int
    n_classes: int
    images: np.ndarray  # (n, c, h, w) float32
    regimes: list[RegimeView]
    artifacts: list[dict]  # {role, path, sha256}


def _sidecar_digest(path: str) -> str:
    from manifold_xai.provenance.records import sidecar_path
    from manifold_xai.store import read_json

    try:
        return str(read_json(sidecar_path(path))["artifact"]["sha256"])
    except Exception:  # no sidecar (an external store) or an unreadable one: the page says so
        return "unknown (no readable provenance sidecar)"


def _why(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def open_run(spec: dict, missing: list[Missing]) -> RunView | None:
    """The run ``spec`` (``dataset``, ``seed``, ``data``, ``tangent: {source: path}``, ``regimes: [{name,
    attributions, alignment: {source: path}}]``) opened, or None when nothing of it can be shown;
    everything absent or unreadable is appended to ``missing``."""
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.store import open_store, read_array
    from manifold_xai.tangent.space import open_tangent_space

    label = f"{spec['dataset']} seed {spec['seed']}"
    artifacts: list[dict] = []

    def note(what: str, path: str, error: Exception) -> None:
        missing.append(Missing(f"{label}, {what}", path, _why(error)))

    def keep(role: str, path: str) -> None:
        artifacts.append({"role": role, "path": path, "sha256": _sidecar_digest(path)})

    sample_index = None
    regimes: list[RegimeView] = []
    spaces: dict[str, object | None] = {}
    notes: dict[str, str] = {}
    for source, path in spec["tangent"].items():
        try:
            spaces[source] = open_tangent_space(path)
            keep(f"tangent spaces ({source})", path)
        except (
            Exception
        ) as e:  # a matrix-free store needs the decoder: no tangent parts, numbers only
            spaces[source] = None
            notes[source] = _why(e)
            if Path(path).is_dir() and "matrix-free" in str(e):
                keep(f"tangent spaces ({source})", path)
            else:
                note(f"tangent spaces ({source})", path, e)
    for regime in spec["regimes"]:
        name, path = regime["name"], regime["attributions"]
        try:
            store = open_store(path, required=("attribution", "predicted", "sample_index"))
            rows = read_array(store, "sample_index", path=path)
            if sample_index is None:
                sample_index = rows
            elif not np.array_equal(rows, sample_index):
                raise ValueError("its test samples differ from the run's other stores")
            view = RegimeView(
                name,
                [str(m) for m in store.attrs["methods"]],
                read_array(store, "predicted", path=path).astype(np.int64),
                store["attribution"],
            )
            keep(f"attributions ({name})", path)
        except Exception as e:
            note(f"attributions ({name})", path, e)
            continue
        for source, apath in regime["alignment"].items():
            try:
                ds = xr.open_zarr(apath, consolidated=False).load()
                if ds.sizes["sample"] != len(sample_index):
                    raise ValueError("its number of samples differs from the attributions'")
                view.sources.append(
                    SourceView(
                        source,
                        {
                            str(m): ds["fraction"].sel(method_name=m).values.astype(np.float64)
                            for m in ds["method_name"].values
                        },
                        ds["random_fraction"].values.astype(np.float64),
                        float(ds.attrs["baseline"]),
                        ds["rank"].values.astype(np.int64),
                        spaces.get(source),
                        notes.get(source, ""),
                    )
                )
                keep(f"alignment ({name}, {source})", apath)
            except Exception as e:
                note(f"alignment ({name}, {source})", apath, e)
        regimes.append(view)
    if sample_index is None:
        return None
    try:
        labels = read_rows(spec["data"], "labels", sample_index).astype(np.int64)
        images = read_rows(spec["data"], "images", sample_index).astype(np.float32)
        n_classes = int(store_attrs(spec["data"]).get("n_classes", int(labels.max()) + 1))
        keep("test images", spec["data"])
    except Exception as e:
        note("test images", spec["data"], e)
        return None
    return RunView(
        spec["dataset"],
        int(spec["seed"]),
        np.asarray(sample_index, np.int64),
        labels,
        n_classes,
        images,
        regimes,
        artifacts,
    )


def page_maps(
    regime: RegimeView, start: int, stop: int
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Samples ``start:stop`` of one regime: the attributions summed over channels ``(m, p, h, w)``
    float64 and, per source, their tangent parts ``(m, p, h, w)`` (None where the source has no space).
    The orthogonal part is the attribution minus its tangent part."""
    a = np.asarray(regime.attributions[:, start:stop], np.float64)  # (m, p, c, h, w)
    m, p = a.shape[:2]
    samples = np.arange(start, stop)
    parts: list[np.ndarray | None] = []
    for source in regime.sources:
        if source.space is None:
            parts.append(None)
            continue
        tangent = source.space.project(a.reshape(m, p, -1), samples=samples)
        parts.append(np.asarray(tangent).reshape(a.shape).sum(axis=2))
    return a.sum(axis=2), parts
