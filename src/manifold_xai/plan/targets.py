"""The files a run ends with (the targets of ``all``) and the inputs of the jobs that gather many runs
(summaries, multi-run figures, the claims table, the study page), by plain functions of the plan."""

from __future__ import annotations

from manifold_xai.plan import paths
from manifold_xai.plan.paths import prov
from manifold_xai.plan.runs import RunPlan


def dataset_figures(plan: RunPlan, dataset: str) -> list[str]:
    """The figures of one dataset (file names without ``.png``): per dataset, per first seed, per
    seed."""
    per_dataset = ["fig6", "fig15"] if plan.trained_runs(dataset) else []
    per_seed, first_seed = ["fig10"], []
    if plan.figure_regime(dataset) is not None:
        per_dataset += ["fig3", "fig14"]
        first_seed.append("fig4")
        # Figure 11 is Figure 2 of the upsampled dataset (MNIST256), with the paper's 0.9 quantile.
        per_seed.append("fig11" if plan.approach(dataset) == "upsampled" else "fig2")
    if {"standard", "adversarial"} <= set(plan.regimes(dataset)):
        per_dataset.append("fig7")
    seeds = plan.seeds(dataset)
    return (
        [f"{name}_{dataset}" for name in per_dataset]
        + [f"{name}_{dataset}_seed{seeds[0]}" for name in first_seed]
        + [f"{name}_{dataset}_seed{s}" for name in per_seed for s in seeds]
    )


def all_targets(plan: RunPlan) -> list[str]:
    """Summary tables and every figure, then their sidecars; figures of a regime pair only where both
    regimes run."""
    config, figure, summary = plan.config, paths.figure, paths.summary
    targets = [summary("alignment.csv"), summary("claims.csv"), summary("models.csv")]
    targets += [summary("paper_comparison.csv"), figure("paper_comparison")]
    if plan.trained_runs():  # training curves of the classifiers the pipeline trained
        targets.append(summary("curves.csv"))
    if plan.compared_datasets():
        targets.append(summary("tangent_accuracy.csv"))
        targets.append(figure("intrinsic_dimension"))
    if plan.roar_datasets():
        targets.append(summary("roar.csv"))
        targets += [figure(f"fig5_{d}") for d in plan.roar_datasets()]
    if plan.robustness_datasets():
        targets.append(summary("robustness.csv"))
        targets += [figure(f"robustness_{d}") for d in plan.robustness_datasets()]
    if plan.counterfactual_runs():
        targets.append(summary("counterfactuals.csv"))
        for d in plan.counterfactual_datasets():
            targets += [figure(f"counterfactual_walks_{d}"), figure(f"counterfactual_distance_{d}")]
    if plan.sanity_datasets():
        targets.append(summary("sanity.csv"))
        for d in plan.sanity_datasets():
            targets.append(figure(f"sanity_{d}"))
            targets += [figure(f"fig13_{d}_seed{s}") for s in plan.evaluation_seeds(d, "sanity")]
    if config["theorem1"] is not None:
        targets.append(summary("theorem1.json"))
    if config.get("explorer") is not None:
        targets.append(f"{paths.EXPLORER}/index.html")
    if config["study"] is not None:
        targets.append(f"{paths.STUDY}/index.html")
        if config["study"]["responses"] is not None:
            targets.append(f"{paths.STUDY}/analysis.csv")
    targets += [figure(f"tangent_sources_{d}") for d in plan.compared_datasets()]
    if plan.standard_datasets():
        targets.append(figure("fig3"))
    if plan.robust_datasets():
        targets.append(figure("fig7"))
    for dataset in plan.datasets:
        targets += [figure(name) for name in dataset_figures(plan, dataset)]
    return targets + [prov(t) for t in targets]


def claims_inputs(plan: RunPlan) -> dict[str, str]:
    """The summary tables the claims table reads (only those the run makes), and their sidecars."""
    summary = paths.summary
    inputs = {"alignment": summary("alignment.csv")}
    if plan.trained_runs():
        inputs["curves"] = summary("curves.csv")
    if plan.roar_datasets():
        inputs["roar_repeats"] = summary("roar_repeats.csv")
    if plan.robustness_datasets():
        inputs["robustness"] = summary("robustness.csv")
    if plan.counterfactual_runs():
        inputs["counterfactuals"] = summary("counterfactuals.csv")
    if plan.directed_runs():
        inputs["models"] = summary("models.csv")
    if plan.compared_datasets():
        inputs["tangent_fractions"] = summary("tangent_fractions.csv")
    if plan.config["theorem1"] is not None:
        inputs["theorem1"] = summary("theorem1.json")
    return {**inputs, **{f"{k}_prov": prov(v) for k, v in inputs.items()}}


def study_inputs(plan: RunPlan) -> dict[str, list[str]]:
    """Per study task, in task order, its dataset's (first seed) data, tangent, standard attributions
    and alignment, then every sidecar."""
    study = plan.config["study"]
    if study is None:
        return {}
    named = {"data": [], "tangent": [], "attributions": [], "alignment": []}
    for task in study["tasks"]:
        run = {"dataset": task["dataset"], "seed": plan.seeds(task["dataset"])[0]}
        named["data"].append(paths.DATA.format(**run))
        named["tangent"].append(paths.TANGENT.format(**run))
        named["attributions"].append(paths.STANDARD_ATTRIBUTIONS.format(**run))
        named["alignment"].append(paths.STANDARD_ALIGNMENT.format(**run))
    named["provs"] = [prov(p) for group in list(named.values()) for p in group]
    return named


