"""The journal of a run, on disk: which steps are done, with the facts their undo needs, so an
interrupted runbook can be rolled back or resumed after the console restarts."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hatui.privatefs import private_dir, replace_private


@dataclass
class StepRecord:
    key: str
    status: str  # started, done, failed, undone, undo_failed
    at: float
    detail: str = ""


@dataclass
class Journal:
    path: Path
    runbook: str
    params: dict[str, Any]
    run_id: str
    operator: str
    state: str = "running"  # running, done, rolled_back, failed, refused
    started: float = field(default_factory=time.time)
    steps: list[StepRecord] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what undo/resume need (positions, ...)

    def record(self, key: str, status: str, detail: str = "") -> None:
        self.steps = [s for s in self.steps if s.key != key] + [StepRecord(key, status, time.time(), detail)]
        self.save()

    def status_of(self, key: str) -> str | None:
        for s in self.steps:
            if s.key == key:
                return s.status
        return None

    def finish(self, state: str) -> None:
        self.state = state
        self.save()

    def save(self) -> None:
        private_dir(self.path.parent)
        data = {k: v for k, v in asdict(self).items() if k != "path"}
        replace_private(self.path, json.dumps(data, indent=1, default=str))  # never half a journal

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        steps = [StepRecord(**s) for s in data.pop("steps", [])]
        return cls(path=path, steps=steps, **data)

    @property
    def unfinished(self) -> bool:
        return self.state == "running"
