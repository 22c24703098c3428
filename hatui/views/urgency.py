"""Which store changes a view must draw at once, not at its next tick.

The dashboard redraws at 4 Hz; a VIP that moved or a mysqld that died would wait up to a tick
(and longer on a busy machine) before the pane shows it. A view subscribes to its store and asks
`ChangeWatch.urgent` for every change: true for a VRRP state or priority line, and for a reading
whose meaning changed (a VIP gained or lost, keepalived or mysqld up or down, a replication
thread stopped, a route's targets). Readings that only refresh what is known (the same state,
a lag one second older) wait for the tick.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from hatui.state.observations import AddressObs, KeepalivedProcObs, Kind, Observation, SshObs
from hatui.state.store import StoredEvent

_NEVER = object()
_EVENT_KINDS = frozenset({"state", "priority", "priority_zero", "vip_set", "vip_removed", "lifecycle"})


def meaning(obs: Observation) -> Hashable:
    """What a reading says that a pane shows, without what merely ages (lags, offsets)."""
    v: Any = obs.value
    if obs.kind == Kind.SSH and isinstance(v, SshObs):
        return v.state
    if obs.kind == Kind.ADDRESSES and isinstance(v, AddressObs):
        return (v.held, v.error)
    if obs.kind == Kind.KEEPALIVED and isinstance(v, KeepalivedProcObs):
        return (v.running, v.pid)
    if obs.kind == Kind.VRRP:
        return tuple((i.name, i.state, i.effective_priority) for i in getattr(v, "instances", ()))
    if obs.kind == Kind.MYSQL:
        return (
            getattr(v, "up", None),
            getattr(v, "read_only", None),
            tuple((c.name, c.io_running, c.sql_running, c.source_host) for c in getattr(v, "channels", ())),
        )
    if obs.kind == Kind.ROUTER:
        return (
            getattr(v, "error", None),
            tuple((r.name, tuple(s.name for s in r.targets)) for r in getattr(v, "routes", ())),
        )
    return None


class ChangeWatch:
    def __init__(self) -> None:
        self._last: dict[tuple[str, Kind], Hashable] = {}

    def urgent(self, what: str, item: object) -> bool:
        if what == "reset":  # a replay jumped: everything may have changed
            self._last.clear()
            return True
        if what == "event" and isinstance(item, StoredEvent):
            return str(getattr(item.event, "kind", "")) in _EVENT_KINDS
        if what == "observation" and isinstance(item, Observation):
            key = (item.node, item.kind)
            m = meaning(item)
            changed = self._last.get(key, _NEVER) != m  # a first reading is news too
            self._last[key] = m
            return changed
        return False
