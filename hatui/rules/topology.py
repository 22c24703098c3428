"""Derived facts the rules share: who holds each VIP, who is the writer, who a channel pulls from."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from hatui.cluster import Cluster, Role, Topology, VipRole
from hatui.mysql.status import MysqlStatus
from hatui.state.observations import AddressObs, Kind, SshObs
from hatui.state.store import Snapshot


@dataclass(frozen=True)
class VipView:
    address: str
    role: VipRole
    instance: str | None
    port: int
    holders: tuple[str, ...]  # nodes whose interfaces carry the address now
    unknown: tuple[str, ...]  # candidate nodes we have no fresh address list for


@lru_cache(maxsize=4096)  # called per channel per tick; hosts are few and never change
def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


_SET = frozenset({"MASTER"})
_LET_GO = frozenset({"BACKUP", "FAULT", "STOP"})


def _vrrp_log(snap: Snapshot) -> dict[tuple[str, str | None], tuple[float, bool]]:
    """(node, instance) -> (when the store got it, holds the VIP) from the last log line that
    says so: entering MASTER or setting VIPs; leaving MASTER, removing VIPs, stopping (instance
    None: every instance of the node)."""
    out: dict[tuple[str, str | None], tuple[float, bool]] = {}
    for e in snap.events:
        ev = e.event
        kind = str(getattr(ev, "kind", ""))
        state = getattr(ev, "state", None)
        instance = getattr(ev, "instance", None)
        if kind == "vip_set" or (kind == "state" and state in _SET and not str(ev.detail).startswith("Transition")):
            out[(e.node, instance)] = (e.received_at, True)
        elif kind == "vip_removed" or (kind == "state" and state in _LET_GO):
            out[(e.node, instance)] = (e.received_at, False)
        elif kind == "lifecycle" and state == "STOP":
            out[(e.node, None)] = (e.received_at, False)
    return out


def _held_now(
    log: dict[tuple[str, str | None], tuple[float, bool]], node: str, instance: str | None, read_at: float, on: bool
) -> bool:
    """Whether the node holds a VIP: its address list, unless keepalived's log said otherwise
    after that list was read. Two nodes' lists are read up to a second apart: without this a VIP
    moving from one to the other shows on both for a moment (a false split brain) or on neither."""
    said = [v for k in ((node, instance), (node, None)) if (v := log.get(k)) is not None and v[0] > read_at]
    if instance is None or not said:
        return on
    return max(said)[1]


def vip_views(snap: Snapshot) -> list[VipView]:
    """One row per distinct VIP address (router setups list one address on several ports)."""
    out: list[VipView] = []
    seen: set[str] = set()
    log = _vrrp_log(snap)
    for vip in snap.cluster.vips:
        addr = str(vip.address)
        if addr in seen:
            continue
        seen.add(addr)
        candidates = list(vip.nodes) if vip.nodes else list(snap.cluster.nodes)
        holders: list[str] = []
        unknown: list[str] = []
        # Any node can carry an address by mistake: look at all of them, not only candidates.
        for name in snap.cluster.nodes:
            obs = snap.get(name, Kind.ADDRESSES)
            value: AddressObs | None = obs.value if obs else None
            if value is None or value.error or snap.is_stale(name, Kind.ADDRESSES) or not ssh_up(snap, name):
                if name in candidates:
                    unknown.append(name)
                continue
            if _held_now(log, name, vip.instance, obs.at if obs else 0.0, addr in value.held):
                holders.append(name)
        out.append(VipView(addr, vip.role, vip.instance, vip.port, tuple(holders), tuple(unknown)))
    return out


def ssh_up(snap: Snapshot, node: str) -> bool:
    v: SshObs | None = snap.value(node, Kind.SSH)
    return v is not None and v.up


def mysql(snap: Snapshot, node: str) -> MysqlStatus | None:
    """The node's MysqlStatus when it is known and fresh enough to reason on, else None."""
    if Role.MYSQL not in snap.cluster.nodes[node].roles:
        return None
    obs = snap.get(node, Kind.MYSQL)
    if obs is None or snap.is_stale(node, Kind.MYSQL):
        return None
    return obs.value if isinstance(obs.value, MysqlStatus) else None


def mysql_up(snap: Snapshot, node: str) -> bool | None:
    """True/False when known; None when unknown (never polled, stale, or SSH tunnel down)."""
    st = mysql(snap, node)
    if st is None:
        return None
    if not st.up and _tunnelled(snap.cluster, node) and not ssh_up(snap, node):
        return None  # the tunnel is down: we cannot tell whether mysqld is
    return bool(st.up)


def _tunnelled(cluster: Cluster, node: str) -> bool:
    return cluster.nodes[node].mysql.via.value == "ssh-tunnel"


def writable(st: MysqlStatus) -> bool:
    return bool(st.up) and not st.read_only and not bool(getattr(st, "super_read_only", False))


@dataclass(frozen=True)
class Writer:
    node: str | None
    how: str  # "holds the writer VIP 198.18.0.100", "only writable node", or why unknown


def writer(snap: Snapshot, views: list[VipView] | None = None) -> Writer:
    """The node that takes writes now.

    The writer VIP decides when a MySQL node holds it alone (keepalived on the DB hosts). When the
    VIP lives on router hosts (seed 002) the writer is the only writable MySQL node.
    """
    views = vip_views(snap) if views is None else views
    mysql_nodes = [n.name for n in snap.cluster.nodes_with_role(Role.MYSQL)]
    for v in views:
        if v.role != VipRole.WRITER:
            continue
        db_holders = [h for h in v.holders if h in mysql_nodes]
        if len(db_holders) == 1:
            return Writer(db_holders[0], f"holds the writer VIP {v.address}")
        if len(db_holders) > 1:
            return Writer(None, f"the writer VIP {v.address} is on {', '.join(db_holders)}")
    up_writable = [n for n in mysql_nodes if (st := mysql(snap, n)) is not None and writable(st)]
    if len(up_writable) == 1:
        return Writer(up_writable[0], "the only writable MySQL node")
    if not up_writable:
        return Writer(None, "no writable MySQL node")
    # several writable nodes: the one that replicates from nobody is the primary
    roots = [n for n in up_writable if not (st := mysql(snap, n)) or not st.channels]
    if len(roots) == 1:
        return Writer(roots[0], "the only writable node without a source")
    return Writer(None, f"several writable nodes: {', '.join(up_writable)}")


def node_for_host(snap: Snapshot, host: str | None) -> str | None:
    """Which cluster node a replication source host names: by configured host, name, or address."""
    if not host:
        return None
    h = _norm(host.strip())
    for name, node in snap.cluster.nodes.items():
        if _norm(node.host) == h or name == host:
            return name
    vip_addrs = {str(v.address) for v in snap.cluster.vips}
    if h in vip_addrs:
        return None  # a VIP is not a node (see rule repl.source_is_vip)
    for name in snap.cluster.nodes:
        obs = snap.value(name, Kind.ADDRESSES)
        if obs is not None and h in obs.addresses:
            return name
    return None


def single_writer_topology(cluster: Cluster) -> bool:
    return cluster.topology in (Topology.PRIMARY_REPLICAS, Topology.MMM)
