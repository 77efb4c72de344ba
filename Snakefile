"""manifold-xai: is a feature attribution perceptually aligned the more of it lies in the tangent
space of the data manifold? (Bordt, Upadhyay, Akata, von Luxburg). See README.md and DESIGN.md."""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/manifold.smk"
include: "workflow/rules/tangent.smk"
include: "workflow/rules/classifier.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/alignment.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),


onsuccess:
    print_summary_table()
