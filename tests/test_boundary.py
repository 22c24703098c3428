"""The engine (hatui/) never depends on the UI: no textual or screens import, static or at run time."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import hatui

ROOT = Path(hatui.__file__).parent
UI_IMPORT = re.compile(r"^\s*(from|import)\s+(textual|screens|textual_plotext)\b", re.M)


def test_no_module_under_hatui_imports_the_ui():
    offenders = [str(p.relative_to(ROOT.parent)) for p in ROOT.rglob("*.py") if UI_IMPORT.search(p.read_text())]
    assert offenders == []


def test_importing_every_engine_module_loads_no_ui():
    modules = [m.name for m in pkgutil.walk_packages([str(ROOT)], "hatui.") if m.name != "hatui.__main__"]
    assert "hatui.cli" in modules and "hatui.lab.lab" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'screens'))\n"
        "print(bad)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
