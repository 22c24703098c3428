"""What the dashboard shows, computed from a snapshot: pure, so the console, the wallboard and
tests all agree on it. Screens only lay these rows out and colour them by `health`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from hatui.cluster import MysqlVia, Role
from hatui.mysql.status import MysqlStatus
from hatui.routers import RouterObs
from hatui.rules.alerts import ActiveAlert, Alert, ClearedAlert, Severity
from hatui.rules.incidents import ActiveIncident
from hatui.rules.mmm import MmmRow
from hatui.rules.routers import server_node
from hatui.rules.topology import VipView, mysql_up, node_for_host, ssh_up, vip_views, writer
from hatui.state.observations import Kind, stale_after
from hatui.state.store import Snapshot

OK, WARN, CRIT, UNKNOWN = "ok", "warning", "critical", "unknown"
CONNECTING = "connecting"  # no complete reading of some node yet: not judged, not "OK"


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"


@dataclass(frozen=True)
class NodeRow:
    node: str
    role: str  # writer / standby master / replica / router / mysql
    vips: str
    ssh: str
    mysql: str
    rw: str  # RW / RO / RO+super / ?
    replication: str
    vrrp: str
    health: str  # ok / warning / critical / unknown
    age: str  # age of the oldest data about this node


@dataclass(frozen=True)
class VrrpRow:
    node: str
    instance: str
    state: str
    base_priority: str
    effective_priority: str
    last_transition: str
    check: str
    health: str


@dataclass(frozen=True)
class ReplRow:
    node: str
    channel: str
    source: str
    io: str
    sql: str
    lag: str
    gtid: str
    last_error: str
    health: str


@dataclass(frozen=True)
class AlertRow:
    severity: str
    code: str
    node: str
    message: str
    active_for: str


@dataclass(frozen=True)
class Header:
    cluster: str
    health: str
    writer: str
    connections: tuple[tuple[str, str], ...]  # (node, up/down/refused/connecting/?)
    oldest_data: str
    connecting: tuple[str, ...] = ()  # nodes without a complete reading yet


def _health_of(alerts: list[Alert], node: str | None = None) -> str:
    sev = [a.severity for a in alerts if node is None or a.node == node]
    if not sev:
        return OK
    return CRIT if max(sev) == Severity.CRITICAL else WARN


def role_of(snap: Snapshot, name: str, writer_node: str | None) -> str:
    node = snap.cluster.nodes[name]
    if not node.has_role(Role.MYSQL):
        return "router" if node.has_role(Role.ROUTER) else "keepalived"
    if name == writer_node:
        return "writer"
    if node.has_role(Role.KEEPALIVED) or any(name in (v.nodes or ()) for v in snap.cluster.vips):
        return "standby master"
    return "replica"


def _gtid(st: MysqlStatus) -> str:
    text = st.gtid_executed or st.gtid_current_pos or st.gtid_binlog_pos or "-"
    text = text.replace("\n", "")
    return text if len(text) <= 40 else text[:39] + "…"


def live_mysql(snap: Snapshot, name: str) -> MysqlStatus | None:
    """The node's MysqlStatus, or None when it is unknown: never read, stale, or behind a dead
    SSH tunnel (then the last reading is history, not the present)."""
    node = snap.cluster.nodes[name]
    if node.mysql.via == MysqlVia.SSH_TUNNEL and not ssh_up(snap, name):
        return None
    return snap.value(name, Kind.MYSQL) if mysql_up(snap, name) is not None else None


def route_text(snap: Snapshot, name: str) -> str:
    """A router's routes in one cell: 'rw→db1  ro→db2,db3' (servers not taking traffic left out)."""
    obs = snap.value(name, Kind.ROUTER)
    if not isinstance(obs, RouterObs) or snap.is_stale(name, Kind.ROUTER):
        return "?"
    if obs.error:
        return f"unreadable: {obs.error}"
    parts = []
    for r in obs.routes:
        to = ",".join(server_node(snap, s) or s.name for s in r.targets) or "NOTHING"
        parts.append(f"{r.name}→{to}")
    return "  ".join(parts) or "no routes"


