"""The domain core stays independent of the web framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import foncier

CORE_EXCLUDED = {"web", "cli"}


def core_modules() -> list[str]:
    root = Path(foncier.__file__).parent
    modules = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] in CORE_EXCLUDED:
            continue
        names = [part for part in parts if part != "__init__"]
        modules.append(".".join(["foncier", *names]))
    return modules


def test_core_never_imports_flask():
    modules = core_modules()
    assert "foncier.territory" in modules and "foncier.models.inventory" in modules
    script = "import importlib, sys\n"
    script += "".join(f"importlib.import_module({name!r})\n" for name in modules)
    script += "sys.exit('flask' in sys.modules or 'flask_wtf' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "a core module imported Flask"
