"""Alignment: fraction of each attribution in the tangent space, per run and summarised over runs, and
its figures: 3 (density per method), 14 (per seed), 7 (standard vs robust), and the multi-dataset 3 and 7.
Each per-dataset figure reads only its dataset's stores (figures: manifold_xai.figures.alignment).
"""


rule compute_alignment:
    input:
        **with_prov(
            data=DATA,
            tangent=TANGENT,
            attributions=ATTRIBUTIONS,
            manifold=MANIFOLD,
        ),
    output:
        **with_prov(store=directory(f"{RUN}/alignment/{{regime}}.zarr")),
    log:
        f"{LOGS}/compute_alignment/{{dataset}}_seed{{seed}}_{{regime}}.log",
    conda:
        PIPELINE_ENV
    threads: torch_threads()
    resources:
        **torch_resources(mem_mb=4000, runtime=60),
    params:
        n_test=dataset_params("evaluation", "n_test"),
        device=config["device"],
        dask=config["dask"],
    script:
        "../../scripts/compute_alignment.py"


rule summarize_alignment:
    input:
        stores=[f"results/{d}/seed{s}/alignment/{r}.zarr" for d, s, r in PLAN.runs()],
        provs=[prov(f"results/{d}/seed{s}/alignment/{r}.zarr") for d, s, r in PLAN.runs()],
    output:
        **with_prov(
            csv=report(
                "results/summary/alignment.csv",
                caption="../report/alignment_csv.rst",
                category="Summary tables",
                labels={"table": "alignment"},
            ),
            store=directory("results/summary/alignment.zarr"),
        ),
    log:
        f"{LOGS}/summarize_alignment.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        runs=[list(run) for run in PLAN.runs()],
        bootstrap_resamples=config["bootstrap_resamples"],
        correct_only={d: config["datasets"][d]["evaluation"]["correct_only"] for d in DATASETS},
    script:
        "../../scripts/summarize_alignment.py"


rule plot_fig3:
    input:
        unpack(figure_alignment),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig3_{dataset}.png",
                caption="../report/fig3.rst",
                category="Figure 03: fraction in tangent space",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig3"},
            )
        ),
    log:
        f"{LOGS}/plot_fig3/{{dataset}}.log",
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
        "../../scripts/plot_fig3.py"


rule plot_fig14:
    input:
        unpack(figure_alignment),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig14_{dataset}.png",
                caption="../report/fig14.rst",
                category="Figure 14: replications",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig14"},
            )
        ),
    log:
        f"{LOGS}/plot_fig14/{{dataset}}.log",
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
        "../../scripts/plot_fig14.py"


rule plot_fig7:
    input:
        unpack(fig7_inputs),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig7_{dataset}.png",
                caption="../report/fig7.rst",
                category="Figure 07: standard vs robust",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "figure": "fig7"},
            )
        ),
    log:
        f"{LOGS}/plot_fig7/{{dataset}}.log",
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
        "../../scripts/plot_fig7.py"


rule plot_fig3_all:
    input:
        **plan_targets.panel_inputs(plan_targets.fig3_panels(PLAN)),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig3.png",
                caption="../report/fig3_all.rst",
                category="Figure 03: fraction in tangent space",
                subcategory="all datasets",
                labels={"dataset": "all", "figure": "fig3"},
            )
        ),
    log:
        f"{LOGS}/plot_fig3_all.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        styles=METHOD_STYLES,
        panels=plan_targets.fig3_panels(PLAN),
        method=None,
        title="Fraction of each attribution in tangent space",
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_panels.py"


use rule plot_fig3_all as plot_fig7_all with:
    input:
        **plan_targets.panel_inputs(plan_targets.fig7_panels(PLAN)),
    output:
        **with_prov(
            figure=report(
                "results/figures/fig7.png",
                caption="../report/fig7_all.rst",
                category="Figure 07: standard vs robust",
                subcategory="all datasets",
                labels={"dataset": "all", "figure": "fig7"},
            )
        ),
    log:
        f"{LOGS}/plot_fig7_all.log",
    params:
        panels=plan_targets.fig7_panels(PLAN),
        method="gradient",
        title="Gradient: standard vs l2-robust training",
