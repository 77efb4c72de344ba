"""Rule plot_fig5: Figure 5 for one dataset: ROAR test accuracy against the fraction of removed pixels per
method (mean over repeated retrainings with its 95% t-interval; over seeds when there are several), and ROAD accuracy (most important first solid, least important first
dashed)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.evaluation.roar import roar_rows
    from manifold_xai.figures.roar import fig5_roar
    from manifold_xai.figures.style import use_styles
    from manifold_xai.store import read_json

    use_styles(job.params["styles"])
    roar = roar_rows([read_json(p) for p in job.input.results])
    road = pd.concat([pd.read_csv(p) for p in job.input.road], ignore_index=True)
    fig5_roar(roar, road, job.output.figure, title=job.wildcards["dataset"], dpi=job.params["dpi"])
    curves = roar[roar["method"] != "none"].groupby("method")["accuracy"].mean()
    job.metrics = {"mean_accuracy_over_fractions": {m: float(v) for m, v in curves.items()}}


run_job(snakemake, main)
