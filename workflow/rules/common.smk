"""Wiring every workflow file shares (the validated config, the run plan) and thin input and params
functions of the wildcards over it.

The plan itself (which runs exist, their paths, which datasets take part where, the targets of `all`,
each job's config slice) is the library's `manifold_xai.plan`, tested on its own. Rules never read
`config` inside their scripts: each rule's `params:` carries exactly the slice of the config its job
depends on, so Snakemake's params trigger re-runs exactly the jobs a config change touches.
"""

import os
import sys
import time
from pathlib import Path

from manifold_xai.attribution.plugins import files_of
from manifold_xai.attribution.registry import method_files
from manifold_xai import config_facts
from manifold_xai.config_facts import DIRECTED_REGIMES
from manifold_xai.config import ConfigError
from manifold_xai.evaluation.console import print_run_summary
from manifold_xai.plan import params as plan_params
from manifold_xai.plan import targets as plan_targets
from manifold_xai.plan.paths import (
    ALIGNMENT,
    ANGLES,
    ATTRIBUTIONS,
    BENCH,
    CLASSIFIER,
    COUNTERFACTUALS,
    DATA,
    LOGS,
    MANIFOLD,
    METRICS,
    ROBUSTNESS,
    RUN,
    STANDARD_ATTRIBUTIONS,
    STANDARD_CLASSIFIER,
    TANGENT,
    TRAIN_TANGENT,
    TRAINED_REGIMES,
    prov,
)
from manifold_xai.plan.runs import RunPlan, validated_config
from manifold_xai import worker
from manifold_xai.runtime import prepend_pythonpath
from manifold_xai.tangent.dimension import PUBLISHED_DIMENSIONS
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
    _validated = validated_config(config, DEFAULT_CONFIG, SCHEMA, workflow.config_settings.config)
except ConfigError as _err:
    sys.exit(f"manifold-xai: {_err}")
config.clear()
config.update(_validated)

PLAN = RunPlan(config)
DATASETS = PLAN.datasets
# `--use-conda` (--sdm conda) builds this environment for every job; without it jobs run in the uv env.
# Relative to the rule files in workflow/rules/.
PIPELINE_ENV = "../../envs/pipeline.yaml"
METHOD_STYLES = plan_params.method_styles(PLAN)


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
    """A params function: `config["datasets"][dataset][keys...]` for the job's dataset."""
    return lambda w: PLAN.block(w.dataset, *keys)


def classifier_params(w):
    return plan_params.classifier_params(PLAN, w.dataset, w.regime)


def attribution_params(w):
    return plan_params.attribution_params(PLAN, w.dataset)


def run_attribution_params(w):
    """The methods one run computes (a directed regime: `classifier.directed.methods`)."""
    return plan_params.attribution_params(PLAN, w.dataset, w.regime)


def labeller_inputs(w):
    """The labelling network of a generative dataset's run (other approaches: none)."""
    if PLAN.approach(w.dataset) != "generative":
        return {}
    return with_prov(labeller=f"{RUN}/labeller/model.pt".format(**w))


def counterfactual_stores(w):
    """The walk stores of one dataset's runs, in plan order."""
    return [
        COUNTERFACTUALS.format(dataset=d, seed=s, regime=r)
        for d, s, r in PLAN.counterfactual_runs()
        if d == w.dataset
    ]


def directed_inputs(w):
    """The training images' tangent store of a directed adversarial regime (other regimes: none)."""
    if w.regime not in DIRECTED_REGIMES:
        return {}
    return with_prov(train_tangent=TRAIN_TANGENT.format(**w))


def manifold_methods(w):
    return plan_params.manifold_methods(PLAN, w.dataset)


def tracked_attributions(w):
    return plan_params.tracked_attributions(PLAN, w.dataset)


def random_labels_n_train(w):
    return plan_params.random_labels_n_train(PLAN, w.dataset, w.regime)


def context_tangent(methods_of):
    """A params function: the `tangent:` options the jobs' manifold context depends on when one of the
    methods `methods_of(wildcards)` projects onto the tangent space (None otherwise)."""
    return lambda w: plan_params.context_tangent(PLAN, w.dataset, methods_of(w))


def attribution_files(w):
    """The Python files of the dataset's `function:` methods: editing one re-runs its attributions."""
    return method_files(PLAN.block(w.dataset, "attributions"))


def roar_block(w, *keys):
    return plan_params.roar_block(PLAN, w.dataset, *keys)


def external_files(part):
    """Input function: the files of the dataset's external `part` model (weights or archive, module)."""
    return lambda w: files_of(PLAN.external_spec(w.dataset, part))


def upsample_base(path):
    """An input function: `path` (with {seed}) of the base dataset of an upsampled dataset."""
    return lambda w: path.format(dataset=PLAN.block(w.dataset, "upsample", "base"), seed=w.seed)


def figure_run_path(template):
    """Input function: `template` at the job's dataset and seed in the dataset's figure regime."""
    return lambda w: template.format(
        dataset=w.dataset, seed=w.seed, regime=PLAN.figure_regime(w.dataset)
    )


