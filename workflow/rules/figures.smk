"""The paper's figures: 3 (fraction per method), 2 (tangent/orthogonal decomposition), 10 (samples),
7 (standard vs robust), 14 (replications), 6 and 15 (training curves). Each reads the per-run stores of
its own dataset, so a change to one dataset re-plots only that dataset's figures."""


rule plot_fig3:
    input:
        unpack(figure_alignment),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig3_{dataset}.png",
                caption="../report/fig3.rst",
                category="Figure 03: fraction in tangent space",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig3"},
            )
        ),
    log:
        f"{LOGS}/plot_fig3/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_fig3.py"


rule plot_fig2:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            attributions=figure_run_path(ATTRIBUTIONS),
            alignment=figure_run_path(ALIGNMENT),
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig2_{dataset}_seed{seed}.png",
                caption="../report/fig2.rst",
                category="Figure 02: tangent and orthogonal parts",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig2", "seed": "{seed}"},
            )
        ),
    log:
        f"{LOGS}/plot_fig2/{{dataset}}_seed{{seed}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
        columns=config["figures"]["fig2_columns"],
        quantile=0.25,
        device=config["device"],
    script:
        "../../scripts/plot_fig2.py"


use rule plot_fig2 as plot_fig11 with:
    output:
        **with_prov(
            figure=report(
                "results/figures/fig11_{dataset}_seed{seed}.png",
                caption="../report/fig11.rst",
                category="Figure 11: MNIST256 decomposition",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig11", "seed": "{seed}"},
            )
        ),
    log:
        f"{LOGS}/plot_fig11/{{dataset}}_seed{{seed}}.log",
    params:
        quantile=0.9,  # Figure 11 shows examples above the 0.9 quantile (Figure 2: 0.25)


rule plot_fig10:
    input:
        **with_prov(data=DATA),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig10_{dataset}_seed{seed}.png",
                caption="../report/fig10.rst",
                category="Figure 10: samples of the dataset",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig10", "seed": "{seed}"},
            )
        ),
    log:
        f"{LOGS}/plot_fig10/{{dataset}}_seed{{seed}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
        samples=config["figures"]["fig10_samples"],
    script:
        "../../scripts/plot_fig10.py"


rule plot_fig14:
    input:
        unpack(figure_alignment),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig14_{dataset}.png",
                caption="../report/fig14.rst",
                category="Figure 14: replications",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig14"},
            )
        ),
    log:
        f"{LOGS}/plot_fig14/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_fig14.py"


rule plot_fig7:
    input:
        unpack(fig7_inputs),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig7_{dataset}.png",
                caption="../report/fig7.rst",
                category="Figure 07: standard vs robust",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig7"},
            )
        ),
    log:
        f"{LOGS}/plot_fig7/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_fig7.py"


rule plot_fig6:
    input:
        unpack(dataset_curves),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig6_{dataset}.png",
                caption="../report/fig6.rst",
                category="Figure 06 and 15: training curves",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig6"},
            )
        ),
    log:
        f"{LOGS}/plot_fig6/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        runs=dataset_runs,
        regimes=lambda wc: PLAN.regimes(wc.dataset),
        methods=fig6_methods,
        errors=False,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_training_curves.py"


use rule plot_fig6 as plot_fig15 with:
    output:
        **with_prov(
            figure=report(
                "results/figures/fig15_{dataset}.png",
                caption="../report/fig15.rst",
                category="Figure 06 and 15: training curves",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig15"},
            )
        ),
    log:
        f"{LOGS}/plot_fig15/{{dataset}}.log",
    params:
        methods=[],  # every tracked method
        errors=True,


rule plot_fig4:
    input:
        **with_prov(
            data=DATA,
            attributions=figure_run_path(ATTRIBUTIONS),
            alignment=figure_run_path(ALIGNMENT),
        ),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig4_{dataset}_seed{seed}.png",
                caption="../report/fig4.rst",
                category="Figure 04: examples",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig4", "seed": "{seed}"},
            )
        ),
    log:
        f"{LOGS}/plot_fig4/{{dataset}}_seed{{seed}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
        examples=config["figures"]["fig4_examples"],
    script:
        "../../scripts/plot_fig4.py"


rule plot_fig3_all:
    input:
        **plan_targets.panel_inputs(plan_targets.fig3_panels(PLAN)),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig3.png",
                caption="../report/fig3_all.rst",
                category="Figure 03: fraction in tangent space",
                subcategory="all datasets",
                labels={"dataset": "all", "figure": "fig3"},
            )
        ),
    log:
        f"{LOGS}/plot_fig3_all.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        panels=plan_targets.fig3_panels(PLAN),
        method=None,
        title="Fraction of each attribution in tangent space",
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_panels.py"


use rule plot_fig3_all as plot_fig7_all with:
    input:
        **plan_targets.panel_inputs(plan_targets.fig7_panels(PLAN)),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig7.png",
                caption="../report/fig7_all.rst",
                category="Figure 07: standard vs robust",
                subcategory="all datasets",
                labels={"dataset": "all", "figure": "fig7"},
            )
        ),
    log:
        f"{LOGS}/plot_fig7_all.log",
    params:
        panels=plan_targets.fig7_panels(PLAN),
        method="gradient",
        title="Gradient: standard vs l2-robust training",
