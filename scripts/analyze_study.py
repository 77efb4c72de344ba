"""Rule analyze_study: the user study's Table 1 from the saved response files: per task N, A, B, no
preference, the mean fraction in tangent space of the presented A and B images, and one-sided tests that B
is chosen over A (exact sign test; the paper's t-test)."""

from manifold_xai.jobs import run_job


def main(job):
    import pandas as pd

    from manifold_xai.evaluation.study import analyze
    from manifold_xai.store import read_json, write_csv

    responses = [read_json(p) for p in job.input.responses]
    stimuli = read_json(job.input.stimuli)
    cases = {(t["name"], c["id"]) for t in stimuli["tasks"] for c in t["cases"]}
    for path, r in zip(job.input.responses, responses, strict=True):
        if r.get("format") != "manifold-xai/study-responses/1" or not isinstance(
            r.get("choices"), list
        ):
            raise ValueError(f"{path} is not a response file saved by the study page")
        foreign = [(c.get("task"), c.get("case")) for c in r["choices"]]
        foreign = [key for key in foreign if key not in cases]
        if foreign:
            raise ValueError(
                f"{path} answers {len(foreign)} cases that {job.input.stimuli} does not have "
                f"(first: task {foreign[0][0]!r}, case {foreign[0][1]!r}): it was saved from "
                f"another stimulus set"
            )
    table = pd.DataFrame(analyze(responses, stimuli))
    write_csv(job.output.table, table)
    job.metrics = {"participants": len(responses), "rows": table.to_dict("records")}


run_job(snakemake, main)
