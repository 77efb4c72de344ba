"""Auditing: lineage, verify, stale code and provenance export on the tiny run; GPU and Dask placement."""

import subprocess
import sys

import numpy as np
import pytest

from manifold_xai.runtime import acquire_gpu, dask_scheduler


def test_each_job_takes_a_gpu_no_other_job_holds(tmp_path):
    from manifold_xai import runtime

    first, second = acquire_gpu(2, tmp_path), acquire_gpu(2, tmp_path)
    assert {first, second} == {0, 1}
    code = f"from manifold_xai.runtime import acquire_gpu; print(acquire_gpu(3, __import__('pathlib').Path({str(tmp_path)!r})))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert other.stdout.strip() == "2"  # another process gets the free one
    for handle in runtime._held_gpu_locks:  # the process ends: its GPUs are free again
        handle.close()
    runtime._held_gpu_locks.clear()
    assert acquire_gpu(2, tmp_path) == 0


def test_dask_reductions_run_on_a_distributed_scheduler_given_by_address():
    import dask.array as da
    from distributed import LocalCluster

    x = np.random.default_rng(0).random((40, 30))
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with dask_scheduler(1, cluster.scheduler_address):
            got = da.from_array(x, chunks=(10, 30)).mean(axis=0).compute()
    np.testing.assert_allclose(got, x.mean(axis=0))
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler"):
        with dask_scheduler(1, "tcp://127.0.0.1:1", timeout="1s"):
            pass
