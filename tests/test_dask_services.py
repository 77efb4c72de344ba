"""Dask reductions against separately started services, as on a cluster: one ``dask scheduler`` and two
``dask worker`` processes started with Dask's command line (no nanny: a killed worker stays dead), the
alignment reduction sent to them by address, one worker killed with SIGKILL while the reduction runs.
The result must equal the local threads scheduler's, bit for bit. An address where no scheduler listens
fails the ``compute_alignment`` job with one line (tests/test_bad_input.py has that row)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from manifold_xai.evaluation.alignment import alignment_dataset
from manifold_xai.store import atomic_path, create_store, write_array
from manifold_xai.tangent.basis_store import write_basis_store

DASK = Path(sys.executable).with_name("dask")  # the CLI of the project's environment
N, K, SIDE = 1200, 16, 32  # 300 chunks of 4 samples: the reduction outlasts the kill by far


@pytest.fixture
def services(tmp_path):
    """``(address, {worker name: pid})`` of a scheduler and workers ``w0``, ``w1`` (one thread each)
    started as separate processes on 127.0.0.1; all stopped afterwards."""
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    procs = []

    def start(*args: str, name: str) -> int:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115
        procs.append(
            subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        )
        return procs[-1].pid

    start(
        "scheduler",
        "--host=127.0.0.1",
        "--port=0",
        "--no-dashboard",
        f"--scheduler-file={scheduler_file}",
        name="scheduler",
    )
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        pids = {}
        for name in ("w0", "w1"):
            pids[name] = start(
                "worker",
                address,
                "--host=127.0.0.1",
                "--nthreads=1",
                "--no-nanny",
                "--no-dashboard",
                f"--name={name}",
                f"--local-directory={tmp_path / name}",
                name=name,
            )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, pids
    finally:
        for proc in reversed(procs):  # workers first, then the scheduler
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _stores(tmp_path):
    """A tangent store of ``N`` random orthonormal ``K``-frames in ``SIDE²`` pixels, chunks of 4 samples,
    and an attribution store of two methods chunked the same way."""
    d = SIDE * SIDE
    rng = np.random.default_rng(0)
    frames = np.linalg.qr(rng.standard_normal((N, d, K)))[0].transpose(0, 2, 1)
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    write_basis_store(
        tmp_path / "tangent.zarr",
        lambda a, b: (frames[a:b], np.ones((b - a, K)), np.full(b - a, K)),
        n=N,
        k=K,
        d=d,
        sample_index=np.arange(N),
        attrs={"image_shape": [1, SIDE, SIDE]},
        batch=4,
        chunk_mb=4 * K * d * 4 / 2**20,
    )
    with atomic_path(tmp_path / "attr.zarr") as tmp:
        group = create_store(tmp, {"methods": ["gradient", "smoothgrad"]})
        write_array(
            group,
            "attribution",
            rng.standard_normal((2, N, 1, SIDE, SIDE)).astype(np.float32),
            ("method_name", "sample", "channel", "y", "x"),
            chunks=(2, 4, 1, SIDE, SIDE),
        )
        write_array(group, "predicted", rng.integers(0, 10, N), ("sample",))
    return tmp_path / "tangent.zarr", tmp_path / "attr.zarr", np.arange(N) % 10


def test_a_worker_killed_during_the_alignment_reduction_leaves_the_result_unchanged(
    services, tmp_path
):
    from distributed import Client

    address, pids = services
    tangent, attributions, labels = _stores(tmp_path)
    local = alignment_dataset(tangent, attributions, labels=labels, seed=3, threads=2)

    outcome: dict = {}

    def reduce() -> None:
        try:
            outcome["dataset"] = alignment_dataset(
                tangent,
                attributions,
                labels=labels,
                seed=3,
                dask={"address": address, "timeout": "30s"},
            )
        except Exception as e:  # reported below
            outcome["error"] = e
        outcome["finished"] = time.monotonic()

    with Client(address, timeout="30s") as monitor:
        victim = next(
            a for a, w in monitor.scheduler_info()["workers"].items() if w["name"] == "w0"
        )
        reduction = threading.Thread(target=reduce)
        reduction.start()
        # kill w0 once it holds finished pieces of the reduction (they are lost with it)
        deadline = time.monotonic() + 120
        held: list = []
        while not held and time.monotonic() < deadline and reduction.is_alive():
            held = list(monitor.has_what().get(victim, ()))
            time.sleep(0.01)
        killed = time.monotonic()
        os.kill(pids["w0"], signal.SIGKILL)
        reduction.join(timeout=600)
        survivors = [w["name"] for w in monitor.scheduler_info()["workers"].values()]

    assert held, "w0 never held a piece of the reduction"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["finished"] > killed, "the reduction ended before the kill"
    assert survivors == ["w1"]
    for name in ("fraction", "random_fraction", "rank", "predicted", "label"):
        np.testing.assert_array_equal(outcome["dataset"][name].values, local[name].values)
    assert outcome["dataset"].attrs == local.attrs


def test_an_address_where_no_scheduler_listens_fails_with_one_line():
    from manifold_xai.runtime import dask_scheduler

    with pytest.raises(RuntimeError) as raised:
        with dask_scheduler(1, "tcp://127.0.0.1:9", timeout="1s"):
            pass
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 1s")
