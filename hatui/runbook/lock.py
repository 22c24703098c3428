"""One runbook at a time per cluster: an exclusive lock file (flock) in the cluster's state
folder, with who holds it and what they run, for the other console to show. It covers every
console and command that uses the same state folder: one OS user's (or one HATUI_STATE_DIR's);
the folder is private (0700), so another OS user's consoles do not see it."""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hatui.errors import Conflict
from hatui.privatefs import private_dir


class LockBusy(Conflict):
    def __init__(self, holder: dict):
        self.holder = holder
        what = holder.get("runbook", "a runbook")
        who = holder.get("operator", "someone")
        since = holder.get("since")
        when = time.strftime("%H:%M:%S", time.localtime(since)) if since else "?"
        super().__init__(
            f"{what} is already running on this cluster ({who}, since {when}, pid {holder.get('pid', '?')})"
        )


@dataclass
class RunbookLock:
    path: Path
    _fd: int | None = None

    def acquire(self, info: dict) -> None:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(self.holder() or {}) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({**info, "pid": os.getpid(), "since": time.time()}).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> dict | None:
        """Who holds the lock now (None if nobody): the kernel knows, the file says who."""
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    return json.loads(self.path.read_text() or "{}")
                except ValueError:
                    return {}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def __enter__(self) -> RunbookLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()
