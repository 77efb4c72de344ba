"""Helpers shared by the rule files (config validation, paths, params slices, resources).

Rules never read `config` inside their scripts: each rule's `params:` carries exactly the slice of the
config its job depends on (plain, deterministically ordered values), so Snakemake's params trigger
re-runs exactly the jobs a config change touches.
"""

import sys
from pathlib import Path

from manifold_xai.config import (
    ConfigError,
    canonical,
    dataset_seeds,
    load_experiment,
    validate_config,
)
from manifold_xai.runtime import prepend_pythonpath

# Jobs import manifold_xai from this repository in any environment (uv, --use-conda, cluster nodes).
prepend_pythonpath(Path(workflow.basedir) / "src")

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = Path(workflow.basedir) / "config.yaml"

try:
    _validated = validate_config(load_experiment(config, DEFAULT_CONFIG), SCHEMA)
except ConfigError as _err:
    sys.exit(f"manifold-xai: {_err}")
config.clear()
config.update(canonical(_validated))

DATASETS = list(config["datasets"])
RUN = "results/{dataset}/seed{seed}"
LOGS = "results/logs"
# `--use-conda` (--sdm conda) builds this environment for every job; without it jobs run in the uv env.
# Relative to the rule files in workflow/rules/.
PIPELINE_ENV = "../../envs/pipeline.yaml"
BENCH = "results/benchmarks"


def prov(path):
    """The provenance sidecar of an artifact path."""
    return f"{path}.prov.json"


def with_prov(**paths):
    """Named artifacts plus a `<name>_prov` sidecar for each (for `input:` and `output:`)."""
    named = {}
    for name, path in paths.items():
        named[name] = path
        named[f"{name}_prov"] = prov(path)
    return named


def dataset_params(*keys):
    """A params function returning `config["datasets"][dataset][keys...]` for the job's dataset
    (keys sorted: the config is canonicalised when it is validated)."""

    def get(wildcards):
        value = config["datasets"][wildcards.dataset]
        for key in keys:
            value = value[key]
        return value

    return get


REGIME_BLOCKS = ("adversarial", "random_labels")


def classifier_params(wildcards):
    """The classifier block for one regime: the shared keys plus that regime's own block, without the
    regime list and the other regimes' blocks, so editing one regime re-runs only its jobs."""
    block = config["datasets"][wildcards.dataset]["classifier"]
    shared = {k: v for k, v in block.items() if k != "regimes" and k not in REGIME_BLOCKS}
    if wildcards.regime in REGIME_BLOCKS:
        shared[wildcards.regime] = block[wildcards.regime]
    return shared


def tracked_attributions(wildcards):
    """The attribution methods tracked over training, with their parameters."""
    ds = config["datasets"][wildcards.dataset]
    return {m: ds["attributions"][m] for m in ds["evaluation"]["curves"]["methods"]}


def random_labels_n_train(wildcards):
    """The random-labels training subset size (None for the other regimes, whose jobs it must not touch)."""
    if wildcards.regime != "random_labels":
        return None
    return config["datasets"][wildcards.dataset]["classifier"]["random_labels"]["n_train"]


def approach(dataset):
    return config["datasets"][dataset]["approach"]


def datasets_with(*approaches):
    """A wildcard regex matching exactly the datasets of these approaches (no dataset: matches nothing),
    so that each approach's rule alone produces `data.zarr` and `manifold/model.pt` for its datasets.
    """
    names = [d for d in DATASETS if approach(d) in approaches]
    return "|".join(names) if names else "(?!)"


def seeds(dataset):
    return dataset_seeds(config, dataset)


def upsample_base(path):
    """An input function: `path` (with {seed}) of the base dataset of an upsampled dataset."""

    def get(wildcards):
        base = config["datasets"][wildcards.dataset]["upsample"]["base"]
        return path.format(dataset=base, seed=wildcards.seed)

    return get


def regimes(dataset):
    return config["datasets"][dataset]["classifier"]["regimes"]


def runs(dataset=None, regime=None):
    """Every (dataset, seed, regime) run, in a fixed order (optionally of one dataset or regime)."""
    return [
        (d, s, r)
        for d in DATASETS
        for s in seeds(d)
        for r in regimes(d)
        if dataset in (None, d) and regime in (None, r)
    ]


def run_paths(template, dataset=None, regime=None):
    """``template`` (with {dataset}, {seed}, {regime}) for each run, and the provenance sidecars."""
    paths = [template.format(dataset=d, seed=s, regime=r) for d, s, r in runs(dataset, regime)]
    return paths, [prov(p) for p in paths]


