"""The paper's claims tested on this run's summary tables: results/summary/claims.csv."""


def claims_inputs(wildcards):
    inputs = {
        "alignment": "results/summary/alignment.csv",
        "curves": "results/summary/curves.csv",
    }
    if roar_datasets():
        inputs["roar_repeats"] = "results/summary/roar_repeats.csv"
    if config["theorem1"] is not None:
        inputs["theorem1"] = "results/summary/theorem1.json"
    return {**inputs, **{f"{k}_prov": prov(v) for k, v in inputs.items()}}


rule summarize_claims:
    input:
        unpack(claims_inputs),
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
