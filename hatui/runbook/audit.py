"""The audit log: one JSON object per line for every check, action and outcome, with time and
operator. Secrets are masked before anything is written."""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from hatui.keepalived.redact import redact


def operator() -> str:
    """Who runs this: the login name and host (sudo keeps the real user in SUDO_USER)."""
    user = os.environ.get("SUDO_USER") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


class AuditLog:
    def __init__(self, path: Path, *, cluster: str, run_id: str, who: str | None = None,
                 secrets: tuple[str, ...] = ()):
        self.path = path
        self.cluster = cluster
        self.run_id = run_id
        self.who = who or operator()
        self._secrets = tuple(s for s in secrets if s)
        path.parent.mkdir(parents=True, exist_ok=True)

    def mask(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return redact(text)

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {"time": time.time(), "cluster": self.cluster, "run": self.run_id,
                 "operator": self.who, "event": event}
        entry.update({k: self.mask(v) if isinstance(v, str) else v for k, v in fields.items()})
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # O_APPEND: concurrent writers never interleave within a line this short
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return entry


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
