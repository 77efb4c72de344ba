"""The config slice each job depends on (its Snakemake ``params``) and its resources, by plain functions
of the plan.

Each slice holds exactly what the job's computation reads, as plain, deterministically ordered values,
so Snakemake's params trigger re-runs exactly the jobs a config change touches (editing one regime's
block re-runs only that regime; a method's label re-runs only figures).
"""

from __future__ import annotations

from manifold_xai.attribution.context import needs_manifold
from manifold_xai.attribution.registry import (
    computation_params,
    expand_projections,
    method_needs,
    styles,
)
from manifold_xai.config import canonical
from manifold_xai.config_facts import DIRECTED_REGIMES
from manifold_xai.plan.runs import RunPlan

REGIME_BLOCKS = ("adversarial", "random_labels")
PLAN_KEYS = (
    "regimes",
    "regime_seeds",
    "regime_methods",
)  # which runs exist: the plan's, not a job's
CONTEXT_TANGENT_KEYS = (
    "rank_rtol",
    "orthonormalisation",
    "rank_rule",
    "projection",
    "matrix_free_above",
    "matrix_free_dtype",
)


def classifier_params(plan: RunPlan, dataset: str, regime: str) -> dict:
    """The classifier block for one regime: the shared keys plus that regime's own block, without the
    regime list and the other regimes' blocks, so editing one regime re-runs only its jobs. A directed
    regime trains with the ``adversarial`` block's attack, confined to its ``part`` of the space."""
    block = plan.block(dataset, "classifier")
    shared = {k: v for k, v in block.items() if k not in PLAN_KEYS and k not in REGIME_BLOCKS}
    if regime in REGIME_BLOCKS:
        shared[regime] = block[regime]
    if regime in DIRECTED_REGIMES:
        shared["adversarial"] = block["adversarial"]
        shared["part"] = DIRECTED_REGIMES[regime]
    return shared


def attribution_params(plan: RunPlan, dataset: str, regime: str | None = None) -> dict:
    """The dataset's attribution methods with the parameters their computation depends on (not their
    label and colour, which only the figures read); a projection carries its base's parameters. With a
    ``regime`` that ``classifier.regime_methods`` names, only its methods."""
    blocks = plan.block(dataset, "attributions")
    chosen = plan.block(dataset, "classifier", "regime_methods").get(regime)
    if chosen is not None:
        blocks = {m: b for m, b in blocks.items() if m in chosen}
    return expand_projections({m: computation_params(block) for m, block in blocks.items()})


def manifold_methods(plan: RunPlan, dataset: str) -> list[str]:
    """The dataset's attribution methods that use the manifold (tangent projections, manifold paths)."""
    return [m for m, block in attribution_params(plan, dataset).items() if method_needs(m, block)]


def tracked_attributions(plan: RunPlan, dataset: str) -> dict:
    """The attribution methods tracked over training, with their parameters."""
    methods = attribution_params(plan, dataset)
    return {m: methods[m] for m in plan.block(dataset, "evaluation", "curves", "methods")}


def context_tangent(plan: RunPlan, dataset: str, methods) -> dict | None:
    """The ``tangent:`` options the jobs' manifold context depends on when one of ``methods``
    projects onto the tangent space (None otherwise, so a tangent option re-runs only the jobs that
    use it)."""
    if "tangent" not in needs_manifold(methods):
        return None
    tangent = plan.block(dataset, "tangent")
    return {k: tangent[k] for k in CONTEXT_TANGENT_KEYS}


def method_styles(plan: RunPlan) -> dict:
    """Label and colour of every method any dataset configures (the first dataset's block of a name
    decides), and of the reference maps: the ``styles`` param of every figure rule."""
    blocks = {}
    for dataset in plan.datasets:
        for name, block in plan.block(dataset, "attributions").items():
            blocks.setdefault(name, block)
    return canonical(styles(blocks))


def random_labels_n_train(plan: RunPlan, dataset: str, regime: str) -> int | None:
    """The random-labels training subset size (None for the other regimes, whose jobs it must not
    touch)."""
    if regime != "random_labels":
        return None
    return plan.block(dataset, "classifier", "random_labels", "n_train")


def roar_block(plan: RunPlan, dataset: str, *keys: str) -> dict:
    """The keys of a dataset's ``roar:`` block one ROAR rule depends on."""
    block = plan.block(dataset, "roar")
    return {k: block[k] for k in keys}


def study_params(plan: RunPlan) -> dict | None:
    study = plan.config["study"]
    return None if study is None else {k: v for k, v in study.items() if k != "responses"}


def dataset_memory(plan: RunPlan, dataset: str, mem_mb: int) -> int:
    """Memory (MB) of a per-dataset job: the dataset's ``resources.mem_mb`` where set, else the rule's."""
    return plan.block(dataset, "resources", "mem_mb") or mem_mb


def dataset_runtime(plan: RunPlan, dataset: str, runtime: int) -> int:
    """Runtime (minutes) of a per-dataset job: the rule's, times the dataset's ``runtime_factor``."""
    return max(1, round(runtime * plan.block(dataset, "resources", "runtime_factor")))


def gpus(plan: RunPlan) -> int:
    """GPUs a GPU-capable torch job asks for: one (used when present), none with ``device: cpu`` so a
    CPU-only cluster accepts the job."""
    return 0 if plan.config["device"] == "cpu" else 1
