"""The wallboard's glanceable state of one cluster: pure, from a snapshot and the alert book."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hatui.rules.alerts import ActiveAlert
from hatui.rules.incidents import ActiveIncident
from hatui.rules.topology import vip_views
from hatui.state.observations import Kind
from hatui.state.store import Snapshot
from hatui.views.dashboard import PANEL_KINDS, age_text, header, staleness
from hatui.views.lag_history import LagHistory

ALL_POLLED = (Kind.ADDRESSES, Kind.KEEPALIVED, Kind.VRRP, Kind.MYSQL)


@dataclass(frozen=True)
class Board:
    cluster: str
    health: str  # ok / warning / critical / unknown
    writer: str
    vips: tuple[str, ...]  # "198.18.0.100 → db1"
    worst_lag: str
    alerts: tuple[tuple[str, str, str], ...]  # (severity, message, active for): the incidents
    data_age: str
    stale: bool
    vip_stale: str = ""  # "" or "STALE: db2 addresses data 40s old", beside the VIP lines
    lag_stale: str = ""  # same, beside the worst lag


def board(
    snap: Snapshot,
    active: list[ActiveAlert],
    lag: LagHistory,
    now: float,
    pending: frozenset[str] = frozenset(),
    incidents: Sequence[ActiveIncident] | None = None,
) -> Board:
    """incidents: what the wall shows (one line per root cause); without them, each alert."""
    alerts = [a.alert for a in active]
    h = header(snap, alerts, pending)
    vips = tuple(f"{v.address} → {', '.join(v.holders) or 'NOBODY'}" for v in vip_views(snap))
    worst = lag.worst()
    worst_txt = "-" if worst is None else f"{LagHistory.label(worst[0])} {age_text(worst[1])}"
    oldest = snap.oldest_age()
    return Board(
        h.cluster,
        h.health,
        h.writer,
        vips,
        worst_txt,
        tuple((str(a.alert.severity), a.alert.message, age_text(now - a.since)) for a in active)
        if incidents is None
        else tuple((str(i.incident.severity), i.incident.title, age_text(now - i.since)) for i in incidents),
        age_text(oldest),
        oldest is None or staleness(snap, ALL_POLLED).stale,
        staleness(snap, PANEL_KINDS["vip"]).label(),
        staleness(snap, PANEL_KINDS["repl"]).label(),
    )
