"""The per-image explorer (manifold_xai.explorer): its packing, its index against the stores it reads,
and the page in headless Chromium (Debian's `chromium`, installed by .ci/run): opened from disk with no
console error and no network request, filters against the stores, the detail view, the URL, the
keyboard, and a run with a missing and a partial store. Screenshots: test-artifacts/explorer/."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from explorer_stores import write_run

from conftest import REPO, chromium_binary
from manifold_xai.explorer import build_explorer, pack

N, H, K, CLASSES = 30, 8, 3, 4  # test images per run, pixels per side, tangent dimension, classes
ARTIFACTS = REPO / "test-artifacts" / "explorer"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("explorer-stores")
    return [write_run(root, seed, n=N, size=H, k=K, n_classes=CLASSES) for seed in (0, 1)]


@pytest.fixture(scope="module")
def built(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("explorer")
    metrics = build_explorer(out / "index.html", out / "data", runs, title="Toy explorer")
    return out, metrics


def _index(out) -> dict:
    text = (out / "data" / "index.js").read_text()
    return json.loads(text[len("window.EXPLORER = ") : -2])


def _fractions(spec, regime, source, method):
    import xarray as xr

    r = next(g for g in spec["regimes"] if g["name"] == regime)
    ds = xr.open_zarr(r["alignment"][source], consolidated=False)
    return ds["fraction"].sel(method_name=method).values, ds["predicted"].values, ds


# -- packing and the index --------------------------------------------------------------------------
def test_levels_put_zero_at_the_white_middle_and_the_scale_at_the_ends():
    maps = np.array([[[0.0, 1.0], [-1.0, 0.5]], [[0.0, 0.0], [0.0, 0.0]]])
    scale = pack.map_scale(maps)
    assert scale.tolist() == [1.0, 1.0]  # an all-zero map gets scale 1, not a division by zero
    q = pack.quantise(maps, scale)
    assert q[0].tolist() == [[31, 62], [0, 46]] and (q[1] == 31).all()
    lut = pack.colormap_hex()
    middle = [int(lut[31][k : k + 2], 16) for k in (1, 3, 5)]
    assert min(middle) >= 0xF0  # PuOr's white middle
    purple, orange = (int(c[1:3], 16) < int(c[5:7], 16) for c in (lut[0], lut[62]))
    assert purple and not orange  # negative purple (more blue than red), positive orange
    tiles = np.arange(3 * 2 * 2).reshape(3, 2, 2)
    sheet = pack.sheet(tiles, 2)
    assert (
        sheet.shape == (4, 4) and (sheet[2:, :2] == tiles[2]).all() and (sheet[2:, 2:] == 0).all()
    )


def test_the_index_holds_the_stores_numbers_and_every_chunk_exists(runs, built):
    out, metrics = built
    index = _index(out)
    assert metrics["runs"] == 2 and metrics["images"] == 2 * N and metrics["missing"] == []
    run = index["runs"][1]
    frac, predicted, ds = _fractions(runs[1], "adversarial", "local_pca", "smoothgrad")
    source = next(s for s in run["regimes"][1]["sources"] if s["name"] == "local_pca")
    got = np.array([np.nan if v is None else v for v in source["fraction"]["smoothgrad"]])
    assert np.isnan(got[-1]) and np.isnan(frac[-1])  # undefined stays undefined
    np.testing.assert_allclose(got[:-1], frac[:-1], atol=5e-7)
    assert run["regimes"][1]["predicted"] == predicted.tolist()
    assert source["baseline"] == pytest.approx(ds.attrs["baseline"], abs=1e-6)
    pages = -(-N // index["page_size"])
    expected = {f"r{r}i{p}.js" for r in (0, 1) for p in range(pages)}
    expected |= {
        f"r{r}g{g}m{m}p{p}.js" for r in (0, 1) for g in (0, 1) for m in (0, 1) for p in range(pages)
    }
    assert {f.name for f in (out / "data" / "c").iterdir()} == expected
    digests = {a["path"]: a["sha256"] for a in run["artifacts"]}
    assert digests[runs[1]["data"]].startswith("unknown")  # the fake stores have no sidecars


# -- the page in a browser --------------------------------------------------------------------------
@pytest.fixture
def browser():
    chromium = chromium_binary()
    if chromium is None:
        pytest.skip("no chromium binary (CI installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, errors, requests


def test_the_page_filters_sorts_details_restores_and_navigates_like_the_stores_say(
    runs, built, browser
):
    out, _ = built
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors, requests = _open(browser, (out / "index.html").as_uri())
    assert page.inner_text("#count") == str(2 * N)
    page.screenshot(path=str(ARTIFACTS / "gallery.png"))

    # a filter: seed 1, adversarial, smoothgrad under local_pca, class 2, correct predictions only
    for key, value in [("seed", "1"), ("regime", "adversarial"), ("method", "smoothgrad")]:
        page.select_option(f"#f-{key}", value)
    page.select_option("#f-source", "local_pca")
    page.select_option("#f-cls", "2")
    page.select_option("#f-correct", "correct")
    frac, predicted, ds = _fractions(runs[1], "adversarial", "local_pca", "smoothgrad")
    chosen = (ds["label"].values == 2) & (predicted == 2)
    assert chosen.sum() >= 1, "the fake run has no correct class-2 image: change its seed"
    assert page.inner_text("#count") == str(int(chosen.sum()))
    assert page.inner_text("#mean") == f"{np.nanmean(frac[chosen]):.4f}"

    # sort by fraction, descending: the first card holds the largest fraction of the selection
    page.select_option("#f-sort", "desc")
    first = page.locator(".card").first
    assert (
        first.get_attribute("data-key")
        == f"toy/1/{int(np.flatnonzero(chosen)[np.nanargmax(frac[chosen])])}"
    )

    # the detail view of a sampled image shows the fraction its alignment store holds
    page.select_option("#f-cls", "all")
    page.select_option("#f-correct", "all")
    page.select_option("#f-sort", "index")
    i = int(np.random.default_rng(3).integers(0, N - 1))
    page.click(f".card[data-key='toy/1/{i}']")
    cell = page.locator(
        "#detail td.f[data-regime='adversarial'][data-method='smoothgrad'][data-source='local_pca']"
    )
    assert cell.inner_text() == f"{frac[i]:.3f}"
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "detail.png"))
    assert runs[1]["regimes"][1]["attributions"] in page.inner_text("#detail")

    # the URL restores the view: same filter, same image
    url = page.url
    again, errors2, _ = _open(browser, url)
    assert again.inner_text("#detail-title") == page.inner_text("#detail-title")
    assert again.input_value("#f-source") == "local_pca" and again.input_value("#f-seed") == "1"

    # the keyboard: next image in the detail view, and between cards in the gallery
    page.keyboard.press("ArrowRight")
    assert f"test image {i + 1} " in page.inner_text("#detail-title")
    page.keyboard.press("Escape")
    assert page.is_hidden("#detail")
    page.locator(".card").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.index") == "1"

    assert errors == [] and errors2 == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []


def test_the_orthogonal_map_is_the_attribution_minus_its_tangent_part(runs, built, browser):
    """A pixel of a card's orthogonal canvas has the colour of level q_a − q_t + 31 of the stores' maps."""
    from manifold_xai.store import open_store
    from manifold_xai.tangent.space import open_tangent_space

    out, _ = built
    page, errors, _ = _open(browser, (out / "index.html").as_uri())
    spec = runs[0]
    a = np.asarray(open_store(spec["regimes"][0]["attributions"])["attribution"][0])[:, 0]
    t = open_tangent_space(spec["tangent"]["vae"]).project(a.reshape(N, -1)).reshape(a.shape)
    scale = pack.map_scale(a)
    qa, qt = pack.quantise(a, scale), pack.quantise(t, scale)
    lut = pack.colormap_hex()
    card = page.locator(".card[data-key='toy/0/4']")
    for part, (y, x) in [("attribution", (1, 2)), ("tangent", (5, 3)), ("orthogonal", (6, 7))]:
        got = card.locator("canvas").nth(1 + ["attribution", "tangent", "orthogonal"].index(part))
        rgb = got.evaluate(
            f"c => Array.from(c.getContext('2d').getImageData({x}, {y}, 1, 1).data.slice(0, 3))"
        )
        level = {"attribution": qa, "tangent": qt, "orthogonal": None}[part]
        q = (
            int(np.clip(int(qa[4, y, x]) - int(qt[4, y, x]) + 31, 0, 62))
            if level is None
            else int(level[4, y, x])
        )
        assert "#" + "".join(f"{c:02x}" for c in rgb) == lut[q], part
    assert errors == []


def test_a_run_with_a_missing_and_a_partial_store_still_gets_a_page_that_says_so(
    runs, browser, tmp_path
):
    broken = json.loads(json.dumps(runs))
    copy = tmp_path / "stores"
    for spec in broken:  # work on copies: the module's stores stay intact
        for regime in spec["regimes"]:
            for source, path in regime["alignment"].items():
                target = copy / path.lstrip("/")
                shutil.copytree(path, target)
                regime["alignment"][source] = str(target)
    missing = broken[0]["regimes"][1]["attributions"] = str(tmp_path / "absent.zarr")
    partial = broken[1]["regimes"][0]["alignment"]["local_pca"]
    chunks = [f for f in (Path(partial) / "fraction" / "c").rglob("*") if f.is_file()]
    assert chunks
    for chunk in chunks:
        chunk.write_bytes(b"\x00\x01")  # a truncated chunk
    out = tmp_path / "explorer"
    metrics = build_explorer(out / "index.html", out / "data", broken)
    assert {m["path"] for m in metrics["missing"]} == {missing, partial}
    page, errors, _ = _open(browser, (out / "index.html").as_uri())
    banner = page.inner_text("#missing")
    assert missing in banner and partial in banner and "2 store(s)" in banner
    assert page.inner_text("#count") == str(2 * N)  # both runs still shown
    page.select_option("#f-regime", "adversarial")
    page.select_option("#f-seed", "0")
    assert "not available" in page.locator(".card").first.inner_text()
    assert errors == []


def test_the_command_line_builds_the_page_of_a_run_whose_dataset_failed_part_way(tmp_path):
    """`manifold-xai explorer` on a working directory where one regime's attributions never got written
    (the job failed): the page is built from the rest and the missing store is named."""
    from conftest import with_examples
    from manifold_xai.cli import main

    work = with_examples(tmp_path)
    # configs/tiny.yaml's
    regimes = (
        "standard",
        "adversarial",
        "random_labels",
        "adversarial_normal",
        "adversarial_tangent",
    )
    write_run(work / "results" / "digits", 0, dataset="digits", regimes=regimes, sources=("vae",))
    failed = work / "results" / "digits" / "seed0" / "attributions" / "adversarial.zarr"
    shutil.rmtree(failed)
    cwd = Path.cwd()
    os.chdir(work)
    try:
        code = main(["explorer", "--configfile", str(REPO / "configs" / "tiny.yaml")])
    finally:
        os.chdir(cwd)
    assert code == 0
    index = _index(work / "results" / "explorer-partial")
    assert [m["path"] for m in index["missing"]] == [str(failed.relative_to(work))]
    assert [g["name"] for g in index["runs"][0]["regimes"]] == [
        "standard",
        "random_labels",
        "adversarial_normal",
        "adversarial_tangent",
    ]
