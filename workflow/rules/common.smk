"""Helpers shared by the rule files (config validation, paths, params slices, resources).

Rules never read `config` inside their scripts: each rule's `params:` carries exactly the slice of the
config its job depends on (plain, deterministically ordered values), so Snakemake's params trigger
re-runs exactly the jobs a config change touches.
"""

import sys
import time
from pathlib import Path

from manifold_xai.attribution.context import needs_manifold
from manifold_xai.attribution.plugins import files_of
from manifold_xai.attribution.registry import (
    computation_params,
    expand_projections,
    method_files,
    method_needs,
    styles,
)
from manifold_xai.config import (
    ConfigError,
    canonical,
    dataset_seeds,
    evaluation_seeds,
    load_experiment,
    local_pca_k,
    own_tangent_source,
    tangent_sources,
    validate_config,
)
from manifold_xai.runtime import prepend_pythonpath
from manifold_xai.tangent.registry import (
    SOURCES as TANGENT_SOURCES,
    denoiser_training,
    second_sources,
)

# Jobs import manifold_xai from this repository in any environment (uv, --use-conda, cluster nodes).
prepend_pythonpath(Path(workflow.basedir) / "src")

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = Path(workflow.basedir) / "config.yaml"

try:
    _validated = validate_config(
        load_experiment(config, DEFAULT_CONFIG, workflow.config_settings.config), SCHEMA
    )
except ConfigError as _err:
    sys.exit(f"manifold-xai: {_err}")
config.clear()
config.update(canonical(_validated))

DATASETS = list(config["datasets"])
RUN = "results/{dataset}/seed{seed}"
# The table of per-run artifacts: every rule and helper names a path through it (wildcards {dataset},
# {seed}, {regime}; `.format(...)` fills them where a helper lists concrete runs).
DATA = f"{RUN}/data.zarr"
MANIFOLD = f"{RUN}/manifold/model.pt"
TANGENT = f"{RUN}/tangent.zarr"
CLASSIFIER = f"{RUN}/classifier/{{regime}}/model.pt"
METRICS = f"{RUN}/classifier/{{regime}}/metrics.json"
ATTRIBUTIONS = f"{RUN}/attributions/{{regime}}.zarr"
ALIGNMENT = f"{RUN}/alignment/{{regime}}.zarr"
CURVES = f"{RUN}/curves/{{regime}}.zarr"
ROBUSTNESS = f"{RUN}/robustness/{{regime}}.zarr"
TRAINED_REGIMES = (
    "standard|adversarial|random_labels"  # `external`: a classifier the pipeline did not train
)
STANDARD_CLASSIFIER = CLASSIFIER.replace("{regime}", "standard")
STANDARD_ATTRIBUTIONS = ATTRIBUTIONS.replace("{regime}", "standard")
STANDARD_ALIGNMENT = ALIGNMENT.replace("{regime}", "standard")
LOGS = "results/logs"
# `--use-conda` (--sdm conda) builds this environment for every job; without it jobs run in the uv env.
# Relative to the rule files in workflow/rules/.
PIPELINE_ENV = "../../envs/pipeline.yaml"
BENCH = "results/benchmarks"


def prov(path):
    """The provenance sidecar of an artifact path."""
    return f"{path}.prov.json"


def with_prov(**paths):
    """Named artifacts plus a `<name>_prov` sidecar for each (for `input:` and `output:`); a path may be
    an input function of the wildcards."""
    named = {}
    for name, path in paths.items():
        named[name] = path
        named[f"{name}_prov"] = (
            (lambda wildcards, f=path: prov(f(wildcards))) if callable(path) else prov(path)
        )
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


def attribution_params(wildcards):
    """The dataset's attribution methods with the parameters their computation depends on (not their
    label and colour, which only the figures read); a projection carries its base's parameters."""
    blocks = config["datasets"][wildcards.dataset]["attributions"]
    return expand_projections({m: computation_params(block) for m, block in blocks.items()})


def manifold_methods(wildcards):
    """The dataset's attribution methods that use the manifold (tangent projections, manifold paths)."""
    return [m for m, block in attribution_params(wildcards).items() if method_needs(m, block)]


