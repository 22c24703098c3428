"""Records what a console (or `hatui status`) observes: every reading and event as the store gets
it, the alerts and incidents it raises and clears, the runbook steps it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatui.cluster import Cluster
from hatui.state.observations import Observation
from hatui.state.store import Snapshot, Store, StoredEvent

from .file import BATCH_SECONDS, RecordingWriter

if TYPE_CHECKING:
    from hatui.views.frame import Frame

log = logging.getLogger(__name__)


class Recorder:
    """Writes one cluster's store to a recording while attached. Call attach(store), run
    `await recorder.run()` beside the sources (it flushes every BATCH_SECONDS), close() at
    the end. A recording that cannot be written is said once in the log and given up: the
    console goes on."""

    def __init__(self, path: str | Path, cluster: Cluster, *, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.cluster = cluster
        self._clock = clock
        self.writer: RecordingWriter | None = RecordingWriter(self.path, cluster, clock=clock)
        self._unsubscribe: Callable[[], None] | None = None
        self._store: Store | None = None

    def attach(self, store: Store) -> None:
        self._store = store
        self._unsubscribe = store.subscribe(self._on_change)
        self._picture(store, events=True)

    def _picture(self, store: Store, *, events: bool) -> None:
        """What the store knows now: a recording (or its next file) starts from the same picture."""
        snap = store.snapshot(max_events=None)
        for obs in snap.observations.values():
            self._on_change("observation", obs)
        if events:
            for ev in snap.events:
                self._on_change("event", ev)

    def rotate(self, path: str | Path) -> None:
        """Go on in a new file (the flight recorder's next hour), which starts with the picture."""
        old, self.writer = self.writer, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        self.path = Path(path)
        try:
            self.writer = RecordingWriter(self.path, self.cluster, clock=self._clock)
        except Exception as exc:
            log.error("recording to %s: %s", self.path, exc)
            return
        if self._store is not None:
            self._picture(self._store, events=False)
            self.flush()

    def _on_change(self, what: str, item: Any) -> None:
        w = self.writer
        if w is None:
            return
        try:
            if what == "observation" and isinstance(item, Observation):
                w.observation(item)
            elif what == "event" and isinstance(item, StoredEvent):
                w.event(item)
        except Exception as exc:
            self._give_up(exc)

    def note(self, what: str, data: dict[str, Any], t: float | None = None) -> None:
        """What the console concluded or did: "alert_raised", "incident_changed", "runbook_step"..."""
        if self.writer is None:
            return
        try:
            self.writer.note(self._clock() if t is None else t, what, data)
        except Exception as exc:
            self._give_up(exc)

    def flush(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.flush()
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        log.error("recording to %s stopped: %s", self.path, exc)
        w, self.writer = self.writer, None
        if w is not None:
            with contextlib.suppress(Exception):
                w.close()

    async def run(self) -> None:
        while self.writer is not None:
            await asyncio.sleep(BATCH_SECONDS)
            self.flush()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        w, self.writer = self.writer, None
        if w is not None:
            try:
                w.close()
            except Exception as exc:
                log.error("closing the recording %s: %s", self.path, exc)


def record_snapshot(path: str | Path, snap: Snapshot) -> None:
    """Add one snapshot (a `hatui status` run) to a recording: its readings, its events, and
    what it concluded. Run every minute from cron, it builds a history replay can show."""
    from hatui.rules.health import evaluate
    from hatui.rules.incidents import correlate

    writer = RecordingWriter(path, snap.cluster, clock=lambda: snap.taken_at)
    try:
        for obs in snap.observations.values():
            writer.observation(obs)
        newest: dict[str, str | None] = {}
        for ev in snap.events:
            if ev.node not in newest:
                newest[ev.node] = writer.last_event_time(ev.node)
            seen, t = newest[ev.node], ev.event.time
            if seen is None or t is None or t.isoformat() > seen:
                writer.event(ev)
        alerts = evaluate(snap)
        for inc in correlate(snap, alerts):
            writer.note(snap.taken_at, "incident_seen", inc.to_dict())
    finally:
        writer.close()


def note_frame(recorders: Iterable[Recorder], frame: Frame) -> None:
    """What one console tick concluded: the alerts raised and cleared, the incidents raised,
    changed (a new code: the VIP moved) and cleared, into every recording."""
    notes: list[tuple[str, dict[str, Any]]] = []
    for a in frame.raised:
        notes.append(("alert_raised", a.alert.to_dict()))
    for c in frame.cleared_now:
        notes.append(("alert_cleared", {**c.alert.to_dict(), "since": c.since}))
    for ch in frame.incident_changes:
        notes.append((f"incident_{ch.kind}", {**ch.incident.to_dict(), "since": ch.since}))
    if notes:
        for r in recorders:
            for what, data in notes:
                r.note(what, data, frame.now)
