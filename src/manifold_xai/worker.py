"""A warm worker: one long-lived process that imports the heavy libraries once and forks a child per job.

A job of a local run is a new interpreter that would import torch, captum, dask, xarray and zarr before
its first line of work: 2-5 s per job, a tenth of a default run's core time. With the worker, the job's
own interpreter (the *client*, started by the scheduler as before) hands itself over: it sends the path
of the script it is running, its argv, working directory, environment and its stdin, stdout and stderr
(as file descriptors) over a Unix socket; the worker forks, and the child runs the same script in the
client's place with the libraries already imported. The client waits, forwards the signals it receives
to the child, and exits with the child's exit status; a client that disappears gets its child
terminated. The child is a fresh fork of a process that never ran a model, so it computes exactly what a
new interpreter would (same code, same seeds, its own thread pool).

Where the worker cannot be used (not Linux, no worker running, its socket gone), ``hand_over`` returns
None and the job runs in its own interpreter as before. The worker exits when the process that started
it does (it polls its parent once a second) or on SIGTERM.

    python -m manifold_xai.worker SOCKET PARENT_PID MODULE [MODULE ...]
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ENV_SOCKET = "MANIFOLD_XAI_WORKER"  # the socket of the worker a job may hand itself over to
ENV_CHILD = "MANIFOLD_XAI_WORKER_CHILD"  # set in a worker's child: run here, hand nothing over
ENV_PROCESS_STARTED = "MANIFOLD_XAI_PROCESS_STARTED"  # the client's start, seconds since 1970
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
_HEADER = struct.Struct("!Q")  # the request's length, sent with the three file descriptors


def supported() -> bool:
    """Forking a warm process and waiting on its children by pidfd: Linux only."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def socket_path(owner_pid: int) -> str:
    """A short path (Unix sockets allow about 100 bytes) private to the run of process ``owner_pid``."""
    return os.path.join(tempfile.gettempdir(), f"mxai-worker-{os.getuid()}-{owner_pid}.sock")


# ---------------------------------------------------------------------------------------------- client


def process_start_time(pid: int | str = "self") -> float | None:
    """When process ``pid`` started, in seconds since 1970 (10 ms resolution; Linux ``/proc``, else None).

    Read as now minus the process's age (``/proc/uptime`` less the start tick in ``/proc/PID/stat``), so
    the result is as precise as the kernel's clock ticks rather than the whole second of the boot time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, after the parenthesised name
    return time.time() - (uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


def hand_over(argv: list[str], process_started: float | None) -> int | None:
    """Run the script ``argv[0]`` in the warm worker in this process's place and return its exit
    status; None where no worker is reachable (then the caller runs the job itself)."""
    path = os.environ.get(ENV_SOCKET)
    if not path or os.environ.get(ENV_CHILD) or not supported():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    env = dict(os.environ)
    if process_started is not None:
        env[ENV_PROCESS_STARTED] = repr(process_started)
    body = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": env}).encode()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with sock:
        socket.send_fds(sock, [_HEADER.pack(len(body))], [0, 1, 2])
        sock.sendall(body)
        replies = sock.makefile("r")
        first = replies.readline()
        if not first:
            return None  # the worker closed before forking: run here
        child = json.loads(first)["pid"]
        for sig in FORWARDED_SIGNALS:
            signal.signal(sig, lambda s, _f: _kill(child, s))
        last = replies.readline()
    if not last:
        sys.stderr.write(
            f"manifold-xai error: the warm worker at {path} went away during the job\n"
        )
        return 1
    return int(json.loads(last)["exit"])


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# ---------------------------------------------------------------------------------------------- server


def start(owner_pid: int, preload: list[str], log_file: str | os.PathLike) -> str | None:
    """Start a worker for the run of process ``owner_pid`` that imports ``preload`` first; return the
    socket path it will listen on (None off Linux). It does not wait: the socket appears once the
    imports are done, and the jobs that start before then run in their own interpreters, so the
    worker's start-up overlaps the first jobs instead of delaying them."""
    if not supported():
        return None
    path = socket_path(owner_pid)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket of an earlier process with this pid
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "w") as log:
        subprocess.Popen(
            [sys.executable, "-m", "manifold_xai.worker", path, str(owner_pid), *preload],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # a Ctrl-C to the run reaches the jobs, and the worker by its parent
        )
    return path


