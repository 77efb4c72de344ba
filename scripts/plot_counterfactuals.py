"""Rule plot_counterfactuals: one dataset's example walks (a strip per direction) and its distance to the
flip by direction and regime (``manifold_xai.figures.counterfactuals``)."""

from manifold_xai.jobs import run_job


def main(job):
    import xarray as xr

    from manifold_xai.figures.counterfactuals import distance_figure, walks_figure

    dataset = job.wildcards["dataset"]
    table = job.dataset_rows(job.input.csv)
    first = xr.open_zarr(job.input.stores[0], consolidated=False).load()
    walks_figure(first, job.output.walks, dpi=job.params["dpi"])
    distance_figure(table, job.output.distance, title=dataset, dpi=job.params["dpi"])
    job.metrics = {"rows": len(table)}


run_job(snakemake, main)