def figure_alignment(w):
    return plan_targets.figure_alignment(PLAN, w.dataset)


def fig7_inputs(w):
    return plan_targets.fig7_inputs(PLAN, w.dataset)


def dataset_curves(w):
    return plan_targets.dataset_curves(PLAN, w.dataset)


def fig6_methods(w):
    """Figure 6 shows the gradient (or, when it is not tracked, the first tracked method)."""
    tracked = list(tracked_attributions(w))
    return ["gradient"] if "gradient" in tracked else tracked[:1]


def dataset_runs(w):
    return [list(run) for run in PLAN.runs(w.dataset)]


def _source_model(w):
    """The model behind a second tangent source (vae: the β-TCVAE trained on an analytic dataset)."""
    model = TANGENT_SOURCES[w.source].model
    return {"model": f"{RUN}/{model}/model.pt".format(**w)} if model else {}


def tangent_source_inputs(w):
    """The data, the source's model and the store it derives from (flipd: the denoiser's)."""
    reads = TANGENT_SOURCES[w.source].reads
    store = {"reads": PLAN.tangent_path(w.dataset, w.seed, reads)} if reads else {}
    return with_prov(data=DATA.format(**w), **_source_model(w), **store)


def alignment_source_inputs(w):
    """Inputs of `compute_alignment.py` under a second source (`manifold` only serves matrix-free)."""
    named = {
        "data": DATA.format(**w),
        "tangent": PLAN.tangent_path(w.dataset, w.seed, w.source),
        "attributions": ATTRIBUTIONS.format(**w),
    }
    model = _source_model(w)
    if model:
        named["manifold"] = model["model"]
    return with_prov(**named)


def published_dimensions():
    """Published intrinsic-dimension estimates beside the datasets made from real MNIST digits."""
    return {
        d: PUBLISHED_DIMENSIONS["mnist"]
        for d in PLAN.compared_datasets()
        if config_facts.paper_dataset(config, d)
    }


def tangent_source_settings(w):
    """The config slice a second tangent source depends on (the registry's `settings`)."""
    return TANGENT_SOURCES[w.source].settings(config, w.dataset)


def compared_tangents(w):
    return [PLAN.tangent_path(w.dataset, w.seed, s) for s in PLAN.tangent_sources(w.dataset)[1:]]


def tangent_source_figure_inputs(w):
    return plan_targets.tangent_source_figure_inputs(PLAN, w.dataset)


def study_responses():
    try:
        return PLAN.study_responses()
    except ConfigError as err:
        sys.exit(f"manifold-xai: {err}")


def torch_threads():
    return config["threads_per_job"]


def dataset_resources(mem_mb, runtime):
    """Memory (MB) and runtime (minutes) of a per-dataset job: the dataset's `resources:` block where
    it sets them, the rule's defaults otherwise."""
    return {
        "mem_mb": lambda w: plan_params.dataset_memory(PLAN, w.dataset, mem_mb),
        "runtime": lambda w: plan_params.dataset_runtime(PLAN, w.dataset, runtime),
    }


def torch_resources(mem_mb, runtime):
    """Resources of a GPU-capable torch job: `dataset_resources` and one GPU (none with `device: cpu`)."""
    return {**dataset_resources(mem_mb, runtime), "gpu": plan_params.gpus(PLAN)}


RUN_STARTED = time.time()

# What the warm worker imports once for all the jobs of a local run (manifold_xai.worker): the
# libraries that cost a job seconds to import, and what the job's interpreter needs to unpickle its
# `snakemake` object. manifold_xai's own modules are imported by each job, so that its provenance lists
# exactly the library modules it used.
WORKER_PRELOAD = [
    "snakemake.iocontainers",
    "snakemake.logging",
    "numpy",
    "scipy.linalg",
    "scipy.stats",
    "pandas",
    "torch",
    "captum.attr",
    "xarray",
    "dask.array",
    "zarr",
    "matplotlib.pyplot",
]


def start_warm_worker():
    """On a local run (not a cluster's, not with MANIFOLD_XAI_WARM_WORKER=0), start the warm worker
    and let every job this process starts hand itself over to it."""
    if not workflow.local_exec or os.environ.get("MANIFOLD_XAI_WARM_WORKER", "1") == "0":
        return
    path = worker.start(os.getpid(), WORKER_PRELOAD, Path(".snakemake/log/worker.log"))
    if path:
        os.environ[worker.ENV_SOCKET] = path


def stop_warm_worker():
    worker.stop(os.environ.pop(worker.ENV_SOCKET, None))


def print_summary_table():
    """At the end of a run that (re)wrote the claims table: alignment across seeds and the verdicts."""
    print_run_summary(
        Path("results/summary/alignment.csv"),
        Path("results/summary/claims.csv"),
        started=RUN_STARTED,
        comparison=Path("results/summary/paper_comparison.csv"),
        given_classifiers=[d for d in DATASETS if PLAN.external_spec(d, "classifier") is not None],
    )
