"""Health rules: pure functions from a Snapshot to Alerts.

Each rule looks at one concern and says nothing when it lacks the data to be sure; missing or
stale data has rules of its own (ssh.unreachable, data.stale), so an unknown never reads as healthy
and never raises a false alarm about something else.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator

from hatui.cluster import Role, VipRole
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.rules.alerts import Alert, Severity
from hatui.rules.context import Context, Rule
from hatui.rules.errant import errant_transactions, pulls_from
from hatui.rules.mmm import rule_reader_vips
from hatui.rules.readiness import READY_WAIT, missing_kinds, pending_nodes
from hatui.rules.routers import rule_routers
from hatui.rules.topology import (
    mysql,
    mysql_up,
    node_for_host,
    single_writer_topology,
    ssh_up,
    writable,
)
from hatui.state.observations import Kind, stale_after
from hatui.state.store import Snapshot

W, C = Severity.WARNING, Severity.CRITICAL


# ----------------------------------------------------------------------------- reachability
def rule_unreachable(ctx: Context) -> Iterator[Alert]:
    for name in ctx.cluster.nodes:
        v = ctx.snap.value(name, Kind.SSH)
        if v is None or v.state in ("up", "connecting"):
            continue
        node = ctx.cluster.nodes[name]
        if v.state == "refused":
            yield Alert(
                "ssh.host_key",
                C,
                name,
                f"{name}: refusing to connect, host key problem: {v.error}",
                {"host": node.host, "error": v.error},
            )
        else:
            yield Alert(
                "ssh.unreachable",
                C,
                name,
                f"{name} ({node.host}) is unreachable over SSH: {v.error or 'connection lost'}",
                {"host": node.host, "port": node.ssh.port, "error": v.error},
            )


def rule_stale(ctx: Context) -> Iterator[Alert]:
    for (name, kind), obs in ctx.snap.observations.items():
        if kind == Kind.SSH or not ssh_up(ctx.snap, name):
            continue  # an unreachable node is reported once, as unreachable
        age = ctx.snap.taken_at - obs.at
        if age > stale_after(kind):
            yield Alert(
                "data.stale",
                W,
                name,
                f"{name}: {kind} data is {age:.0f} s old (refreshed every "
                f"{stale_after(kind):.0f} s at worst); what is shown may be out of date",
                {"kind": str(kind), "age_seconds": round(age, 1)},
                subject=str(kind),
            )


def rule_missing(ctx: Context) -> Iterator[Alert]:
    """A node whose SSH session is up but whose sources have not answered since (READY_WAIT):
    without this it stayed CONNECTING for ever and held every cluster-wide alert."""
    snap = ctx.snap
    for name, node in ctx.cluster.nodes.items():
        ssh = snap.value(name, Kind.SSH)
        if ssh is None or ssh.state != "up" or ssh.since is None:
            continue
        waited = snap.taken_at - ssh.since
        if waited < READY_WAIT:
            continue
        missing = missing_kinds(snap, node)
        if missing:
            kinds = ", ".join(str(k) for k in missing)
            yield Alert(
                "data.missing",
                W,
                name,
                f"{name}: no {kinds} reading in the {waited:.0f} s since its SSH session came up: its "
                f"commands do not answer in time (an overloaded host, a stalled shell); what is shown "
                f"of it is older or missing",
                {"kinds": [str(k) for k in missing], "waited_seconds": round(waited, 1)},
                subject=kinds,
            )


# ----------------------------------------------------------------------------- VIPs
def rule_vip_holders(ctx: Context) -> Iterator[Alert]:
    for v in ctx.vips:
        ev = {"vip": v.address, "holders": list(v.holders), "unknown": list(v.unknown)}
        if len(v.holders) > 1:
            yield Alert(
                "vip.split_brain",
                C,
                None,
                f"split brain: VIP {v.address} is on {len(v.holders)} nodes at once "
                f"({', '.join(v.holders)}); clients reach either at random",
                ev,
                subject=v.address,
            )
        elif not v.holders and not v.unknown:
            yield Alert(
                "vip.unheld",
                C,
                None,
                f"VIP {v.address} is held by no node: clients of port {v.port} cannot connect",
                ev,
                subject=v.address,
            )
        elif not v.holders:
            yield Alert(
                "vip.unheld",
                W,
                None,
                f"VIP {v.address} is on no reachable node; cannot see {', '.join(v.unknown)}",
                ev,
                subject=v.address,
            )
        vip = next(x for x in ctx.cluster.vips if str(x.address) == v.address)
        if vip.nodes:
            for h in v.holders:
                if h not in vip.nodes:
                    yield Alert(
                        "vip.unexpected_holder",
                        W,
                        h,
                        f"{h} holds VIP {v.address} but is not one of its nodes ({', '.join(vip.nodes)})",
                        ev,
                        subject=v.address,
                    )


def rule_vip_on_bad_db(ctx: Context) -> Iterator[Alert]:
    mysql_nodes = set(ctx.nodes(Role.MYSQL))
    for v in ctx.vips:
        for h in v.holders:
            if h not in mysql_nodes:
                continue  # VIP on a router host: its backends are checked elsewhere
            up = mysql_up(ctx.snap, h)
            st = mysql(ctx.snap, h)
            if st is None:
                continue  # unknown or stale: nothing to say yet
            if up is False:
                yield Alert(
                    "vip.holder_mysql_down",
                    C,
                    h,
                    f"VIP {v.address} is on {h} but its mysqld is down "
                    f"({st.error or 'no answer'}): every client through the VIP fails",
                    {"vip": v.address, "error": st.error},
                    subject=v.address,
                )
            elif up and v.role == VipRole.WRITER and not writable(st):
                which = "super_read_only" if getattr(st, "super_read_only", False) else "read_only"
                yield Alert(
                    "vip.holder_read_only",
                    C,
                    h,
                    f"writer VIP {v.address} is on {h}, which is {which}: writes through the VIP fail",
                    {
                        "vip": v.address,
                        "read_only": st.read_only,
                        "super_read_only": getattr(st, "super_read_only", None),
                    },
                    subject=v.address,
                )


# ----------------------------------------------------------------------------- writers
def rule_multiple_writers(ctx: Context) -> Iterator[Alert]:
    writable_nodes = [n for n in ctx.nodes(Role.MYSQL) if (st := mysql(ctx.snap, n)) is not None and writable(st)]
    if len(writable_nodes) < 2:
        return
    ev = {"writable": writable_nodes, "writer": ctx.writer.node}
    if single_writer_topology(ctx.cluster):
        yield Alert(
            "topology.multiple_writers",
            C,
            None,
            f"{len(writable_nodes)} writable nodes ({', '.join(writable_nodes)}) in a "
            f"single-writer {ctx.cluster.topology} cluster: writes to a replica become "
            f"errant transactions",
            ev,
        )
        return
    # dual-master: both writable is how many keepalived setups run (seed 000), but a write that
    # reaches the standby directly conflicts with the writer's; say so without crying wolf
    others = [n for n in writable_nodes if n != ctx.writer.node]
    yield Alert(
        "topology.multiple_writers",
        W if ctx.writer.node else C,
        None,
        f"{', '.join(others)} writable besides the writer "
        f"{ctx.writer.node or '(none known)'}: direct writes there conflict with the "
        f"writer's; set read_only=1 on standby masters",
        ev,
    )


# ----------------------------------------------------------------------------- replication
def _channel_label(node: str, ch: ReplicationChannel) -> str:
    name = f" channel '{ch.name}'" if ch.name else ""
    return f"{node}{name} (from {ch.source_host}:{ch.source_port})"


def rule_replication_threads(ctx: Context) -> Iterator[Alert]:
    for name, ch in ctx.channels():
        label = _channel_label(name, ch)
        ev = {
            "channel": ch.name,
            "source": f"{ch.source_host}:{ch.source_port}",
            "io_state": ch.io_state,
            "sql_running": ch.sql_running,
            "last_io_error": ch.last_io_error,
            "last_sql_error": ch.last_sql_error,
            "last_sql_errno": ch.last_sql_errno,
        }
        if not ch.io_running:
            state = "connecting" if str(ch.io_state).lower() == "connecting" else "stopped"
            err = f": {ch.last_io_errno} {ch.last_io_error}" if ch.last_io_error else ""
            yield Alert("repl.io_stopped", C, name, f"{label}: IO thread {state}{err}", ev, subject=ch.name)
        if not ch.sql_running:
            err = f": {ch.last_sql_errno} {ch.last_sql_error}" if ch.last_sql_error else ""
            yield Alert("repl.sql_stopped", C, name, f"{label}: SQL thread stopped{err}", ev, subject=ch.name)


def rule_lag(ctx: Context) -> Iterator[Alert]:
    t = ctx.cluster.thresholds
    for name, ch in ctx.channels():
        lag = ch.lag_seconds
        if lag is None or lag < t.lag_warning:
            continue
        sev, limit = (C, t.lag_critical) if lag >= t.lag_critical else (W, t.lag_warning)
        yield Alert(
            "repl.lag",
            sev,
            name,
            f"{_channel_label(name, ch)} is {lag:.0f} s behind (limit {limit:g} s)",
            {"lag_seconds": lag, "warning": t.lag_warning, "critical": t.lag_critical},
            subject=ch.name,
        )


def rule_sources(ctx: Context) -> Iterator[Alert]:
    """Seed 002's pitfall: after a failover a replica keeps pulling from the old, dead writer."""
    vip_addrs = {str(v.address) for v in ctx.cluster.vips}
    w = ctx.writer.node
    for name, ch in ctx.channels():
        label = _channel_label(name, ch)
        src = node_for_host(ctx.snap, ch.source_host or "")
        ev = {"channel": ch.name, "source_host": ch.source_host, "source_node": src, "writer": w}
        if src is None:
            if ch.source_host in vip_addrs:
                yield Alert(
                    "repl.source_is_vip",
                    W,
                    name,
                    f"{label} replicates through the VIP: after a failover it silently "
                    f"follows the VIP to a node that may be missing transactions; "
                    f"use the source's own address",
                    ev,
                    subject=ch.name,
                )
            continue
        if mysql_up(ctx.snap, src) is False:
            if name == w:
                # the writer's own channel from a dead peer (a dual master after failover, or
                # seed 002's new primary): repointing it "to the writer" would point it at itself
                advice = (
                    f"; {name} is the writer now: this channel waits for {src} to come back "
                    f"(rejoin {src} as its replica), or stop it"
                )
            elif w and w != src:
                advice = f"; repoint it to the writer {w}"
            else:
                advice = ""
            yield Alert(
                "repl.source_down",
                C if name != w else W,
                name,
                f"{label} pulls from {src}, whose mysqld is down{advice}",
                ev,
                subject=ch.name,
            )
        elif w and src != w and name != w:
            yield Alert(
                "repl.source_not_writer",
                W,
                name,
                f"{label} pulls from {src}, not from the writer {w}: "
                f"it misses whatever {w} writes unless {src} relays it",
                ev,
                subject=ch.name,
            )


