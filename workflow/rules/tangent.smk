"""Tangent spaces: orthonormal decoder-Jacobian bases at the test samples, in a chunked Zarr store, and at
every training sample where a directed adversarial regime needs them."""


rule compute_tangent:
    input:
        **with_prov(
            data=DATA,
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(TANGENT)),
    log:
        f"{LOGS}/compute_tangent/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/compute_tangent/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        part="test",
        n_test=dataset_params("evaluation", "n_test"),
        tangent=dataset_params("tangent"),
        device=config["device"],
    script:
        "../../scripts/compute_tangent.py"


use rule compute_tangent as compute_train_tangent with:
    output:
        **with_prov(store=directory(TRAIN_TANGENT)),
    log:
        f"{LOGS}/compute_train_tangent/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/compute_train_tangent/{{dataset}}_seed{{seed}}.tsv"
    params:
        part="train",
        n_test=None,
        tangent=dataset_params("tangent"),
        device=config["device"],
