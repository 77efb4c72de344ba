"""The user-study kit (docs/paper.md §9, Table 1): A/B stimulus sets, a self-contained HTML page that records
choices, and the analysis.

Protocols (``study.tasks[].protocol`` in the config), as the paper chose its stimuli:

- ``tangent_vs_orthogonal`` (MNIST 1): per class, correctly classified test images whose gradient
  fraction exceeds the class's ``quantile`` (0.9); ``per_class`` drawn at random (seeded). A = the
  gradient's orthogonal part (fraction 0), B = its tangent part (fraction 1).
- ``method_pairs`` (MNIST 2): the first ``n_images`` test images; their ``methods`` (gradient, IG,
  IxG) sorted by fraction give two pairs per image, (lowest, middle) and (middle, highest); A is the
  member with the lower fraction.
- ``fixed_pair`` (CIFAR 1): ``n_images`` random test images (seeded), A = ``method_a`` (the gradient),
  B = ``method_b`` (Input × Gradient).

``render_map`` turns a map into a PNG as the paper's ``plot_normalized_saliency``: unit norm, the top
``clip`` share of |values| clipped, symmetric ``bwr``. ``study_page`` writes one HTML file with every
image inlined (base64), so it can be mailed or opened offline; participants answer each case with
left / right / no preference, and the page saves ``responses-<participant>.json``. ``analyze`` reads
such files: per task N (presentations), A, B and none (choices), the mean fraction in tangent space of
the presented A and B images (T^A, T^B), and one-sided tests that B is chosen over A: the exact sign
(binomial) test on the decided choices, and the t-test of the paper (choice B = 1, A = 0, against 1/2;
NaN when every choice is the same).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math

import numpy as np
from scipy import stats

# Table 1 of the paper: task -> (N, A, B, T^A, T^B).
TABLE1 = {
    "CIFAR 1": (300, 36, 217, 0.27, 0.43),
    "MNIST 1": (600, 0, 580, 0.0, 1.0),
    "MNIST 2": (600, 143, 315, 0.32, 0.38),
}
QUESTIONS = {
    "tangent_vs_orthogonal": "Which of the two images is more visually structured?",
    "method_pairs": "Which of the two images is more visually structured?",
    "fixed_pair": "Which of the two images better highlights the object in the image?",
}


def tangent_vs_orthogonal_cases(
    fraction, labels, predicted, n_classes: int, *, quantile: float, per_class: int, seed: int
) -> list[int]:
    """Test-sample positions for MNIST 1 (see the module docstring), class by class."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(n_classes):
        idx = np.flatnonzero((labels == c) & (predicted == c) & np.isfinite(fraction))
        if len(idx) == 0:
            continue
        idx = idx[fraction[idx] > np.quantile(fraction[idx], quantile)]
        chosen += sorted(
            int(i) for i in rng.choice(idx, size=min(per_class, len(idx)), replace=False)
        )
    return chosen


def method_pair_cases(
    fractions: dict[str, np.ndarray], n_images: int
) -> list[tuple[int, str, str]]:
    """MNIST 2: ``(sample, method A, method B)`` for the first ``n_images``: (lowest, middle) and (middle,
    highest) by fraction, A the lower. Needs three methods."""
    methods = list(fractions)
    if len(methods) != 3:
        raise ValueError(f"method_pairs compares three methods, got {methods}")
    cases = []
    for i in range(min(n_images, len(fractions[methods[0]]))):
        ranked = sorted(methods, key=lambda m: (fractions[m][i], m))
        cases += [(i, ranked[0], ranked[1]), (i, ranked[1], ranked[2])]
    return cases


