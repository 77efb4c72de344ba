"""Rule road: ROAD (Rong et al. 2022): remove each fraction of the test images' pixels, most (morf) or
least (lerf) important first, impute them by noisy linear imputation and measure the trained standard
classifier's accuracy; no retraining."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.data.splits import TEST
    from manifold_xai.evaluation.roar import removal_mask, road_images
    from manifold_xai.models.io import load_model
    from manifold_xai.store import write_csv
    from manifold_xai.training.inference import accuracy, predict_logits

    p = job.params["road"]
    ds = xr.open_zarr(job.input.importance, consolidated=False)
    test = ds["split"].values == TEST
    rows = ds["sample_index"].values[test]
    images, labels = (
        read_rows(job.input.data, "images", rows),
        read_rows(job.input.data, "labels", rows),
    )
    model = load_model(job.input.model, job.device)
    records = [
        {
            "method": "none",
            "order": "none",
            "fraction": 0.0,
            "accuracy": accuracy(predict_logits(model, images, job.device), labels),
        }
    ]
    for method in ds["method_name"].values:
        importance = ds["importance"].sel({"method_name": method}).values[test]
        for order in p["orders"]:
            for fraction in p["fractions"]:
                key = f"road/{method}/{order}/{fraction}"
                mask = removal_mask(importance, fraction, seed=job.seed(key + "/mask"), order=order)
                imputed = road_images(images, mask, noise=p["noise"], seed=job.seed(key + "/noise"))
                records.append(
                    {
                        "method": str(method),
                        "order": order,
                        "fraction": fraction,
                        "accuracy": accuracy(predict_logits(model, imputed, job.device), labels),
                    }
                )
    table = pd.DataFrame(records)
    table.insert(0, "seed", int(job.wildcards["seed"]))
    table.insert(0, "dataset", job.wildcards["dataset"])
    write_csv(job.output.table, table)
    job.metrics = {"rows": len(table), "n_test": len(rows)}


run_job(snakemake, main)
