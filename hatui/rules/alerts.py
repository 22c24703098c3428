"""Alerts: what is wrong, how bad, where, and the evidence a DBA can check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


# Conditions that are a normal step of a VIP moving, seen by polling: keepalived takes the
# address off one node a moment before the other adds it, and the notify scripts set read_only
# on the old holder and lift it on the new one a moment after. A console ticking every second
# would announce each as a CRITICAL incident "resolved after 0 s" (measured in the lab on every
# `stop keepalived`). While a VIP or a VRRP state has just changed, they count only once they
# outlast the move (then with their true start time); at any other time at once.
SETTLE_SECONDS: Mapping[str, float] = {
    "vip.unheld": 2.0,
    "vip.holder_read_only": 2.0,
    "topology.multiple_writers": 2.0,
    # the old writer's last commits, read a moment before the new writer's reading shows them
    # arrived (each node is polled on its own clock): "errant" for a poll, on every move under
    # writes (found by the chaos soak)
    "gtid.errant": 2.0,
    "gtid.writer_missing": 2.0,  # the same two readings, seen from the writer's side
}

Key = tuple[str, str | None, str]


class AlertBook:
    """Remembers since when each alert is active and which ones cleared (bounded history).

    `settle`: alert code -> seconds it must last before it is raised while a VIP is moving
    (SETTLE_SECONDS in the console; none by default). Until then it is `settling`: not active,
    not shown."""

    def __init__(self, history: int = 200, *, settle: Mapping[str, float] | None = None):
        self._active: dict[Key, ActiveAlert] = {}
        self._cleared: list[ClearedAlert] = []
        self._history = history
        self._settle = dict(settle or {})
        self._first_seen: dict[Key, float] = {}  # settling: first evaluation that had it

    def update(
        self,
        alerts: Iterable[Alert],
        now: float,
        *,
        held: frozenset[str] = frozenset(),
        moving: bool = False,
    ) -> tuple[list[ActiveAlert], list[ClearedAlert]]:
        """Feed one evaluation; returns (newly raised, newly cleared). Alerts about a `held` node
        (no complete reading since it reconnected), or about the whole cluster while any node
        is held, stay as they were: not knowing is not a recovery. `moving`: a VIP or VRRP
        state changed a moment ago; alerts with a settle time wait for it."""
        current = {a.key: a for a in alerts}
        raised: list[ActiveAlert] = []
        cleared: list[ClearedAlert] = []
        for key in [k for k in self._first_seen if k not in current]:
            del self._first_seen[key]  # gone before it settled: it was a step of a move
        for key, a in current.items():
            prev = self._active.get(key)
            if prev is None:
                first = self._first_seen.setdefault(key, now)
                if moving and now - first < self._settle.get(a.code, 0.0):
                    continue
                del self._first_seen[key]
                entry = ActiveAlert(a, first)
                raised.append(entry)
            else:
                # keep the start time; take the new text/evidence (e.g. the lag keeps growing)
                entry = ActiveAlert(a, prev.since)
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
    def settling(self) -> frozenset[Key]:
        """Keys seen but not yet raised: they have not lasted their settle time."""
        return frozenset(self._first_seen)

    @property
    def active(self) -> list[ActiveAlert]:
        return sorted(self._active.values(), key=lambda a: (-a.alert.severity, a.since))

    @property
    def cleared(self) -> list[ClearedAlert]:
        return list(reversed(self._cleared))
