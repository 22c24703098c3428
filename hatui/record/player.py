"""A recording played back into a store, as a console's feed: the same console, fed from a file.
It connects to nothing; its clock is the replayed moment, so ages, "active for" and staleness
read as they did then."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hatui.state.store import Store

from .file import Cursor, Recording

SPEEDS = (1.0, 10.0, 60.0)
STEP_SECONDS = 1.0  # one press of step: a reading a second is what the console saw
FRAME_SECONDS = 0.1  # how often the player moves the store on while playing
# the events a seek loads: what the console's rules look at (a snapshot's last 2000); decoding
# a live store's 10 000 made a seek in a day-long recording take 380 ms
EVENTS_KEPT = 2_000


@dataclass(frozen=True)
class PlayerState:
    at: float  # the replayed moment
    playing: bool
    speed: float
    start: float
    end: float


class ReplayFeed:
    """Feed protocol (store, start, stop) plus the controls: play/pause, step, seek, next mark,
    speed. Everything runs on the console's event loop; no control blocks it for long (a seek
    reads one keyframe and at most a minute of readings)."""

    def __init__(self, rec: Recording, *, at: float | None = None):
        span = rec.span()
        if span is None:
            raise ValueError(f"{rec.path}: the recording holds no reading")
        self.rec = rec
        self.start_t, self.end_t = span
        self.now = self.start_t if at is None else min(max(at, self.start_t), self.end_t)
        self.playing = False
        self.speed = SPEEDS[0]
        self.store = Store(rec.cluster(), clock=self.clock)
        self._cursor: Cursor | None = None
        self.seek(self.now)

    # ------------------------------------------------------------------ the clock
    def clock(self) -> float:
        return self.now

    def state(self) -> PlayerState:
        return PlayerState(self.now, self.playing, self.speed, self.start_t, self.end_t)

    # ------------------------------------------------------------------ controls
    def seek(self, t: float) -> None:
        """Jump to moment t: the store holds exactly what it held then."""
        t = min(max(t, self.start_t), self.end_t)
        self._cursor = self.rec.cursor(t)
        self.now = t
        self.store.replace_all(self._cursor.state().values(), self.rec.events(float("-inf"), t, last=EVENTS_KEPT))

    def advance(self, seconds: float) -> None:
        """Play `seconds` of the recording forward (readings and events in the order taken)."""
        target = min(self.now + seconds, self.end_t)
        assert self._cursor is not None
        for obs in self._cursor.advance(target):
            self.store.put(obs.node, obs.kind, obs.value, at=obs.at)
        for ev in self.rec.events(self.now, target):
            self.store.add_recorded_event(ev)
        self.now = target
        if self.now >= self.end_t:
            self.playing = False

    def step(self, direction: int) -> None:
        """One step (STEP_SECONDS) forward or back; pauses."""
        self.playing = False
        if direction > 0:
            self.advance(STEP_SECONDS)
        else:
            self.seek(self.now - STEP_SECONDS)

    def next_mark(self) -> float | None:
        """The next moment something happened (a keepalived event, an alert or incident raised,
        changed or cleared, a runbook step) after now; the player goes there, paused."""
        t = self.rec.next_mark(self.now)
        if t is not None:
            self.playing = False
            self.advance(t - self.now)
        return t

    def toggle(self) -> None:
        if self.now >= self.end_t:
            self.seek(self.start_t)
        self.playing = not self.playing

    def faster(self, direction: int) -> None:
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else 0
        self.speed = SPEEDS[min(max(i + direction, 0), len(SPEEDS) - 1)]

    # ------------------------------------------------------------------ Feed
    async def start(self) -> None:
        while True:
            await asyncio.sleep(FRAME_SECONDS)
            if self.playing:
                self.advance(FRAME_SECONDS * self.speed)

    async def stop(self) -> None:
        self.playing = False
