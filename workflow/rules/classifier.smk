"""Classifiers trained on the generated data, one per regime, with checkpoints on the tracking schedule."""


rule train_classifier:
    input:
        unpack(directed_inputs),
        **with_prov(data=DATA),
    output:
        **with_prov(
            model=CLASSIFIER,
            metrics=f"{RUN}/classifier/{{regime}}/metrics.json",
            checkpoints=directory(f"{RUN}/classifier/{{regime}}/checkpoints"),
        ),
    log:
        f"{LOGS}/train_classifier/{{dataset}}_seed{{seed}}_{{regime}}.log",
    benchmark:
        f"{BENCH}/train_classifier/{{dataset}}_seed{{seed}}_{{regime}}.tsv"
    wildcard_constraints:
        regime=TRAINED_REGIMES,
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=240),
    params:
        classifier=classifier_params,
        device=config["device"],
    script:
        "../../scripts/train_classifier.py"


rule import_classifier:
    input:
        **with_prov(data=DATA),
        external=external_files("classifier"),
    output:
        **with_prov(model=CLASSIFIER, metrics=METRICS),
    log:
        f"{LOGS}/import_classifier/{{dataset}}_seed{{seed}}_{{regime}}.log",
    wildcard_constraints:
        regime="external",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        external=lambda w: PLAN.external_spec(w.dataset, "classifier"),
        device=config["device"],
    script:
        "../../scripts/import_classifier.py"
