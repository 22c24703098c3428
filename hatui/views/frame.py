"""One tick of a view: the snapshot, its alerts with their start times, and the lag history.

The dashboard and the wallboard both go feed → snapshot → rules → alert book → lag history on
every tick; this is that pipeline, once, outside the UI."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hatui.rules.alerts import ActiveAlert, Alert, AlertBook, ClearedAlert
from hatui.rules.health import evaluate
from hatui.rules.incidents import ActiveIncident, IncidentBook, IncidentChange, correlate
from hatui.rules.mmm import MmmRoles, MmmRow
from hatui.rules.readiness import pending_nodes
from hatui.state.store import Snapshot
from hatui.views.feed import Feed
from hatui.views.lag_history import LagHistory


@dataclass(frozen=True)
class Frame:
    snapshot: Snapshot
    alerts: list[Alert]
    active: list[ActiveAlert]
    cleared: list[ClearedAlert]  # newest first
    now: float
    lag_changed: bool  # the lag history took new points (plots redraw only then)
    raised: tuple[ActiveAlert, ...] = ()  # raised by this tick (for notifications)
    cleared_now: tuple[ClearedAlert, ...] = ()  # cleared by this tick
    pending: frozenset[str] = frozenset()  # nodes without a complete reading yet ("connecting")
    incidents: tuple[ActiveIncident, ...] = ()  # the active alerts grouped by root cause
    incident_changes: tuple[IncidentChange, ...] = ()  # raised / changed / cleared by this tick
    mmm: tuple[MmmRow, ...] | None = None  # MMM topology: each node's MMM state


class ClusterState:
    """What a view of one cluster remembers between ticks: alert start times and lag history."""

    def __init__(self, feed: Feed):
        self.feed = feed
        self.book = AlertBook()
        self.incidents = IncidentBook()
        self.mmm = MmmRoles() if str(feed.store.cluster.topology) == "mmm" else None
        self.lag = LagHistory()

    def tick(self, *, max_events: int | None = 2_000) -> Frame:
        snap = self.feed.store.snapshot(max_events=max_events)
        pending = pending_nodes(snap)
        alerts = evaluate(snap, pending=pending)
        now = time.time()
        raised, cleared = self.book.update(alerts, now, held=pending)
        # grouped from the book's active alerts: one held back for a reconnecting node stays
        active = self.book.active
        changes = self.incidents.update(correlate(snap, [a.alert for a in active]), now)
        return Frame(
            snap,
            alerts,
            self.book.active,
            self.book.cleared,
            now,
            self.lag.observe(snap),
            tuple(raised),
            tuple(cleared),
            pending,
            tuple(self.incidents.active),
            tuple(changes),
            tuple(self.mmm.update(snap)) if self.mmm is not None else None,
        )
