"""Incidents: the alerts of one evaluation grouped under their root cause.

One dead mysqld gives seven alerts (`mysql.down`, two `repl.source_down`, two `repl.io_stopped`,
`keepalived.fault`, `keepalived.check_failing`); the DBA needs one line: "the writer db1 died, the
VIP moved to db2", the evidence, and what to run next. Like orchestrator's analysis codes, every
incident has a stable code; its key (family, anchor) stays the same while the incident lasts,
even when its code moves on (the VIP leaving the dead writer turns `dead_writer` into
`dead_writer_vip_moved`: the same incident, changed).

Correlators run in order, the most specific first; each claims the alerts it explains. Every
alert ends up in exactly one incident: what no correlator explains becomes an incident of its
own family (`replication_broken`, `keepalived_down`, ...), one per node.
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hatui.cluster import Role, VipRole
from hatui.rules.alerts import Alert, Severity, worst
from hatui.rules.context import Context
from hatui.rules.topology import mysql, node_for_host
from hatui.state.store import Snapshot


class Code(StrEnum):
    DEAD_WRITER = "dead_writer"  # the writer's mysqld (or host) is down and the VIP is still on it
    DEAD_WRITER_VIP_MOVED = "dead_writer_vip_moved"  # ... and keepalived moved the VIP to another node
    DEAD_WRITER_NO_VIP = "dead_writer_no_vip"  # ... and no node holds the writer VIP
    DEAD_NODE = "dead_node"  # a mysqld that was not the writer is down
    DISK_FULL = "disk_full"  # a mysqld's writes wait for free disk space (a full binlog volume)
    SPLIT_BRAIN = "split_brain"  # a VIP on two nodes, routers or writers that disagree
    VIP_ON_BAD_NODE = "vip_on_bad_node"  # the writer VIP on a read-only or dead node
    VIP_UNHELD = "vip_unheld"
    ROUTER_NO_RW_TARGET = "router_no_rw_target"  # a router's writers' route ends nowhere useful
    READER_ON_BROKEN_REPLICA = "reader_on_broken_replica"  # reads served by a broken/lagging replica
    REPLICAS_ON_DEAD_SOURCE = "replicas_on_dead_source"
    NODE_UNREACHABLE = "node_unreachable"
    KEEPALIVED_DOWN = "keepalived_down"
    REPLICATION_BROKEN = "replication_broken"
    REPLICATION_LAG = "replication_lag"
    ERRANT_TRANSACTIONS = "errant_transactions"
    MULTIPLE_WRITERS = "multiple_writers"
    ROUTER_PROBLEM = "router_problem"
    CONFIG_PROBLEM = "config_problem"
    STALE_DATA = "stale_data"
    OTHER = "other"


# the failing check that made a node leave MASTER: logged up to this long before it left (a
# weighted check lowers the priority, the peer's next advert takes over) or this long after
LEFT_MASTER_BEFORE = 30.0
LEFT_MASTER_SLACK = 5.0

# the family keeps an incident's identity while its code changes
_FAMILY = {
    Code.DEAD_WRITER: "dead_writer",
    Code.DEAD_WRITER_VIP_MOVED: "dead_writer",
    Code.DEAD_WRITER_NO_VIP: "dead_writer",
}


@dataclass(frozen=True)
class Suggestion:
    """What to run next: a hatui runbook (argv after `hatui`), or advice when none fits yet."""

    text: str  # one line: why, in the DBA's words
    runbook: str | None = None  # "repair-gap", "rejoin", "switchover"
    args: tuple[str, ...] = ()  # e.g. ("--from", "db1", "--to", "db2")

    def command(self, cluster_file: str = "FILE") -> str | None:
        if self.runbook is None:
            return None
        return shlex.join(["hatui", self.runbook, "--cluster", cluster_file, *self.args])

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "runbook": self.runbook, "args": list(self.args)}


@dataclass(frozen=True)
class Incident:
    code: Code
    anchor: str  # the node or subject it is about ("db1", a VIP address, "routers")
    title: str  # one line a DBA acts on
    alerts: tuple[Alert, ...]  # every symptom it explains, the root first
    nodes: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict, compare=False)
    suggestions: tuple[Suggestion, ...] = ()

    @property
    def severity(self) -> Severity:
        return worst(self.alerts) or Severity.WARNING

    @property
    def key(self) -> tuple[str, str]:
        return (_FAMILY.get(self.code, str(self.code)), self.anchor)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "severity": str(self.severity),
            "title": self.title,
            "nodes": list(self.nodes),
            "alerts": [f"{a.code}@{a.node or '-'}" + (f"/{a.subject}" if a.subject else "") for a in self.alerts],
            "evidence": self.evidence,
            "suggested": [s.to_dict() for s in self.suggestions],
        }


# ----------------------------------------------------------------------------- facts


def _channel_source(snap: Snapshot, a: Alert) -> str | None:
    """The node a replication alert's channel pulls from."""
    if a.node is None or not a.code.startswith("repl."):
        return None
    st = mysql(snap, a.node)
    if st is None:
        return None
    ch = st.channel(a.subject)
    return node_for_host(snap, ch.source_host) if ch else None


