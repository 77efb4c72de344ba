"""Sanity checks (model-parameter randomisation, Adebayo et al.) with the fraction in tangent space of the
randomised attributions, and Figure 13 (random attributions, decomposed as Figure 2)."""


rule sanity_checks:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            model=STANDARD_CLASSIFIER,
            manifold=MANIFOLD,
        ),
        method_files=attribution_files,
    output:
        **with_prov(store=directory(f"{RUN}/sanity.zarr")),
    log:
        f"{LOGS}/sanity_checks/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/sanity_checks/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        sanity=lambda w: {
            k: config["datasets"][w.dataset]["sanity"][k] for k in ("n_test", "modes")
        },
        attributions=attribution_params,
        tangent=context_tangent(attribution_params),
        device=config["device"],
    script:
        "../../scripts/sanity_checks.py"


rule summarize_sanity:
    input:
        stores=[p for d in PLAN.sanity_datasets() for p in PLAN.sanity_stores(d)],
        provs=[prov(p) for d in PLAN.sanity_datasets() for p in PLAN.sanity_stores(d)],
    output:
        **with_prov(
            table=report(
                "results/summary/sanity.csv",
                caption="../report/sanity_csv.rst",
                category="Summary tables",
                labels={"table": "sanity"},
            )
        ),
    log:
        f"{LOGS}/summarize_sanity.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/summarize_sanity.py"


rule plot_sanity:
    input:
        stores=lambda w: PLAN.sanity_stores(w.dataset),
        provs=lambda w: [prov(p) for p in PLAN.sanity_stores(w.dataset)],
    output:
        **with_prov(
            figure=report(
                "results/figures/sanity_{dataset}.png",
                caption="../report/sanity.rst",
                category="Figure 13 and sanity checks",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "sanity"},
            )
        ),
    log:
        f"{LOGS}/plot_sanity/{{dataset}}.log",
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
        "../../scripts/plot_sanity.py"


rule plot_fig13:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            attributions=STANDARD_ATTRIBUTIONS,
        ),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig13_{dataset}_seed{seed}.png",
                caption="../report/fig13.rst",
                category="Figure 13 and sanity checks",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig13", "seed": "{seed}"},
            )
        ),
    log:
        f"{LOGS}/plot_fig13/{{dataset}}_seed{{seed}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        columns=config["figures"]["fig2_columns"],
        methods=manifold_methods,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_fig13.py"
