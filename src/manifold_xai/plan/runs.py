"""Which runs a config asks for: (dataset, seed, regime) and (dataset, seed, regime, source), and which
datasets take part in which evaluation.

A ``RunPlan`` is built from a validated, canonical config (``manifold_xai.config.validate_config`` then
``canonical``) and answers by plain functions of it; every list comes in a fixed order (datasets in
config order, then seeds, then regimes, then tangent sources), so the planned jobs and their params are
the same from one invocation to the next. It knows nothing of Snakemake: ``workflow/rules/common.smk``
adapts it to wildcards.
"""

from __future__ import annotations

from pathlib import Path

from manifold_xai.config import ConfigError, canonical, load_experiment, validate_config
from manifold_xai.config_facts import (
    DIRECTED_REGIMES,
    dataset_seeds,
    evaluation_seeds,
    own_tangent_source,
    paper_dataset,
    regime_seeds,
    tangent_sources,
)
from manifold_xai.plan import paths

Run = tuple[str, int, str]  # (dataset, seed, regime)
SourceRun = tuple[str, int, str, str]  # (dataset, seed, regime, tangent source)


class RunPlan:
    """The runs of one validated config (``config``: the canonical dict Snakemake's ``config`` holds)."""

    def __init__(self, config: dict):
        self.config = config

    # -- datasets and their blocks ---------------------------------------------------------------
    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    def block(self, dataset: str, *keys: str):
        """``config["datasets"][dataset][keys...]``."""
        value = self.config["datasets"][dataset]
        for key in keys:
            value = value[key]
        return value

    def approach(self, dataset: str) -> str:
        return self.block(dataset, "approach")

    def seeds(self, dataset: str) -> list[int]:
        return dataset_seeds(self.config, dataset)

    def regimes(self, dataset: str) -> list[str]:
        return self.block(dataset, "classifier", "regimes")

    def external_spec(self, dataset: str, part: str) -> dict | None:
        """The researcher's own ``classifier`` or ``manifold`` model of a dataset (its block), or None."""
        block = self.config["datasets"][dataset].get(part) or {}
        if part == "classifier":
            return block.get("external")
        return block if block.get("model") == "external" else None

    def datasets_with(self, *approaches: str, external_manifold: bool | None = None) -> str:
        """A wildcard regex matching exactly the datasets of these approaches (no dataset: matches
        nothing), so that each approach's rule alone produces ``data.zarr`` and ``manifold/model.pt``
        for its datasets; ``external_manifold`` True/False keeps only the datasets whose manifold model
        is / is not given."""
        names = [
            d
            for d in self.datasets
            if self.approach(d) in approaches
            and external_manifold in (None, self.external_spec(d, "manifold") is not None)
        ]
        return "|".join(names) if names else "(?!)"

    # -- runs --------------------------------------------------------------------------------------
    def runs(self, dataset: str | None = None, regime: str | None = None) -> list[Run]:
        """Every (dataset, seed, regime) run, in a fixed order (optionally of one dataset or regime); a
        directed regime runs on its own seeds (``classifier.directed.seeds``)."""
        return [
            (d, s, r)
            for d in self.datasets
            for s in self.seeds(d)
            for r in self.regimes(d)
            if dataset in (None, d) and regime in (None, r) and s in regime_seeds(self.config, d, r)
        ]

    def directed_runs(self) -> list[tuple[str, int]]:
        """(dataset, seed) of every run of a directed adversarial regime: the runs whose training images
        need tangent bases (``tangent_train.zarr``), each once."""
        runs = [(d, s) for d, s, r in self.runs() if r in DIRECTED_REGIMES]
        return list(dict.fromkeys(runs))

    def counterfactual_runs(self) -> list[Run]:
        """The runs walked by ``evaluation.counterfactuals`` (its ``regimes`` and ``seeds``, or all; an
        external classifier's run too: a walk only queries the classifier)."""
        chosen = []
        for d, s, r in self.runs():
            block = self.block(d, "evaluation", "counterfactuals")
            if block is None:
                continue
            if block["regimes"] is not None and r not in block["regimes"]:
                continue
            if block["seeds"] is not None and s not in block["seeds"]:
                continue
            chosen.append((d, s, r))
        return chosen

    def counterfactual_datasets(self) -> list[str]:
        return list(dict.fromkeys(d for d, _, _ in self.counterfactual_runs()))

    def trained_runs(self, dataset: str | None = None) -> list[Run]:
        """The runs whose classifier the pipeline trained (with checkpoints, so training curves)."""
        return [run for run in self.runs(dataset) if run[2] != "external"]

    def robustness_runs(self, dataset: str | None = None) -> list[Run]:
        """The trained runs of the datasets whose ``evaluation.robustness`` is set."""
        return [
            run
            for run in self.trained_runs(dataset)
            if self.block(run[0], "evaluation", "robustness") is not None
        ]

    def run_paths(self, template: str, dataset=None, regime=None) -> tuple[list[str], list[str]]:
        """``template`` (with {dataset}, {seed}, {regime}) for each run, and the provenance sidecars."""
        return paths.with_sidecars(
            template.format(dataset=d, seed=s, regime=r) for d, s, r in self.runs(dataset, regime)
        )

    # -- which datasets take part where ------------------------------------------------------------
    def figure_regime(self, dataset: str) -> str | None:
        """The regime of a dataset's one-regime figures (2, 3, 4, 14): the standard classifier, or the
        researcher's own (``external``); None when the dataset has neither."""
        return next((r for r in ("standard", "external") if r in self.regimes(dataset)), None)

    def source_figure_regime(self, dataset: str) -> str:
        """The regime the tangent-source figure shows: the one-regime figures', else the first."""
        regimes = self.regimes(dataset)
        return self.figure_regime(dataset) or (regimes[0] if regimes else None)

    def standard_datasets(self) -> list[str]:
        return [d for d in self.datasets if "standard" in self.regimes(d)]

    def robust_datasets(self) -> list[str]:
        return [d for d in self.datasets if {"standard", "adversarial"} <= set(self.regimes(d))]

    def robustness_datasets(self) -> list[str]:
        return [d for d in self.datasets if self.robustness_runs(d)]

    def paper_datasets(self) -> list[str]:
        """The datasets that run the paper's MNIST32 protocol: the paper's numbers apply to them."""
        return [d for d in self.datasets if paper_dataset(self.config, d)]

    def labeller_runs(self) -> list[tuple[str, int]]:
        """(dataset, seed) of every run with a labelling network (the generative datasets)."""
        return [
            (d, s) for d in self.datasets if self.approach(d) == "generative" for s in self.seeds(d)
        ]

    def roar_datasets(self) -> list[str]:
        return [d for d in self.datasets if self.block(d, "roar") is not None]

    def sanity_datasets(self) -> list[str]:
        return [d for d in self.datasets if self.block(d, "sanity") is not None]

    def evaluation_seeds(self, dataset: str, block: str) -> list[int]:
        """The seeds that run a dataset's ``roar`` or ``sanity`` block."""
        return evaluation_seeds(self.config, dataset, block)

    # -- tangent sources ---------------------------------------------------------------------------
    def tangent_sources(self, dataset: str) -> list[str]:
        """The dataset's tangent sources, its own first."""
        return tangent_sources(self.config, dataset)

    def compared_datasets(self) -> list[str]:
        """Datasets with more than their own tangent source."""
        return [d for d in self.datasets if len(self.tangent_sources(d)) > 1]

    def compared_runs(self) -> list[tuple[str, int]]:
        return [(d, s) for d in self.compared_datasets() for s in self.seeds(d)]

    def source_runs(self, dataset: str | None = None, regime: str | None = None) -> list[SourceRun]:
        """(dataset, seed, regime, source) of every alignment under every tangent source of the compared
        datasets (optionally of one dataset and regime)."""
        compared = self.compared_datasets()
        return [
            (d, s, r, source)
            for d, s, r in self.runs(dataset, regime)
            if d in compared
            for source in self.tangent_sources(d)
        ]

    def tangent_path(self, dataset: str, seed, source: str) -> str:
        """The tangent store of one source: ``tangent.zarr`` for the dataset's own, else
        ``tangent_{source}.zarr``."""
        name = (
            "tangent" if source == own_tangent_source(self.config, dataset) else f"tangent_{source}"
        )
        return f"results/{dataset}/seed{seed}/{name}.zarr"

    def alignment_path(self, dataset: str, seed, regime: str, source: str) -> str:
        own = own_tangent_source(self.config, dataset)
        folder = "alignment" if source == own else f"alignment_{source}"
        return f"results/{dataset}/seed{seed}/{folder}/{regime}.zarr"

    # -- ROAR, sanity checks, the study ------------------------------------------------------------
    def roar_results(self, dataset: str) -> list[str]:
        """Every retraining result of a dataset: the unmodified baseline, then each method and
        fraction."""
        block = self.block(dataset, "roar")
        results = []
        for s in self.evaluation_seeds(dataset, "roar"):
            results.append(paths.roar_result(dataset, s, "none", 0))
            results += [
                paths.roar_result(dataset, s, m, f)
                for m in block["methods"]
                for f in block["fractions"]
            ]
        return results

    def road_tables(self, dataset: str) -> list[str]:
        return [
            paths.ROAD.format(dataset=dataset, seed=s)
            for s in self.evaluation_seeds(dataset, "roar")
        ]

    def sanity_stores(self, dataset: str) -> list[str]:
        return [
            paths.SANITY.format(dataset=dataset, seed=s)
            for s in self.evaluation_seeds(dataset, "sanity")
        ]

    def study_responses(self) -> list[str]:
        """The response files in ``study.responses`` (a folder of responses-*.json saved by the page);
        ConfigError when the folder holds none."""
        study = self.config["study"]
        if study is None or study["responses"] is None:
            return []
        files = sorted(str(p) for p in Path(study["responses"]).glob("responses-*.json"))
        if not files:
            raise ConfigError(f"study.responses: no responses-*.json files in {study['responses']}")
        return files


def validated_config(given: dict, default_config, schema, command_line: dict | None = None) -> dict:
    """The experiment Snakemake is asked to run, as the rules see it: ``given`` (the merged
    ``--configfile`` / ``--config`` values) laid over the default config unless standalone, validated
    with defaults filled, and canonical. Raises ``ConfigError`` naming every bad key."""
    return canonical(validate_config(load_experiment(given, default_config, command_line), schema))
