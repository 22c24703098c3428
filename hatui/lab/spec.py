"""What the lab is made of: topology, names, addresses, roles and VRRP instances. Pure data,
no I/O. One spec per deployment the seeds describe (see TOPOLOGIES and LabOptions)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_SUBNET = "198.18.0.0/24"  # RFC 2544 benchmarking range: never routed anywhere
DEFAULT_PREFIX = "hatui-"
DEFAULT_STATE_DIR = "/var/lib/hatui-lab"

TOPOLOGIES = ("dual-master", "primary-replicas", "mmm")
VIP_MOVERS = ("track-file", "flag-file", "none")
# what `hatui lab fault` can do (lab.FAULTS does each): named here so the CLI's parser lists them
# without importing the lab's machinery (pyroute2 alone is 0.2 s of every command's start)
FAULT_KINDS = (
    "kill-mysqld", "stop-mysqld", "start-mysqld", "freeze-mysqld", "thaw-mysqld",
    "kill-keepalived", "stop-keepalived", "start-keepalived",
    "kill-haproxy", "stop-haproxy", "start-haproxy",
    "stop-sshd", "start-sshd", "fill-binlog", "free-binlog", "partition", "heal",
)  # fmt: skip
ROUTER_PORTS = {"writer": 7001, "reader": 7002}  # seed 002's MySQL Router ports


@dataclass(frozen=True)
class LabOptions:
    """What varies within a topology: the seeds' other hosts and configs."""

    gtid: bool = True  # False: replication by binlog file and position (seed 001)
    # how keepalived can be told to move the VIP: 2.x track_file, a seed-003 flag-file script
    # with a negative weight (works on 1.x too), or nothing (a 1.x host without either)
    vip_mover: str = "track-file"
    dual_vip: bool = False  # a second instance, master on the other node (seed 003)
    unicast: bool = False  # unicast_peer instead of multicast adverts (seed 003)
    old_host: bool = False  # CentOS 6/7-like probes: no `ip -j`, keepalived 1.x (no JSON dump), pid elsewhere
    # seconds between runs of keepalived's health check (`interval`); a fleet (many clusters on
    # two cores) runs it less often, so the nodes' own checks do not eat the cores being measured
    check_interval: int = 1
    # keepalived's health check: "hatui" (`hatui check-mysql`, a Python process a run) or
    # "client" (one `mariadb -e 'SELECT 1'`, the seeds' own kind: a tenth of the CPU, so a
    # hundred nodes' checks fit on two cores)
    check: str = "hatui"

    def describe(self) -> str:
        parts = ["gtid" if self.gtid else "no gtid (file/position)", f"vip mover {self.vip_mover}"]
        parts += [
            w for w, on in (("dual vip", self.dual_vip), ("unicast", self.unicast), ("old host", self.old_host)) if on
        ]
        if self.check_interval != 1 or self.check != "hatui":
            parts.append(f"{'client ' if self.check == 'client' else ''}checks every {self.check_interval} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class LabNode:
    name: str  # db1, db2, db3, r1, r2
    address: str  # its address on the lab bridge
    server_id: int  # 0: no mysqld (a router)
    auto_increment_offset: int
    keepalived: bool  # runs keepalived
    priority: int  # VRRP base priority in the writer's instance (0 when it has none)
    source: str | None  # node it replicates from (None: none)
    router: bool = False  # runs HAProxy (seed 002's router layer), no mysqld

    @property
    def mysql(self) -> bool:
        return not self.router


@dataclass(frozen=True)
class LabVip:
    """One keepalived instance and the address it moves."""

    instance: str  # VI_1
    vrid: int
    address: str
    role: str  # "writer" | "reader"
    # the nodes of the instance by priority, highest first: the first holds it when canonical
    nodes: tuple[str, ...]
    ports: tuple[int, ...] = (3306,)  # what clients connect to on it (a router: 7001/7002)
    check: str = "mysql"  # the vrrp_script: "mysql" (a real query), "replica" (and replication), "router"
    notify: bool = True  # MASTER lifts read_only, anything else sets it (the writer's VIP only)

    def priority(self, node: str) -> int:
        return 100 - 10 * self.nodes.index(node)


@dataclass(frozen=True)
class LabSpec:
    prefix: str = DEFAULT_PREFIX
    subnet: str = DEFAULT_SUBNET
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    topology: str = "dual-master"
    options: LabOptions = LabOptions()
    vrrp_pass: str = "hatuilab"  # 8 chars: keepalived truncates longer passwords
    nodes: tuple[LabNode, ...] = field(default_factory=tuple)
    vips: tuple[LabVip, ...] = field(default_factory=tuple)
    name: str = "lab"  # the cluster's name in its cluster file
    # a fleet (`lab up --clusters N`): the independent clusters side by side on one bridge, each
    # its own spec; the fleet's nodes and vips are theirs, together
    members: tuple[LabSpec, ...] = ()

    @property
    def clusters(self) -> tuple[LabSpec, ...]:
        """The clusters the lab holds: its members, or itself."""
        return self.members or (self,)

    def cluster_of(self, node: str) -> LabSpec:
        """The cluster holding `node` (what its config files are written from)."""
        for c in self.clusters:
            if any(n.name == node for n in c.nodes):
                return c
        raise KeyError(node)

    @property
    def cluster_files(self) -> tuple[Path, ...]:
        return tuple(c.cluster_file for c in self.clusters)

    # --- names the lab creates (teardown removes exactly these) ---
    @property
    def bridge_ns(self) -> str:
        return f"{self.prefix}br"

    @property
    def operator_ns(self) -> str:
        return f"{self.prefix}op"

    def node_ns(self, node: str) -> str:
        return f"{self.prefix}{node}"

    @property
    def all_namespaces(self) -> list[str]:
        return [self.bridge_ns, self.operator_ns, *(self.node_ns(n.name) for n in self.nodes)]

    # --- addresses ---
    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    def host(self, index: int) -> str:
        return str(self.network.network_address + index)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    @property
    def operator_address(self) -> str:
        return self.host(2)

    @property
    def writer_vip(self) -> LabVip:
        return next(v for v in self.vips if v.role == "writer")

    @property
    def vip(self) -> str:
        """The address clients write to."""
        return self.writer_vip.address

    @property
    def instance(self) -> str:
        return self.writer_vip.instance

    @property
    def vrid(self) -> int:
        return self.writer_vip.vrid

    @property
    def writer(self) -> str:
        """The MySQL node that takes the writes when the lab is as built."""
        if self.topology == "primary-replicas":
            return next(n.name for n in self.nodes if n.mysql and n.source is None)
        return self.writer_vip.nodes[0]

    @property
    def mysql_nodes(self) -> tuple[LabNode, ...]:
        return tuple(n for n in self.nodes if n.mysql)

    def node(self, name: str) -> LabNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def instances_of(self, node: str) -> tuple[LabVip, ...]:
        return tuple(v for v in self.vips if node in v.nodes)

    # --- files ---
    def node_dir(self, node: str) -> Path:
        return self.state_dir / "nodes" / node

    @property
    def cluster_file(self) -> Path:
        return self.state_dir / f"{self.name}.yml"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def ssh_dir(self) -> Path:
        return self.state_dir / "ssh"

    @property
    def secrets_dir(self) -> Path:
        return self.state_dir / "secrets"


def _db(base: LabSpec, i: int, source: str | None, keepalived: bool, priority: int = 0) -> LabNode:
    # auto-increment offsets as in seed 000: the two masters never hand out the same value
    return LabNode(f"db{i}", base.host(10 + i), i, 1 if i != 2 else 2, keepalived, priority, source)


def build_spec(topology: str, options: LabOptions, base: LabSpec) -> LabSpec:
    """The nodes and instances of one of TOPOLOGIES, with `options` applied."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"unknown topology {topology!r}; expected one of: {', '.join(TOPOLOGIES)}")
    if options.vip_mover not in VIP_MOVERS:
        raise ValueError(f"unknown VIP mover {options.vip_mover!r}; expected one of: {', '.join(VIP_MOVERS)}")
    if options.check not in ("hatui", "client"):
        raise ValueError(f"unknown check {options.check!r}; expected hatui or client")
    if not 1 <= options.check_interval <= 60:
        raise ValueError(f"check interval must be 1 to 60 seconds, not {options.check_interval}")
    vip, vip2 = base.host(100), base.host(101)
    nodes: tuple[LabNode, ...]
    if topology == "dual-master":
        # seed 000: db1 <-> db2 with keepalived, db3 a replica of db1
        nodes = (_db(base, 1, "db2", True, 100), _db(base, 2, "db1", True, 90), _db(base, 3, "db1", False))
        vips = [LabVip("VI_1", 51, vip, "writer", ("db1", "db2"))]
        if options.dual_vip:
            # seed 003: a second instance, master on the other node (reads go there)
            vips.append(LabVip("VI_2", 52, vip2, "reader", ("db2", "db1"), notify=False))
    elif topology == "primary-replicas":
        # seed 002: db1 primary, db2/db3 replicas; keepalived and the router (HAProxy for
        # MySQL Router) on two router hosts holding the VIP: rw 7001 -> primary, ro 7002 -> replicas
        nodes = (
            _db(base, 1, None, False),
            _db(base, 2, "db1", False),
            _db(base, 3, "db1", False),
            LabNode("r1", base.host(21), 0, 0, True, 100, None, router=True),
            LabNode("r2", base.host(22), 0, 0, True, 90, None, router=True),
        )
        vips = [
            LabVip(
                "VI_1",
                51,
                vip,
                "writer",
                ("r1", "r2"),
                ports=(ROUTER_PORTS["writer"], ROUTER_PORTS["reader"]),
                check="router",
                notify=False,
            )
        ]
        if options.dual_vip:
            vips.append(
                LabVip(
                    "VI_2",
                    52,
                    vip2,
                    "reader",
                    ("r2", "r1"),
                    ports=(ROUTER_PORTS["reader"],),
                    check="router",
                    notify=False,
                )
            )
    else:
        # seed 004: MMM's writer VIP on the masters db1/db2, one reader VIP per replica (db2, db3);
        # a reader VIP leaves a replica that is broken or behind
        nodes = (_db(base, 1, "db2", True, 100), _db(base, 2, "db1", True, 90), _db(base, 3, "db1", True))
        vips = [
            LabVip("VI_W", 51, vip, "writer", ("db1", "db2")),
            LabVip("VI_R2", 61, base.host(111), "reader", ("db2", "db3"), check="replica", notify=False),
            LabVip("VI_R3", 62, base.host(112), "reader", ("db3", "db2"), check="replica", notify=False),
        ]
    return replace(base, topology=topology, options=options, nodes=nodes, vips=tuple(vips))


# where a cluster's hosts sit in its block of a fleet: the single lab's host numbers (db1 .11, r1 .21,
# VIPs .100 .101 .111 .112) -> an index in the block
_FLEET_SLOTS = {11: 1, 12: 2, 13: 3, 21: 4, 22: 5, 100: 8, 101: 9, 111: 10, 112: 11}
FLEET_BLOCK = 16  # addresses per cluster; block 0 holds the operator
MAX_CLUSTERS = 80  # three VRRP instances each (MMM) within VRIDs 1-255


def fleet_spec(topology: str, options: LabOptions, base: LabSpec, clusters: int) -> LabSpec:
    """`clusters` independent copies of one topology on one bridge: cluster k's nodes are named
    ck-db1..., its hosts sit in the k-th block of FLEET_BLOCK addresses, its VRRP instances have
    their own VRIDs, its cluster file is lab-ck.yml. One cluster is the ordinary lab."""
    if clusters == 1:
        return build_spec(topology, options, base)
    if not 1 <= clusters <= MAX_CLUSTERS:
        raise ValueError(f"--clusters must be between 1 and {MAX_CLUSTERS}, not {clusters}")
    need = FLEET_BLOCK * (clusters + 1)
    if base.network.num_addresses < need:
        bits = 32 - (need - 1).bit_length()
        raise ValueError(
            f"lab subnet {base.subnet} holds {base.network.num_addresses // FLEET_BLOCK - 1} clusters of "
            f"{FLEET_BLOCK} addresses; {clusters} need a /{bits} or larger (e.g. --subnet "
            f"{base.network.network_address}/{bits})"
        )
    one = build_spec(topology, options, base)
    offsets = {str(base.host(o)): slot for o, slot in _FLEET_SLOTS.items()}
    members = []
    for k in range(1, clusters + 1):

        def name(n: str, k: int = k) -> str:
            return f"c{k}-{n}"

        def addr(a: str, k: int = k) -> str:
            return base.host(FLEET_BLOCK * k + offsets[a])

        nodes = tuple(
            replace(n, name=name(n.name), address=addr(n.address), source=name(n.source) if n.source else None)
            for n in one.nodes
        )
        vips = tuple(
            replace(v, vrid=3 * (k - 1) + j + 1, address=addr(v.address), nodes=tuple(name(x) for x in v.nodes))
            for j, v in enumerate(one.vips)
        )
        members.append(replace(one, nodes=nodes, vips=vips, name=f"lab-c{k}"))
    return replace(
        one,
        nodes=tuple(n for m in members for n in m.nodes),
        vips=tuple(v for m in members for v in m.vips),
        members=tuple(members),
    )


def default_spec(
    subnet: str | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    prefix: str | None = None,
    topology: str = "dual-master",
    options: LabOptions | None = None,
    clusters: int = 1,
) -> LabSpec:
    """A lab spec: seed 000's dual master by default; `topology` and `options` pick the others."""
    subnet = subnet or os.environ.get("HATUI_LAB_SUBNET", DEFAULT_SUBNET)
    net = ipaddress.IPv4Network(subnet)
    if net.num_addresses < 256:
        raise ValueError(f"lab subnet {subnet} is too small: need a /24 or larger")
    base = LabSpec(
        prefix=prefix or os.environ.get("HATUI_LAB_PREFIX", DEFAULT_PREFIX),
        subnet=subnet,
        state_dir=Path(state_dir or os.environ.get("HATUI_LAB_DIR", DEFAULT_STATE_DIR)),
    )
    return fleet_spec(topology, options or LabOptions(), base, clusters)
