"""Runbook events as text lines: the CLI prints them, the console shows the same words."""

from __future__ import annotations

from hatui.exitcodes import Exit
from hatui.runbook.model import Event, Outcome

MARK = {"pass": "✔", "warn": "!", "fail": "✘"}

# the CLI's table (hatui.exitcodes): refused changes nothing, a rollback failed cleanly, a failure
# past the point of no return must be resumed
EXIT = {
    Outcome.DONE: Exit.OK,
    Outcome.DRY_RUN: Exit.OK,
    Outcome.REFUSED: Exit.WARNING,
    Outcome.ROLLED_BACK: Exit.CRITICAL,
    Outcome.FAILED: Exit.UNKNOWN,
}


def event_lines(ev: Event) -> list[str]:
    k = ev.kind
    if k == "phase":
        return [ev.text]
    if k == "check":
        verdict = ev.data.get("verdict", "pass")
        out = [f"  {MARK.get(verdict, '?')} {ev.text}"]
        if verdict != "pass" and ev.data.get("fix"):
            out.append(f"      → {ev.data['fix']}")
        return out
    if k == "plan":
        out = [f"  {ev.text}"]
        out += [f"       {a}" for a in ev.data.get("actions", [])]
        if ev.data.get("undo"):
            out.append(f"       undo: {ev.data['undo']}")
        if ev.data.get("commits"):
            out.append("       (point of no return: failures from here on are not undone automatically)")
        return out
    if k == "step_start":
        return [f"▶ {ev.text}"]
    if k == "action":
        return [f"    → {ev.node} {ev.data.get('kind', '')}: {ev.text}"]
    if k == "action_done":
        return [] if ev.ok else [f"    ✘ {ev.node}: {ev.text}"]
    if k == "step_done":
        took = ev.data.get("seconds")
        return [f"  ✔ {ev.text}" + (f" ({took:.3f} s)" if took is not None else "")]
    if k == "step_failed":
        return [f"  ✘ {ev.text}"]
    if k == "undo_start":
        return [f"↶ undo: {ev.text}"]
    if k == "undo_done":
        return [f"  ✔ {ev.text}"]
    if k == "undo_failed":
        return [f"  ✘ undo failed: {ev.text}"]
    if k in ("done", "rolled_back", "failed", "refused"):
        return [("" if ev.ok else "") + f"{k.upper().replace('_', ' ')}: {ev.text}"]
    if k == "note":
        return [f"    · {ev.text}"]
    return []
