"""Attributions of the classifier's predicted-class logit on the test samples."""


rule compute_attributions:
    input:
        **with_prov(
            data=DATA,
            model=CLASSIFIER,
            manifold=MANIFOLD,
        ),
        method_files=attribution_files,
    output:
        **with_prov(store=directory(ATTRIBUTIONS)),
    log:
        f"{LOGS}/compute_attributions/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/compute_attributions/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=120),
    params:
        n_test=dataset_params("evaluation", "n_test"),
        attributions=attribution_params,
        tangent=context_tangent(attribution_params),
        device=config["device"],
    script:
        "../../scripts/compute_attributions.py"