def _whole_second(snap: Snapshot) -> float:
    """The clock the tables' ages are counted on: whole seconds, so every age in a table moves
    at the same moment, once a second. Counted on the snapshot's own time, each node's age
    moved at its own reading's phase: the table was drawn anew several times a second."""
    return float(math.floor(snap.taken_at))


def node_rows(
    snap: Snapshot, alerts: list[Alert], views: list[VipView] | None = None, mmm_rows: list[MmmRow] | None = None
) -> list[NodeRow]:
    """One row per node. mmm_rows (MMM topology): the role column shows each node's MMM state."""
    views = vip_views(snap) if views is None else views
    w = writer(snap, views).node
    mmm = {r.node: r for r in mmm_rows} if mmm_rows is not None else None
    shown = _whole_second(snap)
    rows = []
    for name, node in snap.cluster.nodes.items():
        ssh = snap.value(name, Kind.SSH)
        ssh_txt = "?" if ssh is None else ("up" if ssh.up else ssh.state)
        st = live_mysql(snap, name)
        if node.has_role(Role.ROUTER) and not node.has_role(Role.MYSQL):
            mysql_txt, rw, repl = "-", "-", route_text(snap, name)
        elif not node.has_role(Role.MYSQL) or st is None:
            mysql_txt, rw, repl = ("-" if not node.has_role(Role.MYSQL) else "?"), "-", "-"
        elif not st.up:
            mysql_txt, rw, repl = "DOWN", "?", "?"
        else:
            mysql_txt = f"up {st.version.major}.{st.version.minor}.{st.version.patch}" if st.version else "up"
            rw = ("RO+super" if st.super_read_only else "RO") if st.read_only else "RW"
            parts = []
            for ch in st.channels:
                src = node_for_host(snap, ch.source_host) or ch.source_host
                if not ch.io_running or not ch.sql_running:
                    bad = " ".join(t for t, ok in (("IO", ch.io_running), ("SQL", ch.sql_running)) if not ok)
                    parts.append(f"<-{src} {bad} stopped")
                else:
                    parts.append(f"<-{src} lag {age_text(ch.lag_seconds) if ch.lag_seconds is not None else '?'}")
            repl = "; ".join(parts) or "none"
        vrrp = snap.value(name, Kind.VRRP)
        proc = snap.value(name, Kind.KEEPALIVED)
        if not node.has_role(Role.KEEPALIVED):
            vrrp_txt = "-"
        elif not ssh_up(snap, name):
            vrrp_txt = "?"
        elif proc is not None and not proc.running:
            vrrp_txt = "NOT RUNNING"
        elif vrrp is None:
            vrrp_txt = "?"
        else:
            vrrp_txt = " ".join(f"{i.state} {i.effective_priority}" for i in vrrp.instances) or "?"
        held = ", ".join(v.address for v in views if name in v.holders) or "-"
        ages = [max(0.0, shown - o.at) for k in Kind if k != Kind.SSH and (o := snap.get(name, k)) is not None]
        health = _health_of(alerts, name) if ssh is not None else UNKNOWN
        role = role_of(snap, name, w)
        if mmm is not None and name in mmm:
            role = f"{mmm[name].mode}/{mmm[name].state}"  # as `mmm_control show` says it
        rows.append(
            NodeRow(
                name,
                role,
                held,
                ssh_txt,
                mysql_txt,
                rw,
                repl,
                vrrp_txt,
                health,
                age_text(max(ages) if ages else None),
            )
        )
    return rows


