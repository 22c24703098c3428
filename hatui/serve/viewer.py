"""A viewer's side of the hub: the clusters it serves, and a feed per cluster that fills a store
from the hub's stream (the picture, then every reading and event). A lost hub is retried every
second; meanwhile the readings age, and the wallboard says they are stale, as it would for a
lost node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from hatui.cluster import Cluster
from hatui.errors import Unreachable
from hatui.state.observations import Observation
from hatui.state.store import Store

from . import protocol

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


async def _connect(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_unix_connection(path, limit=protocol.MAX_LINE)
    except OSError as exc:
        raise Unreachable(f"the hub at {path}: {exc.strerror or exc}") from None


async def hub_clusters(path: str | Path) -> list[Cluster]:
    """The clusters the hub collects (as it sends them: no password, no hook)."""
    reader, writer = await _connect(Path(path))
    try:
        writer.write(protocol.request_clusters())
        await writer.drain()
        return protocol.parse_clusters(await asyncio.wait_for(reader.readline(), 10))
    finally:
        writer.close()


class HubFeed:
    """Feed protocol: a store the hub's stream keeps as the hub's own store is."""

    def __init__(self, path: str | Path, cluster: Cluster):
        self.path = Path(path)
        self.cluster = cluster
        self.store = Store(cluster)
        self.connected = asyncio.Event()  # the first picture is in
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (Unreachable, protocol.ProtocolError, ConnectionError, OSError, ValueError) as exc:
                log.warning("hub %s, cluster %s: %s", self.path, self.cluster.name, exc)
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        reader, writer = await _connect(self.path)
        self._writer = writer
        try:
            writer.write(protocol.request_cluster(self.cluster.name))
            await writer.drain()
            self._apply_picture(await reader.readline())
            self.connected.set()
            while line := await reader.readline():
                update = protocol.parse_update(line)
                if update is None:
                    self._apply_picture(await reader.readline())
                elif isinstance(update, Observation):
                    self.store.put(update.node, update.kind, update.value, at=update.at)
                else:
                    self.store.add_recorded_event(update)
        finally:
            self._writer = None
            writer.close()

    def _apply_picture(self, line: bytes) -> None:
        if not line:
            raise protocol.ProtocolError("the hub closed the connection")
        obs, events = protocol.parse_picture(line)
        self.store.replace_all(obs, events)

    async def stop(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
