"""Layering: computation packages never import streamlit; the CLI answers --help and --version."""

import subprocess
import sys
from pathlib import Path

import pytest

from glasswing import __version__

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["glasswing.ingest", "glasswing.explainers", "glasswing.audits",
                                     "glasswing.reports", "glasswing.cli"])
def test_computation_never_imports_streamlit(package):
    code = f"import sys, {package}; assert 'streamlit' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_version_and_help():
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"glasswing {__version__}"
    out = subprocess.run([sys.executable, "-m", "glasswing.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("serve", "audit", "reweigh", "mitigate", "explain", "report", "history", "errors"):
        assert command in out.stdout


def test_ruff_finds_nothing():
    """The style rules of pyproject.toml (pycodestyle, pyflakes, isort, bugbear, pyupgrade, numpydoc) hold."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]


def test_importing_audits_does_not_import_scikit_learn_or_torch():
    """``import glasswing.audits`` stays light for the CLI; mitigation imports scikit-learn when it runs."""
    code = ("import sys, glasswing.audits; "
            "heavy = [m for m in ('sklearn', 'torch', 'fairlearn') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the import structure, read from the source (module-level imports only) --------------------------------
FOLDERS = {"glasswing.ingest": "ingest", "glasswing.audits": "audits", "glasswing.explainers": "explainers",
           "glasswing.reports": "reports", "glasswing.dashboard": "dashboard",
           "glasswing.sample_data": "sample_data", "glasswing": "glasswing"}


def _modules() -> dict[str, Path]:
    """Every module of the installed namespace, by dotted name, from the repository's folders."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if package == "glasswing" and len(parts) and parts[0] in {f for f in FOLDERS.values()}:
                continue
            found[name] = path
    return found


def _top_level_imports(path: Path, name: str, modules: dict) -> set[str]:
    """Glasswing modules imported at module level (not inside functions, not under TYPE_CHECKING)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        stmts = [node] if isinstance(node, ast.Import | ast.ImportFrom) else (
            [n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom)] if isinstance(node, ast.Try)
            else [])
        for stmt in stmts:
            if isinstance(stmt, ast.Import):
                out.update(a.name for a in stmt.names if a.name in modules)
                continue
            base = stmt.module or ""
            if stmt.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - stmt.level + 1]
                                + ([stmt.module] if stmt.module else []))
            for alias in stmt.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    out.add(sub)
                elif base in modules:
                    out.add(base)
    return out - {name}


def test_the_lower_layers_never_import_the_command_line_or_the_dashboard():
    """ingest, audits, explainers, reports and sample_data stand on glasswing's root modules only."""
    modules = _modules()
    lower = [m for m in modules if m.split(".")[1:2] and m.split(".")[1] in
             {"ingest", "audits", "explainers", "reports", "sample_data"}]
    assert len(lower) > 50
    for name in lower:
        for imported in _top_level_imports(modules[name], name, modules):
            assert not imported.startswith(("glasswing.cli", "glasswing.commands", "glasswing.dashboard",
                                            "glasswing._api")), (name, imported)
    # The ground: glasswing._errors and glasswing._paths import nothing of Glasswing.
    for ground in ("glasswing._errors", "glasswing._paths"):
        assert not _top_level_imports(modules[ground], ground, modules), ground


def test_no_import_circles_at_module_level():
    """No module reaches itself through module-level imports (a package counts as its __init__)."""
    modules = _modules()
    graph = {m: _top_level_imports(p, m, modules) for m, p in modules.items()}
    # A submodule's import first imports its parent packages, whose __init__ may import it back: that is
    # Python's normal package loading, not a circle, so edges from a package to its own submodules and from
    # a submodule to its own ancestors are left out.
    for m, deps in graph.items():
        graph[m] = {d for d in deps if not (d.startswith(m + ".") or m.startswith(d + "."))}
    state, circles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                circles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert len(graph) > 100
    assert not circles, circles[:5]
