"""Manifold model: the β-TCVAE or autoencoder whose decoder defines the image manifold (or, for an
upsampled dataset, its base dataset's decoder followed by upsampling; for an analytic dataset, the
renderer itself)."""


rule train_manifold:
    input:
        **with_prov(source="results/{dataset}/source.zarr"),
    output:
        **with_prov(
            model=MANIFOLD,
            metrics=f"{RUN}/manifold/metrics.json",
        ),
    log:
        f"{LOGS}/train_manifold/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_manifold/{{dataset}}_seed{{seed}}.tsv"
    wildcard_constraints:
        dataset=PLAN.datasets_with("generative", "reconstructive", external_manifold=False),
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


rule import_manifold:
    input:
        **with_prov(source="results/{dataset}/source.zarr"),
        external=external_files("manifold"),
    output:
        **with_prov(
            model=MANIFOLD,
            metrics=f"{RUN}/manifold/metrics.json",
        ),
    log:
        f"{LOGS}/import_manifold/{{dataset}}_seed{{seed}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("generative", "reconstructive", external_manifold=True),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        manifold=dataset_params("manifold"),
        approach=lambda w: PLAN.approach(w.dataset),
        device=config["device"],
    script:
        "../../scripts/import_manifold.py"


rule upsample_manifold:
    input:
        base=upsample_base(MANIFOLD),
        base_prov=upsample_base(prov(MANIFOLD)),
    output:
        **with_prov(model=MANIFOLD),
    log:
        f"{LOGS}/upsample_manifold/{{dataset}}_seed{{seed}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("upsampled"),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        upsample=dataset_params("upsample"),
    script:
        "../../scripts/upsample_manifold.py"


rule render_manifold:
    output:
        **with_prov(model=MANIFOLD),
    log:
        f"{LOGS}/render_manifold/{{dataset}}_seed{{seed}}.log",
    wildcard_constraints:
        dataset=PLAN.datasets_with("analytic"),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        renderer=lambda w: {
            key: config["datasets"][w.dataset]["source"][key]
            for key in ("image_size", "orbit", "axes", "sharpness", "parameters")
        },
    script:
        "../../scripts/render_manifold.py"
