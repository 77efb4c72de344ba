"""Static checks of the workflow: Snakemake's linter (every rule has a conda env) and the params-only
config rule."""

import re
import subprocess
import sys

from conftest import REPO


def test_snakemake_lint_reports_nothing_else():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--configfile", "configs/tiny.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lints = set(re.findall(r"^\s+\* (.+?):\s*$", result.stdout + result.stderr, flags=re.M))
    assert not lints, lints
    assert result.returncode == 0, (result.stdout + result.stderr)[
        -3000:
    ]  # a crashing linter is no pass


def test_rule_scripts_never_read_config():
    offenders = [
        p.name
        for p in (REPO / "scripts").glob("*.py")
        if re.search(r"snakemake\.config\b", p.read_text())
    ]
    assert offenders == []


def test_conda_environment_pins_match_the_lock_file():
    import tomllib

    import yaml

    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {}
    for pkg in lock["package"]:
        locked.setdefault(pkg["name"], set()).add(pkg["version"])
    env = yaml.safe_load((REPO / "envs" / "pipeline.yaml").read_text())
    pins = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    for pin in pins:
        name, version = pin.split("==")
        assert version in locked.get(name, set()), (
            f"envs/pipeline.yaml pins {pin}, uv.lock has {locked.get(name)}"
        )
