"""Alerts: what is wrong, how bad, where, and the evidence a DBA can check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    # Ordered so max() picks the worst; values are the Nagios exit codes.
    WARNING = 1
    CRITICAL = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Alert:
    code: str  # stable, dotted: "vip.split_brain", "repl.io_stopped", ...
    severity: Severity
    node: str | None  # None: about the cluster (e.g. a VIP held by nobody)
    message: str  # one sentence a DBA understands, naming nodes, values and thresholds
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)  # JSON-safe facts
    subject: str = ""  # what within the node: a channel, instance, VIP; keeps keys distinct

    @property
    def key(self) -> tuple[str, str | None, str]:
        """Identity across evaluations: the same problem keeps its key while it lasts."""
        return (self.code, self.node, self.subject)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "node": self.node,
            "message": self.message,
            "evidence": self.evidence,
        }


def worst(alerts: Iterable[Alert]) -> Severity | None:
    return max((a.severity for a in alerts), default=None)


@dataclass(frozen=True)
class ActiveAlert:
    alert: Alert
    since: float  # when this key was first raised (wall clock)


@dataclass(frozen=True)
class ClearedAlert:
    alert: Alert
    since: float
    cleared_at: float


class AlertBook:
    """Remembers since when each alert is active and which ones cleared (bounded history)."""

    def __init__(self, history: int = 200):
        self._active: dict[tuple[str, str | None, str], ActiveAlert] = {}
        self._cleared: list[ClearedAlert] = []
        self._history = history

    def update(
        self, alerts: Iterable[Alert], now: float, *, held: frozenset[str] = frozenset()
    ) -> tuple[list[ActiveAlert], list[ClearedAlert]]:
        """Feed one evaluation; returns (newly raised, newly cleared). Alerts about a `held` node
        (no complete reading since it reconnected), or about the whole cluster while any node
        is held, stay as they were: not knowing is not a recovery."""
        current = {a.key: a for a in alerts}
        raised: list[ActiveAlert] = []
        cleared: list[ClearedAlert] = []
        for key, a in current.items():
            prev = self._active.get(key)
            # keep the start time; take the new text/evidence (e.g. the lag keeps growing)
            entry = ActiveAlert(a, prev.since if prev else now)
            if prev is None:
                raised.append(entry)
            self._active[key] = entry
        for key in [k for k in self._active if k not in current]:
            node = key[1]
            if (node in held) if node is not None else bool(held):
                continue
            gone = self._active.pop(key)
            cleared.append(ClearedAlert(gone.alert, gone.since, now))
        self._cleared.extend(cleared)
        del self._cleared[: max(0, len(self._cleared) - self._history)]
        return raised, cleared

    @property
    def active(self) -> list[ActiveAlert]:
        return sorted(self._active.values(), key=lambda a: (-a.alert.severity, a.since))

    @property
    def cleared(self) -> list[ClearedAlert]:
        return list(reversed(self._cleared))
