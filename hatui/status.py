"""`hatui status`: one snapshot of a cluster, as a table or JSON, with a Nagios exit code."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from typing import Any

from hatui.cluster import Cluster, Role
from hatui.routers import RouterObs
from hatui.rules.alerts import Alert, Severity, worst
from hatui.rules.health import evaluate
from hatui.rules.incidents import Incident, correlate
from hatui.rules.mmm import mmm_rows
from hatui.rules.routers import server_node
from hatui.rules.topology import node_for_host, ssh_up, vip_views, writer
from hatui.state.observations import Kind
from hatui.state.store import Snapshot

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


async def take_status(cluster: Cluster, *, timeout: float = 8.0, **monitor_kwargs) -> Snapshot:
    """Connect to every node, read every source once, and return the snapshot."""
    from hatui.collect.monitor import Monitor  # keeps `hatui timeline` free of SSH imports

    monitor = Monitor(cluster, follow_logs=False, **monitor_kwargs)
    try:
        await monitor.once(timeout=timeout)
        return monitor.store.snapshot(max_events=None)
    finally:
        await monitor.stop()


def exit_code(snap: Snapshot, alerts: list[Alert]) -> int:
    if not snap.observations:
        return UNKNOWN  # nothing ran: no node, not even a failed SSH attempt, to judge by
    w = worst(alerts)
    return {None: OK, Severity.WARNING: WARNING, Severity.CRITICAL: CRITICAL}[w]


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).astimezone().isoformat(timespec="milliseconds")


def _mysql_json(st) -> dict[str, Any] | None:
    if st is None:
        return None
    v = st.version
    return {
        "up": st.up,
        "error": st.error,
        "flavor": str(v.flavor) if v else None,
        "version": v.raw if v else None,
        "server_id": st.server_id,
        "read_only": st.read_only,
        "super_read_only": st.super_read_only,
        "gtid_executed": _gtid_text(st),
        "disk_waits": st.disk_waits,  # threads waiting for free disk space
        "warnings": list(st.warnings),  # what could not be read while it is up, and why
        "replication": [
            {
                "channel": ch.name,
                "source_host": ch.source_host,
                "source_port": ch.source_port,
                "io_running": ch.io_running,
                "sql_running": ch.sql_running,
                "lag_seconds": ch.lag_seconds,
                "last_error": ch.last_error or None,
            }
            for ch in st.channels
        ],
    }


def _gtid_text(st) -> str | None:
    # MySQL: gtid_executed. MariaDB: gtid_current_pos, the position it would resume from.
    return st.gtid_executed or getattr(st, "gtid_current_pos", None) or getattr(st, "gtid_binlog_pos", None) or None


def _keepalived_json(snap: Snapshot, name: str) -> dict[str, Any] | None:
    if not snap.cluster.nodes[name].has_role(Role.KEEPALIVED):
        return None
    proc = snap.value(name, Kind.KEEPALIVED)
    vrrp = snap.value(name, Kind.VRRP)
    return {
        "running": None if proc is None else proc.running,
        "detail": None if proc is None or proc.running else proc.detail,
        "source": None if vrrp is None else vrrp.source,
        "instances": []
        if vrrp is None or (proc is not None and not proc.running)
        else [
            {
                "name": i.name,
                "state": i.state,
                "priority": i.effective_priority,
                "base_priority": i.base_priority,
                "vrid": i.vrid,
                "vips": list(i.vips),
            }
            for i in vrrp.instances
        ],
    }


def _router_json(snap: Snapshot, name: str) -> dict[str, Any] | None:
    if not snap.cluster.nodes[name].has_role(Role.ROUTER):
        return None
    if snap.cluster.nodes[name].router.kind.value == "none":
        return {"kind": "none", "error": None, "routes": None}
    obs = snap.value(name, Kind.ROUTER)
    if not isinstance(obs, RouterObs):
        return {"kind": str(snap.cluster.nodes[name].router.kind), "error": "not read", "routes": []}
    return {
        "kind": obs.kind,
        "error": obs.error,
        "routes": [
            {
                "name": r.name,
                "role": r.role,
                "alive": r.alive,
                "targets": [server_node(snap, s) or s.name for s in r.targets],
                "servers": [
                    {
                        "name": s.name,
                        "node": server_node(snap, s),
                        "address": s.address,
                        "port": s.port,
                        "state": str(s.state),
                        "detail": s.detail,
                        "backup": s.backup,
                    }
                    for s in r.servers
                ],
            }
            for r in obs.routes
        ],
    }


def status_dict(snap: Snapshot, alerts: list[Alert], incidents: list[Incident] | None = None) -> dict[str, Any]:
    views = vip_views(snap)
    nodes = []
    for name in snap.cluster.nodes:
        addrs = snap.value(name, Kind.ADDRESSES)
        ssh = snap.value(name, Kind.SSH)
        held = [v.address for v in views if name in v.holders]
        nodes.append(
            {
                "name": name,
                "host": snap.cluster.nodes[name].host,
                "reachable": ssh_up(snap, name),
                "ssh_error": None if ssh is None or ssh.up else ssh.error,
                "mysql": _mysql_json(snap.value(name, Kind.MYSQL)),
                "keepalived": _keepalived_json(snap, name),
                "router": _router_json(snap, name),
                "vips": held if addrs is not None else None,
                "ages": {str(k): round(snap.age(name, k) or 0.0, 2) for k in Kind if snap.get(name, k)},
            }
        )
    w = writer(snap, views)
    incidents = correlate(snap, alerts) if incidents is None else incidents
    mmm = (
        [
            {
                "node": r.node,
                "mode": r.mode,
                "state": str(r.state),
                "reason": r.reason,
                "roles": [list(x) for x in r.roles],
            }
            for r in mmm_rows(snap)
        ]
        if str(snap.cluster.topology) == "mmm"
        else None
    )
    return {
        "cluster": snap.cluster.name,
        "topology": str(snap.cluster.topology),
        "taken_at": _iso(snap.taken_at),
        "writer": w.node,
        "nodes": nodes,
        "vips": [
            {
                "address": v.address,
                "role": str(v.role),
                "ports": _ports(snap, v.address),
                "holders": list(v.holders),
                "unknown": list(v.unknown),
            }
            for v in views
        ],
        "mmm": mmm,
        "incidents": [i.to_dict() for i in incidents],
        "alerts": [a.to_dict() for a in alerts],
    }


def _ports(snap: Snapshot, address: str) -> list[dict[str, Any]]:
    """Every (port, role) the cluster file lists for one VIP address (a router VIP serves both)."""
    return [{"port": v.port, "role": str(v.role)} for v in snap.cluster.vips if str(v.address) == address]


def _yn(v: bool | None) -> str:
    return "?" if v is None else ("yes" if v else "no")


def status_text(snap: Snapshot, alerts: list[Alert], code: int) -> str:
    d = status_dict(snap, alerts)
    verdict = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}[code]
    lines = [f"cluster {d['cluster']} ({d['topology']})  {d['taken_at']}  {verdict}  writer: {d['writer'] or '?'}"]
    for v in d["vips"]:
        who = ", ".join(v["holders"]) or "nobody"
        unk = f" (cannot see {', '.join(v['unknown'])})" if v["unknown"] else ""
        roles = ", ".join(f":{p['port']} {p['role']}" for p in v["ports"]) if len(v["ports"]) > 1 else v["role"]
        lines.append(f"VIP {v['address']} ({roles}): held by {who}{unk}")
    rows = [("NODE", "SSH", "MYSQL", "RO", "ID", "GTID", "REPLICATION", "KEEPALIVED")]
    for n in d["nodes"]:
        m = n["mysql"]
        if m is None:
            mysql_cell, ro, sid, gtid, repl = "-", "-", "-", "-", "-"
        elif not m["up"]:
            mysql_cell, ro, sid, gtid, repl = "DOWN", "?", "?", "?", "?"
        else:
            mysql_cell = f"{m['flavor']} {m['version'].split('-')[0]}" if m["version"] else "up"
            ro = _yn(m["read_only"]) + ("+super" if m["super_read_only"] else "")
            sid = str(m["server_id"])
            gtid = (m["gtid_executed"] or "-").replace("\n", "")
            gtid = gtid if len(gtid) <= 28 else gtid[:27] + "…"
            chans = []
            for c in m["replication"]:
                src = _source_name(snap, c["source_host"])
                lag = "-" if c["lag_seconds"] is None else f"{c['lag_seconds']:g}s"
                chans.append(f"<-{src} io:{_yn(c['io_running'])} sql:{_yn(c['sql_running'])} lag:{lag}")
            repl = "; ".join(chans) or "none"
        k = n["keepalived"]
        if k is None:
            ka = "-"
        elif k["running"] is False:
            ka = "NOT RUNNING"
        else:
            ka = " ".join(f"{i['name']}:{i['state']}/{i['priority']}" for i in k["instances"]) or "?"
        ssh = "up" if n["reachable"] else "DOWN"
        rows.append((n["name"], ssh, mysql_cell, ro, sid, gtid, repl, ka))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    for n in d["nodes"]:
        rt = n["router"]
        if rt is None or rt["routes"] is None:
            continue
        if rt["error"]:
            lines.append(f"router {n['name']} ({rt['kind']}): cannot read: {rt['error']}")
            continue
        parts = []
        for r in rt["routes"]:
            servers = ", ".join(f"{s['node'] or s['name']} {s['state']}" for s in r["servers"]) or "no servers"
            to = ", ".join(r["targets"]) or "NOTHING"
            parts.append(f"{r['name']}({r['role'] or '?'}) -> {to} [{servers}]")
        lines.append(f"router {n['name']} ({rt['kind']}): " + ("; ".join(parts) or "no routes"))
    if d["mmm"] is not None:
        lines.append("mmm roles (mmm_control show):")
        for m in d["mmm"]:
            roles = ", ".join(f"{r}({a})" for r, a in m["roles"])
            why = f"  # {m['reason']}" if m["reason"] else ""
            host = snap.cluster.nodes[m["node"]].host
            lines.append(f"  {m['node']}({host}) {m['mode']}/{m['state']}. Roles: {roles}{why}")
    if d["incidents"]:
        lines.append("incidents:")
        for inc in d["incidents"]:
            tag = "CRIT" if inc["severity"] == "critical" else "WARN"
            lines.append(f"  {tag} {inc['code']:26} {inc['title']}")
            for s in inc["suggested"]:
                if s["runbook"]:
                    cmd = shlex.join(
                        ["hatui", s["runbook"], "--cluster", str(snap.cluster.source or "FILE"), *s["args"]]
                    )
                    lines.append(f"       next: {cmd}  ({s['text']})")
                else:
                    lines.append(f"       next: {s['text']}")
    if alerts:
        lines.append("alerts:")
        for a in alerts:
            tag = "CRIT" if a.severity == Severity.CRITICAL else "WARN"
            lines.append(f"  {tag} {a.code:26} {a.node or '-':8} {a.message}")
    else:
        lines.append("alerts: none")
    return "\n".join(lines)


def _source_name(snap: Snapshot, host: str) -> str:
    return node_for_host(snap, host) or host


def render(snap: Snapshot, as_json: bool) -> tuple[str, int]:
    alerts = evaluate(snap)
    code = exit_code(snap, alerts)
    if as_json:
        d = status_dict(snap, alerts)
        d["exit_code"] = code
        return json.dumps(d, indent=2, default=str), code
    return status_text(snap, alerts, code), code
