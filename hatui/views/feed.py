"""Where a view's state comes from: a live Monitor, or a recorded store (tests, replays)."""

from __future__ import annotations

from typing import Protocol

from hatui.cluster import Cluster
from hatui.state.store import Store


class Feed(Protocol):
    store: Store

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class RecordedFeed:
    """A store filled by someone else (a recording, a test): nothing to start, nothing sent."""

    def __init__(self, store: Store):
        self.store = store

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def live_feed(cluster: Cluster, *, watch: bool) -> Feed:
    """The engine's Monitor; in watch mode every command and statement goes through the
    read-only allowlist, so the wallboard cannot change anything even by mistake."""
    from hatui.collect.monitor import Monitor
    from hatui.readonly import ReadOnlyPolicy

    return Monitor(cluster, read_only=ReadOnlyPolicy(cluster) if watch else None)
