"""What every rule reads: the snapshot and the facts several rules need, computed once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from hatui.cluster import Role
from hatui.mysql.status import ReplicationChannel
from hatui.rules.alerts import Alert
from hatui.rules.topology import VipView, Writer, mysql, vip_views, writer
from hatui.state.store import Snapshot


class Context:
    """Facts several rules need, computed once per evaluation."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.cluster = snap.cluster
        self.vips: list[VipView] = vip_views(snap)
        self.writer: Writer = writer(snap, self.vips)
        self.scripts = script_results(snap)

    def nodes(self, role: Role) -> list[str]:
        return [n.name for n in self.cluster.nodes_with_role(role)]

    def channels(self) -> Iterator[tuple[str, ReplicationChannel]]:
        """(node, replication channel) for every MySQL node that is up with fresh data."""
        for name in self.nodes(Role.MYSQL):
            st = mysql(self.snap, name)
            if st is not None and st.up:
                for ch in st.channels:
                    yield name, ch


Rule = Callable[[Context], Iterator[Alert]]


SCRIPT_BUSY_SECONDS = 10.0


def script_results(snap: Snapshot) -> dict[str, dict[str, tuple[str, float]]]:
    """Latest vrrp_script outcome per node and script, from log events since each node's
    keepalived last started. One pass over the events for all nodes (60 passes cost a tick)."""
    out: dict[str, dict[str, tuple[str, float]]] = defaultdict(dict)
    busy: dict[str, dict[str, float]] = defaultdict(dict)  # "already running, skipping run"
    for e in snap.events:
        ev = e.event
        kind = str(getattr(ev, "kind", ""))
        if kind == "lifecycle" and str(getattr(ev, "detail", "")).startswith("Starting"):
            out[e.node].clear()  # a restarted keepalived re-runs its scripts
            busy[e.node].clear()
        elif kind == "script" and getattr(ev, "script", None) and getattr(ev, "result", None):
            if str(ev.result) == "still running":
                busy[e.node][ev.script] = e.received_at
            else:
                out[e.node][ev.script] = (str(ev.result), e.received_at)
                busy[e.node].pop(ev.script, None)
    # A check that overran its interval once is not a failing check, and keepalived logs no
    # "succeeded" after it (only changes of outcome): "still running" is told while it is seen
    # again and again, else it would stick (found by the chaos soak, on a busy machine).
    for node, scripts in busy.items():
        for script, at in scripts.items():
            if snap.taken_at - at <= SCRIPT_BUSY_SECONDS:
                out[node][script] = ("still running", at)
    return dict(out)


def last_script_results(snap: Snapshot, node: str) -> dict[str, tuple[str, float]]:
    """Latest vrrp_script outcome per script of one node (see script_results)."""
    return script_results(snap).get(node, {})