def vrrp_rows(
    snap: Snapshot, alerts: list[Alert], script_results: dict[str, dict[str, tuple[str, float]]]
) -> list[VrrpRow]:
    rows = []
    for name, node in snap.cluster.nodes.items():
        if not node.has_role(Role.KEEPALIVED):
            continue
        vrrp = snap.value(name, Kind.VRRP)
        proc = snap.value(name, Kind.KEEPALIVED)
        checks = ", ".join(f"{s} {r}" for s, (r, _) in script_results.get(name, {}).items()) or "-"
        node_alerts = [a for a in alerts if a.node == name and a.code.startswith("keepalived.")]
        if proc is not None and not proc.running:
            rows.append(VrrpRow(name, "-", "NOT RUNNING", "-", "-", "-", checks, CRIT))
            continue
        if vrrp is None:
            rows.append(VrrpRow(name, "?", "?", "?", "?", "?", checks, UNKNOWN))
            continue
        for i in vrrp.instances:
            when = "-"
            if i.last_transition is not None:
                ago = _whole_second(snap) - i.last_transition.timestamp()
                when = f"{i.last_transition.astimezone().strftime('%H:%M:%S')} ({age_text(ago)} ago)"
            rows.append(
                VrrpRow(
                    name,
                    i.name,
                    i.state,
                    str(i.base_priority),
                    str(i.effective_priority),
                    when,
                    checks,
                    _health_of(node_alerts),
                )
            )
    return rows


def repl_rows(snap: Snapshot, alerts: list[Alert]) -> list[ReplRow]:
    rows = []
    for name in snap.cluster.nodes:
        st = live_mysql(snap, name)
        if st is None or not st.up:
            continue
        for ch in st.channels:
            mine = [a for a in alerts if a.node == name and a.code.startswith("repl.") and a.subject == ch.name]
            rows.append(
                ReplRow(
                    name,
                    ch.name or "-",
                    node_for_host(snap, ch.source_host) or f"{ch.source_host}:{ch.source_port}",
                    ch.io_state or ("Yes" if ch.io_running else "No"),
                    "Yes" if ch.sql_running else "No",
                    "-" if ch.lag_seconds is None else f"{ch.lag_seconds:g}s",
                    _gtid(st),
                    ch.last_error or ch.last_sql_error or ch.last_io_error or "",
                    _health_of(mine),
                )
            )
    return rows


SYMPTOM = "  └ "  # a symptom row, under its incident


def incident_rows(
    incidents: Iterable[ActiveIncident], active: list[ActiveAlert], now: float, cluster_file: str = "FILE"
) -> list[AlertRow]:
    """Incidents first, worst first; under each, the alerts it explains (folded, indented); the
    first suggestion ends the incident's line."""
    since = {a.alert.key: a.since for a in active}
    rows = []
    for ai in incidents:
        inc = ai.incident
        msg = inc.title
        if inc.suggestions:
            s = inc.suggestions[0]
            msg += f"  → {s.command(cluster_file) or s.text}"
        nodes = ",".join(inc.nodes[:3]) + ("…" if len(inc.nodes) > 3 else "") or "-"
        rows.append(AlertRow(str(inc.severity), str(inc.code), nodes, msg, age_text(now - ai.since)))
        for a in inc.alerts:  # always: the incident names the cause, the alert which check saw it
            t = since.get(a.key)
            rows.append(
                AlertRow(str(a.severity), SYMPTOM + a.code, a.node or "-", a.message, age_text(now - t) if t else "-")
            )
    return rows


def alert_rows(active: list[ActiveAlert], now: float) -> list[AlertRow]:
    return [
        AlertRow(str(a.alert.severity), a.alert.code, a.alert.node or "-", a.alert.message, age_text(now - a.since))
        for a in active
    ]


CLEARED_SHOWN = 8  # recent cleared alerts kept under the active ones
CLEARED_WINDOW = 1800.0  # seconds a cleared alert stays in view


