"""The lab: a real keepalived + MariaDB cluster in network namespaces on this machine.

Its names load on first use: `hatui` reads hatui.lab.spec for its parser on every command, and
the lab's machinery (pyroute2 and the daemons' set-up) costs 0.25 s to import."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lab import FAULTS, Lab
    from .preflight import LabError
    from .spec import LabSpec, default_spec

__all__ = ["FAULTS", "Lab", "LabError", "LabSpec", "default_spec"]

_WHERE = {"FAULTS": ".lab", "Lab": ".lab", "LabError": ".preflight", "LabSpec": ".spec", "default_spec": ".spec"}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(where, __name__), name)
