"""Rule plot_fig13: Figure 13 for one run: random attributions decomposed like Figure 2: a Gaussian N(0, I)
map (its tangent part is perceptually aligned, the orthogonal part is not) and a random vector drawn inside
the tangent space (fraction 1, passes the manifold criterion, unrelated to the model); beside them the
standard classifier's attributions by the methods that use the manifold (a tangent projection also has
fraction 1, but depends on the model)."""

from manifold_xai.jobs import run_job


def main(job):
    import numpy as np

    from manifold_xai.attribution.registry import RANDOM_GAUSSIAN, RANDOM_TANGENT
    from manifold_xai.data.dataset_store import read_rows
    from manifold_xai.evaluation.sanity import random_tangent_attribution
    from manifold_xai.figures.attribution import fig2_decomposition
    from manifold_xai.figures.style import use_styles
    from manifold_xai.store import open_store
    from manifold_xai.tangent.bases import fraction_in_tangent_space, project

    use_styles(job.params["styles"])
    tangent = open_store(job.input.tangent, required=("basis", "rank", "sample_index"))
    n = min(job.params["columns"], tangent["basis"].shape[0])
    basis, rank = np.asarray(tangent["basis"][:n], np.float64), np.asarray(tangent["rank"][:n])
    images = read_rows(job.input.data, "images", np.asarray(tangent["sample_index"][:n]))
    d = basis.shape[2]
    seed = job.stage_seed("fig13")
    vectors = {
        RANDOM_GAUSSIAN: np.random.default_rng(seed).standard_normal((n, d)),
        RANDOM_TANGENT: random_tangent_attribution(basis, rank, seed).astype(np.float64),
    }
    stored = open_store(job.input.attributions, required=("attribution", "sample_index"))
    stored_methods = list(stored.attrs["methods"])
    if job.params["methods"] and not np.array_equal(
        np.asarray(stored["sample_index"][:n]), np.asarray(tangent["sample_index"][:n])
    ):
        raise ValueError(f"{job.input.attributions} and {job.input.tangent} cover different images")
    for name in job.params["methods"]:
        vectors[name] = np.asarray(
            stored["attribution"][stored_methods.index(name), :n], np.float64
        ).reshape(n, d)
    parts = {}
    for name, v in vectors.items():
        t, o = project(basis, v)
        parts[name] = (
            t.reshape(images.shape),
            o.reshape(images.shape),
            fraction_in_tangent_space(basis, v),
        )
    fig2_decomposition(
        images,
        parts,
        job.output.figure,
        dpi=job.params["dpi"],
        title=(
            f"Figure 13: random attributions"
            f"{' and manifold-aligned methods' if job.params['methods'] else ''}, "
            f"{job.wildcards['dataset']} seed {job.wildcards['seed']}"
        ),
    )
    job.metrics = {name: float(np.mean(p[2])) for name, p in parts.items()}


run_job(snakemake, main)
