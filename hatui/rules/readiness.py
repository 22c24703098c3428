"""Which nodes the rules may judge yet: no alert before a node's first complete reading.

Right after the console starts (and after a node's SSH session reconnects) some of a node's
sources have not reported: its address list is missing, so its VIP looks "unheld"; its MySQL
status is missing, so nothing is known about its replicas. Judging then raises alarms that
never happened (a wallboard restarted at night showed `vip.unheld` every time). A node is ready
once every source it has reported after its SSH session came up; an unreachable node is ready
too: that it cannot be reached is its reading.
"""

from __future__ import annotations

from hatui.cluster import Cluster, Node, Role
from hatui.state.observations import Kind, SshObs
from hatui.state.store import Snapshot

__all__ = ["expected_kinds", "pending_nodes"]


def expected_kinds(node: Node) -> tuple[Kind, ...]:
    """The readings a node's sources produce (hatui.collect.monitor), besides its SSH state."""
    kinds = [Kind.ADDRESSES]
    if node.has_role(Role.KEEPALIVED):
        kinds.append(Kind.KEEPALIVED)
    if node.has_role(Role.MYSQL) and node.mysql.monitor is not None:
        kinds.append(Kind.MYSQL)
    if node.has_role(Role.ROUTER) and node.router.kind.value != "none":
        kinds.append(Kind.ROUTER)
    return tuple(kinds)


def _ready(snap: Snapshot, node: Node) -> bool:
    ssh: SshObs | None = snap.value(node.name, Kind.SSH)
    if ssh is None or ssh.state == "connecting":
        return False
    if ssh.state != "up":
        return True  # down or refused: known, and reported as such
    since = ssh.since or 0.0
    for kind in expected_kinds(node):
        obs = snap.get(node.name, kind)
        if obs is None or obs.at < since:
            return False
    return True


def pending_nodes(snap: Snapshot) -> frozenset[str]:
    """Nodes without a complete reading since their SSH session (re)connected."""
    cluster: Cluster = snap.cluster
    return frozenset(name for name, node in cluster.nodes.items() if not _ready(snap, node))
