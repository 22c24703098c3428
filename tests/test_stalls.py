"""The soak's stall watch: a loop blocked by a callback is reported with that callback's frame."""

from __future__ import annotations

import asyncio
import threading
import time

from hatui.lab.stalls import StallWatch


def test_a_blocked_loop_is_reported_with_where_it_was_and_a_live_one_is_not():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        watch = StallWatch(loop, thread, threshold=0.5)
        time.sleep(0.6)
        assert watch.take() == []  # a loop that answers is never reported

        def parse_everything_synchronously() -> None:
            time.sleep(1.2)

        loop.call_soon_threadsafe(parse_everything_synchronously)
        deadline = time.monotonic() + 5
        stalls = []
        while not stalls and time.monotonic() < deadline:
            time.sleep(0.1)
            stalls = watch.take()
        assert len(stalls) == 1
        assert 1.0 <= stalls[0].seconds < 4
        assert "parse_everything_synchronously" in stalls[0].stack and stalls[0].share > 0.5
        watch.stop()
        time.sleep(0.2)  # its heartbeat ends
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