def rule_errant(ctx: Context) -> Iterator[Alert]:
    w = ctx.writer.node
    wst = mysql(ctx.snap, w) if w else None
    if wst is None or not wst.up:
        return
    for name in ctx.nodes(Role.MYSQL):
        if name == w:
            continue
        st = mysql(ctx.snap, name)
        if st is None or not st.up:
            continue
        errant = errant_transactions(st, wst, writer_pulls=pulls_from(ctx.snap, wst, name))
        if errant:
            yield Alert(
                "gtid.errant",
                W,
                name,
                f"{name} has transactions the writer {w} does not: {errant}; they would be "
                f"lost or break replication if {name} became the writer",
                {"errant": errant, "writer": w},
            )


def rule_writer_missing(ctx: Context) -> Iterator[Alert]:
    """What a standby wrote itself (it held the VIP: a partition, a failover back) and the writer
    has not yet got through its channel from it. Not errant (rule_errant leaves it out), but the
    writer takes writes without those rows for now: after a partition heals its channel can sit
    on the dead connection until slave_net_timeout (60 s by default) before it reconnects."""
    w = ctx.writer.node
    wst = mysql(ctx.snap, w) if w else None
    if wst is None or not wst.up:
        return
    for name in ctx.nodes(Role.MYSQL):
        st = mysql(ctx.snap, name)
        if name == w or st is None or not st.up or not pulls_from(ctx.snap, wst, name):
            continue
        lacking = errant_transactions(st, wst)  # as if nobody pulled them: what w does not have
        if lacking:
            ch = next(c for c in wst.channels if node_for_host(ctx.snap, c.source_host or "") == name)
            yield Alert(
                "gtid.writer_missing",
                W,
                w,
                f"the writer {w} lacks {lacking}, written on {name}; its channel from {name} should bring "
                f"them (IO {ch.io_state or '?'}, SQL {'Yes' if ch.sql_running else 'No'}): until it does, "
                f"reads on {w} miss those rows",
                {"from": name, "missing": lacking, "io_state": ch.io_state},
                subject=name,
            )