CONTEXT_TANGENT_KEYS = (
    "rank_rtol",
    "orthonormalisation",
    "rank_rule",
    "projection",
    "matrix_free_above",
    "matrix_free_dtype",
)


def context_tangent(methods_of):
    """A params function: the `tangent:` options the jobs' manifold context depends on when one of the
    methods `methods_of(wildcards)` projects onto the tangent space (None otherwise, so a tangent option
    re-runs only the jobs that use it)."""

    def get(wildcards):
        if "tangent" not in needs_manifold(methods_of(wildcards)):
            return None
        tangent = config["datasets"][wildcards.dataset]["tangent"]
        return {k: tangent[k] for k in CONTEXT_TANGENT_KEYS}

    return get


def attribution_files(wildcards):
    """The Python files of the dataset's `function:` methods: editing one re-runs its attributions."""
    return method_files(config["datasets"][wildcards.dataset]["attributions"])


def tracked_attributions(wildcards):
    """The attribution methods tracked over training, with their parameters."""
    methods = attribution_params(wildcards)
    tracked = config["datasets"][wildcards.dataset]["evaluation"]["curves"]["methods"]
    return {m: methods[m] for m in tracked}


def _method_styles():
    """Label and colour of every method any dataset configures (the first dataset's block of a name
    decides), and of the reference maps: the `styles` param of every figure rule."""
    blocks = {}
    for dataset in config["datasets"].values():
        for name, block in dataset["attributions"].items():
            blocks.setdefault(name, block)
    return canonical(styles(blocks))


METHOD_STYLES = _method_styles()


def random_labels_n_train(wildcards):
    """The random-labels training subset size (None for the other regimes, whose jobs it must not touch)."""
    if wildcards.regime != "random_labels":
        return None
    return config["datasets"][wildcards.dataset]["classifier"]["random_labels"]["n_train"]


def approach(dataset):
    return config["datasets"][dataset]["approach"]


def datasets_with(*approaches, external_manifold=None):
    """A wildcard regex matching exactly the datasets of these approaches (no dataset: matches nothing),
    so that each approach's rule alone produces `data.zarr` and `manifold/model.pt` for its datasets;
    `external_manifold` True/False keeps only the datasets whose manifold model is / is not given.
    """
    names = [
        d
        for d in DATASETS
        if approach(d) in approaches
        and external_manifold in (None, external_spec(d, "manifold") is not None)
    ]
    return "|".join(names) if names else "(?!)"


def external_spec(dataset, part):
    """The researcher's own `classifier` or `manifold` model of a dataset (its config block), or None."""
    block = config["datasets"][dataset].get(part) or {}
    if part == "classifier":
        return block.get("external")
    return block if block.get("model") == "external" else None


def external_files(part):
    """Input function: the files of the dataset's external `part` model (weights or archive, module)."""
    return lambda wildcards: files_of(external_spec(wildcards.dataset, part))


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


def figure_regime(dataset):
    """The regime of a dataset's one-regime figures (2, 3, 4, 14): the standard classifier, or the
    researcher's own (`external`); None when the dataset has neither."""
    return next((r for r in ("standard", "external") if r in regimes(dataset)), None)


def figure_run_path(template):
    """Input function: `template` at the job's dataset and seed in the dataset's `figure_regime`."""
    return lambda w: template.format(
        dataset=w.dataset, seed=w.seed, regime=figure_regime(w.dataset)
    )


def trained_runs(dataset=None):
    """The runs whose classifier the pipeline trained (with checkpoints, so training curves)."""
    return [run for run in runs(dataset) if run[2] != "external"]


def robustness_runs(dataset=None):
    """The trained runs of the datasets whose `evaluation.robustness` is set."""
    return [
        run
        for run in trained_runs(dataset)
        if config["datasets"][run[0]]["evaluation"]["robustness"] is not None
    ]


def robustness_datasets():
    return [d for d in DATASETS if robustness_runs(d)]


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


