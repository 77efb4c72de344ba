"""The paper's figures: 3 (fraction per method), 2 (tangent/orthogonal decomposition), 10 (samples)."""


rule plot_fig3:
    input:
        stores=lambda wc: [f"results/{wc.dataset}/seed{s}/alignment/standard.zarr" for s in SEEDS],
        provs=lambda wc: [
            prov(f"results/{wc.dataset}/seed{s}/alignment/standard.zarr") for s in SEEDS
        ],
    output:
        **with_prov(figure="results/figures/fig3_{dataset}.png"),
    log:
        f"{LOGS}/plot_fig3/{{dataset}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
    script:
        "../../scripts/plot_fig3.py"


rule plot_fig2:
    input:
        **with_prov(
            data=f"{RUN}/data.zarr",
            tangent=f"{RUN}/tangent.zarr",
            attributions=f"{RUN}/attributions/standard.zarr",
            alignment=f"{RUN}/alignment/standard.zarr",
            manifold=f"{RUN}/manifold/model.pt",
        ),
    output:
        **with_prov(figure="results/figures/fig2_{dataset}_seed{seed}.png"),
    log:
        f"{LOGS}/plot_fig2/{{dataset}}_seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
        columns=config["figures"]["fig2_columns"],
        lsqr=dataset_params("tangent", "lsqr"),
        device=config["device"],
    script:
        "../../scripts/plot_fig2.py"


rule plot_fig10:
    input:
        **with_prov(data=f"{RUN}/data.zarr"),
    output:
        **with_prov(figure="results/figures/fig10_{dataset}_seed{seed}.png"),
    log:
        f"{LOGS}/plot_fig10/{{dataset}}_seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dpi=config["figures"]["dpi"],
        samples=config["figures"]["fig10_samples"],
    script:
        "../../scripts/plot_fig10.py"
