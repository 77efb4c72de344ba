"""Training curves: every checkpoint evaluated by its own rule (changing the evaluation never retrains)."""


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
