"""Several nodes' keepalived logs as one time-ordered timeline (`hatui timeline`)."""

from __future__ import annotations

import argparse
import gzip
import heapq
import json
import math
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, NoReturn

from .events import EventKind, KeepalivedEvent
from .logparse import _resolve_tz, parse_line


def read_log_file(
    path: str | Path, node: str, *, year: int | None = None, tz: tzinfo | str | None = None
) -> list[KeepalivedEvent]:
    """Every non-blank line of a keepalived log -> events, in file order. The form (syslog,
    journald JSON lines, keepalived console) is detected line by line; .gz files are read too.
    Raises OSError when the file cannot be read."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as f:
        data = f.read()
    tzi = _resolve_tz(tz)
    out = []
    for line in data.split(b"\n"):
        if line.strip():
            out.append(parse_line(line, node=node, year=year, tz=tzi))
    return out


def _key(t: datetime) -> float:
    try:
        return t.timestamp()  # naive: taken as local time
    except (OverflowError, OSError, ValueError):
        return -math.inf


def _keys(events: list[KeepalivedEvent]) -> list[float]:
    """Each event's sort time: its own, else its last timed predecessor's (else the next one's)."""
    keys: list[float | None] = []
    last = None
    for e in events:
        if e.time is not None:
            last = _key(e.time)
        keys.append(last)
    nxt = None
    for i in range(len(keys) - 1, -1, -1):
        if keys[i] is None:
            keys[i] = nxt if nxt is not None else -math.inf
        elif events[i].time is not None:
            nxt = keys[i]
    return keys  # type: ignore[return-value]  # the loop above filled every None


def merge(events_by_node: Iterable[list[KeepalivedEvent]]) -> list[KeepalivedEvent]:
    """One list, oldest first. Stable: each node's events keep their own order (an event with
    no time stays next to its node's neighbours), equal times keep the order of the nodes."""
    streams = []
    for idx, evs in enumerate(events_by_node):
        evs = list(evs)
        streams.append([(k, idx, i, e) for i, (k, e) in enumerate(zip(_keys(evs), evs))])
    return [t[3] for t in heapq.merge(*streams, key=lambda t: (t[0], t[1]))]


def _fmt_time(t: datetime | None, tz: tzinfo | None) -> str:
    if t is None:
        return "-"
    if t.tzinfo is not None:
        try:
            t = t.astimezone(tz)
        except (OverflowError, OSError, ValueError):
            pass
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def format_event(e: KeepalivedEvent, *, node_width: int = 4, tz: tzinfo | str | None = None) -> str:
    """`2026-11-21 14:32:55.000 db1  state     VI_1 MASTER  Entering MASTER STATE`.
    Aware times are shown in tz (default: this machine's zone)."""
    head = f"{_fmt_time(e.time, _resolve_tz(tz)):<23} {(e.node or '-'):<{node_width}} {str(e.kind):<9}"
    what = " ".join(x for x in (e.instance, e.state) if x)
    return f"{head} {what}  {e.detail}" if what else f"{head} {e.detail}"


def _json_line(e: KeepalivedEvent) -> str:
    d = e.to_dict()
    keys = ("time", "node", "kind", "instance", "state", "detail", "raw")
    return json.dumps({k: d[k] for k in keys}, ensure_ascii=False)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # no SystemExit from inside a library call
        raise _Usage(message)


class _Usage(Exception):
    pass


def _parser() -> _Parser:
    p = _Parser(
        prog="hatui timeline",
        description="Merge keepalived logs of several nodes into one timeline, oldest first. "
        "Each FILE may be syslog (/var/log/messages), `journalctl -o json` output "
        "or keepalived's own -l/-g log; VRRP passwords are masked.",
    )
    p.add_argument("sources", nargs="*", metavar="NODE=FILE", help="a node name and its log file")
    p.add_argument(
        "--record",
        metavar="FILE",
        action="append",
        help="a recording (`hatui --record`, the flight recorder): its keepalived events, alerts, incidents "
        "and runbook steps join the timeline (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--year", type=int, help="year of syslog lines (they carry none; default: this year)")
    p.add_argument("--tz", help="zone of timestamps without one (default: this machine's)")
    p.add_argument(
        "--kind",
        action="append",
        metavar="KIND",
        help=f"only these kinds (repeatable or comma-separated): {', '.join(k.value for k in EventKind)}",
    )
    return p


# what a recording adds: its keepalived events, and its notes as (when, node, what, text)
Recorded = tuple[list[KeepalivedEvent], list[tuple[float, str, str, str]]]


def timeline_main(
    argv: list[str],
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    read_recording: Callable[[str], Recorded] | None = None,
) -> int:
    """`hatui timeline [--json] [--year Y] [--tz ZONE] [--kind K] [--record FILE] NODE=FILE ...`;
    returns the exit code. out/err default to sys.stdout/sys.stderr as they are at call time;
    read_recording reads a --record FILE (the CLI passes hatui.record's reader)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _Usage as exc:
        err.write(f"{parser.format_usage()}hatui timeline: error: {exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        tz = _resolve_tz(args.tz)
    except Exception:
        err.write(f"hatui timeline: unknown time zone {args.tz!r}\n")
        return 2
    kinds = None
    if args.kind:
        kinds = {k.strip() for arg in args.kind for k in arg.split(",") if k.strip()}
        bad = kinds - {k.value for k in EventKind}
        if bad:
            err.write(
                f"hatui timeline: unknown kind {', '.join(sorted(bad))}; expected one of "
                f"{', '.join(k.value for k in EventKind)}\n"
            )
            return 2
    if not args.sources and not args.record:
        err.write(f"{parser.format_usage()}hatui timeline: error: give NODE=FILE logs, --record FILE, or both\n")
        return 2
    pairs = []
    for src in args.sources:
        node, sep, path = src.partition("=")
        if not sep or not node or not path:
            err.write(f"hatui timeline: bad argument {src!r}: expected NODE=FILE (e.g. db1=/var/log/keepalived.log)\n")
            return 2
        pairs.append((node, path))
    per_node = []
    for node, path in pairs:
        try:
            per_node.append(read_log_file(path, node, year=args.year, tz=tz))
        except (OSError, EOFError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            err.write(f"hatui timeline: cannot read {path} (node {node}): {why}\n")
            return 2
    notes: list[tuple[float, str, str, str]] = []
    for path in args.record or ():
        if read_recording is None:
            err.write("hatui timeline: --record needs the hatui command (not this library call)\n")
            return 2
        try:
            evs, ns = read_recording(path)
        except Exception as exc:  # the reader names the file and what is wrong with it
            err.write(f"hatui timeline: {exc}\n")
            return 2
        per_node.append(evs)
        notes.extend(ns)
    events = merge(per_node)
    if kinds is not None:
        events = [e for e in events if e.kind.value in kinds]
        notes = [n for n in notes if n[2] in kinds]
    width = max([len(n) for n, _ in pairs] + [len(e.node or "") for e in events] + [4])
    lines = [
        (k, _json_line(e) if args.json else format_event(e, node_width=width, tz=tz))
        for k, e in zip(_keys(events), events)
    ]
    for t, node, what, text in notes:
        when = datetime.fromtimestamp(t).astimezone()
        if args.json:
            line = json.dumps(
                {"time": when.isoformat(), "node": node, "kind": what, "detail": text}, ensure_ascii=False
            )
        else:
            line = f"{_fmt_time(when, tz):<23} {node:<{width}} {what:<9} {text}"
        lines.append((_key(when), line))
    for _, line in sorted(lines, key=lambda x: x[0]):  # stable: the logs' own order among equal times
        out.write(line + "\n")
    return 0