def _dead_nodes(alerts: Iterable[Alert]) -> dict[str, str]:
    """node -> why it is dead: its mysqld does not answer, or the host cannot be reached."""
    out: dict[str, str] = {}
    for a in alerts:
        if a.node and a.code == "mysql.down":
            out[a.node] = f"mysqld does not answer ({a.evidence.get('error') or 'no answer'})"
    for a in alerts:
        if a.node and a.code == "ssh.unreachable" and a.node not in out:
            st_err = a.evidence.get("error") if isinstance(a.evidence, dict) else None
            out[a.node] = f"host unreachable ({st_err or 'no SSH'})"
    return out


def _writer_vips(ctx: Context) -> list[Any]:
    """Writer VIPs that live on the databases (not a router layer's, seed 002)."""
    dbs = set(ctx.nodes(Role.MYSQL))
    return [v for v in ctx.vips if v.role == VipRole.WRITER and _candidates(ctx, v.address) & dbs]


def _candidate(ctx: Context, node: str, address: str) -> bool:
    vip = next((v for v in ctx.cluster.vips if str(v.address) == address), None)
    return vip is not None and (vip.nodes is None or node in vip.nodes)


def _left_master(snap: Snapshot, node: str, instance: str | None) -> bool:
    """The node's keepalived left MASTER in its latest state change (MASTER, then its current
    state), and not well before its health check last failed. A node that handed the VIP over
    earlier and has been BACKUP since is not a writer that died: the chaos soak found a standby
    whose mysqld hung (MASTER ... BACKUP ... FAULT) taken for the dead writer, with a gap repair
    from it suggested."""
    changes: list[tuple[str, float]] = []  # (state, received at), repeats folded
    failed_at: float | None = None
    for e in snap.events:
        if e.node != node:
            continue
        kind = str(getattr(e.event, "kind", ""))
        if kind == "state" and (instance is None or getattr(e.event, "instance", None) == instance):
            state = str(e.event.state)
            if not changes or changes[-1][0] != state:
                changes.append((state, e.received_at))
        elif (kind == "script" and getattr(e.event, "result", None) in ("failed", "timed out")) or (
            kind == "script_rc" and getattr(e.event, "rc", 0) not in (0, None)
        ):
            failed_at = e.received_at
    if len(changes) < 2 or changes[-1][0] == "MASTER" or changes[-2][0] != "MASTER":
        return False
    # keepalived leaves MASTER for a dying writer because its check failed, and logs that
    # failure with it (2.x "now returning 1", 1.x "failed"): a departure with no failure around
    # it was a handover (a stop, a restore), however the node's mysqld fares now
    left_at = changes[-1][1]
    return failed_at is not None and -LEFT_MASTER_BEFORE <= failed_at - left_at <= LEFT_MASTER_SLACK


