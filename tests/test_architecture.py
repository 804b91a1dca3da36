"""The shape of the code, checked: the core never imports the web framework, and its feature
packages import one another in one direction only (docs/architecture.md gives the reasons).

The rules are data (``RULES``); ``violations`` reads every import of a tree, those inside
functions and under ``TYPE_CHECKING`` included, and lists what breaks a rule. A tree made
for the purpose shows that each kind of rule catches what it should.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import foncier

PACKAGE = Path(foncier.__file__).parent
# The web adapter and the command line are the edges; everything else is the core.
EDGES = {"web", "cli"}
WEB_MODULES = ("flask", "flask_wtf", "werkzeug", "wtforms", "jinja2")
# The only modules at the top of the package: everything else lives in a package.
TOP_MODULES = {"__init__.py", "cli.py"}
FEATURES = (
    "territory",
    "accounts",
    "messaging",
    "inventory",
    "matching",
    "prospects",
    "redirections",
    "agreements",
    "meetings",
)
CASES = ("prospects", "redirections", "agreements")


@dataclass(frozen=True)
class Rule:
    """Modules of ``packages`` (under foncier) never import any of ``forbidden``."""

    packages: tuple[str, ...]
    forbidden: tuple[str, ...]
    why: str


RULES = (
    Rule(
        packages=("core", "models", *FEATURES),
        forbidden=("foncier.web", "seed"),
        why="the core is used by the web, the CLI and the seed, never the other way",
    ),
    Rule(
        packages=("core", "models"),
        forbidden=tuple(f"foncier.{feature}" for feature in FEATURES),
        why="infrastructure and models sit below every feature",
    ),
    Rule(
        packages=("matching",),
        forbidden=tuple(f"foncier.{package}" for package in CASES),
        why="the engine scores plots; it knows nothing of company cases",
    ),
    Rule(
        packages=("inventory",),
        forbidden=tuple(f"foncier.{package}" for package in CASES),
        why="a case changes a plot through the inventory's operations, never the other way",
    ),
)


def python_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def core_files(root: Path = PACKAGE) -> list[Path]:
    return [
        path
        for path in python_files(root)
        if path.relative_to(root).with_suffix("").parts[0] not in EDGES
    ]


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = [part for part in path.relative_to(root).with_suffix("").parts if part != "__init__"]
    return ".".join([root.name, *parts])


def imported_modules(path: Path, root: Path) -> list[str]:
    """Every module the file imports; relative imports are resolved against the file's
    package, and ``from foncier import prospects`` counts as foncier.prospects."""
    own = module_name(path, root).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if "." in module:
                names.append(module)
            else:  # the names imported from a top package are its modules
                names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def violations(root: Path) -> list[str]:
    """What breaks a rule under ``root`` (a package laid out like foncier)."""
    found = []
    for path in python_files(root):
        relative = path.relative_to(root)
        if len(relative.parts) == 1 and relative.name not in TOP_MODULES:
            found.append(f"{relative}: a module at the top; put it in its feature's package")
            continue
        for rule in RULES:
            if relative.parts[0] not in rule.packages:
                continue
            for name in imported_modules(path, root):
                name = name.replace(f"{root.name}.", "foncier.", 1)
                if any(name == bad or name.startswith(f"{bad}.") for bad in rule.forbidden):
                    found.append(f"{relative} imports {name}: {rule.why}")
    return sorted(set(found))


def test_the_core_follows_every_rule():
    assert violations(PACKAGE) == []


def test_every_feature_named_in_the_rules_is_a_package():
    """A package renamed or removed would leave its rules checking nothing."""
    for package in ("core", "models", *FEATURES):
        assert (PACKAGE / package / "__init__.py").is_file(), package


@pytest.fixture
def rule_breaking_tree(tmp_path: Path) -> Path:
    """A package like foncier, with one module breaking each kind of rule."""
    root = tmp_path / "foncier"
    files = {
        "__init__.py": "",
        "cli.py": "from foncier.web import create_app\n",  # an edge: allowed
        "stray.py": "",
        "core/__init__.py": "",
        "core/db.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from foncier.inventory.cnig.issues import FileReport\n",
        "models/__init__.py": "from foncier import prospects\n",
        "matching/__init__.py": "",
        "matching/engine.py": "def f():\n    from ..agreements import ledger\n",
        "inventory/__init__.py": "",
        "inventory/queries.py": "from foncier.prospects.cases import STAGE_LABELS\n",
        "inventory/editing.py": "from foncier.core import db\nimport seed.demo\n",
        "prospects/__init__.py": "from foncier.inventory import queries\n",  # allowed
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_each_kind_of_rule_catches_its_violation(rule_breaking_tree: Path):
    found = violations(rule_breaking_tree)
    assert [line.split(":")[0] for line in found] == [
        "core/db.py imports foncier.inventory.cnig.issues",
        "inventory/editing.py imports seed.demo",
        "inventory/queries.py imports foncier.prospects.cases",
        "matching/engine.py imports foncier.agreements",
        "models/__init__.py imports foncier.prospects",
        "stray.py",
    ]


def test_no_core_module_names_the_web_stack():
    offenders = [
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in core_files()
        for name in imported_modules(path, PACKAGE)
        if name.split(".")[0] in WEB_MODULES
    ]
    assert offenders == []


def test_importing_the_whole_core_loads_no_web_module():
    """Catches indirect imports too (a core module importing a helper that imports Flask)."""
    modules = [module_name(path) for path in core_files()]
    assert "foncier.territory.datafrance" in modules and "foncier.models.inventory" in modules
    script = "import importlib, sys\n"
    script += "".join(f"importlib.import_module({name!r})\n" for name in modules)
    script += f"sys.exit(any(name in sys.modules for name in {WEB_MODULES!r}))\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "a core module loaded the web stack"


# --- the web asks the core --------------------------------------------------------------------


def sqlalchemy_selects(path: Path) -> list[str]:
    """Where the file builds a query of its own: each import of ``select`` from sqlalchemy,
    and each call of a name ``select`` or of an attribute ``.select`` (``sa.select``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            if any(alias.name == "select" for alias in node.names):
                found.append((node.lineno, "imports select"))
        elif isinstance(node, ast.Call):
            called = node.func
            if (isinstance(called, ast.Name) and called.id == "select") or (
                isinstance(called, ast.Attribute) and called.attr == "select"
            ):
                found.append((node.lineno, "calls select"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def web_queries(root: Path) -> list[str]:
    """The queries built under ``root``/web (a package laid out like foncier)."""
    return [
        f"{path.relative_to(root)} {where}"
        for path in python_files(root / "web")
        for where in sqlalchemy_selects(path)
    ]


def test_the_web_builds_no_query():
    """Views only forward: which records a page shows and which choices a form offers are the
    core's to say, beside the rule that checks them (docs/architecture.md)."""
    assert web_queries(PACKAGE) == []


def test_a_query_built_in_the_web_is_caught(tmp_path: Path):
    root = tmp_path / "foncier"
    files = {
        "web/views.py": "from sqlalchemy import select\n\n\n"
        "def page(session):\n    return session.scalars(select(1))\n",
        "web/api.py": "import sqlalchemy as sa\n\nrows = sa.select(1)\n",
        "web/forms.py": "from sqlalchemy.sql import select as pick\n",
        # Forwarding to the core, and names that only look like it: allowed.
        "web/panel.py": "from foncier.redirections import proposals\n\n"
        "targets = proposals.proposal_targets\nselected = sorted([])\n",
        "redirections/proposals.py": "from sqlalchemy import select\n\nquery = select(1)\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert web_queries(root) == [
        "web/api.py line 3: calls select",
        "web/forms.py line 1: imports select",
        "web/views.py line 1: imports select",
        "web/views.py line 5: calls select",
    ]