def figure_alignment(wildcards):
    """The alignment stores of the dataset's `figure_regime`, every seed."""
    stores, provs = run_paths(ALIGNMENT, wildcards.dataset, figure_regime(wildcards.dataset))
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
        [
            d,
            {
                "standard": run_paths(ALIGNMENT, d, "standard")[0],
                "robust": run_paths(ALIGNMENT, d, "adversarial")[0],
            },
        ]
        for d in robust_datasets()
    ]


def panel_inputs(panels):
    """The stores of `fig3_panels()` / `fig7_panels()` and their sidecars, for `input:`."""
    stores = [p for _, series in panels for paths in series.values() for p in paths]
    return {"stores": stores, "provs": [prov(p) for p in stores]}


def dataset_curves(wildcards):
    stores = [
        CURVES.format(dataset=d, seed=s, regime=r) for d, s, r in trained_runs(wildcards.dataset)
    ]
    return {"stores": stores, "provs": [prov(p) for p in stores]}


def fig6_methods(wildcards):
    """Figure 6 shows the gradient (or, when it is not tracked, the first tracked method)."""
    tracked = list(tracked_attributions(wildcards))
    return ["gradient"] if "gradient" in tracked else tracked[:1]


def dataset_runs(wildcards):
    return [list(run) for run in runs(wildcards.dataset)]


def tangent_path(dataset, seed, source):
    """The tangent store of one source: `tangent.zarr` for the dataset's own, `tangent_{source}.zarr` else."""
    name = "tangent" if source == own_tangent_source(config, dataset) else f"tangent_{source}"
    return f"results/{dataset}/seed{seed}/{name}.zarr"


def alignment_path(dataset, seed, regime, source):
    own = own_tangent_source(config, dataset)
    folder = "alignment" if source == own else f"alignment_{source}"
    return f"results/{dataset}/seed{seed}/{folder}/{regime}.zarr"


def angles_path(dataset, seed):
    return f"results/{dataset}/seed{seed}/tangent_angles.zarr"


def compared_datasets():
    """Datasets with more than their own tangent source."""
    return [d for d in DATASETS if len(tangent_sources(config, d)) > 1]


def compared_runs():
    return [(d, s) for d in compared_datasets() for s in seeds(d)]


def source_runs(dataset=None, regime=None):
    """(dataset, seed, regime, source) of every alignment under every tangent source of the compared
    datasets (optionally of one dataset and regime)."""
    return [
        (d, s, r, source)
        for d, s, r in runs(dataset, regime)
        if d in compared_datasets()
        for source in tangent_sources(config, d)
    ]


def _source_model(wildcards):
    """The model behind a second tangent source (vae: the β-TCVAE trained on an analytic dataset)."""
    if TANGENT_SOURCES[wildcards.source].needs_model:
        return {"model": f"{RUN}/{wildcards.source}/model.pt".format(**wildcards)}
    return {}


def tangent_source_inputs(wildcards):
    data = DATA.format(**wildcards)
    return with_prov(data=data, **_source_model(wildcards))


def alignment_source_inputs(wildcards):
    """Inputs of `compute_alignment.py` under a second source (`manifold` only serves matrix-free)."""
    named = {
        "data": DATA.format(**wildcards),
        "tangent": tangent_path(wildcards.dataset, wildcards.seed, wildcards.source),
        "attributions": ATTRIBUTIONS.format(**wildcards),
    }
    model = _source_model(wildcards)
    if model:
        named["manifold"] = model["model"]
    return with_prov(**named)


def tangent_source_settings(wildcards):
    """The config slice a second tangent source depends on (the registry's `settings`)."""
    return TANGENT_SOURCES[wildcards.source].settings(config, wildcards.dataset)


def compared_tangents(wildcards):
    return [
        tangent_path(wildcards.dataset, wildcards.seed, s)
        for s in tangent_sources(config, wildcards.dataset)[1:]
    ]


def source_figure_regime(dataset):
    """The regime the tangent-source figure shows: the one-regime figures' (Figure 3's), else the first."""
    return figure_regime(dataset) or regimes(dataset)[0]


