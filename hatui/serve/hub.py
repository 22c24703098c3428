"""The hub: one read-only collector per cluster for every viewer.

Each cluster has one feed (the wallboard's live Monitor: watch mode, every command and statement
through the read-only allowlist). Viewers connect to a Unix socket in a private folder (0700)
and get the cluster's picture, then every reading and event as the store gets them. A viewer
that falls behind by more than MAX_QUEUED lines is dropped (it reconnects and starts from a new
picture); one slow browser never slows the collector or the others."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hatui.aio import cancel_and_wait
from hatui.cluster import Cluster
from hatui.state.observations import Observation
from hatui.state.store import StoredEvent
from hatui.views.feed import Feed, live_feed

from . import protocol

log = logging.getLogger(__name__)

MAX_QUEUED = 20_000


class _Viewer:
    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.dropped = False

    def send(self, line: bytes) -> None:
        if self.dropped:
            return
        if self.queue.qsize() >= MAX_QUEUED:
            self.dropped = True
            self.queue.put_nowait(None)  # the writer ends the connection
            return
        self.queue.put_nowait(line)


class Hub:
    """`await hub.start(socket_path)` ... `await hub.stop()`."""

    def __init__(self, clusters: Sequence[Cluster], *, feeds: Sequence[Feed] | None = None):
        self.clusters = list(clusters)
        self.feeds = list(feeds) if feeds is not None else [live_feed(c, watch=True) for c in clusters]
        self._by_name = {c.name: i for i, c in enumerate(self.clusters)}
        self._viewers: list[set[_Viewer]] = [set() for _ in self.clusters]
        self._tasks: list[asyncio.Task[Any]] = []
        self._unsubscribe: list[Any] = []
        self._server: asyncio.AbstractServer | None = None
        self.path: Path | None = None
        self.connections = 0  # viewers served since start (for the figures)

    @property
    def viewers(self) -> int:
        return sum(len(v) for v in self._viewers)

    async def start(self, path: str | Path) -> None:
        self.path = Path(path)
        for i, feed in enumerate(self.feeds):
            self._unsubscribe.append(feed.store.subscribe(functools.partial(self._on_change, i)))
            self._tasks.append(asyncio.create_task(feed.start(), name=f"hub-{self.clusters[i].name}"))
        old = os.umask(0o077)  # the socket is the serve process's user's only
        try:
            self._server = await asyncio.start_unix_server(self._serve, path, limit=protocol.MAX_LINE)
        finally:
            os.umask(old)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for views in self._viewers:
            for v in list(views):
                v.queue.put_nowait(None)
        for unsub in self._unsubscribe:
            unsub()
        await cancel_and_wait(self._tasks)
        for feed in self.feeds:
            with contextlib.suppress(Exception):
                await feed.stop()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _on_change(self, i: int, what: str, item: Any) -> None:
        views = self._viewers[i]
        if not views:
            return
        if what == "observation" and isinstance(item, Observation):
            line = protocol.observation_line(item)
        elif what == "event" and isinstance(item, StoredEvent):
            line = protocol.event_line(item)
        elif what == "reset":
            line = protocol.RESET_LINE + protocol.picture_line(self.feeds[i].store.snapshot(max_events=None))
        else:
            return
        for v in views:
            v.send(line)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        viewer: _Viewer | None = None
        gone: asyncio.Task[bytes] | None = None
        i = -1
        try:
            try:
                name = protocol.parse_request(await asyncio.wait_for(reader.readline(), 10))
            except (protocol.ProtocolError, TimeoutError, ValueError) as exc:
                writer.write(protocol.error_line(str(exc) or "no request"))
                return
            if name is None:
                writer.write(protocol.clusters_line(self.clusters))
                return
            if name not in self._by_name:
                writer.write(protocol.error_line(f"no cluster {name!r} here"))
                return
            i = self._by_name[name]
            viewer = _Viewer(writer)
            # the picture and the subscription in one step of the loop: nothing in between is
            # lost or sent twice
            viewer.send(protocol.picture_line(self.feeds[i].store.snapshot(max_events=None)))
            self._viewers[i].add(viewer)
            self.connections += 1
            # a viewer says nothing after its request: end of its stream means it went (else a
            # closed browser's slot would be noticed only at the next change)
            gone = asyncio.create_task(reader.read(1))
            gone.add_done_callback(lambda _: viewer.queue.put_nowait(None) if viewer else None)
            while (line := await viewer.queue.get()) is not None:
                writer.write(line)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if gone is not None:
                gone.cancel()
            if viewer is not None:
                self._viewers[i].discard(viewer)
            with contextlib.suppress(Exception):
                writer.close()