def rule_server_ids(ctx: Context) -> Iterator[Alert]:
    by_id: dict[int, list[str]] = defaultdict(list)
    modes: dict[str, list[str]] = defaultdict(list)
    for name in ctx.nodes(Role.MYSQL):
        st = mysql(ctx.snap, name)
        if st is None or not st.up:
            continue
        if st.server_id is not None:
            by_id[int(st.server_id)].append(name)
        if getattr(st, "gtid_mode", None) is not None:
            modes[str(st.gtid_mode)].append(name)
    for sid, names in by_id.items():
        if len(names) > 1:
            yield Alert(
                "mysql.duplicate_server_id",
                C,
                None,
                f"server_id {sid} is used by {', '.join(names)}: replication between them skips each other's events",
                {"server_id": sid, "nodes": names},
                subject=str(sid),
            )
    if len(modes) > 1:
        desc = "; ".join(f"{m} on {', '.join(ns)}" for m, ns in sorted(modes.items()))
        yield Alert(
            "gtid.mode_mismatch",
            W,
            None,
            f"gtid_mode differs between nodes ({desc}): GTID failover needs it ON everywhere",
            {k: v for k, v in modes.items()},
        )


def _auto_increment_values(st: MysqlStatus) -> tuple[int, int] | None:
    inc, off = st.auto_increment_increment, st.auto_increment_offset
    if inc is None or off is None:
        return None
    inc = max(1, inc)
    return inc, off if off <= inc else 1  # an offset above the increment is ignored by the server


