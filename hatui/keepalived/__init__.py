"""keepalived knowledge: log lines, dumps and timelines, as pure functions (no textual here)."""

from .dump import (
    DumpParseError,
    TrackedScript,
    VrrpInstance,
    VrrpSnapshot,
    infer_from_events,
    parse_data_dump,
    parse_json_dump,
)
from .events import EventKind, KeepalivedEvent
from .logparse import parse_journal_entry, parse_line
from .redact import redact

__all__ = [
    "DumpParseError",
    "EventKind",
    "KeepalivedEvent",
    "TrackedScript",
    "VrrpInstance",
    "VrrpSnapshot",
    "infer_from_events",
    "parse_data_dump",
    "parse_journal_entry",
    "parse_json_dump",
    "parse_line",
    "redact",
]
