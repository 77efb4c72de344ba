"""manifold-xai: is a feature attribution perceptually aligned the more of it lies in the tangent
space of the data manifold? (Bordt, Upadhyay, Akata, von Luxburg). See README.md and docs/architecture.md.
"""

from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


# No `configfile:` directive: with one, `--configfile other.yaml` would be merged into config.yaml and
# run its datasets too. common.smk loads config.yaml only when no config with `datasets:` is given.
include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/manifold.smk"
include: "workflow/rules/tangent.smk"
include: "workflow/rules/classifier.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/alignment.smk"
include: "workflow/rules/curves.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/counterfactuals.smk"
include: "workflow/rules/tangent_sources.smk"
include: "workflow/rules/roar.smk"
include: "workflow/rules/sanity.smk"
include: "workflow/rules/theorem1.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/explorer.smk"
include: "workflow/rules/claims.smk"


wildcard_constraints:
    dataset="[A-Za-z][A-Za-z0-9_]*",
    seed=r"\d+",
    regime="[a-z_]+",
    source="|".join(second_sources()),
    method="[a-z_]+",


rule all:
    default_target: True
    input:
        plan_targets.all_targets(PLAN),


onstart:
    start_warm_worker()


onsuccess:
    stop_warm_worker()
    print_summary_table()


onerror:
    stop_warm_worker()