def rule_auto_increment(ctx: Context) -> Iterator[Alert]:
    """Two masters that can both take writes (each replicates from the other, or both are the
    writer VIP's nodes) hand out the same AUTO_INCREMENT values (seed 000 sets increment 2 and
    offsets 1/2): after a failover, or during a split brain, both insert id N and replication
    stops on a duplicate key."""
    masters: set[str] = set()
    for v in ctx.cluster.vips:
        if v.role == VipRole.WRITER:
            masters |= {
                n for n in (v.nodes or ()) if n in ctx.cluster.nodes and ctx.cluster.nodes[n].has_role(Role.MYSQL)
            }
    sources: dict[str, set[str]] = defaultdict(set)
    status: dict[str, MysqlStatus] = {}
    for name in ctx.nodes(Role.MYSQL):
        st = mysql(ctx.snap, name)
        if st is None or not st.up:
            continue
        status[name] = st
        sources[name] = {s for ch in st.channels if (s := node_for_host(ctx.snap, ch.source_host or "")) is not None}
    pairs = {tuple(sorted((a, b))) for a in status for b in sources[a] if a in sources.get(b, set())}
    pairs |= {tuple(sorted((a, b))) for a in masters for b in masters if a < b}
    for a, b in sorted(pairs):
        if a not in status or b not in status:
            continue
        va, vb = _auto_increment_values(status[a]), _auto_increment_values(status[b])
        if va is None or vb is None:
            continue
        (ia, oa), (ib, ob) = va, vb
        if (oa - ob) % math.gcd(ia, ib) == 0:  # the two sequences oa + k*ia and ob + l*ib meet
            yield Alert(
                "mysql.auto_increment_clash",
                W,
                None,
                f"{a} and {b} can both take writes and hand out the same AUTO_INCREMENT values "
                f"(increment/offset {ia}/{oa} and {ib}/{ob}): after a failover or in a split brain both insert "
                "the same id and replication stops on a duplicate key; give them one increment and different "
                "offsets (seed 000: 2, offsets 1 and 2)",
                {"nodes": [a, b], "increment": [ia, ib], "offset": [oa, ob]},
                subject=f"{a},{b}",
            )


def rule_semi_sync(ctx: Context) -> Iterator[Alert]:
    """Semi-sync on but fallen back to async (no replica acknowledged within its timeout):
    commits are acknowledged to clients again before any replica has them."""
    for name in ctx.nodes(Role.MYSQL):
        st = mysql(ctx.snap, name)
        if st is None or not st.up or st.semi_sync is None or st.read_only:
            continue
        ss = st.semi_sync
        if ss.source_enabled and ss.source_active is False:
            clients = "" if ss.clients is None else f"; {ss.clients} replica(s) connected as semi-sync"
            yield Alert(
                "repl.semi_sync_async",
                W,
                name,
                f"semi-sync is enabled on the writer {name} but has fallen back to async (its status is OFF"
                f"{clients}): a failover now can lose transactions clients were told committed",
                {"clients": ss.clients},
            )


