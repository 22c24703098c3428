"""What an event loop was doing while it was late: for the soak, whose console sometimes took
seconds to answer a key. A heartbeat on the loop, a thread that samples the loop thread's
stack while the heartbeat is overdue; each stall is kept with its most frequent stack."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass

BEAT = 0.05  # seconds between heartbeats on the loop
SAMPLE = 0.05  # seconds between stack samples while it is late


@dataclass(frozen=True)
class Stall:
    started: float  # time.time() when the heartbeat was last seen
    seconds: float
    samples: int
    stack: str  # the loop thread's most frequent stack (innermost frames last)
    share: float  # of the samples, how many had that stack


class StallWatch:
    """`StallWatch(loop, thread, threshold)`; `.take()` returns the stalls of at least
    `threshold` seconds seen since the last call."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, threshold: float = 0.5):
        self.loop, self.thread, self.threshold = loop, thread, threshold
        self._beat = time.monotonic()
        self._stalls: list[Stall] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        asyncio.run_coroutine_threadsafe(self._heartbeat(), loop)
        threading.Thread(target=self._watch, name="stall-watch", daemon=True).start()

    async def _heartbeat(self) -> None:
        while not self._stop.is_set():
            self._beat = time.monotonic()
            await asyncio.sleep(BEAT)

    def _stack(self) -> str | None:
        frame = sys._current_frames().get(self.thread.ident or -1)
        if frame is None:
            return None
        frames = traceback.extract_stack(frame)[-8:]
        return "\n".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}" for f in frames)

    def _watch(self) -> None:
        while not self._stop.wait(SAMPLE):
            late = time.monotonic() - self._beat
            if late < self.threshold:
                continue
            began = self._beat
            stacks: Counter[str] = Counter()
            while self._beat == began and not self._stop.is_set():
                s = self._stack()
                if s:
                    stacks[s] += 1
                time.sleep(SAMPLE)
            seconds = time.monotonic() - began
            if stacks:
                stack, n = stacks.most_common(1)[0]
                total = sum(stacks.values())
                stall = Stall(time.time() - (time.monotonic() - began), seconds, total, stack, n / total)
                with self._lock:
                    self._stalls.append(stall)

    def take(self) -> list[Stall]:
        with self._lock:
            out, self._stalls = self._stalls, []
        return out

    def stop(self) -> None:
        self._stop.set()
