"""What the lab is made of: names, addresses and roles. Pure data, no I/O."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SUBNET = "198.18.0.0/24"  # RFC 2544 benchmarking range: never routed anywhere
DEFAULT_PREFIX = "hatui-"
DEFAULT_STATE_DIR = "/var/lib/hatui-lab"


@dataclass(frozen=True)
class LabNode:
    name: str  # db1, db2, db3
    address: str  # its address on the lab bridge
    server_id: int
    auto_increment_offset: int
    keepalived: bool  # runs keepalived (the two masters)
    priority: int  # VRRP base priority (0 when no keepalived)
    source: str | None  # node it replicates from (None: none)


@dataclass(frozen=True)
class LabSpec:
    prefix: str = DEFAULT_PREFIX
    subnet: str = DEFAULT_SUBNET
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    vrid: int = 51
    instance: str = "VI_1"
    vrrp_pass: str = "hatuilab"  # 8 chars: keepalived truncates longer passwords
    nodes: tuple[LabNode, ...] = field(default_factory=tuple)

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
    def vip(self) -> str:
        return self.host(100)

    def node(self, name: str) -> LabNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    # --- files ---
    def node_dir(self, node: str) -> Path:
        return self.state_dir / "nodes" / node

    @property
    def cluster_file(self) -> Path:
        return self.state_dir / "lab.yml"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def ssh_dir(self) -> Path:
        return self.state_dir / "ssh"

    @property
    def secrets_dir(self) -> Path:
        return self.state_dir / "secrets"


def default_spec(
    subnet: str | None = None, state_dir: str | os.PathLike | None = None, prefix: str | None = None
) -> LabSpec:
    """The seeds' topology: db1 <-> db2 dual master with keepalived, db3 a replica of db1."""
    subnet = subnet or os.environ.get("HATUI_LAB_SUBNET", DEFAULT_SUBNET)
    net = ipaddress.IPv4Network(subnet)
    if net.num_addresses < 256:
        raise ValueError(f"lab subnet {subnet} is too small: need a /24 or larger")
    base = LabSpec(subnet=subnet)
    nodes = (
        LabNode("db1", base.host(11), 1, 1, True, 100, "db2"),
        LabNode("db2", base.host(12), 2, 2, True, 90, "db1"),
        LabNode("db3", base.host(13), 3, 1, False, 0, "db1"),
    )
    return LabSpec(
        prefix=prefix or os.environ.get("HATUI_LAB_PREFIX", DEFAULT_PREFIX),
        subnet=subnet,
        state_dir=Path(state_dir or os.environ.get("HATUI_LAB_DIR", DEFAULT_STATE_DIR)),
        nodes=nodes,
    )
