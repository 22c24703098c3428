"""The lab's record of what it made: namespaces and processes by PID. Saved after every step."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .procs import ProcRecord


@dataclass
class LabState:
    phase: str = "building"  # building | up
    namespaces: list[str] = field(default_factory=list)
    holders: dict[str, ProcRecord] = field(default_factory=dict)
    # node -> daemon (sshd, mysqld, haproxy, keepalived) -> record
    daemons: dict[str, dict[str, ProcRecord]] = field(default_factory=dict)
    topology: str = ""  # what was built (hatui.lab.spec): other lab commands follow it
    options: dict = field(default_factory=dict)
    clusters: int = 1  # a fleet's size (`lab up --clusters N`)

    def to_json(self) -> dict:
        return {
            "phase": self.phase,
            "namespaces": self.namespaces,
            "holders": {n: r.to_json() for n, r in self.holders.items()},
            "daemons": {n: {k: r.to_json() for k, r in d.items()} for n, d in self.daemons.items()},
            "topology": self.topology,
            "options": self.options,
            "clusters": self.clusters,
        }

    @classmethod
    def from_json(cls, d: dict) -> LabState:
        return cls(
            phase=d.get("phase", "building"),
            namespaces=list(d.get("namespaces", [])),
            holders={n: ProcRecord.from_json(r) for n, r in d.get("holders", {}).items()},
            daemons={n: {k: ProcRecord.from_json(r) for k, r in dd.items()} for n, dd in d.get("daemons", {}).items()},
            topology=str(d.get("topology", "")),
            options=dict(d.get("options", {})),
            clusters=int(d.get("clusters", 1)),
        )


def load(path: Path) -> LabState | None:
    try:
        return LabState.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # A damaged record must not stop `down`: it falls back to the namespace names.
        return None


def save(path: Path, state: LabState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=1))
    os.replace(tmp, path)
