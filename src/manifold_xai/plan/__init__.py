"""The plan of a run, derived from its validated config by plain functions: which runs exist
(``runs.RunPlan``), the table of their paths (``paths``), the config slice and resources of each job
(``params``), and the files a run ends with (``targets``). Snakemake's rule files adapt it to wildcards
(``workflow/rules/common.smk``); nothing here knows Snakemake.
"""

from manifold_xai.plan.runs import RunPlan

__all__ = ["RunPlan"]
