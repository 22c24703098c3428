"""The hatui console. It renders engine state; it never talks SSH or SQL itself."""

from __future__ import annotations

from typing import Sequence

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from hatui.cluster import Cluster

ROLE_ORDER = ("mysql", "keepalived", "router")


def node_rows(cluster: Cluster) -> list[tuple[str, ...]]:
    """One row per node: what the cluster file says about it (live state comes from the engine)."""
    rows = []
    for node in cluster.nodes.values():
        roles = ", ".join(r for r in ROLE_ORDER if r in node.roles)
        vips = ", ".join(str(v.address) for v in cluster.vips if not v.nodes or node.name in v.nodes)
        ssh = f"{node.ssh.user}@{node.host}:{node.ssh.port}"
        mysql = f"{node.mysql.port} via {node.mysql.via}" if "mysql" in node.roles else "-"
        rows.append((node.name, str(node.host), roles, ssh, mysql, vips or "-"))
    return rows


def vip_rows(cluster: Cluster) -> list[tuple[str, ...]]:
    return [(str(v.address), str(v.role), str(v.port), v.instance or "-", ", ".join(v.nodes or ()) or "any")
            for v in cluster.vips]


class ClusterView(Vertical):
    """Everything about one cluster."""

    def __init__(self, cluster: Cluster, **kw):
        super().__init__(**kw)
        self.cluster = cluster

    def compose(self) -> ComposeResult:
        c = self.cluster
        yield Static(f"[b]{c.name}[/b] · topology {c.topology} · lag warning {c.thresholds.lag_warning:g}s"
                     f" / critical {c.thresholds.lag_critical:g}s · {c.source.name}", classes="summary")
        yield Static("Nodes", classes="title")
        nodes = DataTable(id="nodes", cursor_type="row", zebra_stripes=True)
        nodes.add_columns("node", "host", "roles", "ssh", "mysql", "may hold VIP")
        for row in node_rows(c):
            nodes.add_row(*row, key=row[0])
        yield nodes
        yield Static("Virtual IPs", classes="title")
        vips = DataTable(id="vips", cursor_type="row")
        vips.add_columns("address", "role", "port", "VRRP instance", "nodes")
        for row in vip_rows(c):
            vips.add_row(*row, key=f"{row[0]}:{row[2]}")  # one address may serve several ports (seed 002)
        yield vips
        yield Static("Live state (VRRP, replication, logs, alerts) is not collected yet.", classes="hint")


class HatuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "hatui"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
    ]

    def __init__(self, clusters: Sequence[Cluster], *, watch: bool = False):
        super().__init__()
        self.clusters = list(clusters)
        self.watch_mode = watch

    def compose(self) -> ComposeResult:
        yield Header()
        if self.watch_mode:
            yield Static(" RO ", id="ro-badge")
        if len(self.clusters) == 1:
            yield ClusterView(self.clusters[0])
        else:
            with TabbedContent():
                for i, c in enumerate(self.clusters):
                    with TabPane(c.name, id=f"cluster-{i}"):
                        yield ClusterView(c)
        yield Footer()

    def on_mount(self) -> None:
        names = ", ".join(c.name for c in self.clusters)
        self.title = f"hatui · {names}"
        self.sub_title = "read-only wallboard" if self.watch_mode else "console"

    def action_help(self) -> None:
        self.notify("q quit · ? help · arrows move · the live panes arrive with the console issue",
                    title="Keys")


def run(clusters: Sequence[Cluster], *, watch: bool = False) -> int:
    HatuiApp(clusters, watch=watch).run()
    return 0
