"""One tick of a view: the snapshot, its alerts with their start times, and the lag history.

The dashboard and the wallboard both go feed → snapshot → rules → alert book → lag history on
every tick; this is that pipeline, once, outside the UI."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hatui.rules.alerts import SETTLE_SECONDS, ActiveAlert, Alert, AlertBook, ClearedAlert
from hatui.rules.health import evaluate
from hatui.rules.incidents import ActiveIncident, IncidentBook, IncidentChange, correlate
from hatui.rules.mmm import MmmRoles, MmmRow
from hatui.rules.readiness import pending_nodes
from hatui.rules.topology import vip_views
from hatui.state.observations import Kind
from hatui.state.store import Snapshot
from hatui.views.feed import Feed
from hatui.views.lag_history import LagHistory


@dataclass(frozen=True)
class Frame:
    snapshot: Snapshot
    alerts: list[Alert]  # in effect: the ones still settling (SETTLE_SECONDS) left out
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


# how long after a VIP or VRRP state changed the cluster counts as moving (see SETTLE_SECONDS)
MOVE_SECONDS = 2.0


def vip_picture(snap: Snapshot) -> tuple[object, ...]:
    """Who holds each VIP and every VRRP state known: what changes when a VIP moves."""
    holders = tuple((v.address, tuple(v.holders)) for v in vip_views(snap))
    states: list[tuple[str, str, str]] = []
    for name in snap.cluster.nodes:
        proc = snap.value(name, Kind.KEEPALIVED)
        if proc is not None:
            states.append((name, "", "running" if getattr(proc, "running", False) else "stopped"))
        vrrp = snap.value(name, Kind.VRRP)
        for inst in getattr(vrrp, "instances", ()):
            states.append((name, inst.name, inst.state))
    return holders, tuple(states)


class ClusterState:
    """What a view of one cluster remembers between ticks: alert start times and lag history."""

    def __init__(self, feed: Feed, *, clock: Callable[[], float] | None = None):
        self.feed = feed
        self.clock = clock  # None: time.time, looked up at each tick (tests pin it)
        self.book = AlertBook(settle=SETTLE_SECONDS)
        self.incidents = IncidentBook()
        self.mmm = MmmRoles() if str(feed.store.cluster.topology) == "mmm" else None
        self.lag = LagHistory()
        self._picture: tuple[object, ...] | None = None  # VIP holders and VRRP states last tick
        self._moved_at: float | None = None  # when they last changed

    def tick(self, *, max_events: int | None = 2_000) -> Frame:
        snap = self.feed.store.snapshot(max_events=max_events)
        pending = pending_nodes(snap)
        alerts = evaluate(snap, pending=pending)
        now = self.clock() if self.clock is not None else time.time()
        picture = vip_picture(snap)
        if self._picture is not None and picture != self._picture:
            self._moved_at = now
        self._picture = picture
        moving = self._moved_at is not None and now - self._moved_at < MOVE_SECONDS
        raised, cleared = self.book.update(alerts, now, held=pending, moving=moving)
        if settling := self.book.settling:
            alerts = [a for a in alerts if a.key not in settling]  # panes agree with the book
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
