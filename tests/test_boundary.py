"""The engine (hatui/) never depends on the UI at run time. The static import rules (no UI in the
engine, the layers, who may import the runbooks, no cycles) are import-linter contracts in
pyproject.toml, run by dev/test.sh; what they cannot see is checked here."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import hatui

ROOT = Path(hatui.__file__).parent


def test_the_runbook_contract_names_every_engine_module():
    # a forbidden contract lists its sources: a new module left off would escape it
    with open(ROOT.parent / "pyproject.toml", "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    (rule,) = [c for c in contracts if c.get("forbidden_modules") == ["hatui.runbook"]]
    top = {f"hatui.{m.name}" for m in pkgutil.iter_modules([str(ROOT)])} - {"hatui.__main__"}
    assert top - set(rule["source_modules"]) == {"hatui.cli", "hatui.runbook"}


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