def _was_writer(ctx: Context, node: str, alerts: list[Alert]) -> str | None:
    """Why we believe a dead node was the writer, or None. The snapshot no longer says it
    directly (a dead node is writable by nobody's measure), so: it still holds the writer VIP;
    or replicas that are not masters pull from it; or its log shows it leaving MASTER; or a
    router still sends writes to it."""
    snap = ctx.snap
    for v in _writer_vips(ctx):
        if node in v.holders:
            return f"it holds the writer VIP {v.address}"
    masters: set[str] = set().union(*(_candidates(ctx, v.address) for v in _writer_vips(ctx)))
    pullers = sorted(
        {a.node for a in alerts if a.node and a.node not in masters and _channel_source(snap, a) == node}
        | {
            name
            for name in ctx.nodes(Role.MYSQL)
            if name != node
            and name not in masters
            and (st := mysql(snap, name)) is not None
            and any(node_for_host(snap, ch.source_host) == node for ch in st.channels)
        }
    )
    if pullers:
        return f"its replicas {', '.join(pullers)} pull from it"
    for v in _writer_vips(ctx):
        if _candidate(ctx, node, v.address) and _left_master(snap, node, v.instance):
            return f"its keepalived left MASTER for {v.instance}"
    for a in alerts:
        if a.code.startswith("router.rw_") and a.evidence.get("target") == node:
            return f"router {a.node} sends writes to it"
    return None


def _candidates(ctx: Context, address: str) -> set[str]:
    vip = next((v for v in ctx.cluster.vips if str(v.address) == address), None)
    if vip is None:
        return set()
    return set(vip.nodes) if vip.nodes else {n.name for n in ctx.cluster.nodes_with_role(Role.MYSQL)}


def _about(snap: Snapshot, a: Alert, node: str) -> bool:
    """The alert is a symptom of `node` being dead."""
    if a.node == node:
        return True
    if _channel_source(snap, a) == node:
        return True
    ev = a.evidence if isinstance(a.evidence, dict) else {}
    if ev.get("target") == node:
        return True
    if a.code == "router.rw_no_target":
        return any(
            s.get("name") == node or node_for_host(snap, s.get("address")) == node for s in ev.get("servers", [])
        )
    return False


# ----------------------------------------------------------------------------- correlators

Claimed = set[int]  # ids of alerts already explained
Correlator = Callable[[Context, list[Alert], Claimed], list[Incident]]


def _take(alerts: list[Alert], claimed: Claimed, pred: Callable[[Alert], bool]) -> list[Alert]:
    got = [a for a in alerts if id(a) not in claimed and pred(a)]
    claimed.update(id(a) for a in got)
    return got


def _root_first(root_codes: tuple[str, ...], alerts: list[Alert]) -> tuple[Alert, ...]:
    def rank(a: Alert) -> tuple[int, int, str, str]:
        r = root_codes.index(a.code) if a.code in root_codes else len(root_codes)
        return (r, -a.severity, a.node or "", a.code)

    return tuple(sorted(alerts, key=rank))


