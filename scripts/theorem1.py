"""Rule theorem1: the Theorem 1 simulation (docs/paper.md §11): ``summary/theorem1.json`` (the shares of test
points whose gradient lies in / is orthogonal to the tangent space, the test accuracy, d, n_test, ...) and
Figure 8."""

from manifold_xai.jobs import run_job


def main(job):
    from manifold_xai.evaluation.theorem1 import curve_vertices, simulate
    from manifold_xai.figures.theorem1 import fig8_simulation
    from manifold_xai.store import write_json

    p = job.params["theorem1"]
    result = simulate(**p)
    arrays = {k: result.pop(k) for k in ("test_points", "test_tangents", "fractions")}
    write_json(job.output.result, result)
    fig8_simulation(
        curve_vertices(p["d"]),
        arrays["test_points"],
        arrays["fractions"],
        result,
        job.output.figure,
        dpi=job.params["dpi"],
    )
    job.metrics = {
        k: result[k]
        for k in ("p_grad_in_tangent", "p_grad_orthogonal", "test_accuracy", "d", "n_test")
    }


run_job(snakemake, main)
