"""keepalived's log, per node: a backlog of recent lines, then a follow that resumes exactly.

A file is followed with `tail -F` from a byte offset, a journal with `journalctl -f` after a
cursor, so reconnecting after an sshd restart or a partition neither repeats nor skips lines.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from hatui.cluster import Node

HEADER = b"@@hatui-log"  # first line of a follow: "@@hatui-log OFFSET INODE"
BACKLOG_BYTES = 65536
BACKLOG_ENTRIES = 300


@dataclass
class Position:
    """Where the next line starts: byte offset and inode (file), or journal cursor."""

    offset: int = 0
    inode: str = ""
    cursor: str = ""


class LogSource:
    """Builds the commands for one node's log and keeps the resume position from what it saw."""

    def __init__(self, node: Node):
        self.node = node
        self.journald_unit = node.keepalived.log.journald
        self.path = str(node.keepalived.log.file) if node.keepalived.log.file else None
        self.pos = Position()
        self.started = False  # has a backlog or follow established a position

    @property
    def describe(self) -> str:
        return f"journald unit {self.journald_unit}" if self.journald_unit else f"file {self.path}"

    # ------------------------------------------------------------------ commands
    def backlog_command(self) -> str:
        if self.journald_unit:
            return f"exec journalctl -u {shlex.quote(self.journald_unit)} -o json --no-pager -n {BACKLOG_ENTRIES}"
        f = shlex.quote(self.path or "")
        # head -c SIZE makes the backlog end exactly at the offset we resume from
        script = (
            f"set -- $(stat -L -c '%s %i' {f} 2>/dev/null || echo 0 0); echo \"$1 $2\"; "
            f'[ "$1" -gt 0 ] && head -c "$1" {f} | tail -c {BACKLOG_BYTES}; exit 0'
        )
        return f"exec sh -c {shlex.quote(script)}"

    def follow_command(self) -> str:
        if self.journald_unit:
            unit = shlex.quote(self.journald_unit)
            where = f"--after-cursor={shlex.quote(self.pos.cursor)}" if self.pos.cursor else "-n 0"
            return f"exec journalctl -u {unit} -f -o json --no-pager {where}"
        f = shlex.quote(self.path or "")
        # The first line says where tail starts: after the last byte seen when it is the same
        # file and not shorter; otherwise (rotated or truncated meanwhile, or never read) from the
        # start of the current file, or from its end when we have no position at all.
        if self.started:
            pick = (
                f'if [ "$2" = {shlex.quote(self.pos.inode or "-")} ] && '
                f'[ "$1" -ge {self.pos.offset} ]; then s={self.pos.offset}; else s=0; fi'
            )
        else:
            pick = "s=$1"
        script = (
            f"set -- $(stat -L -c '%s %i' {f} 2>/dev/null || echo 0 0); {pick}; "
            f'echo "{HEADER.decode()} $s $2"; exec tail -c +$((s+1)) -F {f} 2>/dev/null'
        )
        return f"exec sh -c {shlex.quote(script)}"

    # ------------------------------------------------------------------ reading output
    def take_backlog(self, stdout: bytes) -> list[bytes]:
        """Lines of the backlog, oldest first; sets the position to resume after them."""
        self.started = True
        if self.journald_unit:
            lines = [ln for ln in stdout.split(b"\n") if ln.strip()]
            for ln in reversed(lines):
                if self._note_cursor(ln):
                    break
            return lines
        head, _, body = stdout.partition(b"\n")
        size, _, inode = head.decode("ascii", "replace").strip().partition(" ")
        self.pos = Position(int(size) if size.isdigit() else 0, inode)
        if not body:
            return []
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if self.pos.offset > len(body) and lines:
            lines.pop(0)  # the file is longer than the backlog: tail -c cut its first line
        return lines

    def take_line(self, line: bytes) -> bytes | None:
        """Account for one followed line; None for our own header (not log content)."""
        if self.journald_unit:
            self._note_cursor(line)
            return line
        if line.startswith(HEADER + b" "):
            _, off, inode = (line.decode("ascii", "replace").split(" ") + ["", ""])[:3]
            self.pos = Position(int(off) if off.isdigit() else 0, inode)
            self.started = True
            return None
        self.pos.offset += len(line) + 1
        return line

    def _note_cursor(self, line: bytes) -> bool:
        try:
            cursor = json.loads(line).get("__CURSOR")
        except (ValueError, AttributeError):
            return False
        if cursor:
            self.pos.cursor = str(cursor)
            self.started = True
            return True
        return False