def tangent_source_figure_inputs(wildcards):
    d = wildcards.dataset
    regime = source_figure_regime(d)
    stores = [alignment_path(*run) for run in source_runs(d, regime)]
    angles = [angles_path(d, s) for s in seeds(d)]
    return {
        "stores": stores,
        "provs": [prov(p) for p in stores],
        "angles": angles,
        "angles_provs": [prov(p) for p in angles],
    }


def roar_block(wildcards, *keys):
    """The keys of a dataset's `roar:` block one ROAR rule depends on."""
    block = config["datasets"][wildcards.dataset]["roar"]
    return {k: block[k] for k in keys}


def roar_datasets():
    return [d for d in DATASETS if config["datasets"][d]["roar"] is not None]


def roar_results(dataset):
    """Every retraining result of a dataset: the unmodified baseline, then each method and fraction."""
    block = config["datasets"][dataset]["roar"]
    paths = []
    for s in evaluation_seeds(config, dataset, "roar"):
        run = f"results/{dataset}/seed{s}/roar"
        paths.append(f"{run}/none/0.json")
        paths += [f"{run}/{m}/{f!r}.json" for m in block["methods"] for f in block["fractions"]]
    return paths


def road_tables(dataset):
    return [
        f"results/{dataset}/seed{s}/roar/road.csv"
        for s in evaluation_seeds(config, dataset, "roar")
    ]


def sanity_datasets():
    return [d for d in DATASETS if config["datasets"][d]["sanity"] is not None]


def sanity_stores(dataset):
    return [
        f"results/{dataset}/seed{s}/sanity.zarr"
        for s in evaluation_seeds(config, dataset, "sanity")
    ]


def study_inputs():
    """Per study task, in task order, its dataset's (first seed) data, tangent, standard attributions and
    alignment."""
    study = config["study"]
    if study is None:
        return {}
    named = {"data": [], "tangent": [], "attributions": [], "alignment": []}
    for task in study["tasks"]:
        run = {"dataset": task["dataset"], "seed": seeds(task["dataset"])[0]}
        named["data"].append(DATA.format(**run))
        named["tangent"].append(TANGENT.format(**run))
        named["attributions"].append(STANDARD_ATTRIBUTIONS.format(**run))
        named["alignment"].append(STANDARD_ALIGNMENT.format(**run))
    named["provs"] = [prov(p) for paths in list(named.values()) for p in paths]
    return named


def study_params():
    study = config["study"]
    return None if study is None else {k: v for k, v in study.items() if k != "responses"}


def study_responses():
    """The response files in `study.responses` (a folder of responses-*.json saved by the page)."""
    study = config["study"]
    if study is None or study["responses"] is None:
        return []
    files = sorted(str(p) for p in Path(study["responses"]).glob("responses-*.json"))
    if not files:
        sys.exit(
            f"manifold-xai: study.responses: no responses-*.json files in {study['responses']}"
        )
    return files


def torch_threads():
    return config["threads_per_job"]


def torch_resources(mem_mb, runtime):
    """Resources of a GPU-capable torch job: one GPU (used when present; none with `device: cpu`, so a
    CPU-only cluster accepts the job), and memory and runtime from the dataset's `resources:` block where
    it sets them."""
    return {**dataset_resources(mem_mb, runtime), "gpu": 0 if config["device"] == "cpu" else 1}


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
    targets = ["results/summary/alignment.csv", "results/summary/claims.csv"]
    if trained_runs():  # training curves of the classifiers the pipeline trained
        targets.append("results/summary/curves.csv")
    if compared_datasets():
        targets.append("results/summary/tangent_accuracy.csv")
    if roar_datasets():
        targets.append("results/summary/roar.csv")
        targets += [f"results/figures/fig5_{d}.png" for d in roar_datasets()]
    if robustness_datasets():
        targets.append("results/summary/robustness.csv")
        targets += [f"results/figures/robustness_{d}.png" for d in robustness_datasets()]
    if sanity_datasets():
        targets.append("results/summary/sanity.csv")
        for d in sanity_datasets():
            targets.append(f"results/figures/sanity_{d}.png")
            targets += [
                f"results/figures/fig13_{d}_seed{s}.png"
                for s in evaluation_seeds(config, d, "sanity")
            ]
    if config["theorem1"] is not None:
        targets.append("results/summary/theorem1.json")
    if config["study"] is not None:
        targets.append("results/study/index.html")
        if config["study"]["responses"] is not None:
            targets.append("results/study/analysis.csv")
    targets += [f"results/figures/tangent_sources_{d}.png" for d in compared_datasets()]
    if standard_datasets():
        targets.append("results/figures/fig3.png")
    if robust_datasets():
        targets.append("results/figures/fig7.png")
    for dataset in DATASETS:
        targets += [f"results/figures/{target}.png" for target in dataset_figures(dataset)]
    return targets + [prov(t) for t in targets]


