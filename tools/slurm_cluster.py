"""A real single-node SLURM cluster for the tests: munged, slurmctld and slurmd started from Debian's
packages (installed by .ci/run) with a configuration of their own in a temporary directory, on free
ports, and stopped afterwards. Clients (sbatch, squeue, scontrol) reach it through ``SLURM_CONF``.

Settings are those of a site without an accounting database: ``AccountingStorageType=none``, so
``sacct`` answers nothing and job states come from ``squeue`` (``MinJobAge`` long, so finished jobs stay
listed); ``ProctrackType=proctrack/linuxproc`` and ``TaskPlugin=task/none`` (no cgroups needed). Two
partitions, ``cpu`` and ``gpu``, on the one node: the profile's partitions exist as written.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
# The SLURM executor's job step drops every SLURM_* variable but the job's identity before it calls
# srun inside the job, SLURM_CONF included, so srun there reads the system path: the test cluster's
# configuration is put there while it runs (never over a configuration it did not write).
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by manifold-xai's tools/slurm_cluster.py; removed when its cluster stops"


def missing() -> str | None:
    """Why no cluster can start here (None: it can)."""
    absent = [d for d in DAEMONS if shutil.which(d) is None]
    if absent:
        return (
            f"SLURM or munge is not installed (missing {', '.join(absent)}; .ci/run installs them)"
        )
    if os.geteuid() != 0:
        return "the test cluster runs its daemons as root"
    if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARK):
        return f"{SYSTEM_CONF} is this machine's own SLURM configuration; the test cluster keeps off it"
    return None


def _free_ports(n: int) -> list[int]:
    sockets = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 - 2048
    return 4000


@dataclass
class Cluster:
    root: Path
    node: str
    env: dict

    def run(self, *cmd: str, check: bool = True) -> str:
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=60)
        if check and out.returncode:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def jobs(self, states: str = "all") -> list[dict]:
        """Every job slurmctld still lists: id, name, state, partition, comment (the SLURM executor puts
        ``rule_<rule>_wildcards_<…>`` there)."""
        out = self.run("squeue", "-h", "-t", states, "-o", "%i|%j|%T|%P|%k")
        return [
            dict(zip(("id", "name", "state", "partition", "comment"), line.split("|"), strict=True))
            for line in out.splitlines()
            if line.strip()
        ]

    def wait_for(self, rule: str, state: str = "RUNNING", timeout: float = 300) -> dict:
        """The first job of ``rule`` in ``state``, waiting up to ``timeout`` seconds for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for job in self.jobs():
                if job["comment"].startswith(f"rule_{rule}") and job["state"] == state:
                    return job
            time.sleep(0.2)
        raise TimeoutError(f"no {rule} job reached {state} within {timeout} s: {self.jobs()}")

    def node_state(self) -> str:
        return self.run("sinfo", "-h", "-n", self.node, "-o", "%T").strip()

    def set_node(self, state: str, reason: str = "test") -> None:
        args = ["scontrol", "update", f"nodename={self.node}", f"state={state}"]
        self.run(*args, *([f"reason={reason}"] if state.lower() in ("down", "drain") else []))

    def resume_node(self, timeout: float = 60) -> None:
        """Bring the node back from DOWN (RESUME is refused while its killed jobs still complete)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.node_state()
            if state.startswith(("idle", "mix", "alloc")):
                return
            self.run("scontrol", "update", f"nodename={self.node}", "state=RESUME", check=False)
            time.sleep(0.5)
        raise TimeoutError(f"node {self.node} did not come back: {self.node_state()}")


def start(root: Path) -> Cluster:
    """Start munged, slurmctld and slurmd under ``root`` and wait until the node is idle."""
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool", "log", "munge"):
        (root / sub).mkdir(exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = root / "munge" / "munge.socket.2"
    subprocess.run(
        [
            "munged",
            "--force",
            f"--socket={sock}",
            f"--key-file={key}",
            f"--log-file={root / 'log' / 'munged.log'}",
            f"--pid-file={root / 'munge' / 'munged.pid'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    node = socket.gethostname().split(".")[0]
    ctld_port, slurmd_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                MARK,
                "ClusterName=manifoldxai",
                f"SlurmctldHost={node}(127.0.0.1)",
                f"SlurmctldPort={ctld_port}",
                f"SlurmdPort={slurmd_port}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                f"AuthInfo=socket={sock}",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SchedulerType=sched/backfill",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core_Memory",
                "ReturnToService=2",
                # a job on a node that goes DOWN fails (NODE_FAIL) and Snakemake's retries take over;
                # Slurm's default (1) requeues it instead, to start again after a delay of ~2 minutes
                "JobRequeue=0",
                "MinJobAge=86400",
                "MpiDefault=none",
                "JobAcctGatherType=jobacct_gather/none",
                "AccountingStorageType=accounting_storage/none",
                "SchedulerParameters=sched_interval=1",
                f"NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} "
                f"RealMemory={_memory_mb()} State=UNKNOWN",
                f"PartitionName=cpu Nodes={node} Default=YES MaxTime=INFINITE State=UP",
                f"PartitionName=gpu Nodes={node} MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(conf, SYSTEM_CONF)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    for daemon in ("slurmctld", "slurmd"):
        subprocess.run([daemon, "-f", str(conf)], env=env, check=True, timeout=60)
    cluster = Cluster(root, node, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = cluster.run("sinfo", "-h", "-o", "%T", check=False).strip()
        if state.startswith("idle"):
            return cluster
        time.sleep(0.5)
    stop(cluster)
    log = (root / "log" / "slurmctld.log").read_text()[-2000:]
    raise RuntimeError(f"the test SLURM cluster did not come up (sinfo: {state!r}); {log}")


def stop(cluster: Cluster) -> None:
    """Shut the daemons down (running jobs are killed) and stop munged."""
    cluster.run("scontrol", "shutdown", check=False)
    for pid_file in (cluster.root / "slurmd.pid", cluster.root / "slurmctld.pid"):
        _wait_gone(pid_file)
    subprocess.run(
        ["munged", "--stop", f"--socket={cluster.root / 'munge' / 'munge.socket.2'}"],
        capture_output=True,
        timeout=30,
    )
    if SYSTEM_CONF.exists() and SYSTEM_CONF.read_text().startswith(MARK):
        SYSTEM_CONF.unlink()


def _wait_gone(pid_file: Path, timeout: float = 30) -> None:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, 9)
