"""Manifold model: the β-TCVAE whose decoder defines the image manifold."""


rule train_manifold:
    input:
        **with_prov(source="results/{dataset}/source.zarr"),
    output:
        **with_prov(
            model=f"{RUN}/manifold/model.pt",
            metrics=f"{RUN}/manifold/metrics.json",
        ),
    log:
        f"{LOGS}/train_manifold/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_manifold/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=240),
    params:
        manifold=dataset_params("manifold"),
        device=config["device"],
    script:
        "../../scripts/train_manifold.py"
