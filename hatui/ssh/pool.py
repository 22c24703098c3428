"""All the nodes' sessions of a cluster, closed together."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from hatui.cluster.model import Cluster, Node
from hatui.ssh.errors import SshError
from hatui.ssh.session import NodeSession


class SessionPool(Mapping[str, NodeSession]):
    """`pool["db1"]` is db1's NodeSession (a read-only mapping of node name -> session).
    Sessions connect lazily, on their first call. `async with pool:` closes them all on exit.

        async with SessionPool.for_cluster(cluster, command_guard=guard) as pool:
            res = await pool["db1"].run("hostname")
    """

    def __init__(self, nodes: Iterable[Node], **session_kwargs: Any):
        self._sessions: dict[str, NodeSession] = {}
        for node in nodes:
            if node.name in self._sessions:
                raise ValueError(f"node {node.name!r} is given twice")
            self._sessions[node.name] = NodeSession(node, **session_kwargs)

    @classmethod
    def for_cluster(cls, cluster: Cluster, **session_kwargs: Any) -> SessionPool:
        """One session per node of the cluster; host-key errors name its file in their hint."""
        session_kwargs.setdefault("cluster_file", cluster.source)
        return cls(cluster.nodes.values(), **session_kwargs)

    def __getitem__(self, name: str) -> NodeSession:
        try:
            return self._sessions[name]
        except KeyError:
            raise KeyError(f"no node {name!r} in this pool (it has {', '.join(self._sessions)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._sessions)

    def __len__(self) -> int:
        return len(self._sessions)

    async def connect_all(self) -> dict[str, SshError | None]:
        """Connect every node at once; what failed where (None: connected)."""
        names = list(self._sessions)
        results = await asyncio.gather(*(self._sessions[n].connect() for n in names), return_exceptions=True)
        out: dict[str, SshError | None] = {}
        for name, res in zip(names, results):
            if isinstance(res, BaseException) and not isinstance(res, SshError):
                raise res
            out[name] = res
        return out

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self._sessions.values()), return_exceptions=True)

    async def __aenter__(self) -> SessionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
