"""Rule study_stimuli: the user-study stimulus sets (docs/paper.md §9) from each task's dataset (first seed,
standard classifier), the self-contained page ``results/study/index.html`` and ``stimuli.json`` (every
case with its samples, methods and the fractions in tangent space of its A and B images)."""

from manifold_xai.jobs import run_job


def task_cases(task: dict, paths: dict, seed: int, clip: float) -> list[dict]:
    import numpy as np
    import xarray as xr

    from manifold_xai.data.dataset_store import read_rows, store_attrs
    from manifold_xai.evaluation.study import (
        SHOWS_IMAGE,
        method_pair_cases,
        render_image,
        render_map,
        tangent_vs_orthogonal_cases,
    )
    from manifold_xai.store import open_store
    from manifold_xai.tangent.bases import project

    alignment = xr.open_zarr(paths["alignment"], consolidated=False).load()
    attributions = open_store(paths["attributions"], required=("attribution",))
    methods = list(attributions.attrs["methods"])
    frac = {
        str(m): alignment["fraction"].sel({"method_name": m}).values
        for m in alignment["method_name"].values
    }
    rows = np.asarray(open_store(paths["tangent"], required=("sample_index",))["sample_index"][...])

    def attribution(method: str, i: int) -> "np.ndarray":
        return np.asarray(attributions["attribution"][methods.index(method), i], np.float64)

    cases = []
    if task["protocol"] == "tangent_vs_orthogonal":
        chosen = tangent_vs_orthogonal_cases(
            frac["gradient"],
            alignment["label"].values,
            alignment["predicted"].values,
            int(store_attrs(paths["data"])["n_classes"]),
            quantile=task["quantile"],
            per_class=task["per_class"],
            seed=seed,
        )
        basis = open_store(paths["tangent"], required=("basis",))["basis"]
        for i in chosen:
            g = attribution("gradient", i)
            tangent_part, orthogonal_part = project(
                np.asarray(basis[i : i + 1], np.float64), g.reshape(1, -1)
            )
            cases.append(
                {
                    "id": f"{task['name']}-{i}",
                    "sample": int(rows[i]),
                    "method_a": "gradient (orthogonal part)",
                    "method_b": "gradient (tangent part)",
                    "fraction_a": 0.0,
                    "fraction_b": 1.0,
                    "a_png": render_map(orthogonal_part.reshape(g.shape), clip),
                    "b_png": render_map(tangent_part.reshape(g.shape), clip),
                }
            )
    else:
        if task["protocol"] == "method_pairs":
            pairs = method_pair_cases({m: frac[m] for m in task["methods"]}, task["n_images"])
        else:
            n = len(rows)
            picks = np.random.default_rng(seed).choice(
                n, size=min(task["n_images"], n), replace=False
            )
            pairs = [(int(i), task["method_a"], task["method_b"]) for i in sorted(picks)]
        for i, a, b in pairs:
            case = {
                "id": f"{task['name']}-{i}-{a}-{b}",
                "sample": int(rows[i]),
                "method_a": a,
                "method_b": b,
                "fraction_a": float(frac[a][i]),
                "fraction_b": float(frac[b][i]),
                "a_png": render_map(attribution(a, i), clip),
                "b_png": render_map(attribution(b, i), clip),
            }
            if task["protocol"] in SHOWS_IMAGE:  # the question is about the image: show it
                case["image_png"] = render_image(
                    read_rows(paths["data"], "images", rows[i : i + 1])[0]
                )
            cases.append(case)
    return cases


def main(job):
    import numpy as np

    from manifold_xai.evaluation.study import study_page
    from manifold_xai.runtime import derive_seed
    from manifold_xai.store import write_json

    study = job.params["study"]
    tasks = []
    for k, task in enumerate(study["tasks"]):
        paths = {key: job.input[key][k] for key in ("data", "tangent", "attributions", "alignment")}
        cases = task_cases(
            task, paths, derive_seed(study["seed"], "study", task["name"]), study["clip"]
        )
        tasks.append(
            {
                "name": task["name"],
                "protocol": task["protocol"],
                "dataset": task["dataset"],
                "cases": cases,
            }
        )
    study_page(
        job.output.page,
        tasks,
        title=study["title"],
        per_participant={t["name"]: t["show"] for t in study["tasks"] if t["show"]},
        contact=study["contact"],
    )
    stimuli = {
        "tasks": [
            {
                **t,
                "cases": [
                    {k: v for k, v in c.items() if not k.endswith("_png")} for c in t["cases"]
                ],
            }
            for t in tasks
        ]
    }
    for t in stimuli["tasks"]:
        t["mean_fraction_a"] = (
            float(np.mean([c["fraction_a"] for c in t["cases"]])) if t["cases"] else None
        )
        t["mean_fraction_b"] = (
            float(np.mean([c["fraction_b"] for c in t["cases"]])) if t["cases"] else None
        )
    write_json(job.output.stimuli, stimuli)
    job.metrics = {
        t["name"]: {
            "cases": len(t["cases"]),
            "mean_fraction_a": t["mean_fraction_a"],
            "mean_fraction_b": t["mean_fraction_b"],
        }
        for t in stimuli["tasks"]
    }


run_job(snakemake, main)
