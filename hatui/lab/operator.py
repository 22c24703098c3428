"""An event loop whose sockets are the lab operator's: for tests and benches that drive the
console (or any asyncssh client) against the lab from this process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hatui.netns_exec import setns_net

T = TypeVar("T")

__all__ = ["OperatorLoop"]


class OperatorLoop:
    """An asyncio event loop running in a thread that lives in a network namespace.

    setns(2) moves only the calling *thread* into the namespace, and a socket belongs to the
    namespace of the thread that creates it; threads started by that thread (asyncio's executor
    for getaddrinfo) inherit it. So every socket asyncssh and asyncio make on this loop --
    connections, port-forward listeners -- is the operator's, while the rest of the test process
    stays where it was. The thread enters the namespace once and ends with the loop, so it never
    has to switch back (pyroute2's pushns/popns keep one process-wide stack, unsafe with threads).
    """

    def __init__(self, ns: str):
        self.ns = ns
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=f"loop@{ns}", daemon=True)
        self.thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if self.loop is None:
            raise RuntimeError(f"the event loop in {ns} did not start within 10 s")
        self._loop: asyncio.AbstractEventLoop = self.loop

    def _main(self) -> None:
        try:
            setns_net(self.ns)
            self.loop = asyncio.new_event_loop()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run a coroutine on the loop and return its result (or raise its exception)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the loop; a concurrent.futures.Future for its outcome."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Call fn on the loop's thread (an asyncio.Event.set, say), from any thread."""
        self._loop.call_soon_threadsafe(fn)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.thread.join(10)
