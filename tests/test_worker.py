"""The warm worker (manifold_xai.worker): a job's interpreter hands its script over and gets its exit
status back; signals reach the child; a vanished client's child is terminated; the worker ends with its
owner; without a worker the job runs where it is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from manifold_xai import worker

pytestmark = pytest.mark.skipif(not worker.supported(), reason="the warm worker needs Linux")

CLIENT = textwrap.dedent(
    """
    import os, sys
    from manifold_xai import worker
    print(f"client {os.getpid()}", flush=True)
    code = worker.hand_over(sys.argv[1:], worker.process_start_time())
    print(f"handed {code}", flush=True)
    sys.exit(99 if code is None else code)
    """
)


@pytest.fixture()
def warm(tmp_path):
    """A worker owned by this test process, preloading one light module; its socket path."""
    path = worker.start(os.getpid(), ["json"], tmp_path / "worker.log")
    assert path and worker.wait_ready(path)
    yield path
    worker.stop(path)
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(path), "the worker did not stop"


def client(tmp_path, script: str, socket: str | None, env_extra=None) -> subprocess.Popen:
    (tmp_path / "client.py").write_text(CLIENT)
    (tmp_path / "job.py").write_text(textwrap.dedent(script))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANIFOLD_XAI_WORKER")}
    if socket:
        env[worker.ENV_SOCKET] = socket
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "client.py"), str(tmp_path / "job.py"), "an-arg"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


JOB = """
    import os, sys
    print(f"child {os.getpid()} parent {os.getppid()} cwd {os.getcwd()} argv {sys.argv[1]}")
    print(f"in child: {os.environ.get('MANIFOLD_XAI_WORKER_CHILD')}", file=sys.stderr)
    open("written.txt", "w").write("by the child")
    sys.exit(3)
"""


def test_the_child_runs_the_script_in_the_clients_place(warm, tmp_path):
    proc = client(tmp_path, JOB, warm)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    client_pid = int(out.split("client ")[1].split()[0])
    child = out.split("child ")[1].split()
    assert int(child[0]) != client_pid  # another process ran it ...
    assert int(child[2]) != client_pid  # ... forked by the worker, not by the client
    assert f"cwd {tmp_path}" in out and "argv an-arg" in out  # the client's directory and argv
    assert "in child: 1" in err  # its stderr is the client's
    assert (tmp_path / "written.txt").read_text() == "by the child"
    assert "handed 3" in out


def test_an_uncaught_exception_is_a_failure_with_its_traceback(warm, tmp_path):
    proc = client(tmp_path, "raise ValueError('the job broke')\n", warm)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "ValueError: the job broke" in err


def test_a_signal_to_the_client_reaches_the_child(warm, tmp_path):
    proc = client(tmp_path, "import time; print('started', flush=True); time.sleep(60)\n", warm)
    assert proc.stdout.readline().startswith("client")
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert proc.returncode == 128 + signal.SIGTERM


def test_a_killed_clients_child_is_terminated(warm, tmp_path):
    job = "import os, time; print(os.getpid(), flush=True); time.sleep(60)\n"
    proc = client(tmp_path, job, warm)
    proc.stdout.readline()
    child = int(proc.stdout.readline())
    proc.kill()  # SIGKILL: the client cannot forward anything
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child), "the child of a killed client kept running"


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_without_a_worker_the_job_runs_where_it_is(tmp_path):
    proc = client(tmp_path, JOB, str(tmp_path / "no-such.sock"))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 99 and "handed None" in out


def test_the_worker_ends_with_its_owner(tmp_path):
    owner = textwrap.dedent(
        f"""
        import os
        from manifold_xai import worker
        path = worker.start(os.getpid(), [], {str(tmp_path / "w.log")!r})
        print(path if worker.wait_ready(path) else "never ready", flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", owner], capture_output=True, text=True, timeout=60, check=True
    )
    path = out.stdout.strip()
    assert path.endswith(".sock")
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(path), "the worker outlived the process that started it"


def test_process_start_time_is_this_processes_start():
    started = worker.process_start_time()
    assert started is not None and 0 < time.time() - started < 3600
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; from manifold_xai import worker; "
            "print(time.time() - worker.process_start_time())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert 0 <= float(probe.stdout) < 5  # a fresh interpreter's age, not the machine's uptime


def test_the_childs_blas_threads_are_the_jobs_not_the_workers(tmp_path):
    """NumPy's BLAS, loaded by the worker with the run's environment, is sized in the child as the job's
    environment says (Snakemake gives a 1-thread job OPENBLAS_NUM_THREADS=1), as a new interpreter is."""
    path = worker.start(os.getpid(), ["numpy"], tmp_path / "worker.log")
    try:
        assert worker.wait_ready(path)
        job = (
            "from threadpoolctl import threadpool_info\n"
            "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))\n"
        )
        proc = client(tmp_path, job, path, env_extra={"OPENBLAS_NUM_THREADS": "1"})
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "[1]" in out
    finally:
        worker.stop(path)
