"""Training curves: every checkpoint evaluated by its own rule (changing the evaluation never retrains),
their summary, and Figures 6 and 15 (figures: manifold_xai.figures.curves)."""


rule evaluate_checkpoints:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            checkpoints=f"{RUN}/classifier/{{regime}}/checkpoints",
            manifold=MANIFOLD,
        ),
        method_files=attribution_files,
    output:
        **with_prov(store=directory(f"{RUN}/curves/{{regime}}.zarr")),
    log:
        f"{LOGS}/evaluate_checkpoints/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/evaluate_checkpoints/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    wildcard_constraints:
        regime=TRAINED_REGIMES,
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        curves=dataset_params("evaluation", "curves"),
        attributions=tracked_attributions,
        tangent=context_tangent(tracked_attributions),
        random_labels_n_train=random_labels_n_train,
        device=config["device"],
    script:
        "../../scripts/evaluate_checkpoints.py"


rule summarize_curves:
    input:
        stores=[f"results/{d}/seed{s}/curves/{r}.zarr" for d, s, r in PLAN.trained_runs()],
        provs=[prov(f"results/{d}/seed{s}/curves/{r}.zarr") for d, s, r in PLAN.trained_runs()],
    output:
        **with_prov(
            csv=report(
                "results/summary/curves.csv",
                caption="../report/curves_csv.rst",
                category="Summary tables",
                labels={"table": "curves"},
            ),
            store=directory("results/summary/curves.zarr"),
        ),
    log:
        f"{LOGS}/summarize_curves.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        runs=[list(run) for run in PLAN.trained_runs()],
        dask=config["dask"],
    script:
        "../../scripts/summarize_curves.py"


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
