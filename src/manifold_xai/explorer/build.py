"""Write the explorer: ``index.html`` (the page, its CSS and JavaScript inlined) beside a ``data/``
folder holding ``index.js`` (every number: labels, predictions, fractions, random baselines, map scales,
the artifacts with their digests, what is missing) and ``c/*.js``, one sprite chunk per page of
``PAGE_SIZE`` images: the images of a run (``r{run}i{page}.js``) and, per regime and method, the
attributions and their tangent parts under every source (``r{run}g{regime}m{method}p{page}.js``).

Everything is written to temporary siblings and renamed at the end, so a failed build leaves nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from manifold_xai.explorer import pack
from manifold_xai.explorer.gather import Missing, open_run, page_maps

PAGE_SIZE = 50  # images per chunk
COLUMNS = 10  # tiles per sheet row
FORMAT = "manifold-xai/explorer/1"
ASSETS = Path(__file__).resolve().parent / "assets"


def _numbers(values: np.ndarray, digits: int = 6) -> list[float | None]:
    """JSON-ready floats: rounded, NaN and inf as null (undefined)."""
    return [round(float(v), digits) if math.isfinite(v) else None for v in np.asarray(values)]


def _significant(values: np.ndarray, digits: int = 3) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, np.float64)]


def _chunk(key: str, urls: list[str | None]) -> str:
    return f"explorerChunk({json.dumps(key)},{json.dumps(urls)});\n"


def _write_run(r: int, run, folder: Path) -> dict:
    """Write run ``r``'s chunks into ``folder`` and return its entry of the index."""
    n = len(run.sample_index)
    entry = {
        "id": r,
        "dataset": run.dataset,
        "seed": run.seed,
        "n": n,
        "shape": list(run.images.shape[1:]),
        "n_classes": run.n_classes,
        "sample_index": run.sample_index.tolist(),
        "labels": run.labels.tolist(),
        "artifacts": run.artifacts,
        "regimes": [],
    }
    scales = [{m: [] for m in regime.methods} for regime in run.regimes]
    for page, start in enumerate(range(0, n, PAGE_SIZE)):
        stop = min(n, start + PAGE_SIZE)
        url = pack.image_sheet_url(run.images[start:stop], COLUMNS)
        (folder / f"r{r}i{page}.js").write_text(_chunk(f"r{r}i{page}", [url]))
        for g, regime in enumerate(run.regimes):
            attribution, tangents = page_maps(regime, start, stop)
            for m, method in enumerate(regime.methods):
                scale = pack.map_scale(attribution[m])
                scales[g][method] += _significant(scale)
                urls = [pack.map_sheet_url(pack.quantise(attribution[m], scale), COLUMNS)]
                urls += [
                    None if t is None else pack.map_sheet_url(pack.quantise(t[m], scale), COLUMNS)
                    for t in tangents
                ]
                key = f"r{r}g{g}m{m}p{page}"
                (folder / f"{key}.js").write_text(_chunk(key, urls))
    for g, regime in enumerate(run.regimes):
        entry["regimes"].append(
            {
                "name": regime.name,
                "methods": regime.methods,
                "predicted": regime.predicted.tolist(),
                "scale": scales[g],
                "sources": [
                    {
                        "name": s.name,
                        "fraction": {m: _numbers(v) for m, v in s.fraction.items()},
                        "random": _numbers(s.random),
                        "baseline": round(s.baseline, 6),
                        "rank": s.rank.tolist(),
                        "parts": s.space is not None,
                        "note": s.note,
                    }
                    for s in regime.sources
                ],
            }
        )
    return entry


def page_html(title: str) -> str:
    """The page: ``assets/explorer.html`` with its CSS and JavaScript inlined and the title set."""
    import html

    template = (ASSETS / "explorer.html").read_text()
    return (
        template.replace("__TITLE__", html.escape(title))
        .replace("/*__CSS__*/", (ASSETS / "explorer.css").read_text())
        .replace("/*__JS__*/", (ASSETS / "explorer.js").read_text())
    )


def build_explorer(page, data, runs: list[dict], *, title: str = "manifold-xai explorer") -> dict:
    """Build the explorer of ``runs`` (``gather.open_run`` specs) into the page file ``page`` and the
    folder ``data``; returns the job's metrics (runs, images, chunks, bytes, what is missing)."""
    from manifold_xai.store import atomic_path

    missing: list[Missing] = []
    index = {"format": FORMAT, "title": title, "page_size": PAGE_SIZE, "columns": COLUMNS}
    index |= {
        "levels": pack.LEVELS,
        "colormap": pack.colormap_hex(),
        "colormap_name": pack.COLORMAP,
    }
    entries = []
    with atomic_path(data) as tmp:
        chunks = tmp / "c"
        chunks.mkdir(parents=True)
        for spec in runs:
            run = open_run(spec, missing)
            if run is None:
                missing.append(
                    Missing(
                        f"{spec['dataset']} seed {spec['seed']}",
                        spec["data"],
                        "nothing of this run can be shown",
                    )
                )
                continue
            entries.append(_write_run(len(entries), run, chunks))
        index["runs"] = entries
        index["missing"] = [m.as_dict() for m in missing]
        (tmp / "index.js").write_text(
            "window.EXPLORER = " + json.dumps(index, separators=(",", ":")) + ";\n"
        )
        size = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
        n_chunks = sum(1 for _ in chunks.iterdir())
    with atomic_path(page) as tmp:
        tmp.write_text(page_html(title))
        size += tmp.stat().st_size
    return {
        "runs": len(entries),
        "images": sum(e["n"] for e in entries),
        "chunks": n_chunks,
        "bytes": size,
        "missing": index["missing"],
    }
