"""Helpers shared by the rule files (config validation, paths, params slices, resources).

Rules never read `config` inside their scripts: each rule's `params:` carries exactly the slice of the
config its job depends on (plain, deterministically ordered values), so Snakemake's params trigger
re-runs exactly the jobs a config change touches.
"""

import sys
from pathlib import Path

from manifold_xai.config import ConfigError, canonical, load_experiment, validate_config

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = Path(workflow.basedir) / "config.yaml"

try:
    _validated = validate_config(load_experiment(config, DEFAULT_CONFIG), SCHEMA)
except ConfigError as _err:
    sys.exit(f"manifold-xai: {_err}")
config.clear()
config.update(canonical(_validated))

DATASETS = list(config["datasets"])
SEEDS = list(config["seeds"])
RUN = "results/{dataset}/seed{seed}"
LOGS = "results/logs"
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


def regimes(dataset):
    return config["datasets"][dataset]["classifier"]["regimes"]


def runs():
    """Every (dataset, seed, regime) run, in a fixed order."""
    return [(d, s, r) for d in DATASETS for s in SEEDS for r in regimes(d)]


def torch_threads():
    return config["threads_per_job"]


def torch_resources(mem_mb, runtime):
    """Resources of a GPU-capable torch job: it asks for one GPU (uses CUDA when present)."""
    return {"mem_mb": mem_mb, "runtime": runtime, "gpu": 1}


def all_targets():
    targets = ["results/summary/alignment.csv", prov("results/summary/alignment.csv")]
    for dataset in DATASETS:
        targets.append(f"results/figures/fig3_{dataset}.png")
        for seed in SEEDS:
            targets.append(f"results/figures/fig2_{dataset}_seed{seed}.png")
            targets.append(f"results/figures/fig10_{dataset}_seed{seed}.png")
    return targets


def print_summary_table():
    csv = Path("results/summary/alignment.csv")
    if csv.exists():
        import pandas as pd

        table = pd.read_csv(csv)
        with pd.option_context("display.width", 200, "display.max_columns", None):
            print("\nFraction in tangent space (results/summary/alignment.csv):")
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
