"""Counterfactual walks along the explanation, projected onto the manifold after every step, until the
label flips (docs/evaluations.md), their summary and figures (figures: manifold_xai.figures.counterfactuals).
"""


rule evaluate_counterfactuals:
    input:
        unpack(labeller_inputs),
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            attributions=ATTRIBUTIONS,
            model=CLASSIFIER,
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(COUNTERFACTUALS)),
    log:
        f"{LOGS}/evaluate_counterfactuals/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/evaluate_counterfactuals/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    wildcard_constraints:
        regime=f"{TRAINED_REGIMES}|external",
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        counterfactuals=dataset_params("evaluation", "counterfactuals"),
        device=config["device"],
    script:
        "../../scripts/evaluate_counterfactuals.py"


rule summarize_counterfactuals:
    input:
        stores=[
            COUNTERFACTUALS.format(dataset=d, seed=s, regime=r)
            for d, s, r in PLAN.counterfactual_runs()
        ],
        provs=[
            prov(COUNTERFACTUALS.format(dataset=d, seed=s, regime=r))
            for d, s, r in PLAN.counterfactual_runs()
        ],
    output:
        **with_prov(
            csv=report(
                "results/summary/counterfactuals.csv",
                caption="../report/counterfactuals_csv.rst",
                category="Summary tables",
                labels={"table": "counterfactuals"},
            )
        ),
    log:
        f"{LOGS}/summarize_counterfactuals.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        bootstrap_resamples=config["bootstrap_resamples"],
    script:
        "../../scripts/summarize_counterfactuals.py"


rule plot_counterfactuals:
    input:
        **with_prov(csv="results/summary/counterfactuals.csv"),
        stores=counterfactual_stores,
    output:
        **with_prov(
            walks=report(
                "results/figures/counterfactual_walks_{dataset}.png",
                caption="../report/counterfactual_walks.rst",
                category="Counterfactual walks",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "counterfactual walks"},
            ),
            distance=report(
                "results/figures/counterfactual_distance_{dataset}.png",
                caption="../report/counterfactual_distance.rst",
                category="Counterfactual walks",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "counterfactual distance"},
            ),
        ),
    log:
        f"{LOGS}/plot_counterfactuals/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_counterfactuals.py"
