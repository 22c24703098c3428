"""Node detail: everything about one node (Enter on a node row; Esc goes back)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from hatui.cluster import Cluster
from hatui.views.feed import Feed
from hatui.views.node_detail import node_sections
from screens.widgets.logview import LogView


def _section_table(title: str, pairs: list[tuple[str, str]]) -> Table:
    t = Table(
        title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 1), expand=False
    )
    t.add_column(style="dim", no_wrap=True)
    t.add_column(overflow="fold")
    for k, v in pairs:
        # values come from the nodes (errors quote application data): text, never markup
        t.add_row(Text(k), Text(v))
    return t


class NodeDetail(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="node.back")]

    def __init__(self, cluster: Cluster, feed: Feed, node: str):
        super().__init__()
        self.cluster = cluster
        self.feed = feed
        self.node = node
        self._seq = 0
        self.sections: list[tuple[str, list[tuple[str, str]]]] = []

    def show_node(self, node: str) -> None:
        self.app.switch_screen(NodeDetail(self.cluster, self.feed, node))

    def sections_text(self) -> str:
        """What the sections say, as plain text (for tests and copy/paste)."""
        return "\n".join(f"{t}\n" + "\n".join(f"  {k}: {v}" for k, v in p) for t, p in self.sections)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(id="sections")
            yield Static(Text(f"Recent keepalived events of {self.node}", style="bold"))
            yield LogView(max_lines=500, id="node-logs")
            yield Static(Text("keepalived.conf (passwords masked)", style="bold"))
            yield Static("(reading…)", id="config")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.cluster.name} · {self.node}"
        self.query_one("#node-logs", LogView).set_filter(f"node:{self.node}")
        self.refresh_state()
        self.set_interval(1.0, self.refresh_state)
        fetch = getattr(self.feed, "keepalived_config", None)
        if fetch is not None and self.cluster.nodes[self.node].has_role("keepalived"):
            self.run_worker(self._load_config(fetch), exclusive=True)
        else:
            self.query_one("#config", Static).update("(no keepalived on this node, or no live feed)")

    async def _load_config(self, fetch) -> None:
        text = await fetch(self.node)
        self.query_one("#config", Static).update(Text(text))

    def refresh_state(self) -> None:
        store = self.feed.store
        new = store.events_since(self._seq)
        if new:
            self._seq = new[-1].seq
            self.query_one("#node-logs", LogView).add([e for e in new if e.node == self.node])
        snap = store.snapshot()
        self.sections = node_sections(snap, self.node)
        tables = [_section_table(t, p) for t, p in self.sections]
        grid = Table.grid(padding=(1, 0))
        for t in tables:
            grid.add_row(t)
        self.query_one("#sections", Static).update(grid)