def cleared_rows(
    cleared: list[ClearedAlert], now: float, *, limit: int = CLEARED_SHOWN, window: float = CLEARED_WINDOW
) -> list[AlertRow]:
    """Recently cleared alerts, newest first: 'for' is how long each lasted. They fade out of
    the dashboard after `window` (the AlertBook keeps the longer history)."""
    recent = [c for c in cleared if now - c.cleared_at <= window][:limit]
    return [
        AlertRow(
            "cleared",
            c.alert.code,
            c.alert.node or "-",
            f"cleared {age_text(now - c.cleared_at)} ago: {c.alert.message}",
            age_text(c.cleared_at - c.since),
        )
        for c in recent
    ]


def header(snap: Snapshot, alerts: list[Alert], pending: frozenset[str] = frozenset()) -> Header:
    """The cluster in one line. While some node has no complete reading yet (start-up, a
    reconnect) and nothing is known to be wrong, it says CONNECTING, never OK."""
    conns = []
    for name in snap.cluster.nodes:
        v = snap.value(name, Kind.SSH)
        conns.append((name, "?" if v is None else str(v.state)))
    known = any(v != "?" for _, v in conns)
    health = _health_of(alerts) if known else UNKNOWN
    if pending and health in (OK, UNKNOWN):
        health = CONNECTING
    return Header(
        snap.cluster.name,
        health,
        writer(snap).node or "?",
        tuple(conns),
        age_text(snap.oldest_age()),
        tuple(n for n in snap.cluster.nodes if n in pending),
    )


# Which data each panel is drawn from, so a panel can say when what it shows is old.
PANEL_KINDS: dict[str, tuple[Kind, ...]] = {
    "nodes": (Kind.ADDRESSES, Kind.KEEPALIVED, Kind.MYSQL),  # SSH state is pushed on change, never old
    "vrrp": (Kind.VRRP, Kind.KEEPALIVED),
    "repl": (Kind.MYSQL,),
    "vip": (Kind.ADDRESSES, Kind.VRRP),
}


@dataclass(frozen=True)
class Staleness:
    """The oldest overdue reading behind a panel (None when everything is fresh)."""

    node: str | None = None
    kind: str | None = None
    age: float | None = None

    @property
    def stale(self) -> bool:
        return self.node is not None

    def label(self) -> str:
        if not self.stale:
            return ""
        return f"STALE: {self.node} {self.kind} data {age_text(self.age)} old"


def staleness(snap: Snapshot, kinds: tuple[Kind, ...]) -> Staleness:
    """A reading is overdue when it is older than its kind's refresh interval allows
    (stale_after); never-read data is unknown ("?"), not stale."""
    worst: tuple[float, str, Kind] | None = None
    for (node, kind), obs in snap.observations.items():
        if kind not in kinds:
            continue
        age = snap.taken_at - obs.at
        overdue = age - stale_after(kind)
        if overdue > 0 and (worst is None or overdue > worst[0]):
            worst = (overdue, node, kind)
    if worst is None:
        return Staleness()
    _, node, kind = worst
    return Staleness(node, kind.value, snap.age(node, kind))


def panel_staleness(snap: Snapshot) -> dict[str, Staleness]:
    return {panel: staleness(snap, kinds) for panel, kinds in PANEL_KINDS.items()}


BARS = "▁▂▃▄▅▆▇█"


def spark_text(values: list[float], top: float) -> str:
    """A one-line sparkline for a table cell; `top` (e.g. the critical lag) is the full bar,
    so heights compare across replicas instead of each scaling to its own maximum."""
    if not values:
        return ""
    top = max(top, max(values), 1e-9)
    return "".join(BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in values)


def clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%H:%M:%S")


__all__ = [
    "PANEL_KINDS",
    "AlertRow",
    "Header",
    "NodeRow",
    "ReplRow",
    "Staleness",
    "VrrpRow",
    "age_text",
    "alert_rows",
    "incident_rows",
    "cleared_rows",
    "header",
    "live_mysql",
    "node_rows",
    "panel_staleness",
    "repl_rows",
    "role_of",
    "spark_text",
    "staleness",
    "vrrp_rows",
]
