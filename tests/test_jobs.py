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
