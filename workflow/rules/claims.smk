"""The paper's claims tested on this run's summary tables: results/summary/claims.csv."""


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
