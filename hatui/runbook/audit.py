"""The audit log: one JSON object per line for every check, action and outcome, with time and
operator. Secrets are masked before anything is written."""

from __future__ import annotations

import json
import os
import pwd
import socket
import time
from pathlib import Path
from typing import Any

from hatui.keepalived.redact import redact
from hatui.privatefs import append_private, private_dir


def operator() -> str:
    """Who runs this: the account of the real uid and the host. SUDO_USER is only a claim
    (anyone can set it), so it is added as such, never instead of the real account."""
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = f"uid {uid}"
    claimed = os.environ.get("SUDO_USER")
    via = f" (sudo from {claimed})" if claimed and claimed != user else ""
    return f"{user}{via}@{socket.gethostname()}"


class AuditLog:
    def __init__(self, path: Path, *, cluster: str, run_id: str, who: str | None = None, secrets: tuple[str, ...] = ()):
        self.path = path
        self.cluster = cluster
        self.run_id = run_id
        self.who = who or operator()
        self._secrets = tuple(s for s in secrets if s)
        private_dir(path.parent)

    def mask(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return redact(text)

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        entry = {
            "time": time.time(),
            "cluster": self.cluster,
            "run": self.run_id,
            "operator": self.who,
            "uid": os.getuid(),
            "event": event,
        }
        entry.update({k: self.mask(v) if isinstance(v, str) else v for k, v in fields.items()})
        line = json.dumps(entry, ensure_ascii=False, default=str)
        append_private(self.path, line + "\n")
        return entry


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
