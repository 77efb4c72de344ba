"""Alignment: fraction of each attribution in the tangent space, per run and summarised over runs."""


rule compute_alignment:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            attributions=ATTRIBUTIONS,
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(f"{RUN}/alignment/{{regime}}.zarr")),
    log:
        f"{LOGS}/compute_alignment/{{dataset}}_seed{{seed}}_{{regime}}.log",
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        n_test=dataset_params("evaluation", "n_test"),
        device=config["device"],
        dask=config["dask"],
    script:
        "../../scripts/compute_alignment.py"


rule summarize_alignment:
    input:
        stores=[f"results/{d}/seed{s}/alignment/{r}.zarr" for d, s, r in PLAN.runs()],
        provs=[prov(f"results/{d}/seed{s}/alignment/{r}.zarr") for d, s, r in PLAN.runs()],
    output:
        **with_prov(
            csv=report(
                "results/summary/alignment.csv",
                caption="../report/alignment_csv.rst",
                category="Summary tables",
                labels={"table": "alignment"},
            ),
            store=directory("results/summary/alignment.zarr"),
        ),
    log:
        f"{LOGS}/summarize_alignment.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        runs=[list(run) for run in PLAN.runs()],
        bootstrap_resamples=config["bootstrap_resamples"],
        correct_only={d: config["datasets"][d]["evaluation"]["correct_only"] for d in DATASETS},
    script:
        "../../scripts/summarize_alignment.py"
