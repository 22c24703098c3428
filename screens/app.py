"""The hatui console. It renders engine state; it never talks SSH or SQL itself."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from hatui.cluster import Cluster
from hatui.record.flight import FlightRecorder
from hatui.record.recorder import Recorder
from hatui.views.feed import Feed, live_feed
from screens.commands import dashboard_commands, node_detail_commands, runbook_commands, wallboard_commands
from screens.dashboard import ClusterView
from screens.messages import RunbookRequested
from screens.node_detail import NodeDetail
from screens.wallboard import Wallboard
from screens.widgets.logview import LogView

FeedFactory = Callable[[Cluster], Feed]
log = logging.getLogger(__name__)


def runbook_event(ev: Any) -> dict[str, Any]:
    """A runbook's event as a recording keeps it: what the runbook screen showed."""
    return {"kind": ev.kind, "text": ev.text, "step": ev.step, "node": ev.node, "ok": ev.ok}


class HatuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "hatui"
    RUNS_RUNBOOKS = True  # the palette offers runbooks (not in watch mode, not in a replay)
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
    ]

    def __init__(
        self,
        clusters: Sequence[Cluster],
        *,
        watch: bool = False,
        feed_factory: FeedFactory | None = None,
        record: Path | None = None,
        flight_state: Path | None = None,
    ):
        super().__init__()
        self.clusters = list(clusters)
        self.watch_mode = watch
        self.feed_factory = feed_factory or (lambda c: live_feed(c, watch=watch))
        self.record = record  # --record FILE (one cluster)
        self.flight_state = flight_state  # the state folder: the flight recorder is on
        self.recorders: dict[str, list[Recorder]] = {}

    def _feed(self, cluster: Cluster) -> Feed:
        """The cluster's feed, with its recorders attached to its store."""
        feed = self.feed_factory(cluster)
        recs: list[Recorder] = []
        if self.record is not None:
            recs.append(Recorder(self.record, cluster))  # checked by the CLI before the app starts
        if self.flight_state is not None:
            try:
                recs.append(FlightRecorder(cluster, self.flight_state))
            except Exception as exc:  # a recorder never keeps the console from opening
                log.error("flight recorder for %s: %s", cluster.name, exc)
        for r in recs:
            r.attach(feed.store)
        self.recorders[cluster.name] = recs
        return feed

    def compose(self) -> ComposeResult:
        yield Header()
        if self.watch_mode:
            yield Static(" RO ", id="ro-badge")
            yield Wallboard(self.clusters, [self.feed_factory(c) for c in self.clusters])
        elif len(self.clusters) == 1:
            c = self.clusters[0]
            yield ClusterView(c, self._feed(c), recorders=self.recorders[c.name])
        else:
            with TabbedContent():
                for i, c in enumerate(self.clusters):
                    with TabPane(c.name, id=f"cluster-{i}"):
                        feed = self._feed(c)
                        yield ClusterView(
                            c, feed, others=tuple(self.clusters), lazy=True, recorders=self.recorders[c.name]
                        )
        yield Footer()

    def on_mount(self) -> None:
        names = ", ".join(c.name for c in self.clusters)
        self.title = f"hatui · {names}"
        self.sub_title = "read-only wallboard" if self.watch_mode else "console"

    def action_help(self) -> None:
        from screens.help import HelpScreen

        everywhere = [*HatuiApp.BINDINGS, Binding(self.COMMAND_PALETTE_BINDING, "command_palette", "Command palette")]
        if isinstance(self.screen, NodeDetail):
            sections = [
                ("Everywhere", everywhere),
                ("Node detail", NodeDetail.BINDINGS),
                ("Log pane", LogView.BINDINGS),
            ]
        elif self.watch_mode:
            sections = [("Wallboard", everywhere)]
        else:
            sections = [
                ("Everywhere", everywhere),
                ("Dashboard", ClusterView.BINDINGS),
                (
                    "Tables",
                    [
                        Binding("enter", "select", "Open the node under the cursor (Nodes)"),
                        Binding("up,down", "", "Move between rows"),
                    ],
                ),
                ("Log pane", LogView.BINDINGS),
            ]
        self.push_screen(HelpScreen(sections, self.watch_mode))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Keys, colours and conventions", self.action_help)
        if isinstance(screen, NodeDetail):
            yield from node_detail_commands(screen)
        elif self.watch_mode:
            yield from wallboard_commands(screen.query_one(Wallboard))
        else:
            view = self.current_view(screen)
            yield from dashboard_commands(view)
            if self.RUNS_RUNBOOKS:
                yield from runbook_commands(view)  # never reached in watch mode (branch above)

    @on(RunbookRequested)
    def _runbook_requested(self, message: RunbookRequested) -> None:
        """The palette asks for a runbook by message: it never calls the App (no import cycle)."""
        opener = {
            "switchover": self.open_switchover,
            "repair-gap": self.open_repair_gap,
            "rejoin": self.open_rejoin,
            "repoint": self.open_repoint,
            "split-brain": self.open_split_brain,
            "failover": self.open_failover,
            "make-writable": self.open_make_writable,
            "skip-applied": self.open_skip_applied,
        }[message.runbook]
        opener(message.cluster, *message.nodes)

    def open_switchover(self, cluster: Cluster, node: str) -> None:
        from hatui.runbook.switchover import Switchover

        self.open_runbook(
            cluster, f"Switchover of {cluster.name} to {node}", node, lambda planned: Switchover(cluster, node)
        )

    def open_repair_gap(self, cluster: Cluster, old: str, new: str) -> None:
        from hatui.runbook.repair_gap import RepairGap

        def build(planned):
            # the run must replay exactly what the preview showed: it refuses if the gap changed
            sha = planned.gap.sha256 if planned is not None and planned.gap is not None else None
            return RepairGap(cluster, old, new, expect_sha256=sha)

        self.open_runbook(cluster, f"Binlog gap repair of {cluster.name}: {old} → {new}", new, build)

    def open_repoint(self, cluster: Cluster, writer: str) -> None:
        from hatui.runbook.repoint import Repoint

        # the DBA types the writer's name: the node every repointed replica will follow
        self.open_runbook(
            cluster, f"Repoint the replicas of {cluster.name} to {writer}", writer, lambda planned: Repoint(cluster)
        )

    def open_failover(self, cluster: Cluster, to: str) -> None:
        from hatui.runbook.failover import Failover

        # the DBA types the new writer's name; the dry run shows every candidate's evidence first
        self.open_runbook(cluster, f"Failover of {cluster.name} to {to}", to, lambda planned: Failover(cluster, to))

    def open_make_writable(self, cluster: Cluster, node: str) -> None:
        from hatui.runbook.make_writable import MakeWritable

        self.open_runbook(
            cluster, f"Make {node} writable ({cluster.name})", node, lambda planned: MakeWritable(cluster, node)
        )

    def open_skip_applied(self, cluster: Cluster, node: str, resolve: str | None = None) -> None:
        from hatui.runbook.skip_applied import SkipApplied

        how = {"keep-local": f", keeping {node}'s version", "take-source": ", taking the source's version"}
        self.open_runbook(
            cluster,
            f"Skip the transaction {node} stopped on{how.get(resolve or '', '')} ({cluster.name})",
            node,
            lambda planned: SkipApplied(cluster, node, resolve),
        )

    def open_split_brain(self, cluster: Cluster, keep: str) -> None:
        from hatui.runbook.split_brain import SplitBrain

        # the DBA types the survivor's name: never decided silently
        self.open_runbook(
            cluster,
            f"Split brain of {cluster.name}: keep {keep}, fence the other",
            keep,
            lambda planned: SplitBrain(cluster, keep),
        )

    def open_rejoin(self, cluster: Cluster, node: str) -> None:
        from hatui.runbook.rejoin import Rejoin

        self.open_runbook(
            cluster, f"Rejoin {node} to {cluster.name} as a replica", node, lambda planned: Rejoin(cluster, node)
        )

    def open_runbook(self, cluster: Cluster, title: str, target: str, build) -> None:
        """A runbook screen: `build(planned)` makes the runbook, for the dry run (planned is None)
        and again for the real run (planned is the dry run's runbook). Watch mode has no write
        capability at all (the engine refuses to build one); this refusal only says so early."""
        if self.watch_mode:
            self.notify("read-only wallboard: runbooks cannot run here", severity="error")
            return
        from hatui.runbook.runner import Runner
        from hatui.ssh.pool import SessionPool
        from screens.runbook import RunbookScreen

        planned = []

        recorders = self.recorders.get(cluster.name, [])

        def make(dry_run: bool, on_event) -> Runner:
            rb = build(None if dry_run else (planned[-1] if planned else None))
            if recorders:
                shown = on_event

                def on_event(ev, shown=shown) -> None:  # what the DBA saw, into the recordings too
                    shown(ev)
                    for r in recorders:
                        r.note("runbook", {"runbook": title, "dry_run": dry_run, **runbook_event(ev)}, ev.at)

            if dry_run:
                planned.append(rb)
            return Runner(
                cluster, rb, pool=SessionPool.for_cluster(cluster), on_event=on_event, dry_run=dry_run, close_pool=True
            )

        self.push_screen(RunbookScreen(title, target, make))

    def current_view(self, screen: Screen | None = None) -> ClusterView:
        """The cluster on `screen` (default: the one showing; with several clusters, the
        active tab). The palette asks from its own screen, so it passes the one beneath."""
        screen = screen or self.screen
        if len(self.clusters) == 1:
            return screen.query_one(ClusterView)
        return screen.query_one(TabbedContent).active_pane.query_one(ClusterView)


def run(
    clusters: Sequence[Cluster], *, watch: bool = False, record: Path | None = None, flight_state: Path | None = None
) -> int:
    HatuiApp(clusters, watch=watch, record=record, flight_state=flight_state).run()
    return 0
