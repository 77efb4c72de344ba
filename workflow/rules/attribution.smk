"""Attributions of the classifier's predicted-class logit on the test samples, and the figures that show
the maps: 2 (tangent and orthogonal parts), 11 (Figure 2 of an upsampled dataset), 4 (examples with
their fractions) (figures: manifold_xai.figures.attribution)."""


rule compute_attributions:
    input:
        **with_prov(
            data=DATA,
            model=CLASSIFIER,
            manifold=MANIFOLD,
        ),
        method_files=attribution_files,
    output:
        **with_prov(store=directory(ATTRIBUTIONS)),
    log:
        f"{LOGS}/compute_attributions/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/compute_attributions/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        n_test=dataset_params("evaluation", "n_test"),
        attributions=run_attribution_params,
        tangent=context_tangent(run_attribution_params),
        device=config["device"],
    script:
        "../../scripts/compute_attributions.py"


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