def wait_ready(path: str, timeout: float = 60) -> bool:
    """Whether the worker at ``path`` accepts jobs within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(path: str | None) -> None:
    """Ask the worker at ``path`` to finish (its running children are terminated)."""
    if not path:
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        socket.send_fds(sock, [_HEADER.pack(0)], [])


class Worker:
    """The serving loop: single-threaded (children are forked from a process with no other threads),
    one selector over the listening socket, each client's connection and each child's pidfd."""

    def __init__(self, path: str, parent: int):
        self.path, self.parent = path, parent
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self.listener.bind(path + ".tmp")
        self.listener.listen(64)
        os.replace(path + ".tmp", path)  # the path appears only once it accepts connections
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, ("accept", None))
        self.children: dict[
            int, tuple[socket.socket, int]
        ] = {}  # pid -> (client connection, pidfd)
        self.running = True

    def serve(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "running", False))
        while self.running:
            for key, _ in self.selector.select(timeout=1.0):
                kind, pid = key.data
                if kind == "accept":
                    self._accept()
                elif kind == "exit":
                    self._reap(pid)
                else:  # the client's connection: readable only when it went away
                    _kill(pid, signal.SIGTERM)
                    self.selector.unregister(key.fileobj)
            if os.getppid() != self.parent:
                self.running = False
        for pid in list(self.children):
            _kill(pid, signal.SIGTERM)
        self.listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        try:
            header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
            (size,) = _HEADER.unpack(header)
            if size == 0:  # stop()
                self.running = False
                conn.close()
                return
            body = b""
            while len(body) < size:
                part = conn.recv(size - len(body))
                if not part:
                    raise ConnectionError("request cut short")
                body += part
            request = json.loads(body)
        except (OSError, ValueError, struct.error):
            logging.exception("bad request")
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child(request, fds, conn)  # never returns
        for fd in fds:
            os.close(fd)
        conn.settimeout(None)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = (conn, pidfd)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        self.selector.register(conn, selectors.EVENT_READ, ("client", pid))
        self.selector.register(pidfd, selectors.EVENT_READ, ("exit", pid))

    def _reap(self, pid: int) -> None:
        _, status, _ = os.wait4(pid, 0)
        conn, pidfd = self.children.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": code if code >= 0 else 128 - code}).encode() + b"\n")
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        conn.close()

    def _child(self, request: dict, fds: list[int], conn: socket.socket) -> None:
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            self.listener.close()
            for other, pidfd in self.children.values():
                other.close()
                os.close(pidfd)
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            os.environ[ENV_CHILD] = "1"
            _limits = _thread_limits()  # held until the child exits
            sys.argv = list(request["argv"])
            code = _run_script(sys.argv[0])
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
                logging.shutdown()
            os._exit(code)


def _thread_limits():
    """The thread pools the worker's libraries opened at import (BLAS, OpenMP) sized as the job's own
    environment asks (Snakemake sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ... to the job's
    threads), as they would be in a new interpreter that read it at import."""
    from threadpoolctl import threadpool_limits

    limits = {
        api: int(os.environ[var])
        for api, var in (("blas", "OPENBLAS_NUM_THREADS"), ("openmp", "OMP_NUM_THREADS"))
        if os.environ.get(var, "").isdigit()
    }
    return threadpool_limits(limits=limits) if limits else None


def _run_script(path: str) -> int:
    """Run ``path`` as ``__main__``, the way ``python path`` would; its exit status."""
    import runpy

    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        sys.stderr.write(f"{e.code}\n")
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def main(argv: list[str]) -> None:
    path, parent, *preload = argv
    import importlib

    for module in preload:
        try:
            importlib.import_module(module)
        except ImportError as e:  # an optional library: its jobs import it themselves
            print(f"worker: not preloaded: {module}: {e}", flush=True)
    Worker(path, int(parent)).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
