"""The explorer at the paper's size: build it from a generated run of 10,000 test images (three regimes,
six methods, one tangent source of dimension 10, 32 x 32 maps blurred like attributions, the project's
own store writers and alignment reduction) and open it in headless Chromium; the baseline is the same
measurement, in the same process, on a run of the default's size (200 test images). Optionally also the
page of a finished run (``--page results/explorer/index.html``). Prints JSON.

    uv run python benchmarks/explorer_scale.py [--n 10000] [--page results/explorer/index.html]

Per page: bytes on disk, build seconds, and in Chromium (1280 x 900, no cache) the milliseconds from
navigation to the first screen drawn (every card in view with its maps: ``window.explorerFirstScreenMs``)
and to the count and mean updated after a filter change (class 3). Target (issue "See every explanation"):
first screen <= 2 s at 10,000 images, and the default run's page <= 25 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # helpers shared with the tests
from explorer_stores import write_run  # noqa: E402

METHODS = ("gradient", "input_x_gradient", "integrated_gradients", "smoothgrad", "m5", "m6")
REGIMES = ("standard", "adversarial", "random_labels")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("explorer_scale: needs Debian's chromium (apt-get install chromium)")
    return found


def measure_page(page_path: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium(), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_path.resolve().as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        first = page.evaluate("window.explorerFirstScreenMs")
        count = page.inner_text("#count")
        start = time.perf_counter()
        page.select_option("#f-cls", "3")
        page.wait_for_function(f"document.getElementById('count').textContent !== '{count}'")
        filter_ms = (time.perf_counter() - start) * 1000
        browser.close()
    size = sum(f.stat().st_size for f in page_path.parent.rglob("*") if f.is_file())
    return {
        "bytes": size,
        "mb": round(size / 1e6, 2),
        "first_screen_ms": round(first, 1),
        "filter_ms": round(filter_ms, 1),
        "images_shown": int(count),
        "console_errors": errors,
    }


def generated(n: int, root: Path) -> dict:
    from manifold_xai.explorer import build_explorer

    start = time.perf_counter()
    spec = write_run(
        root / f"stores{n}",
        0,
        n=n,
        size=32,
        k=10,
        n_classes=10,
        methods=METHODS,
        regimes=REGIMES,
        sources=("vae",),
        dataset="synthetic",
        smooth=1.0,
    )
    stores_s = time.perf_counter() - start
    start = time.perf_counter()
    out = root / f"explorer{n}"
    build_explorer(out / "index.html", out / "data", [spec])
    build_s = time.perf_counter() - start
    return {"n": n, "stores_s": round(stores_s, 1), "build_s": round(build_s, 1)} | measure_page(
        out / "index.html"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--baseline-n", type=int, default=200)
    ap.add_argument("--page", type=Path, default=None, help="a finished run's explorer page")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "baseline": generated(args.baseline_n, Path(tmp)),
            "scale": generated(args.n, Path(tmp)),
        }
    if args.page is not None:
        result["run_page"] = {"page": str(args.page)} | measure_page(args.page)
    result["targets"] = {
        "first_screen_ms_at_scale_le_2000": result["scale"]["first_screen_ms"] <= 2000,
        **(
            {"run_page_le_25_mb": result["run_page"]["bytes"] <= 25e6}
            if "run_page" in result
            else {}
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
