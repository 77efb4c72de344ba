"""Tangent spaces: orthonormal decoder-Jacobian bases at the test samples, in a chunked Zarr store."""


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
        n_test=dataset_params("evaluation", "n_test"),
        tangent=dataset_params("tangent"),
        device=config["device"],
    script:
        "../../scripts/compute_tangent.py"
