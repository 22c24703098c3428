"""Typed observations: one value of one kind about one node, stamped with when it was taken."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    SSH = "ssh"  # SshObs: connection state of the node's SSH session
    ADDRESSES = "addresses"  # AddressObs: every address on the node (`ip -j addr`), for VIPs
    KEEPALIVED = "keepalived"  # KeepalivedProcObs: is the keepalived daemon running
    VRRP = "vrrp"  # hatui.keepalived.dump.VrrpSnapshot: per-instance VRRP state
    MYSQL = "mysql"  # hatui.mysql.status.MysqlStatus
    ROUTER = "router"  # hatui.routers.RouterObs: each route of the node's HAProxy / MySQL Router


# How often each kind is refreshed; data older than STALE_FACTOR periods (plus slack) is stale.
REFRESH_SECONDS: dict[Kind, float] = {
    Kind.SSH: 5.0,
    Kind.ADDRESSES: 1.0,
    Kind.KEEPALIVED: 1.0,
    # A dump right after every transition the log shows; the periodic one is a safety net every
    # 10 s, every 60 s while the node's log is followed (hatui.collect.monitor.Intervals.
    # vrrp_quiet). Judged by the slower: at 10 s, a quiet node's VRRP pane went "stale" (and the
    # node "unreachable") a minute after every console start (found by the chaos soak).
    Kind.VRRP: 60.0,
    Kind.MYSQL: 1.0,
    Kind.ROUTER: 1.0,
}
STALE_FACTOR = 3.0
STALE_SLACK = 2.0


def stale_after(kind: Kind) -> float:
    return REFRESH_SECONDS[kind] * STALE_FACTOR + STALE_SLACK


@dataclass(frozen=True, slots=True)
class Observation:
    node: str
    kind: Kind
    value: Any
    at: float  # wall-clock seconds (time.time()) when the source took it


@dataclass(frozen=True, slots=True)
class SshObs:
    state: str  # hatui.ssh.ConnState value: connecting / up / down / refused
    error: str | None = None
    since: float | None = None  # when the session came up (readings before it are history)

    @property
    def up(self) -> bool:
        return self.state == "up"


@dataclass(frozen=True, slots=True)
class AddressObs:
    """Addresses configured on the node's interfaces, without prefix length."""

    addresses: frozenset[str] = field(default_factory=frozenset)
    by_interface: tuple[tuple[str, str], ...] = ()  # (interface, address) pairs, for display
    error: str | None = None  # the probe ran but `ip -j addr` failed or printed nonsense

    @property
    def held(self) -> frozenset[str]:
        """The addresses this node answers for on the network: not those on loopback. An LVS-DR
        real server carries the VIP on `lo` (seed 003) so it accepts packets for it, but it does
        not hold the VIP: the director does."""
        if not self.by_interface:
            return self.addresses
        return frozenset(a for i, a in self.by_interface if i != "lo" and not i.startswith("lo:"))


@dataclass(frozen=True, slots=True)
class KeepalivedProcObs:
    running: bool
    pid: int | None = None
    detail: str = ""  # why not running: "no pid file", "pid 123 is gone", ...
