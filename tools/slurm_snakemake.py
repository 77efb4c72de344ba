"""``snakemake`` for the real-SLURM tests, with one change: the SLURM executor's status checks come at
most ``CAP_S`` seconds apart.

The executor plugin waits ``--slurm-init-seconds-before-status-checks`` after a check that saw a job
finish and 10 s longer after each check that saw none (up to 180 s), with no setting for that step. On a
cluster of minutes-long jobs that is right; for the tiny pipeline's jobs of a few seconds it adds 10 to
30 s to each. Only the waiting between checks changes here: submission, the status query (``squeue``),
the failure handling, retries and cancellation are the plugin's own.

    python tools/slurm_snakemake.py <snakemake arguments>
"""

from __future__ import annotations

import sys

from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor

CAP_S = 2

_interval = RemoteExecutor.next_seconds_between_status_checks
RemoteExecutor.next_seconds_between_status_checks = property(
    _interval.fget, lambda self, seconds: _interval.fset(self, min(seconds, CAP_S))
)

if __name__ == "__main__":
    from snakemake.cli import main

    sys.exit(main())
