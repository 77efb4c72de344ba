"""The user-study kit: stimulus choice, the analysis on the paper's Table 1, and the page itself, clicked
through in headless Chromium (Debian's `chromium`, installed by .ci/run)."""

import json

import numpy as np
import pytest

from conftest import chromium_binary
from manifold_xai.evaluation.study import (
    TABLE1,
    analyze,
    choice_test,
    method_pair_cases,
    render_image,
    render_map,
    study_page,
    tangent_vs_orthogonal_cases,
)


@pytest.mark.parametrize("task", list(TABLE1))
def test_the_analysis_of_the_paper_counts_is_significant(task):
    n, a, b, _, _ = TABLE1[task]
    result = choice_test(n, a, b)
    assert result["p_value"] < 0.01 and result["none"] == n - a - b
    assert np.isnan(result["p_value_ttest"]) or result["p_value_ttest"] < 0.01
    assert choice_test(40, 15, 15)["p_value"] > 0.5  # no preference either way: not significant


def test_mnist2_pairs_sort_three_methods_by_fraction():
    fractions = {
        "gradient": np.array([0.3, 0.5]),
        "ig": np.array([0.4, 0.2]),
        "ixg": np.array([0.35, 0.6]),
    }
    assert method_pair_cases(fractions, 2) == [
        (0, "gradient", "ixg"),
        (0, "ixg", "ig"),
        (1, "ig", "gradient"),
        (1, "gradient", "ixg"),
    ]


def test_mnist1_takes_correct_images_above_the_class_quantile():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    predicted = labels.copy()
    predicted[:5] = 1  # misclassified: never chosen
    fraction = rng.random(100)
    chosen = tangent_vs_orthogonal_cases(
        fraction, labels, predicted, 2, quantile=0.9, per_class=3, seed=1
    )
    assert len(chosen) == 6 and all(i >= 5 for i in chosen)
    for i in chosen:
        same = (labels == labels[i]) & (predicted == labels[i])
        assert fraction[i] > np.quantile(fraction[same], 0.9)


def _stimuli():
    cases = {"T1": [("c1", 0.1, 0.5), ("c2", 0.2, 0.4)], "T2": [("d1", 0.0, 1.0)]}
    return {
        "tasks": [
            {"name": t, "cases": [{"id": i, "fraction_a": a, "fraction_b": b} for i, a, b in cs]}
            for t, cs in cases.items()
        ]
    }


def test_analysis_counts_choices_and_mean_fractions_of_the_presented_cases():
    responses = [
        {
            "choices": [
                {"task": "T1", "case": "c1", "choice": "B"},
                {"task": "T1", "case": "c2", "choice": "A"},
                {"task": "T2", "case": "d1", "choice": "none"},
            ]
        },
        {"choices": [{"task": "T1", "case": "c1", "choice": "B"}]},
    ]
    rows = {r["task"]: r for r in analyze(responses, _stimuli())}
    assert (rows["T1"]["N"], rows["T1"]["A"], rows["T1"]["B"], rows["T1"]["none"]) == (3, 1, 2, 0)
    assert rows["T1"]["T_A"] == pytest.approx((0.1 + 0.2 + 0.1) / 3)
    assert (rows["T2"]["N"], rows["T2"]["none"]) == (1, 1)
    with pytest.raises(ValueError, match="unknown case"):
        analyze([{"choices": [{"task": "T1", "case": "zz", "choice": "A"}]}], _stimuli())


def _study_tasks():
    maps = np.random.default_rng(0).standard_normal((4, 1, 8, 8))
    image = np.random.default_rng(1).uniform(size=(1, 8, 8))
    return [
        {
            "name": "T1",
            "protocol": "method_pairs",
            "cases": [
                {"id": f"c{i}", "a_png": render_map(maps[i]), "b_png": render_map(-maps[i])}
                for i in range(3)
            ],
        },
        {
            "name": "T2",
            "protocol": "fixed_pair",
            "cases": [
                {
                    "id": "d1",
                    "a_png": render_map(maps[3]),
                    "b_png": render_map(maps[0]),
                    "image_png": render_image(image),
                }
            ],
        },
    ]


