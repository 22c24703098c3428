"""The wallboard's glanceable state of one cluster: pure, from a snapshot and the alert book."""

from __future__ import annotations

from dataclasses import dataclass

from hatui.rules.alerts import ActiveAlert
from hatui.state.store import Snapshot
from hatui.views.dashboard import age_text, header
from hatui.views.lag_history import LagHistory
from hatui.rules.topology import vip_views

STALE_AFTER = 10.0  # seconds: older data than this is flagged on the board with its age


@dataclass(frozen=True)
class Board:
    cluster: str
    health: str  # ok / warning / critical / unknown
    writer: str
    vips: tuple[str, ...]  # "198.18.0.100 → db1"
    worst_lag: str
    alerts: tuple[tuple[str, str, str], ...]  # (severity, message, active for)
    data_age: str
    stale: bool


def board(snap: Snapshot, active: list[ActiveAlert], lag: LagHistory, now: float) -> Board:
    alerts = [a.alert for a in active]
    h = header(snap, alerts)
    vips = tuple(f"{v.address} → {', '.join(v.holders) or 'NOBODY'}" for v in vip_views(snap))
    worst = lag.worst()
    worst_txt = "-" if worst is None else f"{LagHistory.label(worst[0])} {age_text(worst[1])}"
    oldest = snap.oldest_age()
    return Board(h.cluster, h.health, h.writer, vips, worst_txt,
                 tuple((str(a.alert.severity), a.alert.message, age_text(now - a.since)) for a in active),
                 age_text(oldest), oldest is None or oldest > STALE_AFTER)
