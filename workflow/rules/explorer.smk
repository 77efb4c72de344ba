"""The per-image explorer: results/explorer/index.html and its data folder, from the stores of every
dataset and seed (manifold_xai.explorer; docs/outputs.md)."""


rule build_explorer:
    input:
        **plan_targets.explorer_inputs(PLAN),
    output:
        **with_prov(
            page=report(
                "results/explorer/index.html",
                caption="../report/explorer.rst",
                category="Explorer",
                labels={"file": "index.html"},
            ),
            data=directory("results/explorer/data"),
        ),
    log:
        f"{LOGS}/build_explorer.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        runs=plan_targets.explorer_runs(PLAN),
        title=(config.get("explorer") or {}).get("title", "manifold-xai explorer"),
    script:
        "../../scripts/build_explorer.py"
