"""A recording's part of `hatui timeline --record FILE`: its keepalived events, and one line for
each alert and incident raised, changed or cleared and each runbook step the console ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatui.keepalived.events import KeepalivedEvent

from .file import Recording


def _note_line(what: str, d: dict[str, Any]) -> tuple[str, str]:
    """(node, text) of one note."""
    if what.startswith("alert_"):
        return d.get("node") or "-", f"{d.get('severity', '')} {d.get('code', '')}: {d.get('message', '')}".strip()
    if what.startswith("incident_"):
        nodes = d.get("nodes") or ["-"]
        return nodes[0], f"{d.get('severity', '')} {d.get('code', '')}: {d.get('title', '')}".strip()
    if what == "runbook":
        step = f" [{d['step']}]" if d.get("step") else ""
        dry = " (dry run)" if d.get("dry_run") else ""
        return d.get("node") or "-", f"{d.get('runbook', '')}{dry}: {d.get('kind', '')}{step} {d.get('text', '')}"
    return "-", str(d)[:200]


def read_for_timeline(path: str) -> tuple[list[KeepalivedEvent], list[tuple[float, str, str, str]]]:
    rec = Recording(Path(path))
    try:
        events = [
            e.event if e.event.node else _with_node(e.event, e.node) for e in rec.events(float("-inf"), float("inf"))
        ]
        notes = []
        for t, what, d in rec.notes(float("-inf"), float("inf")):
            node, text = _note_line(what, d)
            notes.append((t, node, what.replace("incident_", "incident ").replace("alert_", "alert "), text))
        return events, notes
    finally:
        rec.close()


def _with_node(e: KeepalivedEvent, node: str) -> KeepalivedEvent:
    from dataclasses import replace

    return replace(e, node=node)
