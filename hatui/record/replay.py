"""A recorded moment, rebuilt: the store as it was at time T, and what `hatui status --json`
would have said from it. The interactive replay (the console fed from a file) builds on this."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hatui.rules.health import evaluate
from hatui.rules.incidents import correlate
from hatui.state.store import Store

from .file import Recording, RecordingError
from .player import EVENTS_KEPT


def store_at(rec: Recording, t: float) -> Store:
    """The store a console recording this file held at moment t; its clock stays at t."""
    store = Store(rec.cluster(), clock=lambda: t)
    store.replace_all(rec.state_at(t).values(), rec.events(float("-inf"), t, last=EVENTS_KEPT))
    return store


def status_at(rec: Recording, t: float) -> dict[str, Any]:
    """`hatui status --json` as of moment t, from the recording."""
    from hatui.status import exit_code, status_dict

    snap = store_at(rec, t).snapshot(max_events=None)
    alerts = evaluate(snap)
    d = status_dict(snap, alerts, correlate(snap, alerts))
    d["exit_code"] = exit_code(snap, alerts)
    d["replayed_at"] = datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")
    return d


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")


def parse_moment(text: str, rec: Recording) -> float:
    """A moment of the recording: ISO 8601 ("2026-12-06T03:12:00", local time without a zone),
    a clock time on the recording's first day ("03:12", "03:12:07.5"), "+S" seconds after its
    start, or Unix seconds."""
    span = rec.span()
    if span is None:
        raise RecordingError(f"{rec.path}: the recording holds no reading")
    t = text.strip()
    try:
        if t.startswith("+"):
            return span[0] + float(t[1:])
        if re.fullmatch(r"\d+(\.\d+)?", t):
            return float(t)
        if m := _CLOCK.match(t):
            day = datetime.fromtimestamp(span[0]).astimezone()
            h, mi, s, frac = int(m[1]), int(m[2]), int(m[3] or 0), m[4] or "0"
            at = day.replace(hour=h, minute=mi, second=s, microsecond=int(frac.ljust(6, "0")))
            return at.timestamp()
        dt = datetime.fromisoformat(t)
        return (dt if dt.tzinfo else dt.astimezone()).timestamp()
    except ValueError:
        pass
    raise RecordingError(
        f"{text!r}: expected a moment as 2026-12-06T03:12:00, 03:12[:07], +SECONDS (after the start) or Unix seconds"
    )
