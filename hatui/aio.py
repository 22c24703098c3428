"""asyncio helpers the engine shares."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object]], *, every: float = 0.2, rounds: int = 50) -> None:
    """Cancel `tasks` and wait until they end, cancelling again every `every` seconds (at most
    `rounds` times): Python 3.11's asyncio.wait_for swallows a cancellation that arrives as the
    awaited thing completes, and a worker loop that lost it goes back to waiting; awaiting it
    once would then wait forever (the console's rare hang at exit)."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(rounds):
        if not pending:
            break
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=every)
    if pending:
        log.warning(
            "%d task(s) did not end after %d cancellations: %s", len(pending), rounds, "; ".join(map(_where, pending))
        )
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            log.debug("task %s ended with %r", t.get_name(), t.exception())


def _where(task: asyncio.Task[object]) -> str:
    """The task's name and the line it waits at (innermost frame): which one would not end."""
    frames = task.get_stack()
    if not frames:
        return task.get_name()
    f = frames[-1]
    return f"{task.get_name()} at {f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}"