# ----------------------------------------------------------------------------- keepalived
def rule_keepalived(ctx: Context) -> Iterator[Alert]:
    for name in ctx.nodes(Role.KEEPALIVED):
        if not ssh_up(ctx.snap, name):
            continue
        proc = ctx.snap.value(name, Kind.KEEPALIVED)
        if proc is not None and not ctx.snap.is_stale(name, Kind.KEEPALIVED) and not proc.running:
            yield Alert(
                "keepalived.down",
                C,
                name,
                f"keepalived is not running on {name} ({proc.detail}): it cannot take over the VIP",
                {"detail": proc.detail},
            )
            continue
        vrrp = ctx.snap.value(name, Kind.VRRP)
        if vrrp is not None and not ctx.snap.is_stale(name, Kind.VRRP):
            for inst in vrrp.instances:
                if inst.state == "FAULT":
                    yield Alert(
                        "keepalived.fault",
                        C,
                        name,
                        f"{name}: VRRP instance {inst.name} is in FAULT (failed check "
                        f"or interface down): it cannot hold the VIP",
                        {"instance": inst.name, "priority": inst.effective_priority},
                        subject=inst.name,
                    )
        for script, (result, at) in ctx.scripts.get(name, {}).items():
            if result != "succeeded":
                yield Alert(
                    "keepalived.check_failing",
                    W,
                    name,
                    f"{name}: health check {script} {result}",
                    {"script": script, "result": result, "at": at},
                    subject=script,
                )


# ----------------------------------------------------------------------------- mysqld
def rule_mysql_down(ctx: Context) -> Iterator[Alert]:
    for name in ctx.nodes(Role.MYSQL):
        if mysql_up(ctx.snap, name) is False:
            st = mysql(ctx.snap, name)
            error = st.error if st else "no answer"
            yield Alert("mysql.down", C, name, f"mysqld on {name} does not answer: {error}", {"error": error})


def rule_disk_full(ctx: Context) -> Iterator[Alert]:
    """Threads waiting for free disk space: a full binlog (or data) volume. mysqld answers reads
    and its writes hang; MariaDB retries every 60 s, so freeing space ends it only at the next
    retry. Not a dead server: a failover is not what this needs."""
    for name in ctx.nodes(Role.MYSQL):
        st = mysql(ctx.snap, name)
        if st is not None and st.up and st.disk_waits:
            yield Alert(
                "mysql.disk_full",
                C,
                name,
                f"{name}: {st.disk_waits} thread(s) wait for free disk space (its binlog or data volume is full): "
                f"writes there hang until space is freed (MariaDB then retries within 60 s)",
                {"threads": st.disk_waits},
            )


RULES: tuple[Rule, ...] = (
    rule_unreachable,
    rule_stale,
    rule_missing,
    rule_mysql_down,
    rule_disk_full,
    rule_vip_holders,
    rule_vip_on_bad_db,
    rule_multiple_writers,
    rule_replication_threads,
    rule_lag,
    rule_sources,
    rule_errant,
    rule_writer_missing,
    rule_server_ids,
    rule_auto_increment,
    rule_semi_sync,
    rule_keepalived,
    rule_routers,
    rule_reader_vips,
)


def evaluate(snap: Snapshot, rules: tuple[Rule, ...] = RULES, *, pending: frozenset[str] | None = None) -> list[Alert]:
    """Every alert for this snapshot, worst first, then by node. Nothing about a node before its
    first complete reading, and nothing about the cluster as a whole while any node is still
    that far (hatui.rules.readiness): an unknown never raises an alarm."""
    pending = pending_nodes(snap) if pending is None else pending
    ctx = Context(snap)
    alerts = [a for rule in rules for a in rule(ctx) if not _held(a, pending)]
    return sorted(alerts, key=lambda a: (-a.severity, a.node or "", a.code, a.subject))


def _held(a: Alert, pending: frozenset[str]) -> bool:
    return (a.node in pending) if a.node is not None else bool(pending)
