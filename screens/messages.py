"""Messages the screens send each other instead of calling one another (no import cycles)."""

from __future__ import annotations

from textual.message import Message

from hatui.cluster import Cluster


class RunbookRequested(Message):
    """Open a runbook screen (the App decides whether it may: never in watch mode)."""

    def __init__(self, runbook: str, cluster: Cluster, *nodes: str) -> None:
        super().__init__()
        self.runbook = runbook  # "switchover", "repair-gap", "rejoin"
        self.cluster = cluster
        self.nodes = nodes
