"""Where hatui keeps its state (runbook journals, locks, the audit log, the flight recorder):
one folder per OS user, or $HATUI_STATE_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from hatui.cluster import Cluster

__all__ = ["cluster_dir", "state_dir"]


def state_dir() -> Path:
    """Where journals, locks and the audit log live: $HATUI_STATE_DIR or ~/.local/state/hatui."""
    env = os.environ.get("HATUI_STATE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hatui"


def cluster_dir(base: Path, cluster: Cluster) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cluster.name)
    if set(safe) <= {"."}:  # "", "." and ".." would name the state folder or its parent
        safe = "_" + safe
    return base / safe
