"""Command palette entries (ctrl+p) for what is on screen: node detail, log filters, panels,
clusters. Each is the same action a key or a click reaches; the palette just names them.

Watch mode offers only looking: no command here can change a node, and runbooks (which can)
are never offered to a wallboard."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from hatui.keepalived.events import EventKind
from screens.messages import RunbookRequested

if TYPE_CHECKING:
    from screens.dashboard import ClusterView
    from screens.node_detail import NodeDetail
    from screens.wallboard import Wallboard

# Log filters a DBA reaches for in an incident, by name rather than filter syntax.
LOG_PRESETS = (
    ("state changes", f"kind:{EventKind.STATE.value}"),
    ("health-check results", f"kind:{EventKind.SCRIPT.value},{EventKind.SCRIPT_RC.value}"),
    ("priority changes", f"kind:{EventKind.PRIORITY.value},{EventKind.PRIORITY_ZERO.value}"),
    ("VIP added/removed", f"kind:{EventKind.VIP_SET.value},{EventKind.VIP_REMOVED.value}"),
)


def dashboard_commands(view: ClusterView) -> Iterator[SystemCommand]:
    cluster = view.cluster.name
    for node in view.cluster.nodes:
        yield SystemCommand(
            f"Node detail: {node}", f"Everything about {node} ({cluster})", partial(view.open_node, node)
        )
    for panel, title in view.PANELS.items():
        yield SystemCommand(f"Go to: {title}", f"Move the focus to the {title} panel", partial(view.focus_panel, panel))
    logs = view.logs
    for node in view.cluster.nodes:
        yield SystemCommand(
            f"Logs: only {node}", f"Show only {node}'s keepalived lines", partial(view.filter_logs, f"node:{node}")
        )
    for label, text in LOG_PRESETS:
        yield SystemCommand(
            f"Logs: only {label}", f"Filter the log pane with `{text}`", partial(view.filter_logs, text)
        )
    if logs.filter_text:
        yield SystemCommand(
            "Logs: clear filter", f"Drop the filter `{logs.filter_text}`", partial(view.filter_logs, "")
        )
    if logs.following:
        yield SystemCommand("Logs: pause", "Stop following new lines (a counter shows what arrives)", logs.action_pause)
    else:
        yield SystemCommand("Logs: follow", f"Jump to the newest line ({logs.pending_count} new)", logs.action_follow)
    yield SystemCommand(
        "Logs: hide dumps and gratuitous ARPs" if logs.show_noise else "Logs: show dumps and gratuitous ARPs",
        "Toggle keepalived's routine dump and GARP lines",
        logs.action_toggle_noise,
    )


def runbook_commands(view: ClusterView) -> Iterator[SystemCommand]:
    """Runbooks change the cluster: the app offers these only outside watch mode."""
    from hatui.cluster import Role

    c = view.cluster
    candidates = [n for n, node in c.nodes.items() if node.has_role(Role.MYSQL) and node.has_role(Role.KEEPALIVED)]
    for node in candidates:
        yield SystemCommand(
            f"Runbook: switch over to {node}",
            f"Planned switchover: move the writer and its VIP to {node} (checks first)",
            partial(view.post_message, RunbookRequested("switchover", c, node)),
        )
    writer = _writer(view)
    if writer:
        for node in candidates:
            if node != writer:
                yield SystemCommand(
                    f"Runbook: repair binlog gap {node} → {writer}",
                    f"After a failover: recover what {node}'s binlogs hold and {writer} never got "
                    "(preview and conflict check first)",
                    partial(view.post_message, RunbookRequested("repair-gap", c, node, writer)),
                )
    if (writer is None or not _answers(view, writer)) and _writer_down(view):
        for node, n in c.nodes.items():
            if n.has_role(Role.MYSQL) and _answers(view, node):
                yield SystemCommand(
                    f"Runbook: fail over to {node}",
                    f"The writer is down and nothing took over: promote {node} (every candidate is shown with "
                    "its evidence first; what only the others or the dead writer hold is recovered)",
                    partial(view.post_message, RunbookRequested("failover", c, node)),
                )
    if writer is None and not _writer_down(view):
        # nothing writable and nobody dead: a restarted primary (read_only from my.cnf)
        for node, n in c.nodes.items():
            if n.has_role(Role.MYSQL) and _answers(view, node):
                yield SystemCommand(
                    f"Runbook: make {node} writable",
                    f"No server takes writes: make {node} writable if writes go to it and it holds "
                    "everything the others have (checked first)",
                    partial(view.post_message, RunbookRequested("make-writable", c, node)),
                )
    for keep in _split_sides(view):
        yield SystemCommand(
            f"Runbook: resolve the split brain, keeping {keep}",
            f"Save the other side's writes, fence it and drop its VIP; {keep} alone takes writes",
            partial(view.post_message, RunbookRequested("split-brain", c, keep)),
        )
    if writer and _answers(view, writer):
        yield SystemCommand(
            f"Runbook: repoint replicas to {writer}",
            f"Point every replica whose source is down at the writer {writer} (checked by GTID first)",
            partial(view.post_message, RunbookRequested("repoint", c, writer)),
        )
    for node in _stopped_on_a_row(view):
        yield SystemCommand(
            f"Runbook: skip the transaction {node} stopped on",
            f"{node}'s replication stopped on a duplicate key or a missing row: skip that one transaction if "
            f"{node} holds every row as it leaves it (checked first, row by row)",
            partial(view.post_message, RunbookRequested("skip-applied", c, node)),
        )
        # when the rows differ, the DBA picks the side whose version wins (saved either way)
        yield SystemCommand(
            f"Runbook: skip the transaction {node} stopped on, keeping {node}'s version",
            f"The rows differ and {node}'s version wins: skip it anyway (the transaction is saved first)",
            partial(view.post_message, RunbookRequested("skip-applied", c, node, "keep-local")),
        )
        yield SystemCommand(
            f"Runbook: apply the transaction {node} stopped on over {node}'s own row",
            f"The rows differ and the source's version wins: {node}'s row is saved, removed without a binlog "
            "entry, and the transaction applies (a duplicate key only)",
            partial(view.post_message, RunbookRequested("skip-applied", c, node, "take-source")),
        )
    for node, n in c.nodes.items():
        if n.has_role(Role.MYSQL) and node != writer:
            yield SystemCommand(
                f"Runbook: rejoin {node}",
                f"Make {node} a healthy read-only replica of the writer (classified first)",
                partial(view.post_message, RunbookRequested("rejoin", c, node)),
            )


def _writer(view: ClusterView) -> str | None:
    from hatui.rules.topology import writer

    try:
        return writer(view.feed.store.snapshot(max_events=0)).node
    except Exception:  # no data yet: no writer-dependent runbooks offered
        return None


def node_detail_commands(screen: NodeDetail) -> Iterator[SystemCommand]:
    yield SystemCommand("Back to the dashboard", "Leave this node's detail", screen.app.pop_screen)
    for node in screen.cluster.nodes:
        if node != screen.node:
            yield SystemCommand(f"Node detail: {node}", f"Switch to {node}", partial(screen.show_node, node))


def wallboard_commands(wall: Wallboard) -> Iterator[SystemCommand]:
    if len(wall.clusters) > 1:
        yield SystemCommand("Next cluster", "Show the next cluster now (the board cycles anyway)", wall.next_board)


def _answers(view: ClusterView, node: str) -> bool:
    from hatui.state import Kind

    try:
        st = view.feed.store.snapshot(max_events=0).value(node, Kind.MYSQL)
    except Exception:  # no data yet
        return False
    return st is not None and st.up


def _stopped_on_a_row(view: ClusterView) -> list[str]:
    from hatui.runbook.skip_applied import stopped_on_row
    from hatui.state import Kind

    try:
        snap = view.feed.store.snapshot(max_events=0)
    except Exception:  # no data yet
        return []
    out = []
    for node in view.cluster.nodes:
        st = snap.value(node, Kind.MYSQL)
        if st is not None and st.up and stopped_on_row(st) is not None:
            out.append(node)
    return out


def _writer_down(view: ClusterView) -> bool:
    """A MySQL node that replicas pull from does not answer (the writer died)."""
    from hatui.rules.topology import node_for_host
    from hatui.state import Kind

    try:
        snap = view.feed.store.snapshot(max_events=0)
    except Exception:  # no data yet
        return False
    sources = set()
    for node in view.cluster.nodes:
        st = snap.value(node, Kind.MYSQL)
        if st is not None and st.up:
            sources |= {node_for_host(snap, ch.source_host or "") for ch in st.channels}
    return any(s is not None and not _answers(view, s) for s in sources)


def _split_sides(view: ClusterView) -> list[str]:
    """The nodes holding the writer's VIP at once (a split brain), else none."""
    from hatui.cluster import VipRole
    from hatui.rules.topology import vip_views

    try:
        views = vip_views(view.feed.store.snapshot(max_events=0))
    except Exception:  # no data yet
        return []
    held = [h for v in views if v.role == VipRole.WRITER for h in v.holders]
    return held if len(held) > 1 else []
