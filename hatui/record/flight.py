"""The console's flight recorder: always on, so an incident nobody thought to record is still
there afterwards. One file an hour under STATE/CLUSTER/flight/ (0700; files 0600), the last
`hours` hours kept and at most `max_bytes` in all, the oldest going first."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from hatui.cluster import Cluster
from hatui.privatefs import private_dir
from hatui.statedir import cluster_dir

from .recorder import Recorder

HOURS = 24
MAX_BYTES = 200 * 1024 * 1024
SUFFIX = ".hrec"


def flight_folder(state: Path, cluster: Cluster) -> Path:
    return cluster_dir(state, cluster) / "flight"


def _hour(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y%m%dT%H")


class FlightRecorder(Recorder):
    def __init__(
        self,
        cluster: Cluster,
        state: Path,
        *,
        hours: float = HOURS,
        max_bytes: int = MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ):
        self.folder = private_dir(flight_folder(state, cluster), state)
        self.hours = hours
        self.max_bytes = max_bytes
        self._hour = _hour(clock())
        super().__init__(self.folder / f"{self._hour}{SUFFIX}", cluster, clock=clock)
        self.prune()

    def flush(self) -> None:
        super().flush()
        hour = _hour(self._clock())
        if hour != self._hour:
            self._hour = hour
            self.rotate(self.folder / f"{hour}{SUFFIX}")
            self.prune()

    def files(self) -> list[Path]:
        """The recorder's files, oldest first."""
        return sorted(self.folder.glob(f"*{SUFFIX}"))

    def prune(self) -> None:
        """Drop the files older than `hours` and the oldest beyond `max_bytes` (never the one
        being written)."""
        now = self._clock()
        files = [p for p in self.files() if p != self.path]
        sizes = {p: _size(p) for p in files}
        total = sum(sizes.values()) + _size(self.path)
        for p in files:  # oldest first
            # a file holds the hour its name says: it ended by the start of the next
            try:
                ended = datetime.strptime(p.name.removesuffix(SUFFIX), "%Y%m%dT%H").timestamp() + 3600
            except ValueError:
                continue  # not one of ours: left alone
            too_old = now - ended >= self.hours * 3600
            if too_old or total > self.max_bytes:
                total -= sizes[p]
                for q in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
                    q.unlink(missing_ok=True)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size + sum(q.stat().st_size for q in (p.with_name(p.name + "-wal"),) if q.exists())
    except OSError:
        return 0
