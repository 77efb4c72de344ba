"""The Theorem 1 simulation (Figure 8): a two-layer ReLU network on a closed curve; belongs to no dataset."""


rule theorem1:
    output:
        **with_prov(
            result=report(
                "results/summary/theorem1.json",
                caption="../report/theorem1_json.rst",
                category="Summary tables",
                labels={"table": "theorem1"},
            ),
            figure=report(
                "results/figures/fig8_simulation.png",
                caption="../report/fig8.rst",
                category="Figure 08: Theorem 1 simulation",
                labels={"figure": "fig8"},
            ),
        ),
    log:
        f"{LOGS}/theorem1.log",
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        theorem1=config["theorem1"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/theorem1.py"
