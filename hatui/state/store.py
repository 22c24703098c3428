"""The single writer of cluster state, and the immutable snapshots everyone else reads."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hatui.cluster import Cluster
from hatui.state.observations import Kind, Observation, stale_after

# ("observation" | "event" | "reset", Observation | StoredEvent | None)
Listener = Callable[[str, Any], None]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int  # increasing per store: views ask for "everything after seq N"
    received_at: float  # when the store got it (the event's own time may be missing or skewed)
    node: str
    event: Any  # hatui.keepalived.events.KeepalivedEvent


@dataclass(frozen=True)
class Snapshot:
    """Everything known at one instant. Cheap to take; never changes after."""

    cluster: Cluster
    taken_at: float
    observations: Mapping[tuple[str, Kind], Observation]
    events: tuple[StoredEvent, ...]  # oldest first, bounded

    def get(self, node: str, kind: Kind) -> Observation | None:
        return self.observations.get((node, kind))

    def value(self, node: str, kind: Kind) -> Any | None:
        obs = self.observations.get((node, kind))
        return None if obs is None else obs.value

    def age(self, node: str, kind: Kind) -> float | None:
        obs = self.observations.get((node, kind))
        return None if obs is None else max(0.0, self.taken_at - obs.at)

    def is_stale(self, node: str, kind: Kind) -> bool:
        age = self.age(node, kind)
        return age is not None and age > stale_after(kind)

    def oldest_age(self) -> float | None:
        """Age of the oldest polled piece of data: the header's 'how old is what I see'. SSH
        state is pushed when it changes, and so is VRRP state where keepalived's log is followed
        (the wallboard takes no dumps; the console's safety-net dump comes once a minute): their
        age says when they last changed, not how fresh they are, and their own staleness rules
        judge them. Counted, a quiet wallboard said "data 48s old" with every reading fresh."""
        ages = [self.taken_at - o.at for o in self.observations.values() if o.kind not in (Kind.SSH, Kind.VRRP)]
        return max(ages) if ages else None

    def node_events(self, node: str) -> list[StoredEvent]:
        return [e for e in self.events if e.node == node]


class Store:
    """Latest observation per (node, kind) and a bounded event history.

    Only sources call `put`/`add_event`; they run on one event loop, so no locking is needed.
    """

    def __init__(self, cluster: Cluster, *, max_events: int = 10_000, clock: Callable[[], float] = time.time):
        self.cluster = cluster
        self._clock = clock
        self._obs: dict[tuple[str, Kind], Observation] = {}
        self._events: deque[StoredEvent] = deque(maxlen=max_events)
        self._seq = 0
        self._listeners: list[Listener] = []
        self.version = 0  # bumps on every change; a view redraws only when it moved

    # ------------------------------------------------------------------ writing (sources)
    def put(self, node: str, kind: Kind, value: Any, at: float | None = None) -> Observation:
        obs = Observation(node, Kind(kind), value, self._clock() if at is None else at)
        self._obs[(node, obs.kind)] = obs
        self.version += 1
        self._notify("observation", obs)
        return obs

    def add_event(self, node: str, event: Any) -> StoredEvent:
        self._seq += 1
        stored = StoredEvent(self._seq, self._clock(), node, event)
        self._events.append(stored)
        self.version += 1
        self._notify("event", stored)
        return stored

    def add_events(self, node: str, events: Iterable[Any]) -> None:
        for e in events:
            self.add_event(node, e)

    # ------------------------------------------------------------------ reading
    def replace_all(self, observations: Iterable[Observation], events: Iterable[StoredEvent]) -> None:
        """Everything known, at once, as a recording says it was (a replay's seek): readings
        with their own times, events with their own sequence numbers and arrival times."""
        self._obs = {(o.node, o.kind): o for o in observations}
        self._events.clear()
        self._events.extend(events)
        self._seq = self._events[-1].seq if self._events else 0
        self.version += 1
        self._notify("reset", None)

    def add_recorded_event(self, stored: StoredEvent) -> None:
        """One event as a recording says it arrived (a replay playing forward)."""
        self._events.append(stored)
        self._seq = max(self._seq, stored.seq)
        self.version += 1
        self._notify("event", stored)

    @property
    def events_held(self) -> int:
        """Log events kept now (at most max_events: the oldest go first)."""
        return len(self._events)

    def latest(self, node: str, kind: Kind) -> Observation | None:
        return self._obs.get((node, Kind(kind)))

    def events_since(self, seq: int) -> list[StoredEvent]:
        if not self._events or self._events[-1].seq <= seq:
            return []
        # events are in seq order; walk back from the end (the common case is a few new ones)
        out: list[StoredEvent] = []
        for e in reversed(self._events):
            if e.seq <= seq:
                break
            out.append(e)
        out.reverse()
        return out

    def snapshot(self, *, max_events: int | None = 2_000) -> Snapshot:
        events = tuple(self._events) if max_events is None else tuple(self._events)[-max_events:]
        return Snapshot(self.cluster, self._clock(), MappingProxyType(dict(self._obs)), events)

    # ------------------------------------------------------------------ listeners
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call listener after every change; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, what: str, item: Any) -> None:
        for fn in list(self._listeners):
            fn(what, item)