ALIGNMENT = "results/{dataset}/seed{seed}/alignment/{regime}.zarr"
CURVES = "results/{dataset}/seed{seed}/curves/{regime}.zarr"
METRICS = "results/{dataset}/seed{seed}/classifier/{regime}/metrics.json"


def standard_alignment(wildcards):
    stores, provs = run_paths(ALIGNMENT, wildcards.dataset, "standard")
    return {"stores": stores, "provs": provs}


def fig7_inputs(wildcards):
    named = {}
    for name, regime in (("standard", "standard"), ("robust", "adversarial")):
        named[name], named[f"{name}_provs"] = run_paths(ALIGNMENT, wildcards.dataset, regime)
        named[f"{name}_metrics"], named[f"{name}_metrics_provs"] = run_paths(
            METRICS, wildcards.dataset, regime
        )
    return named


def fig3_panels():
    """Multi-dataset Figure 3: per dataset running `standard`, its standard alignment stores."""
    return [[d, {"standard": run_paths(ALIGNMENT, d, "standard")[0]}] for d in standard_datasets()]


def fig7_panels():
    """Multi-dataset Figure 7: per dataset running both regimes, standard and robust stores."""
    return [
        [d, {"standard": run_paths(ALIGNMENT, d, "standard")[0],
             "robust": run_paths(ALIGNMENT, d, "adversarial")[0]}]
        for d in robust_datasets()
    ]  # fmt: skip


def panel_inputs(panels):
    """The stores of `fig3_panels()` / `fig7_panels()` and their sidecars, for `input:`."""
    stores = [p for _, series in panels for paths in series.values() for p in paths]
    return {"stores": stores, "provs": [prov(p) for p in stores]}


def dataset_curves(wildcards):
    stores, provs = run_paths(CURVES, wildcards.dataset)
    return {"stores": stores, "provs": provs}


def fig6_methods(wildcards):
    """Figure 6 shows the gradient (or, when it is not tracked, the first tracked method)."""
    tracked = list(tracked_attributions(wildcards))
    return ["gradient"] if "gradient" in tracked else tracked[:1]


def dataset_runs(wildcards):
    return [list(run) for run in runs(wildcards.dataset)]


def torch_threads():
    return config["threads_per_job"]


def torch_resources(mem_mb, runtime):
    """Resources of a GPU-capable torch job: one GPU (used when present), and memory and runtime from
    the dataset's `resources:` block where it sets them."""
    return {**dataset_resources(mem_mb, runtime), "gpu": 1}


def dataset_resources(mem_mb, runtime):
    """Memory (MB) and runtime (minutes) of a per-dataset job: the dataset's `resources:` block where it
    sets them, the rule's defaults otherwise."""

    def memory(wildcards):
        return config["datasets"][wildcards.dataset]["resources"]["mem_mb"] or mem_mb

    def minutes(wildcards):
        factor = config["datasets"][wildcards.dataset]["resources"]["runtime_factor"]
        return max(1, round(runtime * factor))

    return {"mem_mb": memory, "runtime": minutes}


def all_targets():
    """Summary tables and every figure; figures of a regime pair only where both regimes run."""
    targets = ["results/summary/alignment.csv", "results/summary/curves.csv"]
    if standard_datasets():
        targets.append("results/figures/fig3.png")
    if robust_datasets():
        targets.append("results/figures/fig7.png")
    for dataset in DATASETS:
        names = ["fig6", "fig15"]
        if "standard" in regimes(dataset):
            names += ["fig3", "fig14", f"fig4_{dataset}_seed{seeds(dataset)[0]}"]
            # Figure 11 is Figure 2 of the upsampled dataset (MNIST256), with the paper's 0.9 quantile.
            fig = "fig11" if approach(dataset) == "upsampled" else "fig2"
            names += [f"{fig}_{dataset}_seed{s}" for s in seeds(dataset)]
        if {"standard", "adversarial"} <= set(regimes(dataset)):
            names.append("fig7")
        names = [n if "_seed" in n else f"{n}_{dataset}" for n in names]
        names += [f"fig10_{dataset}_seed{s}" for s in seeds(dataset)]
        targets += [f"results/figures/{name}.png" for name in names]
    return targets + [prov(t) for t in targets]


def standard_datasets():
    return [d for d in DATASETS if "standard" in regimes(d)]


def robust_datasets():
    return [d for d in DATASETS if {"standard", "adversarial"} <= set(regimes(d))]


def print_summary_table():
    csv = Path("results/summary/alignment.csv")
    if csv.exists():
        import pandas as pd

        table = pd.read_csv(csv)
        with pd.option_context("display.width", 200, "display.max_columns", None):
            print("\nFraction in tangent space (results/summary/alignment.csv):")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
