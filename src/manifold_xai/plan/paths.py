"""The table of paths: every artifact of a run, named once (relative to the working directory).

Templates hold the Snakemake wildcards ``{dataset}``, ``{seed}``, ``{regime}`` (and ``{source}``,
``{method}``, ``{fraction}`` where named); ``str.format`` fills them where the plan lists concrete runs.
Nothing here reads a config: which runs exist is ``manifold_xai.plan.runs``.
"""

from __future__ import annotations

RESULTS = "results"
RUN = "results/{dataset}/seed{seed}"
SOURCE = "results/{dataset}/source.zarr"
DATA = f"{RUN}/data.zarr"
MANIFOLD = f"{RUN}/manifold/model.pt"
TANGENT = f"{RUN}/tangent.zarr"
# The training images' tangent bases (the directed adversarial regimes' attacks are confined by them).
TRAIN_TANGENT = f"{RUN}/tangent_train.zarr"
CLASSIFIER = f"{RUN}/classifier/{{regime}}/model.pt"
METRICS = f"{RUN}/classifier/{{regime}}/metrics.json"
LABELLER_METRICS = f"{RUN}/labeller/metrics.json"
ATTRIBUTIONS = f"{RUN}/attributions/{{regime}}.zarr"
ALIGNMENT = f"{RUN}/alignment/{{regime}}.zarr"
CURVES = f"{RUN}/curves/{{regime}}.zarr"
ROBUSTNESS = f"{RUN}/robustness/{{regime}}.zarr"
COUNTERFACTUALS = f"{RUN}/counterfactuals/{{regime}}.zarr"
STANDARD_CLASSIFIER = CLASSIFIER.replace("{regime}", "standard")
STANDARD_ATTRIBUTIONS = ATTRIBUTIONS.replace("{regime}", "standard")
STANDARD_ALIGNMENT = ALIGNMENT.replace("{regime}", "standard")
ANGLES = f"{RUN}/tangent_angles.zarr"
SANITY = f"{RUN}/sanity.zarr"
ROAD = f"{RUN}/roar/road.csv"
LOGS = "results/logs"
BENCH = "results/benchmarks"
SUMMARY = "results/summary"
FIGURES = "results/figures"
STUDY = "results/study"
EXPLORER = "results/explorer"
# The regimes the pipeline trains (`external`: a classifier the pipeline did not train), as a wildcard
# regex.
TRAINED_REGIMES = "standard|adversarial|random_labels|adversarial_normal|adversarial_tangent"


def prov(path: str) -> str:
    """The provenance sidecar of an artifact path."""
    return f"{path}.prov.json"


def with_sidecars(paths) -> tuple[list[str], list[str]]:
    """``paths`` (any iterable) as a list, and their provenance sidecars in the same order."""
    paths = list(paths)
    return paths, [prov(p) for p in paths]


def summary(name: str) -> str:
    """A summary table or store: ``results/summary/{name}``."""
    return f"{SUMMARY}/{name}"


def figure(name: str) -> str:
    """A figure file: ``results/figures/{name}.png``."""
    return f"{FIGURES}/{name}.png"


def roar_result(dataset: str, seed: int, method: str, fraction) -> str:
    """One ROAR retraining's result (``method`` ``none`` with fraction 0: the unmodified baseline)."""
    return f"results/{dataset}/seed{seed}/roar/{method}/{fraction!r}.json"
