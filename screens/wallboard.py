"""The read-only wallboard: one big, glanceable panel per cluster, cycling when there are several.

Nothing here can take focus or ask anything: it is meant to run unattended on a screen."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.panel import Panel
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Static

from hatui.cluster import Cluster
from hatui.views.feed import Feed
from hatui.views.frame import ClusterState
from hatui.views.wallboard import Board, board
from screens.notify import ClusterNotifications
from screens.widgets.bigtext import big_text

COLOUR = {"ok": "green", "warning": "dark_orange", "critical": "red", "unknown": "grey50", "connecting": "grey50"}
WORD = {"ok": "OK", "warning": "WARN", "critical": "CRIT", "unknown": "UNKNOWN", "connecting": "CONNECTING"}
CYCLE_SECONDS = 10.0
MAX_ALERTS = 6  # an 80x24 screen still shows the whole panel


def _stale(mark: str) -> tuple[str, str]:
    return (f"  {mark}", "bold red") if mark else ("", "")


def render_board(b: Board) -> Panel:
    colour = COLOUR[b.health]
    lines = [
        *[Text(row, style=f"bold {colour}") for row in big_text(WORD[b.health])],
        Text.assemble(("writer  ", "dim"), (b.writer, "bold")),
        *[Text.assemble(("VIP     ", "dim"), (v, "bold"), _stale(b.vip_stale)) for v in b.vips],
        Text.assemble(("lag     ", "dim"), b.worst_lag, _stale(b.lag_stale)),
        Text(""),
    ]
    if b.alerts:
        for sev, msg, since in b.alerts[:MAX_ALERTS]:
            lines.append(Text.assemble((f"{sev:8} ", COLOUR.get(sev, "")), f"{msg}  ", (f"({since})", "dim")))
        if len(b.alerts) > MAX_ALERTS:
            lines.append(Text(f"… and {len(b.alerts) - MAX_ALERTS} more", style="dim"))
    else:
        lines.append(Text("no incidents", style="green"))
    subtitle = f"data {b.data_age} old" + (" · STALE" if b.stale else "")
    return Panel(
        Group(*lines),
        title=Text(b.cluster, style="bold"),
        border_style=colour,
        subtitle=Text(subtitle, style="bold red" if b.stale else "dim"),
    )


class ClusterBoard(Static):
    """One cluster's panel; it owns that cluster's feed while mounted."""

    can_focus = False

    def __init__(self, cluster: Cluster, feed: Feed, *, others: tuple[Cluster, ...] = (), **kw):
        super().__init__(**kw)
        self.cluster = cluster
        self.feed = feed
        # a replay moves its own clock: ages and "active for" as they read then
        self.state = ClusterState(feed, clock=getattr(feed, "clock", None))
        # hooks run on a wallboard too; none sees any open cluster's password variables
        self.notifications = ClusterNotifications(self, cluster, others=others)
        self.last: Board | None = None
        self._drawn: object = None

    def on_mount(self) -> None:
        self.notifications.start()
        self.refresh_state()
        self.run_worker(self.feed.start(), exclusive=False)
        self.set_interval(0.5, self.refresh_state)

    async def on_unmount(self) -> None:
        await self.notifications.close()
        await self.feed.stop()

    def refresh_state(self) -> None:
        f = self.state.tick(max_events=500)
        self.notifications.on_frame(f)
        self.last = board(f.snapshot, f.active, self.state.lag, f.now, f.pending, f.incidents)
        # the boards not showing tick their rules (notifications) but are not drawn
        if self.display and self.is_attached and self.screen.is_current:
            self._render_last()

    def on_show(self) -> None:
        if self.last is not None:
            self._render_last()

    def _render_last(self) -> None:
        if self.last is not None and self.last != self._drawn:  # an update re-lays the screen out
            self._drawn = self.last
            self.update(render_board(self.last))


class Wallboard(Vertical):
    def __init__(self, clusters: Sequence[Cluster], feeds: Sequence[Feed], cycle: float = CYCLE_SECONDS):
        super().__init__(id="wallboard")
        self.clusters = list(clusters)
        self.feeds = list(feeds)
        self.cycle = cycle
        self.index = 0

    def compose(self) -> ComposeResult:
        with ContentSwitcher(initial="board-0"):
            for i, (c, f) in enumerate(zip(self.clusters, self.feeds)):
                yield ClusterBoard(c, f, id=f"board-{i}", others=tuple(self.clusters))

    def on_mount(self) -> None:
        if len(self.clusters) > 1:
            self.set_interval(self.cycle, self.next_board)

    def next_board(self) -> None:
        self.index = (self.index + 1) % len(self.clusters)
        self.query_one(ContentSwitcher).current = f"board-{self.index}"
