"""``manifold-xai``: audit results from their provenance sidecars.

manifold-xai lineage PATH [--json]         the tree from an artifact back to the raw data
manifold-xai verify [PATH ...]             recompute digests, check inputs and code (exit 1 on findings)
manifold-xai stale [PATH ...] [--rules]    artifacts built with library code changed since, or whose
    [--configfile F ...] [--config K=V ...]  recorded params differ from what the current config gives
manifold-xai export-provenance [RESULTS]   W3C PROV-JSON + Workflow Run RO-Crate
manifold-xai explorer [--configfile F ...]  the explorer page from whatever stores exist now (a run in
    [--out results/explorer-partial]        progress, or one whose datasets failed), listing the rest
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from manifold_xai.provenance import audit, export


def _lineage(args) -> int:
    tree = audit.lineage(args.path)
    if args.json:
        print(json.dumps(tree, indent=2, sort_keys=True))
    else:
        print("\n".join(audit.render_lineage(tree)))
    return 0


def _verify(args) -> int:
    checked, findings = audit.verify(
        args.paths, code_root=args.code_root, check_code=not args.ignore_code
    )
    for finding in findings:
        print(finding)
    bad = sorted({f.artifact for f in findings})
    if bad:
        print(
            f"verify: {len(bad)} of {checked} artifacts failed: {', '.join(bad)}", file=sys.stderr
        )
        return 1
    print(
        f"verify: {checked} artifacts OK (content digests, input digests"
        f"{'' if args.ignore_code else ', library code'})"
    )
    return 0


def _stale(args) -> int:
    found = audit.stale(args.paths, code_root=args.code_root)
    if not args.no_params:
        found += _params_drift(args)
    if args.rules:  # for `snakemake --forcerun $(manifold-xai stale --rules)`: names only
        print(" ".join(sorted({rule for _, rule, _ in found})))
    elif not found:
        checks = "library code" if args.no_params else "library code and params"
        print(f"stale: nothing is stale in {', '.join(map(str, args.paths))} ({checks} checked)")
    else:
        for artifact, rule, why in found:
            print(f"{artifact} (rule {rule}): {'; '.join(why)}")
    return 0


def _params_drift(args) -> list:
    from snakemake.cli import parse_config

    from manifold_xai.provenance.params_drift import WorkflowParams, drift

    snakefile = args.snakefile or audit.default_code_root() / "Snakefile"
    workflow = WorkflowParams(
        snakefile, Path.cwd(), configfiles=args.configfile, config=parse_config(args.config)
    )
    try:
        return drift(args.paths, workflow)
    finally:
        workflow.close()


def _export(args) -> int:
    for path in export.export(args.results, args.out):
        print(f"wrote {path}")
    return 0


def _explorer(args) -> int:
    import yaml

    from manifold_xai.config import merge_configs
    from manifold_xai.explorer import build_explorer
    from manifold_xai.plan.runs import RunPlan, validated_config
    from manifold_xai.plan.targets import explorer_runs

    root = audit.default_code_root()
    given = merge_configs([yaml.safe_load(Path(f).read_text()) or {} for f in args.configfile])
    config = validated_config(
        given, root / "config.yaml", root / "workflow" / "schemas" / "config.schema.yaml"
    )
    metrics = build_explorer(
        args.out / "index.html",
        args.out / "data",
        explorer_runs(RunPlan(config)),
        title=(config.get("explorer") or {}).get("title", "manifold-xai explorer"),
    )
    for entry in metrics["missing"]:
        print(f"missing: {entry['what']}: {entry['path']}: {entry['why']}")
    print(
        f"wrote {args.out / 'index.html'}: {metrics['runs']} runs, {metrics['images']} images, "
        f"{len(metrics['missing'])} stores missing"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="manifold-xai", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"manifold-xai {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    lineage = sub.add_parser("lineage", help="provenance tree of one artifact")
    lineage.add_argument("path")
    lineage.add_argument("--json", action="store_true", help="machine-readable nested JSON")
    lineage.set_defaults(run=_lineage)
    for name, run, help_ in (
        ("verify", _verify, "check digests, inputs and code; exit 1 on any finding"),
        ("stale", _stale, "artifacts built with library code that changed since"),
    ):
        cmd = sub.add_parser(name, help=help_)
        cmd.add_argument(
            "paths", nargs="*", default=["results"], help="artifacts or results folders"
        )
        cmd.add_argument(
            "--code-root",
            type=Path,
            default=None,
            help="source tree to compare with (default: this package's)",
        )
        cmd.set_defaults(run=run)
        if name == "verify":
            cmd.add_argument(
                "--ignore-code", action="store_true", help="check content and input digests only"
            )
        else:
            cmd.add_argument(
                "--rules",
                action="store_true",
                help="print the rule names (for snakemake --forcerun)",
            )
            cmd.add_argument(
                "--configfile",
                nargs="+",
                type=Path,
                default=[],
                help="the config files the next run would get (as snakemake --configfile)",
            )
            cmd.add_argument(
                "--config",
                nargs="+",
                default=[],
                metavar="KEY=VALUE",
                help="the --config values the next run would get",
            )
            cmd.add_argument(
                "--snakefile", type=Path, default=None, help="default: the repository's Snakefile"
            )
            cmd.add_argument(
                "--no-params",
                action="store_true",
                help="only library code changes, not params drift (no Snakefile needed)",
            )
    exp = sub.add_parser("export-provenance", help="W3C PROV-JSON and a Workflow Run RO-Crate")
    exp.add_argument("results", nargs="?", default="results")
    exp.add_argument(
        "--out", type=Path, default=None, help="folder for the two files (default: the crate root)"
    )
    exp.set_defaults(run=_export)
    explorer = sub.add_parser(
        "explorer", help="the explorer page from whatever stores exist now, listing the rest"
    )
    explorer.add_argument(
        "--configfile", nargs="+", default=[], help="the run's config files (as snakemake's)"
    )
    explorer.add_argument("--out", type=Path, default=Path("results/explorer-partial"))
    explorer.set_defaults(run=_explorer)
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("manifold-xai")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except (FileNotFoundError, ValueError) as e:  # ConfigError is a ValueError
        print(f"manifold-xai {args.command}: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
