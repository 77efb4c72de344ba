"""Data: the source images, the labelling function and the generated dataset (generative approach)."""


rule prepare_source:
    output:
        **with_prov(store=directory("results/{dataset}/source.zarr")),
    log:
        f"{LOGS}/prepare_source/{{dataset}}.log",
    params:
        source=dataset_params("source"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
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
    params:
        labeller=dataset_params("labeller"),
        device=config["device"],
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
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
    params:
        sampling=dataset_params("sampling"),
        device=config["device"],
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    script:
        "../../scripts/sample_dataset.py"