# -- multi-run figures -------------------------------------------------------------------------------
def figure_alignment(plan: RunPlan, dataset: str) -> dict[str, list[str]]:
    """The alignment stores of the dataset's ``figure_regime``, every seed."""
    stores, provs = plan.run_paths(paths.ALIGNMENT, dataset, plan.figure_regime(dataset))
    return {"stores": stores, "provs": provs}


def fig7_inputs(plan: RunPlan, dataset: str) -> dict[str, list[str]]:
    """Standard and robust alignment stores and metrics of every seed (Figure 7 of one dataset)."""
    named = {}
    for name, regime in (("standard", "standard"), ("robust", "adversarial")):
        named[name], named[f"{name}_provs"] = plan.run_paths(paths.ALIGNMENT, dataset, regime)
        named[f"{name}_metrics"], named[f"{name}_metrics_provs"] = plan.run_paths(
            paths.METRICS, dataset, regime
        )
    return named


def fig3_panels(plan: RunPlan) -> list:
    """Multi-dataset Figure 3: per dataset running ``standard``, its standard alignment stores."""
    return [
        [d, {"standard": plan.run_paths(paths.ALIGNMENT, d, "standard")[0]}]
        for d in plan.standard_datasets()
    ]


def fig7_panels(plan: RunPlan) -> list:
    """Multi-dataset Figure 7: per dataset running both regimes, standard and robust stores."""
    return [
        [
            d,
            {
                "standard": plan.run_paths(paths.ALIGNMENT, d, "standard")[0],
                "robust": plan.run_paths(paths.ALIGNMENT, d, "adversarial")[0],
            },
        ]
        for d in plan.robust_datasets()
    ]


def panel_inputs(panels: list) -> dict[str, list[str]]:
    """The stores of ``fig3_panels`` / ``fig7_panels`` and their sidecars, for ``input:``."""
    stores = [p for _, series in panels for group in series.values() for p in group]
    return {"stores": stores, "provs": [prov(p) for p in stores]}


def dataset_curves(plan: RunPlan, dataset: str) -> dict[str, list[str]]:
    """The curve stores of every trained run of a dataset (Figures 6 and 15)."""
    stores = [
        paths.CURVES.format(dataset=d, seed=s, regime=r) for d, s, r in plan.trained_runs(dataset)
    ]
    return {"stores": stores, "provs": [prov(p) for p in stores]}


def tangent_source_figure_inputs(plan: RunPlan, dataset: str) -> dict[str, list[str]]:
    """The alignment stores under every tangent source (in the figure's regime) and the principal
    angles of every seed."""
    regime = plan.source_figure_regime(dataset)
    stores = [plan.alignment_path(*run) for run in plan.source_runs(dataset, regime)]
    angles = [paths.ANGLES.format(dataset=dataset, seed=s) for s in plan.seeds(dataset)]
    return {
        "stores": stores,
        "provs": [prov(p) for p in stores],
        "angles": angles,
        "angles_provs": [prov(p) for p in angles],
    }


def models_inputs(plan: RunPlan) -> dict[str, list[str]]:
    """The metrics of every labelling network and classifier (``models.csv``), and their sidecars."""
    labellers = [paths.LABELLER_METRICS.format(dataset=d, seed=s) for d, s in plan.labeller_runs()]
    classifiers = [paths.METRICS.format(dataset=d, seed=s, regime=r) for d, s, r in plan.runs()]
    return {
        "labellers": labellers,
        "classifiers": classifiers,
        "provs": [prov(p) for p in labellers + classifiers],
    }


# -- the explorer --------------------------------------------------------------------------------
def explorer_runs(plan: RunPlan) -> list[dict]:
    """Per (dataset, seed), the stores the explorer reads (``explorer.gather.open_run`` specs): the
    dataset store, per tangent source its tangent store, per regime its attributions and, per source,
    its alignment store."""
    specs = []
    for dataset in plan.datasets:
        if not plan.regimes(dataset):  # tangent spaces only: no classifier, nothing to explain
            continue
        sources = plan.tangent_sources(dataset)
        for seed in plan.seeds(dataset):
            specs.append(
                {
                    "dataset": dataset,
                    "seed": seed,
                    "data": paths.DATA.format(dataset=dataset, seed=seed),
                    "tangent": {s: plan.tangent_path(dataset, seed, s) for s in sources},
                    "regimes": [
                        {
                            "name": regime,
                            "attributions": paths.ATTRIBUTIONS.format(
                                dataset=dataset, seed=seed, regime=regime
                            ),
                            "alignment": {
                                s: plan.alignment_path(dataset, seed, regime, s) for s in sources
                            },
                        }
                        for _, run_seed, regime in plan.runs(dataset)
                        if run_seed == seed
                    ],
                }
            )
    return specs


def explorer_inputs(plan: RunPlan) -> dict[str, list[str]]:
    """Every store of ``explorer_runs`` and its sidecar (empty without ``explorer:``)."""
    if plan.config.get("explorer") is None:
        return {}
    stores = []
    for spec in explorer_runs(plan):
        stores += [spec["data"], *spec["tangent"].values()]
        for regime in spec["regimes"]:
            stores += [regime["attributions"], *regime["alignment"].values()]
    return {"stores": stores, "provs": [prov(p) for p in stores]}
