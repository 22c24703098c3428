"""One cluster's dashboard: nodes, VRRP, replication, alerts, logs and lag, refreshed from the
engine's store at a fixed tick."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from hatui.cluster import Cluster
from hatui.record.recorder import Recorder, note_frame
from hatui.rules.context import script_results
from hatui.views.dashboard import (
    cleared_rows,
    header,
    incident_rows,
    node_rows,
    panel_staleness,
    repl_rows,
    spark_text,
    vrrp_rows,
)
from hatui.views.feed import Feed
from hatui.views.frame import ClusterState
from hatui.views.urgency import ChangeWatch
from screens.notify import ClusterNotifications
from screens.widgets.lagplot import LagPlot
from screens.widgets.logview import LogView
from screens.widgets.table import RefreshingTable

log = logging.getLogger(__name__)

TICK = 0.25  # views redraw at 4 Hz from a snapshot, never once per log line
HIDDEN_TICK = 1.0  # a cluster in a hidden tab ticks its rules (alerts, notifications) at 1 Hz

STYLE = {
    "ok": "green",
    "warning": "yellow",
    "critical": "bold red",
    "unknown": "dim",
    "cleared": "dim",
    "connecting": "dim",
}

NODE_COLUMNS = ("node", "role", "VIP", "ssh", "mysql", "rw", "replication", "vrrp", "age")
VRRP_COLUMNS = ("node", "instance", "state", "base", "effective", "last transition", "check")
REPL_COLUMNS = ("replica", "channel", "source", "IO", "SQL", "lag", "trend", "GTID position", "last error")
ALERT_COLUMNS = ("severity", "code", "node", "for", "message")
PANEL_TITLES = {"nodes": "Nodes", "vrrp": "VRRP", "repl": "Replication", "lag": "Replication lag"}

FeedFactory = Callable[[Cluster], Feed]


def _styled(cells: tuple, health: str) -> tuple[Text, ...]:
    style = STYLE.get(health, "")
    whole = health == "cleared"  # history fades as a whole row; live rows colour their first cell
    return tuple(Text(str(c), style=style if j == 0 or whole else "") for j, c in enumerate(cells))


def _fill(table: DataTable, rows: list[tuple[str, tuple]], health: list[str] | None = None) -> None:
    """Update only the rows whose cells or health changed since the last tick (remembered on the
    table); rebuild only when the set of keys changed. At 60 nodes most rows are unchanged."""
    health = health or [""] * len(rows)
    shown: dict[str, tuple] = getattr(table, "_hatui_shown", {})
    keys = [k for k, _ in rows]
    if keys != [r.value for r in table.rows]:
        table.clear()
        for (k, cells), h in zip(rows, health):
            table.add_row(*_styled(cells, h), key=k)
    else:
        for (k, cells), h in zip(rows, health):
            if shown.get(k) == (cells, h):
                continue
            old = shown.get(k, ((None,) * len(cells), None))
            for col, new, before, value in zip(table.columns, cells, old[0], _styled(cells, h)):
                if new != before or h != old[1]:
                    # columns only grow: shrinking re-measures the whole column per cell (O(rows²))
                    # and would make columns jitter as values change width
                    grow = value.cell_len > table.columns[col].content_width
                    table.update_cell(k, col, value, update_width=grow)
    table._hatui_shown = {k: (cells, h) for (k, cells), h in zip(rows, health)}


class ClusterView(Vertical):
    """Everything about one cluster, refreshed from its feed's store at a fixed tick."""

    PANELS = {"nodes": "Nodes", "vrrp": "VRRP", "repl": "Replication", "alerts": "Alerts", "logs": "Logs"}
    BINDINGS = [
        Binding("1", "focus_panel('nodes')", "Nodes", show=False, id="dashboard.nodes"),
        Binding("2", "focus_panel('vrrp')", "VRRP", show=False, id="dashboard.vrrp"),
        Binding("3", "focus_panel('repl')", "Replication", show=False, id="dashboard.repl"),
        Binding("4", "focus_panel('alerts')", "Alerts", show=False, id="dashboard.alerts"),
        Binding("5", "focus_panel('logs')", "Logs", show=False, id="dashboard.logs"),
        Binding("slash", "filter_logs", "Filter logs", id="dashboard.filter"),
    ]

    def __init__(
        self,
        cluster: Cluster,
        feed: Feed,
        *,
        others: tuple[Cluster, ...] = (),
        lazy: bool = False,
        recorders: Sequence[Recorder] = (),
        **kw,
    ):
        super().__init__(**kw)
        self.recorders = tuple(recorders)  # --record and the flight recorder, attached to the store
        self.lazy = lazy  # panes built when first shown (one of several clusters' tabs)
        self._built = False  # the panes exist
        self._building = False
        self.cluster = cluster
        self.feed = feed
        # a replay moves its own clock: ages and "active for" as they read then
        self.state = ClusterState(feed, clock=getattr(feed, "clock", None))
        self.notifications = ClusterNotifications(self, cluster, others=others)
        self._changes = ChangeWatch()
        self._urgent = False  # a redraw for an urgent change is queued
        self._unsubscribe: Callable[[], None] | None = None
        self._seq = 0  # last event handed to the log view
        self._plotted = 0.0
        self._lag_due = False  # the lag history moved since the plot was drawn
        self._title: Text | None = None
        self._ticked = 0.0  # monotonic time of the last rules tick

    def compose(self) -> ComposeResult:
        if self.lazy:
            # built the first time it is shown: a console with many clusters open holds the
            # panes of the ones looked at only (each costs megabytes of widgets)
            yield Static(f"{self.cluster.name}: opening…", id="cluster-placeholder", classes="summary")
            return
        yield from self._panes()

    def _panes(self) -> list[Widget]:
        return [
            Static(id="cluster-header", classes="summary"),
            VerticalScroll(
                Static("Nodes", id="nodes-title", classes="title"),
                RefreshingTable(id="nodes", cursor_type="row", zebra_stripes=True),
                Static("VRRP", id="vrrp-title", classes="title"),
                RefreshingTable(id="vrrp", cursor_type="row"),
                Static("Replication", id="repl-title", classes="title"),
                RefreshingTable(id="repl", cursor_type="row"),
                Static("Incidents (their alerts under each)", classes="title"),
                RefreshingTable(id="alerts", cursor_type="row"),
                Static("keepalived logs, all nodes", classes="title"),
                LogView(id="logs"),
                Static("Replication lag", id="lag-title", classes="title"),
                LagPlot(id="lag-plot"),
            ),
        ]

    def _set_up_tables(self) -> None:
        for tid, cols in (
            ("#nodes", NODE_COLUMNS),
            ("#vrrp", VRRP_COLUMNS),
            ("#repl", REPL_COLUMNS),
            ("#alerts", ALERT_COLUMNS),
        ):
            t = self.query_one(tid, DataTable)
            for c in cols:
                t.add_column(c, key=c)
        self._built = True

    def on_mount(self) -> None:
        if not self.lazy:
            self._set_up_tables()
        self.notifications.start()
        # a VIP that moved or a mysqld that died is drawn at once, not at the next tick
        self._unsubscribe = self.feed.store.subscribe(self._on_store_change)
        self.refresh_state()
        self.run_worker(self.feed.start(), name=f"feed-{self.cluster.name}", exclusive=False)
        for r in self.recorders:
            self.run_worker(r.run(), name=f"record-{self.cluster.name}", exclusive=False)
        self.set_interval(TICK, self._on_tick)

    def _on_store_change(self, what: str, item: object) -> None:
        # runs inside a source's store.put (same event loop): cheap, and never raises into it
        try:
            if what == "reset":  # a replay jumped: the log pane is refilled from the store
                self._seq = 0
                if self._built:
                    self.query_one("#logs", LogView).clear()
            if self._changes.urgent(what, item) and not self._urgent:
                self._urgent = True
                self.call_later(self._urgent_refresh)  # after the source's own work: one redraw a burst
        except Exception:
            log.exception("urgent redraw")

    def _urgent_refresh(self) -> None:
        self._urgent = False
        if self.is_attached:
            self.refresh_state()

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.notifications.close()
        await self.feed.stop()
        for r in self.recorders:
            r.close()

    @property
    def logs(self) -> LogView:
        return self.query_one("#logs", LogView)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "nodes" and event.row_key.value in self.cluster.nodes:
            self.open_node(event.row_key.value)

    def open_node(self, node: str) -> None:
        from screens.node_detail import NodeDetail

        self.app.push_screen(NodeDetail(self.cluster, self.feed, node))

    def action_focus_panel(self, panel: str) -> None:
        self.focus_panel(panel)

    def focus_panel(self, panel: str) -> None:
        widget = self.query_one(f"#{panel}")
        widget.focus()
        widget.scroll_visible(animate=False)

    def action_filter_logs(self) -> None:
        self.focus_panel("logs")
        self.logs.action_open_filter()

    def filter_logs(self, text: str) -> None:
        self.logs.set_filter(text)
        self.focus_panel("logs")

    def _on_tick(self) -> None:
        # a hidden cluster's rules tick once a second (an urgent change still redraws at once,
        # see _on_store_change): with many clusters open the 4 Hz ticks were the console's CPU
        if not self._shown() and time.monotonic() - self._ticked < HIDDEN_TICK:
            return
        self.refresh_state()

    async def on_show(self) -> None:
        # a tab or screen that was hidden is drawn at once, not at the next tick
        if not self._built and not self._building:
            self._building = True
            await self.query_one("#cluster-placeholder").remove()
            await self.mount_all(self._panes())
            self._set_up_tables()
        self.refresh_state()

    def _shown(self) -> bool:
        """On the current screen and not in a hidden tab: only then are the panes worth drawing."""
        if not self._built or not self.is_attached or not self.screen.is_current:
            return False
        return all(w.display for w in self.ancestors_with_self if isinstance(w, Widget))

    def refresh_state(self) -> None:
        # every tick, even without new data: ages, staleness and "active for" move with time.
        # A hidden cluster (another tab, a screen on top) still ticks its rules, so its alerts
        # notify, but draws nothing: with many clusters open, drawing them all was most of the
        # console's CPU
        self._ticked = time.monotonic()
        frame = self.state.tick()
        self.notifications.on_frame(frame)  # toasts, bell, hooks for role changes and alerts
        if self.recorders:
            note_frame(self.recorders, frame)
        self._lag_due = self._lag_due or frame.lag_changed
        if self._shown():
            self._draw(frame)

    def _draw(self, frame) -> None:
        store = self.feed.store
        new = store.events_since(self._seq)
        if new:
            self._seq = new[-1].seq
            self.query_one("#logs", LogView).add(new)  # one batch per tick, whatever the log rate
        snap, alerts, now = frame.snapshot, frame.alerts, frame.now
        self._mark_stale(snap)
        h = header(snap, alerts, frame.pending)
        conns = "  ".join(f"{n}:{s}" for n, s in h.connections)
        if h.connecting:
            conns += f"  (waiting for a first reading of {', '.join(h.connecting)})"
        title = Text.assemble(
            (f"{h.cluster} ", "bold"),
            (f"{h.health.upper()} ", STYLE[h.health]),
            f"· {self.cluster.topology} · writer {h.writer} · oldest data {h.oldest_data} · {conns}",
        )
        if title != self._title:
            # a re-layout of the screen costs more than the whole tick: only when the title's
            # width changed (it may wrap to another line); "oldest data" ticks every second
            width = self._title.cell_len if self._title is not None else -1
            self._title = title
            self.query_one("#cluster-header", Static).update(title, layout=title.cell_len != width)
        nodes = node_rows(snap, alerts, mmm_rows=list(frame.mmm) if frame.mmm is not None else None)
        _fill(
            self.query_one("#nodes", DataTable),
            [(r.node, (r.node, r.role, r.vips, r.ssh, r.mysql, r.rw, r.replication, r.vrrp, r.age)) for r in nodes],
            [r.health for r in nodes],
        )
        scripts = script_results(snap)
        vrrp = vrrp_rows(snap, alerts, scripts)
        _fill(
            self.query_one("#vrrp", DataTable),
            [
                (
                    f"{r.node}/{r.instance}",
                    (r.node, r.instance, r.state, r.base_priority, r.effective_priority, r.last_transition, r.check),
                )
                for r in vrrp
            ],
            [r.health for r in vrrp],
        )
        lag = self.state.lag
        top = self.cluster.thresholds.lag_critical
        repl = repl_rows(snap, alerts)
        _fill(
            self.query_one("#repl", DataTable),
            [
                (
                    f"{r.node}/{r.channel}",
                    (
                        r.node,
                        r.channel,
                        r.source,
                        r.io,
                        r.sql,
                        r.lag,
                        spark_text(lag.sparkline_values((r.node, "" if r.channel == "-" else r.channel)), top),
                        r.gtid,
                        r.last_error,
                    ),
                )
                for r in repl
            ],
            [r.health for r in repl],
        )
        if self._lag_due and now - self._plotted >= 1.0:  # plotting costs more than a table: 1 Hz
            self._plotted = now
            self._lag_due = False
            self.query_one("#lag-plot", LagPlot).update_from(lag, snap.taken_at, self.cluster.thresholds)
        source = str(self.cluster.source) if self.cluster.source else "FILE"
        shown = incident_rows(frame.incidents, frame.active, now, source) + cleared_rows(frame.cleared, now)
        _fill(
            self.query_one("#alerts", DataTable),
            [
                (f"{r.code}/{r.node}/{i}", (r.severity, r.code, r.node, r.active_for, r.message))
                for i, r in enumerate(shown)
            ],
            [r.severity for r in shown],
        )

    def _mark_stale(self, snap) -> None:
        """A panel drawn from overdue data says so in its title, with the data's age."""
        marks = panel_staleness(snap)
        for panel, title in PANEL_TITLES.items():
            mark = marks["repl" if panel == "lag" else panel]
            text = Text.assemble(title, (f"  {mark.label()}", "bold red") if mark.stale else "")
            widget = self.query_one(f"#{panel}-title", Static)
            if str(widget.content) != text.plain:
                widget.update(text)