def dataset_figures(dataset):
    """The figures of one dataset (file names without `.png`): per dataset, per first seed, per seed."""
    per_dataset = ["fig6", "fig15"] if trained_runs(dataset) else []
    per_seed, first_seed = ["fig10"], []
    if figure_regime(dataset) is not None:
        per_dataset += ["fig3", "fig14"]
        first_seed.append("fig4")
        # Figure 11 is Figure 2 of the upsampled dataset (MNIST256), with the paper's 0.9 quantile.
        per_seed.append("fig11" if approach(dataset) == "upsampled" else "fig2")
    if {"standard", "adversarial"} <= set(regimes(dataset)):
        per_dataset.append("fig7")
    first = seeds(dataset)[0]
    return (
        [f"{name}_{dataset}" for name in per_dataset]
        + [f"{name}_{dataset}_seed{first}" for name in first_seed]
        + [f"{name}_{dataset}_seed{s}" for name in per_seed for s in seeds(dataset)]
    )


def standard_datasets():
    return [d for d in DATASETS if "standard" in regimes(d)]


def robust_datasets():
    return [d for d in DATASETS if {"standard", "adversarial"} <= set(regimes(d))]


def claims_inputs(wildcards):
    inputs = {"alignment": "results/summary/alignment.csv"}
    if trained_runs():
        inputs["curves"] = "results/summary/curves.csv"
    if roar_datasets():
        inputs["roar_repeats"] = "results/summary/roar_repeats.csv"
    if robustness_datasets():
        inputs["robustness"] = "results/summary/robustness.csv"
    if compared_datasets():
        inputs["tangent_fractions"] = "results/summary/tangent_fractions.csv"
    if config["theorem1"] is not None:
        inputs["theorem1"] = "results/summary/theorem1.json"
    return {**inputs, **{f"{k}_prov": prov(v) for k, v in inputs.items()}}


RUN_STARTED = time.time()


def print_summary_table():
    """At the end of a run that (re)wrote the claims table: the fraction in tangent space across seeds,
    and the claims' verdicts (a run that only redrew a figure prints nothing)."""
    import pandas as pd

    alignment, claims = Path("results/summary/alignment.csv"), Path("results/summary/claims.csv")
    if not claims.exists() or claims.stat().st_mtime < RUN_STARTED:
        return
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.max_colwidth", 60
    ):
        if alignment.exists():
            table = pd.read_csv(alignment)
            columns = [
                "dataset",
                "regime",
                "method",
                "n_seeds",
                "seed_mean",
                "seed_ci_low",
                "seed_ci_high",
            ]
            table = table[columns].drop_duplicates()
            print("\nFraction in tangent space, mean over seeds with the 95% t-interval over seeds")
            print(
                "(results/summary/alignment.csv has the per-seed rows and their intervals over images):"
            )
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        for dataset in DATASETS:
            if external_spec(dataset, "classifier") is not None:
                print(
                    f"\n{dataset}: the classifier was given (classifier.external), not trained; its "
                    "regime is 'external' and the training regimes, curves, ROAR and sanity checks "
                    "are absent."
                )
        if claims.exists():
            table = pd.read_csv(claims)
            print("\nThe paper's claims (results/summary/claims.csv):")
            columns = ["claim", "dataset", "value", "ci_low", "ci_high", "interval", "verdict"]
            if table.empty:
                print("none applies: they compare the pipeline's own standard, adversarial and")
                print("random-label classifiers, their training curves and ROAR.")
            else:
                print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
