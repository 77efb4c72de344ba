"""Tangent sources: the same test points' tangent spaces from the renderer (exact, torus only), a decoder
(vae), local PCA of the training images and a denoiser's Jacobian (trained by train_denoiser); their principal angles to the
dataset's own tangent space and the fraction of every attribution under each. The dataset's own source
is `tangent.zarr` and `alignment/`; the others are `tangent_{source}.zarr` and `alignment_{source}/`.
"""


use rule train_manifold as train_tangent_vae with:
    output:
        **with_prov(
            model=f"{RUN}/vae/model.pt",
            metrics=f"{RUN}/vae/metrics.json",
        ),
    log:
        f"{LOGS}/train_tangent_vae/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_tangent_vae/{{dataset}}_seed{{seed}}.tsv"
    wildcard_constraints:
        dataset=PLAN.datasets_with("analytic"),


rule train_denoiser:
    input:
        **with_prov(data=DATA),
    output:
        **with_prov(
            model=f"{RUN}/denoiser/model.pt",
            metrics=f"{RUN}/denoiser/metrics.json",
        ),
    log:
        f"{LOGS}/train_denoiser/{{dataset}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/train_denoiser/{{dataset}}_seed{{seed}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=240),
    params:
        denoiser=lambda w: denoiser_training(config, w.dataset),
        n_test=dataset_params("evaluation", "n_test"),
        device=config["device"],
    script:
        "../../scripts/train_denoiser.py"


rule compute_tangent_source:
    input:
        unpack(tangent_source_inputs),
    output:
        **with_prov(store=directory(f"{RUN}/tangent_{{source}}.zarr")),
    log:
        f"{LOGS}/compute_tangent_source/{{dataset}}_seed{{seed}}_{{source}}.log",
    benchmark:
        f"{BENCH}/compute_tangent_source/{{dataset}}_seed{{seed}}_{{source}}.tsv"
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        n_test=dataset_params("evaluation", "n_test"),
        settings=tangent_source_settings,
        device=config["device"],
    script:
        "../../scripts/compute_tangent_source.py"


use rule compute_alignment as compute_alignment_source with:
    input:
        unpack(alignment_source_inputs),
    output:
        **with_prov(store=directory(f"{RUN}/alignment_{{source}}/{{regime}}.zarr")),
    log:
        f"{LOGS}/compute_alignment_source/{{dataset}}_seed{{seed}}_{{source}}_{{regime}}.log",


rule compare_tangent_sources:
    input:
        data=DATA,
        data_prov=prov(DATA),
        reference=TANGENT,
        reference_prov=prov(TANGENT),
        others=compared_tangents,
        others_prov=lambda w: [prov(p) for p in compared_tangents(w)],
    output:
        **with_prov(store=directory(f"{RUN}/tangent_angles.zarr")),
    log:
        f"{LOGS}/compare_tangent_sources/{{dataset}}_seed{{seed}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        **dataset_resources(mem_mb=4000, runtime=30),
    params:
        sources=lambda w: PLAN.tangent_sources(w.dataset)[1:],
        levina_bickel=lambda w: config["datasets"][w.dataset]["tangent_sources"]["levina_bickel"],
    script:
        "../../scripts/compare_tangent_sources.py"


rule summarize_tangent_sources:
    input:
        angles=[ANGLES.format(dataset=d, seed=s) for d, s in PLAN.compared_runs()],
        angles_provs=[prov(ANGLES.format(dataset=d, seed=s)) for d, s in PLAN.compared_runs()],
        stores=[PLAN.alignment_path(*run) for run in PLAN.source_runs()],
        provs=[prov(PLAN.alignment_path(*run)) for run in PLAN.source_runs()],
    output:
        **with_prov(
            accuracy=report(
                "results/summary/tangent_accuracy.csv",
                caption="../report/tangent_accuracy_csv.rst",
                category="Summary tables",
                labels={"table": "tangent_accuracy"},
            ),
            fractions=report(
                "results/summary/tangent_fractions.csv",
                caption="../report/tangent_fractions_csv.rst",
                category="Summary tables",
                labels={"table": "tangent_fractions"},
            ),
            dimensions=report(
                "results/summary/intrinsic_dimension.csv",
                caption="../report/intrinsic_dimension_csv.rst",
                category="Summary tables",
                labels={"table": "intrinsic_dimension"},
            ),
        ),
    log:
        f"{LOGS}/summarize_tangent_sources.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        angle_runs=[list(run) for run in PLAN.compared_runs()],
        source_runs=[list(run) for run in PLAN.source_runs()],
        published=published_dimensions(),
        bootstrap_resamples=config["bootstrap_resamples"],
    script:
        "../../scripts/summarize_tangent_sources.py"


rule plot_tangent_sources:
    input:
        unpack(tangent_source_figure_inputs),
    output:
        **with_prov(
            figure=report(
                "results/figures/tangent_sources_{dataset}.png",
                caption="../report/tangent_sources.rst",
                category="Tangent sources",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "tangent_sources"},
            )
        ),
    log:
        f"{LOGS}/plot_tangent_sources/{{dataset}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        sources=lambda w: PLAN.tangent_sources(w.dataset),
        regime=lambda w: PLAN.source_figure_regime(w.dataset),
        bootstrap_resamples=config["bootstrap_resamples"],
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_tangent_sources.py"


rule plot_intrinsic_dimension:
    input:
        **with_prov(table="results/summary/intrinsic_dimension.csv"),
    output:
        **with_prov(
            figure=report(
                "results/figures/intrinsic_dimension.png",
                caption="../report/intrinsic_dimension.rst",
                category="Tangent sources",
                labels={"figure": "intrinsic_dimension"},
            )
        ),
    log:
        f"{LOGS}/plot_intrinsic_dimension.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_intrinsic_dimension.py"
