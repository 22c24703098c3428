"""hatui.aio.cancel_and_wait: tasks are cancelled until they end; one that will not is named."""

from __future__ import annotations

import asyncio
import logging

from hatui.aio import cancel_and_wait


async def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends():
    lost = 0

    async def worker() -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                lost += 1
                if lost == 3:  # as wait_for in 3.11 can: the first two are swallowed
                    raise

    t = asyncio.create_task(worker())
    await asyncio.sleep(0)
    await cancel_and_wait([t], every=0.01)
    assert t.cancelled() and lost == 3


async def test_a_task_that_never_ends_is_named_with_where_it_waits(caplog):
    done = False

    async def stubborn() -> None:
        while not done:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass

    t = asyncio.create_task(stubborn(), name="monitor-db1-mysql")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="hatui.aio"):
        await cancel_and_wait([t], every=0.01, rounds=3)
    assert not t.done()
    (record,) = caplog.records
    assert "1 task(s) did not end after 3 cancellations" in record.getMessage()
    assert "monitor-db1-mysql at " in record.getMessage() and "test_aio.py" in record.getMessage()
    assert "in stubborn" in record.getMessage()
    done = True
    t.cancel()
    await asyncio.wait([t], timeout=1)
    assert t.done()
