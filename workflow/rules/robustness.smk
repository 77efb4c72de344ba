"""On- and off-manifold robustness of every trained classifier at each saved checkpoint (the paper's
follow-up, docs/evaluations.md), its relation to the gradient's alignment, and its figure."""


rule evaluate_robustness:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            checkpoints=f"{RUN}/classifier/{{regime}}/checkpoints",
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(f"{RUN}/robustness/{{regime}}.zarr")),
    log:
        f"{LOGS}/evaluate_robustness/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/evaluate_robustness/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    wildcard_constraints:
        regime=TRAINED_REGIMES,
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        robustness=dataset_params("evaluation", "robustness"),
        device=config["device"],
    script:
        "../../scripts/evaluate_robustness.py"


rule summarize_robustness:
    input:
        **with_prov(curves="results/summary/curves.csv"),
        stores=[
            ROBUSTNESS.format(dataset=d, seed=s, regime=r) for d, s, r in PLAN.robustness_runs()
        ],
        provs=[
            prov(ROBUSTNESS.format(dataset=d, seed=s, regime=r))
            for d, s, r in PLAN.robustness_runs()
        ],
    output:
        **with_prov(
            csv=report(
                "results/summary/robustness.csv",
                caption="../report/robustness_csv.rst",
                category="Summary tables",
                labels={"table": "robustness"},
            )
        ),
    log:
        f"{LOGS}/summarize_robustness.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        runs=[list(run) for run in PLAN.robustness_runs()],
    script:
        "../../scripts/summarize_robustness.py"


rule plot_robustness:
    input:
        **with_prov(csv="results/summary/robustness.csv"),
    output:
        **with_prov(
            figure=report(
                "results/figures/robustness_{dataset}.png",
                caption="../report/robustness.rst",
                category="Robustness on and off the manifold",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "robustness"},
            )
        ),
    log:
        f"{LOGS}/plot_robustness/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        regimes=lambda wc: [r for r in PLAN.regimes(wc.dataset) if r != "external"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_robustness.py"
