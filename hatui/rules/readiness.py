"""Which nodes the rules may judge yet: no alert before a node's first complete reading.

Right after the console starts (and after a node's SSH session reconnects) some of a node's
sources have not reported: its address list is missing, so its VIP looks "unheld"; its MySQL
status is missing, so nothing is known about its replicas. Judging then raises alarms that
never happened (a wallboard restarted at night showed `vip.unheld` every time). A node is ready
once every source it has reported after its SSH session came up; an unreachable node is ready
too: that it cannot be reached is its reading. So is a node whose session has been up for
READY_WAIT seconds without a complete reading (its commands time out: an overloaded host, a
stalled login shell): waiting longer would show the whole cluster CONNECTING and hold every
cluster-wide alert (a split brain) for as long as that one node stays mute; it is judged with
what is known, and rule data.missing says what is not.
"""

from __future__ import annotations

from hatui.cluster import Cluster, Node, Role
from hatui.state.observations import Kind, SshObs
from hatui.state.store import Snapshot

__all__ = ["READY_WAIT", "expected_kinds", "missing_kinds", "pending_nodes"]

READY_WAIT = 20.0  # seconds: a first reading of every source takes 1-3 s, 10 s on a busy host


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


def missing_kinds(snap: Snapshot, node: Node) -> list[Kind]:
    """The node's readings not taken since its SSH session came up (all of them before it)."""
    ssh: SshObs | None = snap.value(node.name, Kind.SSH)
    since = (ssh.since if ssh is not None else None) or 0.0
    return [k for k in expected_kinds(node) if (obs := snap.get(node.name, k)) is None or obs.at < since]


def _ready(snap: Snapshot, node: Node) -> bool:
    ssh: SshObs | None = snap.value(node.name, Kind.SSH)
    if ssh is None or ssh.state == "connecting":
        return False
    if ssh.state != "up":
        return True  # down or refused: known, and reported as such
    if ssh.since is not None and snap.taken_at - ssh.since >= READY_WAIT:
        return True  # waited long enough: judged with what is known (data.missing)
    return not missing_kinds(snap, node)


def pending_nodes(snap: Snapshot) -> frozenset[str]:
    """Nodes without a complete reading since their SSH session (re)connected."""
    cluster: Cluster = snap.cluster
    return frozenset(name for name, node in cluster.nodes.items() if not _ready(snap, node))
