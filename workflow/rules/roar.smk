"""ROAR (remove and retrain, Figure 5), ROAD (noisy linear imputation, no retraining) and the blurred-gradient
control, on the standard classifier of the seeds in each dataset's `roar:` block."""


rule roar_importance:
    input:
        **with_prov(
            data=DATA,
            manifold=MANIFOLD,
            model=STANDARD_CLASSIFIER,
            attributions=STANDARD_ATTRIBUTIONS,
        ),
        method_files=attribution_files,
    output:
        **with_prov(store=directory(f"{RUN}/roar/importance.zarr")),
    log:
        f"{LOGS}/roar_importance/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/roar_importance/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        roar=lambda w: roar_block(w, "methods", "n_train", "n_test", "blur_sigma"),
        attributions=attribution_params,
        tangent=dataset_params("tangent"),
        device=config["device"],
    script:
        "../../scripts/roar_importance.py"


rule roar_retrain:
    input:
        **with_prov(
            data=DATA,
            importance=f"{RUN}/roar/importance.zarr",
        ),
    output:
        **with_prov(result=f"{RUN}/roar/{{method}}/{{fraction}}.json"),
    log:
        f"{LOGS}/roar_retrain/{{dataset}}_seed{{seed}}_{{method}}_{{fraction}}.log",
    benchmark:
        f"{BENCH}/roar_retrain/{{dataset}}_seed{{seed}}_{{method}}_{{fraction}}.tsv"
    wildcard_constraints:
        fraction=r"0|0\.\d+",
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        roar=lambda w: roar_block(
            w,
            "order",
            "fill",
            "epochs",
            "repeats",
            "lr",
            "batch_size",
            "lr_step_epochs",
            "lr_gamma",
        ),
        classifier=lambda w: {
            k: config["datasets"][w.dataset]["classifier"][k] for k in ("arch", "width")
        },
        device=config["device"],
    script:
        "../../scripts/roar_retrain.py"


rule road:
    input:
        **with_prov(
            data=DATA,
            importance=f"{RUN}/roar/importance.zarr",
            model=STANDARD_CLASSIFIER,
        ),
    output:
        **with_prov(table=f"{RUN}/roar/road.csv"),
    log:
        f"{LOGS}/road/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/road/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        road=lambda w: roar_block(w, "road")["road"],
        device=config["device"],
    script:
        "../../scripts/road.py"


rule summarize_roar:
    input:
        results=[p for d in PLAN.roar_datasets() for p in PLAN.roar_results(d)],
        results_provs=[prov(p) for d in PLAN.roar_datasets() for p in PLAN.roar_results(d)],
        road=[p for d in PLAN.roar_datasets() for p in PLAN.road_tables(d)],
        road_provs=[prov(p) for d in PLAN.roar_datasets() for p in PLAN.road_tables(d)],
    output:
        **with_prov(
            roar=report(
                "results/summary/roar.csv",
                caption="../report/roar_csv.rst",
                category="Summary tables",
                labels={"table": "roar"},
            ),
            repeats=report(
                "results/summary/roar_repeats.csv",
                caption="../report/roar_repeats_csv.rst",
                category="Summary tables",
                labels={"table": "roar_repeats"},
            ),
            road=report(
                "results/summary/road.csv",
                caption="../report/road_csv.rst",
                category="Summary tables",
                labels={"table": "road"},
            ),
        ),
    log:
        f"{LOGS}/summarize_roar.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/summarize_roar.py"


rule plot_fig5:
    input:
        results=lambda w: PLAN.roar_results(w.dataset),
        results_provs=lambda w: [prov(p) for p in PLAN.roar_results(w.dataset)],
        road=lambda w: PLAN.road_tables(w.dataset),
        road_provs=lambda w: [prov(p) for p in PLAN.road_tables(w.dataset)],
    output:
        **with_prov(
            figure=report(
                "results/figures/fig5_{dataset}.png",
                caption="../report/fig5.rst",
                category="Figure 05: ROAR and ROAD",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig5"},
            )
        ),
    log:
        f"{LOGS}/plot_fig5/{{dataset}}.log",
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
        "../../scripts/plot_fig5.py"
