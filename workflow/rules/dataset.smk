"""Data: the source images, the labelling function and the generated dataset (generative approach)."""


rule prepare_source:
    output:
        **with_prov(store=directory("results/{dataset}/source.zarr")),
    log:
        f"{LOGS}/prepare_source/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        source=dataset_params("source"),
    script:
        "../../scripts/prepare_source.py"


rule train_labeller:
    input:
        **with_prov(
            source="results/{dataset}/source.zarr",
            manifold=f"{RUN}/manifold/model.pt",
        ),
    output:
        **with_prov(
            model=f"{RUN}/labeller/model.pt",
            metrics=f"{RUN}/labeller/metrics.json",
        ),
    log:
        f"{LOGS}/train_labeller/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_labeller/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        labeller=dataset_params("labeller"),
        device=config["device"],
    script:
        "../../scripts/train_labeller.py"


rule sample_dataset:
    input:
        **with_prov(
            manifold=f"{RUN}/manifold/model.pt",
            labeller=f"{RUN}/labeller/model.pt",
        ),
    output:
        **with_prov(store=directory(f"{RUN}/data.zarr")),
    log:
        f"{LOGS}/sample_dataset/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/sample_dataset/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        sampling=dataset_params("sampling"),
        device=config["device"],
    script:
        "../../scripts/sample_dataset.py"
