"""Mutation check: do the unit tests catch a wrong number?

    uv run python benchmarks/mutations.py [--only NAME ...] [--jobs 2]

Copies the repository's ``src/`` and ``tests/`` to a temporary folder and, for each mutation below (a
one-line change to a formula, flag, threshold or sampling distribution in a module that decides a
reported number), applies it there and runs that module's fast unit tests (never the end-to-end tests).
A mutation is **killed** when at least one test fails, and **survives** otherwise. Prints one JSON object:
``{"mutations": N, "killed": K, "survived": [...], "results": [{name, module, killed, seconds}]}``; a
survivor listed in ``HARMLESS`` carries the reason it cannot change a reported number. Exit code 1 when
a survivor is not in ``HARMLESS``.
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

REPO = Path(__file__).resolve().parents[1]
M = "src/manifold_xai/"

# (name, file, original line fragment, mutated fragment, unit tests that should kill it)
MUTATIONS = [
    # tangent spaces and the fraction
    (
        "qr rank cut-off relative to the smallest singular value",
        M + "tangent/bases.py",
        "keep = s > rtol * s[:, :1]\n    rank = keep.sum(1)",
        "keep = s > rtol * s[:, -1:]\n    rank = keep.sum(1)",
        ["tests/test_tangent.py"],
    ),
    (
        "fraction divides by the squared norm",
        M + "tangent/bases.py",
        "tangent_norm / norm, np.nan)",
        "tangent_norm / norm**2, np.nan)",
        ["tests/test_tangent.py"],
    ),
    (
        "rank-0 bases count as defined",
        M + "tangent/bases.py",
        "defined = np.any(basis != 0, axis=(1, 2))",
        "defined = np.ones(len(basis), bool)",
        ["tests/test_matrix_free.py", "tests/test_tangent.py"],
    ),
    (
        "random baseline sqrt(k)/d",
        M + "tangent/bases.py",
        "return math.sqrt(k / d)",
        "return math.sqrt(k) / d",
        ["tests/test_tangent.py"],
    ),
    (
        "orthogonal part adds the tangent part",
        M + "tangent/bases.py",
        "return tangent, vectors - tangent",
        "return tangent, vectors + tangent",
        ["tests/test_tangent.py"],
    ),
    (
        "matrix-free cut-off on s instead of s squared",
        M + "tangent/matrix_free.py",
        "cut = (rtol * s_max) ** 2",
        "cut = rtol * s_max**2",
        ["tests/test_matrix_free.py"],
    ),
    (
        "matrix-free eigh cut-off absolute",
        M + "tangent/matrix_free.py",
        "subset_by_value=(cut, np.inf),",
        "subset_by_value=(rtol**2, np.inf),",
        ["tests/test_matrix_free.py"],
    ),
    (
        "matrix-free pseudo-inverse of s instead of s squared",
        M + "tangent/matrix_free.py",
        "inverse = 1.0 / eigenvalues",
        "inverse = 1.0 / np.sqrt(eigenvalues)",
        ["tests/test_matrix_free.py"],
    ),
    (
        "matrix-free Gram not finite counts as converged",
        M + "tangent/matrix_free.py",
        'return 0, False, np.full(k, np.nan), "eigh", None',
        'return 0, True, np.full(k, np.nan), "eigh", None',
        ["tests/test_matrix_free.py"],
    ),
    # alignment and statistics
    (
        "summary mean replaced by the median",
        M + "evaluation/alignment.py",
        '"mean": float(np.mean(values)) if len(values)',
        '"mean": float(np.median(values)) if len(values)',
        ["tests/test_alignment.py"],
    ),
    (
        "bootstrap interval at 50%",
        M + "evaluation/alignment.py",
        "confidence_level=level,",
        "confidence_level=0.5,",
        ["tests/test_alignment.py"],
    ),
    (
        "random baseline vectors uniform instead of Gaussian",
        M + "evaluation/alignment.py",
        "np.random.default_rng([seed, int(i)]).standard_normal(d) for i in samples",
        "np.random.default_rng([seed, int(i)]).random(d) for i in samples",
        ["tests/test_alignment.py"],
    ),
    (
        "correct_only keeps the wrong predictions",
        M + "evaluation/alignment.py",
        'ds["predicted"].values == ds["label"].values',
        'ds["predicted"].values != ds["label"].values',
        ["tests/test_alignment.py"],
    ),
    (
        "undefined samples not counted",
        M + "evaluation/alignment.py",
        'defined &= ds["rank"].values != 0',
        'defined &= ds["rank"].values != -1',
        ["tests/test_alignment.py"],
    ),
    (
        "t-interval with the normal quantile",
        M + "evaluation/reductions.py",
        "half = float(stats.t.ppf(0.5 + level / 2, n - 1)",
        "half = float(stats.norm.ppf(0.5 + level / 2)",
        ["tests/test_roar.py", "tests/test_claims.py"],
    ),
    (
        "t-interval with the population sd",
        M + "evaluation/reductions.py",
        "sd = float(values.std(ddof=1)) if n >= 2",
        "sd = float(values.std(ddof=0)) if n >= 2",
        ["tests/test_roar.py", "tests/test_claims.py"],
    ),
    (
        "seed pairing adds instead of subtracting",
        M + "evaluation/reductions.py",
        "diff = (left - right).dropna()",
        "diff = (left + right).dropna()",
        ["tests/test_claims.py"],
    ),
    # claims
    (
        "claim holds on the upper end",
        M + "evaluation/verdicts.py",
        'return "holds" if low > 0 else',
        'return "holds" if high > 0 else',
        ["tests/test_claims.py"],
    ),
    (
        "equivalence margin ignored on one side",
        M + "evaluation/verdicts.py",
        "if -margin < low and high < margin:",
        "if high < margin:",
        ["tests/test_claims.py"],
    ),
    (
        "ROAR competitor: the least harmful method",
        M + "evaluation/claim_statistics.py",
        "closest = area[others].mean().idxmin()",
        "closest = area[others].mean().idxmax()",
        ["tests/test_claims.py"],
    ),
    (
        "Theorem 1 threshold 0.4",
        M + "evaluation/claim_statistics.py",
        "interval = (p - 0.49, ci.low",
        "interval = (p - 0.4, ci.low",
        ["tests/test_claims.py"],
    ),
    # claims: the verdict rule, the statistics, how many replicates
    (
        "below: holds when the interval reaches over the margin",
        M + "evaluation/verdicts.py",
        'return "holds" if high < margin else',
        'return "holds" if low < margin else',
        ["tests/test_claims.py", "tests/test_power.py"],
    ),
    (
        "every_seed holds when some seeds agree",
        M + "evaluation/verdicts.py",
        'return "holds" if all(same) else',
        'return "holds" if any(same) else',
        ["tests/test_claims.py", "tests/test_denoiser.py"],
    ),
    (
        "equivalence distance ignores the sign of the value",
        M + "evaluation/verdicts.py",
        "return margin - abs(value)",
        "return margin - value",
        ["tests/test_power.py"],
    ),
    (
        "minimum detectable effect without the power term",
        M + "evaluation/power.py",
        "(stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)) * sd",
        "(stats.t.ppf(1 - alpha / 2, n - 1)) * sd",
        ["tests/test_power.py"],
    ),
    (
        "minimum detectable effect over n instead of sqrt(n)",
        M + "evaluation/power.py",
        "* sd / math.sqrt(n)",
        "* sd / n",
        ["tests/test_power.py"],
    ),
    (
        "replicates needed: one too many",
        M + "evaluation/power.py",
        "    return high\n",
        "    return high + 1\n",
        ["tests/test_power.py"],
    ),
    (
        "robust minus standard not paired by seed",
        M + "evaluation/claim_statistics.py",
        'return Measured(robust - _seeds(_rows(tables, dataset, "standard", "gradient")))',
        'return Measured(robust.to_numpy() - _seeds(_rows(tables, dataset, "standard", "gradient")).to_numpy()[::-1])',
        ["tests/test_claims.py"],
    ),
    (
        "training-curve rise from the last checkpoint",
        M + "evaluation/claim_statistics.py",
        "return Measured([v.max() - v[0] for v in",
        "return Measured([v.max() - v[-1] for v in",
        ["tests/test_claims.py"],
    ),
    (
        "random-label curve counts step 0",
        M + "evaluation/claim_statistics.py",
        "per_seed[s][1:].min() - random.get(s, math.nan)",
        "per_seed[s].min() - random.get(s, math.nan)",
        ["tests/test_claims.py"],
    ),
    (
        "IxG minus IG reversed",
        M + "evaluation/claim_statistics.py",
        'return Measured(ixg - _seeds(_rows(tables, dataset, "standard", ig)))',
        'return Measured(_seeds(_rows(tables, dataset, "standard", ig)) - ixg)',
        ["tests/test_claims.py"],
    ),
    (
        "robustness claims at the smallest norm",
        M + "evaluation/robustness.py",
        "return norms[len(norms) // 2]",
        "return norms[0]",
        ["tests/test_manifold_methods.py", "tests/test_claims.py"],
    ),
    # the paper comparison
    (
        "paper's value inside an open interval",
        M + "evaluation/paper_comparison.py",
        'return "yes" if low <= paper <= high else "no"',
        'return "yes" if low < paper < high else "no"',
        ["tests/test_paper_comparison.py"],
    ),
    (
        "regime reached on the wrong side",
        M + "evaluation/paper_comparison.py",
        'gap = value - paper if better == "higher" else paper - value',
        'gap = paper - value if better == "higher" else value - paper',
        ["tests/test_paper_comparison.py"],
    ),
    (
        "test error taken as the accuracy",
        M + "evaluation/paper_comparison.py",
        'error = 1 - m["test_accuracy"] if "test_accuracy" in m else math.nan',
        'error = m["test_accuracy"] if "test_accuracy" in m else math.nan',
        ["tests/test_paper_comparison.py"],
    ),
    # the run plan and the config
    (
        "ROAR without its unmodified baseline",
        M + "plan/runs.py",
        'results.append(paths.roar_result(dataset, s, "none", 0))',
        "pass",
        ["tests/test_plan.py"],
    ),
    (
        "a given classifier counted as trained",
        M + "plan/runs.py",
        'return [run for run in self.runs(dataset) if run[2] != "external"]',
        "return list(self.runs(dataset))",
        ["tests/test_plan.py", "tests/test_external_models.py"],
    ),
    (
        "stratified test size rounded down",
        M + "config_facts.py",
        'n_test = math.ceil(size * source["test_fraction"])',
        'n_test = math.floor(size * source["test_fraction"])',
        ["tests/test_config.py"],
    ),
    (
        "sample size at the limit refused",
        M + "config_checks.py",
        "if value is not None and value > held",
        "if value is not None and value >= held",
        ["tests/test_config.py"],
    ),
    (
        "schema default: SmoothGrad noise 0.2",
        "workflow/schemas/config.schema.yaml",
        "stdev: {type: number, exclusiveMinimum: 0, default: 0.02",
        "stdev: {type: number, exclusiveMinimum: 0, default: 0.2",
        ["tests/test_config.py"],
    ),
    # data and tangent spaces
    (
        "packaged digits: digest not checked",
        M + "data/packaged.py",
        "if found != copy.sha256:",
        "if False:",
        ["tests/test_packaged_mnist.py"],
    ),
    (
        "denoiser threshold rule counts at or above",
        M + "tangent/denoiser.py",
        "return (s > threshold).sum(1).astype(np.int64)",
        "return (s >= threshold).sum(1).astype(np.int64)",
        ["tests/test_denoiser.py"],
    ),
    (
        "denoiser gap rule one past the gap",
        M + "tangent/denoiser.py",
        "return (ratio.argmax(1) + 1).astype(np.int64)",
        "return (ratio.argmax(1) + 2).astype(np.int64)",
        ["tests/test_denoiser.py"],
    ),
    # attributions
    (
        "IG not multiplied by the input",
        M + "attribution/builtin.py",
        "def integrated_gradients(model, x, target, params, multiply_by_inputs: bool = True):",
        "def integrated_gradients(model, x, target, params, multiply_by_inputs: bool = False):",
        ["tests/test_attributions.py"],
    ),
    (
        "attribution target: the least likely class",
        M + "attribution/compute.py",
        "return model(x).argmax(dim=1)",
        "return model(x).argmin(dim=1)",
        ["tests/test_attributions.py"],
    ),
    (
        "SmoothGrad noise doubled",
        M + "attribution/builtin.py",
        'stdevs=float(params["stdev"]),',
        'stdevs=2 * float(params["stdev"]),',
        ["tests/test_attributions.py"],
    ),
    (
        "Captum method: attribute arguments dropped",
        M + "attribution/plugins.py",
        'x, target=target, **_attribute_arguments(params.get("attribute", {}), x)',
        "x, target=target",
        ["tests/test_methods.py"],
    ),
    (
        "own function: params not passed",
        M + "attribution/plugins.py",
        'result = fn(model, x, target, params.get("params", {}))',
        "result = fn(model, x, target, {})",
        ["tests/test_methods.py"],
    ),
    # adversarial training
    (
        "PGD descends the loss",
        M + "training/adversarial.py",
        "delta = delta + alpha * grad /",
        "delta = delta - alpha * grad /",
        ["tests/test_training.py"],
    ),
    (
        "PGD attack switched off (zero step)",
        M + "training/adversarial.py",
        "alpha = 2.5 * eps / steps",
        "alpha = 0.0 * eps / steps",
        ["tests/test_training.py", "tests/test_resume.py"],
    ),
    (
        "adversarial training on clean images",
        M + "training/loops.py",
        "return pgd_l2(model, x, y, eps, steps, projection=projection, generator=generator)",
        "return x",
        ["tests/test_training.py", "tests/test_resume.py"],
    ),
    (
        "l2 projection never scales down",
        M + "training/adversarial.py",
        "clamp_min(1e-12), max=1.0)",
        "clamp_min(1e-12), max=10.0)",
        ["tests/test_training.py"],
    ),
    # ROAR / ROAD
    (
        "ROAR removes the least important first",
        M + "evaluation/roar.py",
        "ranks = np.stack([np.lexsort((jitter[i], -flat[i]))",
        "ranks = np.stack([np.lexsort((jitter[i], flat[i]))",
        ["tests/test_roar.py"],
    ),
    (
        "tangent leverage by absolute values",
        M + "evaluation/roar.py",
        'leverage = np.einsum("nkd,nkd->nd", basis, basis)',
        "leverage = np.abs(basis).sum(1)",
        ["tests/test_roar.py"],
    ),
    (
        "ROAR repeats share a seed",
        M + "evaluation/roar.py",
        'f"roar/train/{method}/{fraction}/repeat{r}"',
        'f"roar/train/{method}/{fraction}/repeat"',
        ["tests/test_roar.py"],
    ),
    (
        "ROAR fill leaves removed pixels",
        M + "evaluation/roar.py",
        "out[:, ch][mask] = fill[ch]",
        "out[:, ch][~mask] = fill[ch]",
        ["tests/test_roar.py"],
    ),
    # sanity checks
    (
        "Spearman on values instead of ranks",
        M + "evaluation/sanity.py",
        "ra = rankdata(np.asarray(a, np.float64).reshape(len(a), -1), axis=1)",
        "ra = np.asarray(a, np.float64).reshape(len(a), -1)",
        ["tests/test_sanity.py"],
    ),
    (
        "SSIM maps signed instead of absolute",
        M + "evaluation/sanity.py",
        "maps = np.abs(np.asarray(attribution, np.float64)).sum(axis=1)",
        "maps = np.asarray(attribution, np.float64).sum(axis=1)",
        ["tests/test_sanity.py"],
    ),
    # Theorem 1
    (
        "Theorem 1 in-tangent share with the sine",
        M + "evaluation/theorem1.py",
        "return float(np.mean(fractions >= math.cos(tol))),",
        "return float(np.mean(fractions >= math.sin(tol))),",
        ["tests/test_theorem1.py"],
    ),
    (
        "Theorem 1 slab not removed",
        M + "evaluation/theorem1.py",
        "keep = np.abs(x[:, 0]) >= epsilon",
        "keep = np.abs(x[:, 0]) >= 0",
        ["tests/test_theorem1.py"],
    ),
    # the user study
    (
        "study sign test two-sided",
        M + "evaluation/study.py",
        'stats.binomtest(b, a + b, 0.5, alternative="greater")',
        'stats.binomtest(b, a + b, 0.5, alternative="two-sided")',
        ["tests/test_study.py"],
    ),
    (
        "study T^A from B's fractions",
        M + "evaluation/study.py",
        '"T_A": float(np.mean([f[0] for f in shown]))',
        '"T_A": float(np.mean([f[1] for f in shown]))',
        ["tests/test_study.py"],
    ),
    (
        "study t-test against 0.4",
        M + "evaluation/study.py",
        "stats.ttest_1samp(indicator, 0.5,",
        "stats.ttest_1samp(indicator, 0.4,",
        ["tests/test_study.py"],
    ),
]

# Survivors that cannot change a reported number, and why.
HARMLESS: dict[str, str] = {}


def run_one(root: Path, mutation, timeout: int) -> dict:
    name, path, original, mutated, tests = mutation
    work = Path(tempfile.mkdtemp(prefix="mutant-", dir=root))
    for part in (
        "src",
        "tests",
        "workflow",
        "configs",
        "config.yaml",
        "Snakefile",
        "pyproject.toml",
    ):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, work / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, work / part)
    target = work / path
    text = target.read_text()
    if text.count(original) != 1:
        shutil.rmtree(work)
        return {
            "name": name,
            "module": path,
            "error": f"fragment found {text.count(original)} times",
        }
    target.write_text(text.replace(original, mutated))
    env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        killed = out.returncode != 0
        detail = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-300:]
    except subprocess.TimeoutExpired:
        killed, detail = True, f"timed out after {timeout} s (counted as killed)"
    shutil.rmtree(work)
    return {
        "name": name,
        "module": path,
        "killed": killed,
        "seconds": round(time.perf_counter() - start, 1),
        "tests": tests,
        "detail": detail,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", help="run only mutations whose name contains one of these"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or any(o in m[0] for o in args.only)]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda m: run_one(Path(tmp), m, args.timeout), chosen))
    survived = [r["name"] for r in results if not r.get("killed", False)]
    report = {
        "mutations": len(results),
        "killed": len(results) - len(survived),
        "survived": survived,
        "harmless": {n: HARMLESS[n] for n in survived if n in HARMLESS},
        "results": results,
    }
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 1 if any(n not in HARMLESS for n in survived) else 0


if __name__ == "__main__":
    raise SystemExit(main())
