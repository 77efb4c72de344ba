"""The paper's claims tested on this run's summary tables (results/summary/claims.csv), how well its models
were trained (models.csv), and the run beside the paper's numbers (paper_comparison.csv and its figure;
figures: manifold_xai.figures.claims)."""


rule summarize_claims:
    input:
        **plan_targets.claims_inputs(PLAN),
    output:
        **with_prov(
            claims=report(
                "results/summary/claims.csv",
                caption="../report/claims_csv.rst",
                category="Summary tables",
                labels={"table": "claims"},
            )
        ),
    log:
        f"{LOGS}/summarize_claims.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/summarize_claims.py"


rule summarize_models:
    input:
        **plan_targets.models_inputs(PLAN),
    output:
        **with_prov(
            csv=report(
                "results/summary/models.csv",
                caption="../report/models_csv.rst",
                category="Summary tables",
                labels={"table": "models"},
            )
        ),
    log:
        f"{LOGS}/summarize_models.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        labeller_runs=[list(run) for run in PLAN.labeller_runs()],
        runs=[list(run) for run in PLAN.runs()],
        paper_datasets=PLAN.paper_datasets(),
    script:
        "../../scripts/summarize_models.py"


rule compare_paper:
    input:
        **with_prov(
            alignment="results/summary/alignment.csv",
            models="results/summary/models.csv",
            claims="results/summary/claims.csv",
        ),
    output:
        **with_prov(
            csv=report(
                "results/summary/paper_comparison.csv",
                caption="../report/paper_comparison_csv.rst",
                category="Summary tables",
                labels={"table": "paper_comparison"},
            )
        ),
    log:
        f"{LOGS}/compare_paper.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        paper_datasets=PLAN.paper_datasets(),
    script:
        "../../scripts/compare_paper.py"


rule plot_paper_comparison:
    input:
        **with_prov(table="results/summary/paper_comparison.csv"),
    output:
        **with_prov(
            figure=report(
                "results/figures/paper_comparison.png",
                caption="../report/paper_comparison.rst",
                category="The paper, side by side",
                labels={"figure": "paper_comparison"},
            )
        ),
    log:
        f"{LOGS}/plot_paper_comparison.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_paper_comparison.py"