def dead_nodes(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    out = []
    snap = ctx.snap
    for node, why in sorted(_dead_nodes(alerts).items()):
        reason = _was_writer(ctx, node, alerts)

        def about(a: Alert, n: str = node) -> bool:
            return _about(snap, a, n)

        symptoms = _take(alerts, claimed, about)
        sug: tuple[Suggestion, ...]
        if reason is None:
            pullers = sorted({a.node for a in symptoms if a.node and a.node != node})
            unreachable = any(a.code == "ssh.unreachable" and a.node == node for a in symptoms) and not any(
                a.code == "mysql.down" and a.node == node for a in symptoms
            )
            sug = (
                (Suggestion(f"check {node}'s host and network (SSH gets no answer)"),)
                if unreachable
                else (
                    Suggestion(f"start {node}'s mysqld, then make it a replica of the writer again", "rejoin", (node,))
                    if ctx.writer.node not in (None, node)
                    # rejoin refuses without a writer to follow: say what comes first
                    else Suggestion(f"start {node}'s mysqld; once a writer is back, rejoin it (`hatui rejoin {node}`)"),
                )
            )
            out.append(
                Incident(
                    Code.NODE_UNREACHABLE if unreachable else Code.DEAD_NODE,
                    node,
                    f"{node} is down: {why}" + (f"; {', '.join(pullers)} pull from it" if pullers else ""),
                    _root_first(("mysql.down", "ssh.unreachable"), symptoms),
                    (node, *pullers),
                    {"node": node, "why": why},
                    sug,
                )
            )
            continue
        # the writer VIP in transit (held by nobody for a moment) or on a standby its notify
        # script has not made writable yet: the same failover, not incidents of their own
        wvips = {v.address for v in _writer_vips(ctx)}

        def writer_vip(a: Alert, wvips: set[str] = wvips) -> bool:
            return a.code in ("vip.unheld", "vip.holder_read_only", "vip.unexpected_holder") and a.subject in wvips

        symptoms += _take(alerts, claimed, writer_vip)
        # the writer VIP now: still on the dead node, on another node, or nowhere
        holders = [h for v in _writer_vips(ctx) for h in v.holders]
        vip_addr = next((v.address for v in _writer_vips(ctx)), None)
        new = next((h for h in holders if h != node), None)
        if vip_addr and node in holders:
            code = Code.DEAD_WRITER
            title = f"the writer {node} is down ({why}) and the writer VIP {vip_addr} is still on it: every write fails"
            sug = (
                Suggestion(
                    f"keepalived on {node} did not release the VIP: promote the most advanced standby, recover "
                    f"what only {node} had, move the VIP (stops keepalived on {node})",
                    "failover",
                ),
            )
        elif new is not None:
            code = Code.DEAD_WRITER_VIP_MOVED
            title = f"the writer {node} is down ({why}); the VIP {vip_addr} moved to {new}, the writer now"
            on_dead = sorted(
                {a.node for a in symptoms if a.node and a.node not in (node, new) and a.code.startswith("repl.")}
            )
            sug = (
                Suggestion(
                    f"recover what {node}'s binlogs hold and {new} never got",
                    "repair-gap",
                    ("--from", node, "--to", new),
                ),
                Suggestion(f"then make {node} a replica of {new}", "rejoin", (node,)),
            ) + (
                (
                    Suggestion(
                        f"{', '.join(on_dead)} still pull from {node}: point them at {new}", "repoint", tuple(on_dead)
                    ),
                )
                if on_dead
                else ()
            )
        elif vip_addr:
            code = Code.DEAD_WRITER_NO_VIP
            title = f"the writer {node} is down ({why}) and no node holds the writer VIP {vip_addr}"
            sug = (
                Suggestion("no standby took the VIP: check the standbys' keepalived (FAULT? check script?)"),
                Suggestion(f"or promote the most advanced standby and recover what only {node} had", "failover"),
            )
        else:  # no writer VIP on the databases (seed 002: routers)
            code = Code.DEAD_WRITER
            title = f"the writer {node} is down ({why}): writes through the routers fail"
            sug = (
                Suggestion(
                    f"promote the most advanced replica (recovering what only {node} had), turn the routers' "
                    "writers' route to it, repoint the others",
                    "failover",
                ),
            )
        # the writer VIP's other candidates take part in the failover (their role changes are
        # this incident's, not news of their own)
        candidates = sorted(set().union(*(_candidates(ctx, v.address) for v in _writer_vips(ctx))) - {node})
        nodes = tuple(
            dict.fromkeys(
                [node, *(h for h in holders if h != node), *candidates, *(a.node for a in symptoms if a.node)]
            )
        )
        out.append(
            Incident(
                code,
                node,
                title,
                _root_first(("mysql.down", "ssh.unreachable", "vip.holder_mysql_down"), symptoms),
                nodes,
                {"dead": node, "why": why, "was_writer_because": reason, "vip": vip_addr, "vip_holders": holders},
                sug,
            )
        )
    return out


def split_brain(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    roots = _take(
        alerts,
        claimed,
        lambda a: (
            a.code in ("vip.split_brain", "router.rw_disagree", "router.rw_several_targets")
            or (a.code == "topology.multiple_writers" and a.severity == Severity.CRITICAL)
        ),
    )
    if not roots:
        return []
    nodes = sorted({h for a in roots for h in a.evidence.get("holders", []) or a.evidence.get("writable", [])})
    more = _take(
        alerts,
        claimed,
        lambda a: (
            a.code in ("gtid.errant", "topology.multiple_writers")
            or (a.code == "vip.holder_read_only" and a.node in nodes)
        ),
    )
    first = _root_first(("vip.split_brain", "topology.multiple_writers", "router.rw_disagree"), roots + more)
    # a VIP on two routers that send writes to the same server: no second writer, no writes to
    # compare (the split-brain runbook resolves databases and refuses this); VRRP ends it once the
    # routers hear each other again
    routers_only = all(
        a.code == "vip.split_brain" and all(_router_only(ctx, h) for h in a.evidence.get("holders", [])) for a in first
    )
    sug = (
        Suggestion(
            f"{' and '.join(nodes)} both hold the address and send writes to the same server: keepalived "
            "settles it once they hear each other's adverts (check the network between them)"
        )
        if routers_only
        else Suggestion(
            "compare both sides' writes, keep one (the other's are saved first), fence the other and drop its VIP",
            "split-brain",
        )
    )
    return [
        Incident(
            Code.SPLIT_BRAIN,
            "cluster",
            f"split brain: {first[0].message}",
            first,
            tuple(nodes),
            {"holders": nodes},
            (sug,),
        )
    ]


def _router_only(ctx: Context, name: str) -> bool:
    node = ctx.cluster.nodes.get(name)
    return node is not None and node.has_role(Role.ROUTER) and not node.has_role(Role.MYSQL)


def _per_node(
    code: Code,
    codes: tuple[str, ...],
    title: Callable[[str, list[Alert]], str],
    sug: Callable[[str, list[Alert]], tuple[Suggestion, ...]],
) -> Correlator:
    def correlate(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
        by: dict[str, list[Alert]] = defaultdict(list)
        for a in _take(alerts, claimed, lambda a: a.code in codes):
            by[a.node or (a.subject or "cluster")].append(a)
        return [
            Incident(
                code,
                anchor,
                title(anchor, got),
                _root_first(codes, got),
                (anchor,) if anchor in ctx.cluster.nodes else (),
                {},
                sug(anchor, got),
            )
            for anchor, got in sorted(by.items())
        ]

    return correlate


def _replication_suggestion(node: str, alerts: list[Alert]) -> tuple[Suggestion, ...]:
    """A channel stopped on a duplicate key (1062) or a missing row (1032): the MMM partition's
    retried insert, committed on both sides. skip-applied proves the node holds the row as the
    transaction leaves it before skipping it; a real conflict it refuses and names.
    A replica left on the old writer after the VIP moved (its source alive): repoint it, named,
    as repoint only moves a replica behind a live source when asked."""
    if any(a.code == "repl.sql_stopped" and a.evidence.get("last_sql_errno") in (1062, 1032) for a in alerts):
        return (
            Suggestion(
                f"skip the transaction {node} stopped on, if it already holds every row as that transaction "
                "leaves it (checked row by row)",
                "skip-applied",
                (node,),
            ),
        )
    away = [a for a in alerts if a.code == "repl.source_not_writer" and a.evidence.get("writer")]
    if away and len(away) == len(alerts):
        return (Suggestion(f"point {node} at the writer {away[0].evidence['writer']}", "repoint", (node,)),)
    return ()


def vip_on_bad_node(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    got = _take(alerts, claimed, lambda a: a.code in ("vip.holder_read_only", "vip.holder_mysql_down"))
    out = []
    for a in got:
        assert a.node is not None
        others = sorted(_candidates(ctx, a.subject) - {a.node})
        if a.code == "vip.holder_read_only" and ctx.writer.node is None:
            # nothing is writable: the holder's notify script did not lift read_only (or its mysqld
            # restarted under the VIP); a switchover needs a writer to move from
            sug: tuple[Suggestion, ...] = (
                Suggestion(f"make {a.node} writable: it holds the writer VIP", "make-writable", (a.node,)),
            )
        else:
            sug = tuple(Suggestion(f"move the writer to {o}", "switchover", ("--to", o)) for o in others[:1])
        out.append(
            Incident(Code.VIP_ON_BAD_NODE, a.subject or a.node, a.message, (a,), (a.node,), dict(a.evidence), sug)
        )
    return out


def readers_on_broken(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    roots = _take(alerts, claimed, lambda a: a.code in ("vip.reader_on_bad_replica", "router.ro_target_broken"))
    by: dict[str, list[Alert]] = defaultdict(list)
    for a in roots:
        node = a.node if a.code == "vip.reader_on_bad_replica" else a.evidence.get("target")
        by[str(node)].append(a)
    out = []
    for node, got in sorted(by.items()):

        def own_replication(a: Alert, n: str = node) -> bool:
            return a.node == n and a.code in ("repl.io_stopped", "repl.sql_stopped", "repl.lag")

        got += _take(alerts, claimed, own_replication)
        out.append(
            Incident(
                Code.READER_ON_BROKEN_REPLICA,
                node,
                f"reads still go to {node}, whose replication is broken or behind: readers get stale data",
                _root_first(("vip.reader_on_bad_replica", "router.ro_target_broken"), got),
                (node,),
                {"replica": node},
                (
                    Suggestion(
                        f"take {node} out of the readers (move its reader VIP, disable it in the router), "
                        f"then fix its replication"
                    ),
                ),
            )
        )
    return out


def routers(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    got = _take(alerts, claimed, lambda a: a.code.startswith("router.rw_"))
    if not got:
        return []
    first = _root_first(("router.rw_no_target", "router.rw_target_down", "router.rw_target_read_only"), got)
    w = ctx.writer.node
    sug: tuple[Suggestion, ...]
    read_only_targets = {a.evidence.get("target") for a in got if a.code == "router.rw_target_read_only"}
    if w is None and len(read_only_targets) == 1 and all(a.code == "router.rw_target_read_only" for a in got):
        # every route ends on the same live read-only server and nothing is writable: a restarted
        # primary (read_only from my.cnf). make-writable proves it holds everything first.
        (t,) = read_only_targets
        sug = (Suggestion(f"make {t} writable: every router sends writes to it", "make-writable", (str(t),)),)
    else:
        sug = (
            Suggestion(
                f"point the writers' route at the writer {w}"
                if w
                else "promote a writer, then point the writers' route at it"
            ),
        )
    return [
        Incident(
            Code.ROUTER_NO_RW_TARGET,
            "routers",
            f"the routers have no healthy writers' target: {first[0].message}",
            first,
            tuple(sorted({a.node for a in got if a.node})),
            {"writer": w},
            sug,
        )
    ]


def dead_sources(ctx: Context, alerts: list[Alert], claimed: Claimed) -> list[Incident]:
    got = _take(alerts, claimed, lambda a: a.code == "repl.source_down")
    by: dict[str, list[Alert]] = defaultdict(list)
    for a in got:
        by[_channel_source(ctx.snap, a) or "?"].append(a)
    w = ctx.writer.node
    return [
        Incident(
            Code.REPLICAS_ON_DEAD_SOURCE,
            src,
            f"{', '.join(sorted({a.node or '?' for a in lst}))} pull from {src}, which is down",
            tuple(lst),
            tuple(sorted({a.node for a in lst if a.node})),
            {"source": src},
            (
                Suggestion(
                    f"point them at the writer {w}",
                    "repoint",
                    tuple(sorted({a.node for a in lst if a.node and a.node != w})),
                )
                if w
                else Suggestion("point them at the writer"),
            ),
        )
        for src, lst in sorted(by.items())
    ]


CORRELATORS: tuple[Correlator, ...] = (
    split_brain,
    dead_nodes,
    vip_on_bad_node,
    routers,
    readers_on_broken,
    dead_sources,
    _per_node(
        Code.DISK_FULL,
        ("mysql.disk_full",),
        lambda n, a: a[0].message,
        lambda n, a: (
            Suggestion(
                f"free space on the volume of {n}'s binlogs (grow it, or remove what is not a binlog: "
                f"PURGE BINARY LOGS may wait behind the stuck write)"
            ),
        ),
    ),
    _per_node(
        Code.NODE_UNREACHABLE,
        ("ssh.unreachable", "ssh.host_key", "data.stale", "data.missing"),
        lambda n, a: a[0].message,
        lambda n, a: (),
    ),
    _per_node(Code.VIP_UNHELD, ("vip.unheld", "vip.unexpected_holder"), lambda n, a: a[0].message, lambda n, a: ()),
    _per_node(
        Code.KEEPALIVED_DOWN,
        ("keepalived.down", "keepalived.fault", "keepalived.check_failing"),
        lambda n, a: f"{n}: keepalived cannot hold a VIP: {a[0].message}",
        lambda n, a: (),
    ),
    _per_node(
        Code.REPLICATION_BROKEN,
        ("repl.io_stopped", "repl.sql_stopped", "repl.source_is_vip", "repl.source_not_writer"),
        lambda n, a: a[0].message,
        _replication_suggestion,
    ),
    _per_node(Code.REPLICATION_LAG, ("repl.lag", "gtid.writer_missing"), lambda n, a: a[0].message, lambda n, a: ()),
    _per_node(
        Code.ERRANT_TRANSACTIONS,
        ("gtid.errant",),
        lambda n, a: a[0].message,
        lambda n, a: (Suggestion(f"save and roll back {n}'s errant transactions", "rejoin", ("--discard-errant", n)),),
    ),
    _per_node(Code.MULTIPLE_WRITERS, ("topology.multiple_writers",), lambda n, a: a[0].message, lambda n, a: ()),
    _per_node(
        Code.CONFIG_PROBLEM,
        ("mysql.duplicate_server_id", "gtid.mode_mismatch", "mysql.auto_increment_clash", "repl.semi_sync_async"),
        lambda n, a: a[0].message,
        lambda n, a: (),
    ),
    _per_node(
        Code.ROUTER_PROBLEM,
        ("router.unreadable", "router.ro_no_target", "router.rw_unknown_target"),
        lambda n, a: a[0].message,
        lambda n, a: (),
    ),
)


def correlate(snap: Snapshot, alerts: list[Alert], ctx: Context | None = None) -> list[Incident]:
    """Every alert under exactly one incident; incidents worst first."""
    ctx = ctx or Context(snap)
    claimed: Claimed = set()
    out: list[Incident] = []
    for c in CORRELATORS:
        out.extend(c(ctx, alerts, claimed))
    for a in alerts:  # whatever no correlator knows: an incident of its own
        if id(a) not in claimed:
            claimed.add(id(a))
            out.append(
                Incident(
                    Code.OTHER, f"{a.code}@{a.node or '-'}/{a.subject}", a.message, (a,), (a.node,) if a.node else ()
                )
            )
    return sorted(out, key=lambda i: (-i.severity, str(i.code), i.anchor))


@dataclass(frozen=True)
class ActiveIncident:
    incident: Incident
    since: float  # when its key was first raised


@dataclass(frozen=True)
class IncidentChange:
    kind: str  # "raised" / "changed" / "cleared" / "merged"
    incident: Incident  # the new one (cleared, merged: the last one seen)
    since: float
    previous: Incident | None = None  # changed: what it was
    into: Incident | None = None  # merged: the incident that explains its alerts now


class IncidentBook:
    """Incidents across ticks: start times, and what was raised, changed (a new code or
    severity: the VIP moved, it got worse) or cleared. The console toasts these, one per
    incident, never one per alert."""

    def __init__(self) -> None:
        self._active: dict[tuple[str, str], ActiveIncident] = {}

    def update(self, incidents: list[Incident], now: float) -> list[IncidentChange]:
        changes: list[IncidentChange] = []
        current = {i.key: i for i in incidents}
        for key, inc in current.items():
            prev = self._active.get(key)
            if prev is None:
                changes.append(IncidentChange("raised", inc, now))
                self._active[key] = ActiveIncident(inc, now)
                continue
            old = prev.incident
            if (old.code, old.severity) != (inc.code, inc.severity):
                changes.append(IncidentChange("changed", inc, prev.since, old))
            self._active[key] = ActiveIncident(inc, prev.since)
        for key in [k for k in self._active if k not in current]:
            gone = self._active.pop(key)
            # its alerts live on under another incident (a replica's broken channel seen a
            # moment before its source's death): not resolved, explained
            keys = {a.key for a in gone.incident.alerts}
            into = next((i for i in incidents if keys & {a.key for a in i.alerts}), None)
            if into is not None:
                changes.append(IncidentChange("merged", gone.incident, gone.since, into=into))
            else:
                changes.append(IncidentChange("cleared", gone.incident, gone.since))
        return changes

    @property
    def active(self) -> list[ActiveIncident]:
        return sorted(self._active.values(), key=lambda a: (-a.incident.severity, a.since, a.incident.anchor))
