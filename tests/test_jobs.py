"""The job seam: console tags and the warnings a job log keeps."""

import logging
import warnings

from manifold_xai import jobs


def test_job_logs_keep_warnings_that_matter_and_drop_known_noise(tmp_path, capsys):
    log = tmp_path / "job.log"
    jobs._configure_logging([str(log)], jobs.job_tag("train_classifier", {"dataset": "digits"}))
    try:
        warnings.warn_explicit(
            "Object at .snakemake_timestamp is not recognized as a component of a Zarr hierarchy.",
            UserWarning,
            "zarr/core/group.py",
            1,
            module="zarr.core.group",
        )
        warnings.warn_explicit(
            "`torch.jit.script` is deprecated.",
            FutureWarning,
            "torch/jit/_script.py",
            1,
            module="torch.jit._script",
        )
        warnings.warn_explicit(
            "`torch.jit.script` is deprecated.", FutureWarning, "mine.py", 1, module="mine"
        )
        warnings.warn_explicit("a real problem", RuntimeWarning, "x.py", 2, module="x")
        logging.getLogger("manifold_xai").info("hello")
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            handler.close()
            root.removeHandler(handler)
        logging.captureWarnings(False)
    text = log.read_text()
    assert "snakemake_timestamp" not in text and "a real problem" in text
    assert text.count("torch.jit.script") == 1 and "mine.py" in text  # only the user's own call
    assert "[train_classifier dataset=digits] INFO hello" in capsys.readouterr().err


def test_training_progress_is_rate_limited_and_estimates_the_time_left(caplog):
    from manifold_xai.training.progress import Progress

    now = [0.0]
    progress = Progress("classifier", epochs=2, batches=10, interval=15, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="manifold_xai"):
        for epoch in range(2):
            for batch in range(1, 11):
                now[0] += 4.0  # 4 s per step
                progress.step(epoch, batch)
    lines = [r.getMessage() for r in caplog.records]
    # one line per 15 s at most (4 s steps: every 4th step), none at an epoch's last batch
    assert lines[0] == "classifier epoch 1/2 batch 4/10, 0:00:16 spent, about 0:01:04 left"
    assert len(lines) == 4 and not any("batch 10/10" in line for line in lines)
    assert progress.summary() == ", 0:01:20 spent, about 0:00:00 left"


def test_seeding_sets_deterministic_kernels_without_loading_the_compiler():
    """``seed_everything`` asks for deterministic, warn-only kernels (what
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` sets) and repeats torch's draws, but
    does not import TorchInductor/TorchDynamo (2.5 s per job); a figure job's ``stage_seed`` imports no
    torch at all."""
    import subprocess
    import sys

    code = (
        "import sys, types\n"
        "from manifold_xai import jobs\n"
        "smk = types.SimpleNamespace(rule='r', input=[], output=[], params={}, log=[], threads=1,\n"
        "    scriptdir='scripts', wildcards={'dataset': 'digits', 'seed': '3'})\n"
        "job = jobs.Job(smk)\n"
        "s = job.stage_seed('fig2')\n"
        "assert 'torch' not in sys.modules and job.seeds == {'fig2': s}\n"
        "import torch\n"
        "assert job.seed('fig2') == s\n"
        "a = torch.rand(3)\n"
        "job.seed('fig2')\n"
        "assert torch.equal(a, torch.rand(3))\n"
        "assert torch.are_deterministic_algorithms_enabled()\n"
        "assert torch.is_deterministic_algorithms_warn_only_enabled()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('torch._inductor', 'torch._dynamo'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"
