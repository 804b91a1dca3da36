"""The domain core stays independent of the web framework."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import foncier

PACKAGE = Path(foncier.__file__).parent
# The web adapter and the command line are the edges; everything else is the core.
EDGES = {"web", "cli"}
WEB_MODULES = ("flask", "flask_wtf", "werkzeug", "wtforms", "jinja2")


def core_files() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).with_suffix("").parts[0] not in EDGES
    ]


def module_name(path: Path) -> str:
    parts = [part for part in path.relative_to(PACKAGE).with_suffix("").parts if part != "__init__"]
    return ".".join(["foncier", *parts])


def imported_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_core_module_names_the_web_stack():
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in core_files()
        for name in imported_names(path)
        if name.split(".")[0] in WEB_MODULES
    ]
    assert offenders == []


def test_importing_the_whole_core_loads_no_web_module():
    """Catches indirect imports too (a core module importing a helper that imports Flask)."""
    modules = [module_name(path) for path in core_files()]
    assert "foncier.territory" in modules and "foncier.models.inventory" in modules
    script = "import importlib, sys\n"
    script += "".join(f"importlib.import_module({name!r})\n" for name in modules)
    script += f"sys.exit(any(name in sys.modules for name in {WEB_MODULES!r}))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "a core module loaded the web stack"
