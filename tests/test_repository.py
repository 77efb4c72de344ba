"""The repository stands alone: no reference to a file outside it, no import cycle, no formatter
escapes; the Snakefile and the jobs that run no model never import torch."""

import ast
import re
import subprocess
import sys

from conftest import REPO

PACKAGE = REPO / "src" / "manifold_xai"
DOCUMENTED = ["src", "scripts", "workflow", "docs", "configs", "examples", "benchmarks", "tools"]
OUTSIDE = re.compile(r"PAPER\.md|DESIGN\.md|REF-[A-Za-z-]*\.md|\.\./shared")


def _files(*suffixes):
    files = [REPO / "README.md", REPO / "Snakefile", REPO / "config.yaml"]
    for folder in DOCUMENTED:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix in suffixes]
    return files


def test_no_file_references_a_file_outside_the_repository():
    found = [
        f"{p.relative_to(REPO)}: {m.group(0)}"
        for p in _files(".py", ".smk", ".md", ".yaml", ".rst", ".html", ".sh")
        for m in OUTSIDE.finditer(p.read_text(errors="replace"))
    ]
    assert not found, found


def test_docs_links_point_to_files_that_exist():
    missing = []
    for page in [REPO / "README.md", *(REPO / "docs").rglob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                missing.append(f"{page.relative_to(REPO)} -> {target}")
    assert not missing, missing


def test_no_formatter_escapes():
    marker = "fmt: " + "skip"  # spelled apart, so that this file does not flag itself
    files = _files(".py", ".smk") + list((REPO / "tests").rglob("*.py"))
    flagged = [str(p.relative_to(REPO)) for p in files if marker in p.read_text()]
    assert not flagged, flagged


def _module_name(path):
    parts = path.relative_to(REPO / "src").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of this package it imports}`` from every import statement (also those inside
    functions)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def cycles(graph) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_library_has_no_import_cycle():
    graph = import_graph()
    # A package's __init__ re-exporting its modules is not a cycle of the modules themselves.
    graph = {m: {t for t in e if not m.startswith(t + ".")} for m, e in graph.items()}
    assert not cycles(graph), cycles(graph)


def test_the_license_file_matches_the_package_metadata():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["license"] == {"text": "MIT"}
    assert (REPO / "LICENSE").read_text().startswith("MIT License\n")


# A `torch` that cannot be imported: put first on the path, it makes any import of torch fail.
NO_TORCH = "raise ImportError('torch was imported')\n"
# Rule scripts that run no model: figures, tables, the alignment reduction (2 s of imports instead of 4)
TORCH_FREE_SCRIPTS = sorted(
    {p.stem for p in (REPO / "scripts").glob("plot_*.py")} - {"plot_fig13"}
    | {p.stem for p in (REPO / "scripts").glob("summarize_*.py")}
    | {
        "analyze_study",
        "build_explorer",
        "compare_tangent_sources",
        "compute_alignment",
        "study_stimuli",
    }
)


def _without_torch(tmp_path) -> dict:
    (tmp_path / "no_torch").mkdir(exist_ok=True)
    (tmp_path / "no_torch" / "torch.py").write_text(NO_TORCH)
    return {"PYTHONPATH": f"{tmp_path / 'no_torch'}:{REPO / 'src'}", "PATH": "/usr/bin:/bin"}


def test_a_dry_run_checks_the_config_without_importing_torch(tmp_path):
    """Every Snakemake invocation (dry runs, each cluster job) parses the Snakefile and checks the
    config, Captum classes and own functions included (configs/tiny.yaml names both): without torch."""
    from conftest import with_examples

    with_examples(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n"]
        + ["--directory", str(tmp_path), "--configfile", str(REPO / "configs" / "tiny.yaml")],
        capture_output=True,
        text=True,
        env=_without_torch(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "compute_attributions" in result.stdout


def test_figure_and_summary_scripts_import_no_torch(tmp_path):
    """The modules each such script imports (at its top or inside its functions) load without torch
    (its models' code is imported only by the functions that run them)."""
    code = (
        "import ast, importlib, sys\n"
        "for path in sys.argv[1:]:\n"
        "    for node in ast.walk(ast.parse(open(path).read())):\n"
        "        if isinstance(node, ast.Import):\n"
        "            [importlib.import_module(a.name) for a in node.names]\n"
        "        elif isinstance(node, ast.ImportFrom):\n"
        "            importlib.import_module(node.module)\n"
    )
    scripts = [str(REPO / "scripts" / f"{name}.py") for name in TORCH_FREE_SCRIPTS]
    assert len(scripts) > 20
    result = subprocess.run(
        [sys.executable, "-c", code, *scripts],
        capture_output=True,
        text=True,
        env=_without_torch(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_a_jobs_interpreter_imports_only_the_standard_library_before_it_hands_over(tmp_path):
    """A rule script's top level imports the standard library and ``manifold_xai.jobs`` only, and that
    module loads neither NumPy nor Zarr: a job handed to the warm worker (manifold_xai.worker) starts
    without paying for them twice. Everything else is imported inside the script's functions."""
    stdlib = set(sys.stdlib_module_names)
    heavy = []
    for path in sorted((REPO / "scripts").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module not in (
                "manifold_xai.jobs",
                "__future__",
            ):
                names = [node.module]
            else:
                continue
            heavy += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in stdlib]
    assert not heavy, heavy
    # ... and with the rest moved into functions, each script still defines itself: its top level runs
    # (annotations and defaults included) with run_job as a no-op
    defines = (
        "import sys, manifold_xai.jobs as jobs\n"
        "jobs.run_job = lambda smk, main: None\n"
        "for path in sys.argv[1:]:\n"
        "    source = 'import sys\\n' + open(path).read()  # after a preamble, as Snakemake runs it\n"
        "    exec(compile(source, path, 'exec'), {'__name__': '__main__', 'snakemake': None})\n"
    )
    scripts = sorted(str(p) for p in (REPO / "scripts").glob("*.py"))
    ran = subprocess.run([sys.executable, "-c", defines, *scripts], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, manifold_xai.jobs; "
            "print(sorted(m for m in ('numpy', 'zarr', 'torch', 'xarray', 'pandas') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"
