"""Everything about one node, as titled key/value sections: pure, from a snapshot."""

from __future__ import annotations

import dataclasses
from typing import Any

from hatui.state.observations import Kind
from hatui.state.store import Snapshot
from hatui.views.dashboard import age_text, live_mysql

Section = tuple[str, list[tuple[str, str]]]

# MySQL settings that decide how the node behaves in a failover, in the order a DBA checks them
HA_VARIABLES = (
    "server_id",
    "server_uuid",
    "hostname",
    "read_only",
    "super_read_only",
    "log_bin",
    "log_slave_updates",
    "binlog_format",
    "gtid_mode",
    "gtid_strict_mode",
    "gtid_domain_id",
    "gtid_executed",
    "gtid_purged",
    "gtid_binlog_pos",
    "gtid_current_pos",
    "gtid_slave_pos",
    "gtid_binlog_state",
    "binlog_file",
    "binlog_position",
    "uptime_seconds",
    "threads_connected",
    "disk_waits",
)

CHANNEL_FIELDS = (
    "source_host",
    "source_port",
    "source_user",
    "source_server_id",
    "io_state",
    "io_thread_state",
    "sql_running",
    "sql_running_state",
    "lag_seconds",
    "sql_delay",
    "last_io_errno",
    "last_io_error",
    "last_sql_errno",
    "last_sql_error",
    "source_log_file",
    "read_source_log_pos",
    "relay_source_log_file",
    "exec_source_log_pos",
    "using_gtid",
    "auto_position",
    "gtid_io_pos",
    "retrieved_gtid_set",
    "executed_gtid_set",
)


def _text(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "ON" if v else "OFF"
    return str(v).replace("\n", "")


def _pairs(obj: Any, names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(n, _text(getattr(obj, n, None))) for n in names if getattr(obj, n, None) not in (None, "")]


def node_sections(snap: Snapshot, name: str) -> list[Section]:
    node = snap.cluster.nodes[name]
    out: list[Section] = []
    ssh = snap.value(name, Kind.SSH)
    conn = [
        ("host", f"{node.ssh.user}@{node.host}:{node.ssh.port}"),
        ("roles", ", ".join(sorted(str(r) for r in node.roles))),
        ("ssh", "?" if ssh is None else f"{ssh.state}" + (f" ({ssh.error})" if ssh.error else "")),
    ]
    for k in Kind:
        if k != Kind.SSH and snap.get(name, k):
            conn.append((f"{k} data age", age_text(snap.age(name, k))))
    addrs = snap.value(name, Kind.ADDRESSES)
    if addrs is not None:
        conn.append(("addresses", ", ".join(f"{i} {a}" for i, a in addrs.by_interface) or "-"))
    out.append(("Node", conn))

    st = live_mysql(snap, name)
    if st is not None:
        head = [("state", "up" if st.up else f"DOWN ({st.error})")]
        if st.up and st.version:
            head.append(("version", st.version.raw))
        out.append(("MySQL", head + (_pairs(st, HA_VARIABLES) if st.up else [])))
        if st.up and st.semi_sync is not None:
            out.append(("Semi-sync", _pairs(st.semi_sync, tuple(f.name for f in dataclasses.fields(st.semi_sync)))))
        for ch in st.channels if st.up else ():
            out.append((f"Replication channel '{ch.name}'" if ch.name else "Replication", _pairs(ch, CHANNEL_FIELDS)))
        if st.up and st.warnings:
            out.append(("Could not read", [(str(i + 1), w) for i, w in enumerate(st.warnings)]))

    proc = snap.value(name, Kind.KEEPALIVED)
    if proc is not None:
        out.append(
            ("keepalived", [("running", "yes" if proc.running else f"no ({proc.detail})"), ("pid", _text(proc.pid))])
        )
    vrrp = snap.value(name, Kind.VRRP)
    if vrrp is not None:
        for i in vrrp.instances:
            pairs = [
                ("state", i.state),
                ("vrid", _text(i.vrid)),
                ("interface", _text(i.interface)),
                ("priority", f"{_text(i.effective_priority)} (base {_text(i.base_priority)})"),
                ("VIPs", ", ".join(i.vips) or "-"),
                ("last transition", _text(i.last_transition)),
                ("advert_int", _text(i.advert_int)),
                ("nopreempt", _text(i.nopreempt)),
                ("auth_type", _text(i.auth_type)),
                ("source", vrrp.source),
            ]
            pairs += [(f"track {t.name}", f"weight {t.weight}, {t.status}") for t in i.track_scripts]
            if i.master_router:
                pairs.append(("master heard", f"{i.master_router} prio {_text(i.master_priority)}"))
            out.append((f"VRRP instance {i.name}", pairs))
    return out