def render_map(values: np.ndarray, clip: float = 0.01, size_px: int = 192) -> bytes:
    """PNG bytes of one map ``(c, h, w)`` (summed over channels): unit norm, the top ``clip`` share of
    |values| clipped, symmetric ``bwr``, upscaled without smoothing to ``size_px``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(values, np.float64).sum(axis=0)
    m = m / (np.linalg.norm(m) or 1.0)
    bound = np.quantile(np.abs(m), 1 - clip) if clip > 0 else np.abs(m).max()
    m = np.clip(m, -bound, bound) / (bound or 1.0)
    rgba = plt.get_cmap("bwr")((m + 1) / 2)
    scale = max(1, size_px // max(m.shape))
    rgba = np.repeat(np.repeat(rgba, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    plt.imsave(buffer, rgba, format="png")
    return buffer.getvalue()


def render_image(image: np.ndarray, size_px: int = 192) -> bytes:
    """PNG bytes of one input image ``(c, h, w)`` in [0, 1] (grey for one channel, RGB for three),
    upscaled without smoothing to ``size_px``: shown beside a pair whose question is about the image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = np.clip(np.asarray(image, np.float64), 0, 1)
    pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image[:3], 0, -1)
    scale = max(1, size_px // max(pixels.shape[:2]))
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    plt.imsave(buffer, pixels, format="png", cmap="gray", vmin=0, vmax=1)
    return buffer.getvalue()


# Protocols whose question is about the image itself: the page shows it above the pair.
SHOWS_IMAGE = ("fixed_pair",)


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def study_page(
    path,
    tasks: list[dict],
    *,
    title: str,
    per_participant: dict[str, int],
    contact: str | None = None,
) -> None:
    """Write the HTML page. ``tasks[i] = {"name", "protocol", "cases": [{"id", "a_png", "b_png",
    "fraction_a", "fraction_b", "image_png" (protocols in ``SHOWS_IMAGE``)}, ...]}``; each participant
    sees ``per_participant[name]`` random cases of each task (all when larger), A on a random side.
    ``contact``: whom participants send their answers to (said on the last screen)."""
    payload = [
        {
            "name": t["name"],
            "question": QUESTIONS[t["protocol"]],
            "show": per_participant.get(t["name"], len(t["cases"])),
            "cases": [
                {
                    "id": c["id"],
                    "a": _data_url(c["a_png"]),
                    "b": _data_url(c["b_png"]),
                    **({"image": _data_url(c["image_png"])} if "image_png" in c else {}),
                }
                for c in t["cases"]
            ],
        }
        for t in tasks
    ]
    page = (
        PAGE.replace("__TITLE__", html.escape(title))
        .replace("__CONTACT__", html.escape(contact or "the person who gave you this page"))
        .replace("__TASKS__", json.dumps(payload).replace("</", "<\\/"))
    )
    from manifold_xai.store import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def analyze(responses: list[dict], stimuli: dict) -> list[dict]:
    """Per task: ``task, N, A, B, none, T_A, T_B, p_value`` (one-sided exact sign test, B over A) and
    ``p_value_ttest`` (one-sided t-test), from response files and ``stimuli.json`` (the fractions)."""
    fractions = {
        (t["name"], c["id"]): (c["fraction_a"], c["fraction_b"])
        for t in stimuli["tasks"]
        for c in t["cases"]
    }
    rows = []
    for task in [t["name"] for t in stimuli["tasks"]]:
        choices = [c for r in responses for c in r["choices"] if c["task"] == task]
        for c in choices:
            if (task, c["case"]) not in fractions:
                raise ValueError(f"response for unknown case {c['case']!r} of task {task!r}")
        shown = [fractions[(task, c["case"])] for c in choices]
        a = sum(c["choice"] == "A" for c in choices)
        b = sum(c["choice"] == "B" for c in choices)
        rows.append(
            {
                "task": task,
                **choice_test(len(choices), a, b),
                "T_A": float(np.mean([f[0] for f in shown])) if shown else math.nan,
                "T_B": float(np.mean([f[1] for f in shown])) if shown else math.nan,
            }
        )
    return rows


def choice_test(n: int, a: int, b: int) -> dict:
    """Counts and the one-sided tests that B is chosen more often than A (``n`` presentations, ``a``/``b``
    choices; the rest had no preference)."""
    if a + b > n:
        raise ValueError(f"{a} + {b} choices exceed {n} presentations")
    p_sign = (
        float(stats.binomtest(b, a + b, 0.5, alternative="greater").pvalue) if a + b else math.nan
    )
    indicator = np.r_[np.zeros(a), np.ones(b)]
    if a + b > 1 and 0 < b < a + b:
        p_t = float(stats.ttest_1samp(indicator, 0.5, alternative="greater").pvalue)
    else:
        p_t = math.nan
    return {"N": n, "A": a, "B": b, "none": n - a - b, "p_value": p_sign, "p_value_ttest": p_t}


PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font-family: sans-serif; max-width: 820px; margin: 2em auto; color: #222; }
.pair { display: flex; gap: 24px; justify-content: center; margin: 1em 0; }
.pair img { width: 320px; height: 320px; image-rendering: pixelated; border: 1px solid #999; }
#original { text-align: center; }
#original img { width: 192px; height: 192px; image-rendering: pixelated; border: 1px solid #999; }
button { font-size: 1.05em; padding: 0.5em 1.2em; margin: 0 0.4em; }
#progress, .keys { color: #666; }
</style></head>
<body>
<h1>__TITLE__</h1>
<div id="intro"><p>You will be shown <span id="count"></span> pairs of images and asked to choose one image
of each pair. There are no right or wrong answers; go with your first impression. Your answers are
anonymous and kept in this browser until you save them, so you can close the page and continue later.</p>
<p class="keys">Keys: &larr; left image, &rarr; right image, Space no preference, Backspace undo the last
answer.</p>
<p id="resume-note" hidden></p>
<button id="start">Start</button></div>
<div id="trial" hidden>
  <p id="progress"></p><h2 id="question"></h2>
  <div id="original" hidden><p>The image:</p><img id="image" alt="the image the maps explain"></div>
  <div class="pair"><img id="left" alt="left image"><img id="right" alt="right image"></div>
  <p style="text-align:center"><button id="choose-left">Left</button><button id="choose-none">No preference</button><button id="choose-right">Right</button></p>
  <p style="text-align:center"><button id="undo">Undo last answer</button></p>
</div>
<div id="done" hidden><p>Thank you! Please save your answers and send the file to __CONTACT__.</p>
<button id="save">Save answers</button> <button id="undo-done">Undo last answer</button> <span id="saved"></span></div>
<script>
const TASKS = __TASKS__;
const params = new URLSearchParams(location.search);
// An unfinished session of this page is resumed after a reload (unless the URL asks for another one).
const LAST = "manifold-xai-study-last:" + document.title;
let resumed = null;
try { resumed = JSON.parse(localStorage.getItem(LAST) || "null"); } catch (e) { resumed = null; }
if (resumed && (resumed.complete || (params.has("seed") && Number(params.get("seed")) !== resumed.seed)
    || (params.has("participant") && params.get("participant") !== resumed.participant))) resumed = null;
// Seeded PRNG (mulberry32) so a session can be replayed with ?seed=N; random otherwise.
let state = (resumed ? resumed.seed : Number(params.get("seed") ?? Math.floor(Math.random() * 2 ** 31))) >>> 0;
const seed = state;
function random() { state = (state + 0x6D2B79F5) >>> 0; let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }
function shuffle(list) { const a = list.slice(); for (let i = a.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; }
const participant = resumed ? resumed.participant : (params.get("participant") ?? ("p" + seed.toString(36)));
const trials = [];
for (const task of TASKS) {
  for (const c of shuffle(task.cases).slice(0, task.show)) {
    trials.push({ task: task.name, question: task.question, case: c.id, a: c.a, b: c.b, image: c.image ?? null,
                  left: random() < 0.5 ? "A" : "B" });
  }
}
const choices = resumed ? resumed.choices.slice(0, trials.length) : [];
let current = choices.length, shownAt = 0;
document.getElementById("count").textContent = trials.length;
if (current > 0) {
  const note = document.getElementById("resume-note");
  note.textContent = `Welcome back: you have answered ${current} of ${trials.length}; Continue starts at the next one.`;
  note.hidden = false; document.getElementById("start").textContent = "Continue";
}
const $ = (id) => document.getElementById(id);
function show() {
  const finished = current >= trials.length;
  $("trial").hidden = finished; $("done").hidden = !finished;
  if (finished) { persist(); return; }
  const t = trials[current];
  $("progress").textContent = `${current + 1} / ${trials.length}`;
  $("question").textContent = t.question;
  $("left").src = t.left === "A" ? t.a : t.b;
  $("right").src = t.left === "A" ? t.b : t.a;
  $("original").hidden = !t.image; if (t.image) $("image").src = t.image;
  $("undo").disabled = choices.length === 0;
  shownAt = performance.now();
}
function record(side) {
  if (current >= trials.length) return;
  const t = trials[current];
  const choice = side === "none" ? "none" : (side === "left" ? t.left : (t.left === "A" ? "B" : "A"));
  choices.push({ task: t.task, case: t.case, shown_left: t.left, side: side, choice: choice,
                 time_ms: Math.round(performance.now() - shownAt) });
  current = choices.length; persist(); show();
}
function undo() { if (!choices.length) return; choices.pop(); current = choices.length; persist(); show(); }
function responses() { return { format: "manifold-xai/study-responses/1", participant: participant, seed: seed,
  complete: current >= trials.length, choices: choices }; }
function persist() { try { const r = JSON.stringify(responses());
  localStorage.setItem("manifold-xai-study-" + participant, r); localStorage.setItem(LAST, r); } catch (e) {} }
// A button answers once: it gives up the focus, so a key pressed afterwards does not press it again.
function button(id, action) { $(id).onclick = (e) => { e.currentTarget.blur(); action(); }; }
button("start", () => { $("intro").hidden = true; show(); });
button("choose-left", () => record("left"));
button("choose-right", () => record("right"));
button("choose-none", () => record("none"));
button("undo", undo);
button("undo-done", undo);
document.addEventListener("keydown", (e) => {
  if (!$("intro").hidden || e.repeat) return;
  const action = { ArrowLeft: () => record("left"), ArrowRight: () => record("right"), " ": () => record("none"),
                   Backspace: undo }[e.key];
  if (!action) return;
  e.preventDefault(); action();
});
$("save").onclick = () => {
  const blob = new Blob([JSON.stringify(responses(), null, 1)], { type: "application/json" });
  const link = document.createElement("a"); link.href = URL.createObjectURL(blob);
  link.download = `responses-${participant}.json`; document.body.appendChild(link); link.click(); link.remove();
  $("saved").textContent = "saved as " + link.download;
};
</script></body></html>
"""
