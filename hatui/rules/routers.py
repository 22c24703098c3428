"""Router rules (seed 002): what each router's routes send clients to, judged against hatui's
own readings of the databases. HAProxy's `mysql-check` passes a read-only server, and MySQL
Router does not report a destination's health at all: the router alone cannot tell that its
writers' route ends on a replica."""

from __future__ import annotations

from collections.abc import Iterator

from hatui.cluster import Role
from hatui.routers.model import Route, RouterObs, RouteServer
from hatui.rules.alerts import Alert, Severity
from hatui.rules.context import Context
from hatui.rules.topology import mysql, mysql_up, node_for_host, ssh_up, writable
from hatui.state.observations import Kind
from hatui.state.store import Snapshot

W, C = Severity.WARNING, Severity.CRITICAL


def router_obs(snap: Snapshot, node: str) -> RouterObs | None:
    """The router's fresh reading, or None (never read, stale, or its SSH session down)."""
    obs = snap.get(node, Kind.ROUTER)
    if obs is None or snap.is_stale(node, Kind.ROUTER) or not ssh_up(snap, node):
        return None
    return obs.value if isinstance(obs.value, RouterObs) else None


def server_node(snap: Snapshot, server: RouteServer) -> str | None:
    """The cluster node a route's server is: by address, else by the router's name for it."""
    node = node_for_host(snap, server.address)
    if node is None and server.name in snap.cluster.nodes:
        node = server.name
    return node


def _servers_text(route: Route) -> str:
    return ", ".join(f"{s.name} {s.detail or s.state}" for s in route.servers) or "no servers"


def _evidence(router: str, route: Route) -> dict[str, object]:
    return {
        "router": router,
        "route": route.name,
        "alive": route.alive,
        "servers": [
            {"name": s.name, "address": s.address, "port": s.port, "state": str(s.state), "detail": s.detail}
            for s in route.servers
        ],
        "targets": [s.name for s in route.targets],
    }


def rule_routers(ctx: Context) -> Iterator[Alert]:
    snap = ctx.snap
    writer_targets: dict[str, tuple[str, ...]] = {}  # router -> the nodes its writers' route uses
    for name in ctx.nodes(Role.ROUTER):
        obs = router_obs(snap, name)
        if obs is None:
            continue
        if obs.error:
            yield Alert(
                "router.unreadable", W, name, f"cannot read {obs.kind} on {name}: {obs.error}", {"error": obs.error}
            )
            continue
        for route in obs.routes:
            if route.role == "writer":
                yield from _writer_route(ctx, name, route)
                writer_targets[name] = tuple(sorted(server_node(snap, s) or s.name for s in route.targets))
            elif route.role == "reader":
                yield from _reader_route(ctx, name, route)
    if len(set(writer_targets.values())) > 1:
        parts = "; ".join(f"{r} -> {', '.join(t) or 'nothing'}" for r, t in sorted(writer_targets.items()))
        yield Alert(
            "router.rw_disagree",
            C,
            None,
            f"the routers send writes to different places ({parts}): clients write to two nodes depending "
            f"on which router the VIP is on",
            {"targets": {r: list(t) for r, t in writer_targets.items()}},
        )


def _writer_route(ctx: Context, router: str, route: Route) -> Iterator[Alert]:
    ev = _evidence(router, route)
    targets = route.targets
    if not targets or route.alive is False:
        yield Alert(
            "router.rw_no_target",
            C,
            router,
            f"{router}'s writers' route {route.name} sends writes nowhere ({_servers_text(route)}): every "
            f"write through it fails",
            ev,
            subject=route.name,
        )
        return
    if len(targets) > 1:
        yield Alert(
            "router.rw_several_targets",
            C,
            router,
            f"{router}'s writers' route {route.name} spreads writes over {len(targets)} servers "
            f"({', '.join(s.label for s in targets)}): they become conflicting writes",
            ev,
            subject=route.name,
        )
        return
    target = targets[0]
    node = server_node(ctx.snap, target)
    if node is None:
        yield Alert(
            "router.rw_unknown_target",
            W,
            router,
            f"{router}'s writers' route {route.name} sends writes to {target.label}, which is no node "
            f"of the cluster file",
            ev,
            subject=route.name,
        )
        return
    ev["target"] = node
    up = mysql_up(ctx.snap, node)
    st = mysql(ctx.snap, node)
    if up is False:
        yield Alert(
            "router.rw_target_down",
            C,
            router,
            f"{router}'s writers' route {route.name} sends writes to {node}, whose mysqld is down "
            f"({st.error if st else 'no answer'}) though the router still counts it up",
            ev,
            subject=route.name,
        )
    elif up and st is not None and not writable(st):
        yield Alert(
            "router.rw_target_read_only",
            C,
            router,
            f"{router}'s writers' route {route.name} sends writes to {node}, which is read_only: every "
            f"write through it fails"
            + (f" (the writer is {ctx.writer.node})" if ctx.writer.node and ctx.writer.node != node else ""),
            ev,
            subject=route.name,
        )
    elif up and ctx.writer.node and node != ctx.writer.node:
        yield Alert(
            "router.rw_not_writer",
            C,
            router,
            f"{router}'s writers' route {route.name} sends writes to {node}, but the writer is "
            f"{ctx.writer.node} ({ctx.writer.how})",
            ev,
            subject=route.name,
        )


def _reader_route(ctx: Context, router: str, route: Route) -> Iterator[Alert]:
    ev = _evidence(router, route)
    if not route.targets or route.alive is False:
        yield Alert(
            "router.ro_no_target",
            W,
            router,
            f"{router}'s readers' route {route.name} sends reads nowhere ({_servers_text(route)})",
            ev,
            subject=route.name,
        )
        return
    limit = ctx.cluster.thresholds.lag_critical
    for server in route.targets:
        node = server_node(ctx.snap, server)
        st = mysql(ctx.snap, node) if node else None
        if node is None or st is None:
            continue
        why = None
        if mysql_up(ctx.snap, node) is False:
            why = f"its mysqld is down ({st.error or 'no answer'})"
        else:
            for ch in st.channels:
                if not ch.io_running or not ch.sql_running:
                    why = f"its replication is stopped ({ch.last_error or ch.io_state or 'SQL thread stopped'})"
                elif ch.lag_seconds is not None and ch.lag_seconds >= limit:
                    why = f"it is {ch.lag_seconds:.0f} s behind (limit {limit:g} s)"
        if why:
            yield Alert(
                "router.ro_target_broken",
                W,
                router,
                f"{router}'s readers' route {route.name} still sends reads to {node}: {why}; readers see "
                f"stale or no data",
                {**ev, "target": node, "why": why},
                subject=f"{route.name}/{node}",
            )