@pytest.fixture
def study(tmp_path):
    """A page of 3 trials (2 of T1's 3 cases, then T2's one) open in headless Chromium."""
    chromium = chromium_binary()
    if chromium is None:
        pytest.skip("no chromium binary (CI installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    tasks = _study_tasks()
    page_path = tmp_path / "index.html"
    study_page(
        page_path,
        tasks,
        title="Test study",
        per_participant={"T1": 2},
        contact="study@example.org",
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True)
        page.goto(page_path.as_uri() + "?seed=7&participant=tester")
        yield page, tasks
        browser.close()


def _save(page) -> dict:
    with page.expect_download() as download:
        page.click("#save")
    return json.loads(open(download.value.path()).read())


def test_the_page_records_clicks_and_keys_once_each_undoes_and_saves_json(study):
    page, tasks = study
    assert page.inner_text("#count") == "3" and "Space no preference" in page.inner_text("#intro")
    page.click("#start")
    assert page.inner_text("#progress") == "1 / 3"
    assert page.get_attribute("#left", "src").startswith("data:image/png;base64,")
    assert not page.is_visible("#original")  # T1 asks about the maps alone
    page.click("#choose-left")
    assert page.inner_text("#progress") == "2 / 3"
    page.keyboard.press("Space")  # after a click: one answer, not a second press of the button
    assert page.inner_text("#progress") == "3 / 3"
    assert page.is_visible("#original")  # T2 asks about the image: it is shown
    assert page.get_attribute("#image", "src").startswith("data:image/png;base64,")
    page.keyboard.press("Backspace")  # undo the Space answer
    assert page.inner_text("#progress") == "2 / 3"
    page.click("#choose-right")
    page.click("#choose-none")
    assert page.is_visible("#done") and "study@example.org" in page.inner_text("#done")
    saved = _save(page)
    assert (
        saved["format"] == "manifold-xai/study-responses/1"
        and saved["participant"] == "tester"
        and saved["complete"]
    )
    choices = saved["choices"]
    assert [c["side"] for c in choices] == ["left", "right", "none"]
    assert [c["task"] for c in choices] == ["T1", "T1", "T2"]
    first, second = choices[0], choices[1]
    assert first["choice"] == first["shown_left"]  # left chosen: the group shown on the left
    assert second["choice"] != second["shown_left"] and choices[2]["choice"] == "none"
    stimuli = {
        "tasks": [
            {
                "name": t["name"],
                "cases": [
                    {"id": c["id"], "fraction_a": 0.2, "fraction_b": 0.6} for c in t["cases"]
                ],
            }
            for t in tasks
        ]
    }
    rows = {r["task"]: r for r in analyze([saved], stimuli)}
    assert rows["T1"]["N"] == 2 and rows["T2"]["none"] == 1


def test_a_reload_resumes_the_session_where_it_stopped(study):
    page, _ = study
    page.click("#start")
    page.click("#choose-left")
    first = page.get_attribute("#left", "src")  # the second trial, as drawn for this session
    page.reload()
    assert page.is_visible("#resume-note") and "answered 1 of 3" in page.inner_text("#resume-note")
    page.click("#start")
    assert page.inner_text("#progress") == "2 / 3" and page.get_attribute("#left", "src") == first
    page.click("#choose-right")
    page.click("#choose-none")
    choices = _save(page)["choices"]
    assert [c["side"] for c in choices] == ["left", "right", "none"]


def test_choice_tests_are_one_sided_against_one_half():
    """3 A and 7 B choices: the one-sided sign test is P(X >= 7 | 10, 1/2) = 176/1024 (two-sided would
    double it); the t-test is of the B indicator against 1/2, computed here from its definition."""
    from scipy import stats

    result = choice_test(12, 3, 7)
    assert result["p_value"] == pytest.approx(176 / 1024)
    indicator = np.r_[np.zeros(3), np.ones(7)]
    t = (indicator.mean() - 0.5) / (indicator.std(ddof=1) / np.sqrt(10))
    assert result["p_value_ttest"] == pytest.approx(stats.t.sf(t, 9))
    assert result["none"] == 2
