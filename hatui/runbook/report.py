"""Runbook events as text lines: the CLI prints them, the console shows the same words."""

from __future__ import annotations

from hatui.runbook.model import Event, Outcome

MARK = {"pass": "✔", "warn": "!", "fail": "✘"}

EXIT = {Outcome.DONE: 0, Outcome.DRY_RUN: 0, Outcome.REFUSED: 1, Outcome.ROLLED_BACK: 2, Outcome.FAILED: 3}


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
