"""Data: the source images and each run's dataset `data.zarr`, made by one rule per approach:
sample_dataset (generative: labelling function + rejection sampling), reconstruct_dataset
(reconstructive: D(E(x)) of the source), upsample_dataset (upsampled: the base dataset's samples,
upsampled) and render_dataset (analytic: the torus source itself, its angles as latents); Figure 10
shows samples of each (figures: manifold_xai.figures.dataset)."""


rule prepare_source:
    output:
        **with_prov(store=directory("results/{dataset}/source.zarr")),
    log:
        f"{LOGS}/prepare_source/{{dataset}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("generative", "reconstructive", "analytic"),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        **dataset_resources(mem_mb=2000, runtime=10),
    params:
        source=dataset_params("source"),
    script:
        "../../scripts/prepare_source.py"


rule train_labeller:
    input:
        **with_prov(
            source="results/{dataset}/source.zarr",
            manifold=MANIFOLD,
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
    wildcard_constraints:
        dataset=PLAN.datasets_with("generative"),
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
            manifold=MANIFOLD,
            labeller=f"{RUN}/labeller/model.pt",
        ),
    output:
        **with_prov(store=directory(DATA)),
    log:
        f"{LOGS}/sample_dataset/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/sample_dataset/{{dataset}}_seed{{seed}}.tsv"
    wildcard_constraints:
        dataset=PLAN.datasets_with("generative"),
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


rule reconstruct_dataset:
    input:
        **with_prov(
            source="results/{dataset}/source.zarr",
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(DATA)),
    log:
        f"{LOGS}/reconstruct_dataset/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/reconstruct_dataset/{{dataset}}_seed{{seed}}.tsv"
    wildcard_constraints:
        dataset=PLAN.datasets_with("reconstructive"),
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        batch_size=64,
        device=config["device"],
    script:
        "../../scripts/reconstruct_dataset.py"


rule upsample_dataset:
    input:
        data=upsample_base(DATA),
        data_prov=upsample_base(prov(DATA)),
    output:
        **with_prov(store=directory(DATA)),
    log:
        f"{LOGS}/upsample_dataset/{{dataset}}_seed{{seed}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("upsampled"),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        **torch_resources(mem_mb=8000, runtime=30),
    params:
        upsample=dataset_params("upsample"),
    script:
        "../../scripts/upsample_dataset.py"


rule render_dataset:
    input:
        **with_prov(
            source="results/{dataset}/source.zarr",
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(DATA)),
    log:
        f"{LOGS}/render_dataset/{{dataset}}_seed{{seed}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("analytic"),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        **dataset_resources(mem_mb=2000, runtime=10),
    params:
        device=config["device"],
    script:
        "../../scripts/render_dataset.py"


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
