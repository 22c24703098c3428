"""Rolling replication-lag series per replica channel, fed from store snapshots.

Pure (no UI): the console's lag plot and sparklines draw from it, tests feed it synthetic snapshots.

A series is keyed by `(node, channel_name)` (channel "" is the default channel / MariaDB's unnamed
connection). A point is `(at, lag)` where `at` is when the MySQL observation was taken (the
`Observation.at` of the node's `Kind.MYSQL` value, the same wall clock as `Snapshot.taken_at`) and
`lag` is `Seconds_Behind_Source`, or None when the server could not tell (SQL thread stopped, IO
thread reconnecting, ...). None is kept as a *gap*: a plot must break its line there, never draw a
misleading 0.

Each observation is recorded once however many snapshots carry it, points are kept in time order,
points older than the window (relative to the newest snapshot's `taken_at`) are dropped, and each
series holds at most `max_points` points, so memory is bounded by the number of channels.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from hatui.state.observations import Kind
from hatui.state.store import Snapshot

SeriesKey = tuple[str, str]  # (node, channel name)
Point = tuple[float, float | None]  # (observation time, lag seconds or None = unknown)

__all__ = ["LagHistory", "Point", "SeriesKey"]


class LagHistory:
    """Per-(node, channel) lag over the last `window_seconds`, at most `max_points` points each."""

    def __init__(self, window_seconds: float = 600.0, max_points: int = 1200):
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if max_points < 1:
            raise ValueError("max_points must be at least 1")
        self.window_seconds = float(window_seconds)
        self.max_points = int(max_points)
        self._series: dict[SeriesKey, deque[Point]] = {}

    # ------------------------------------------------------------------ feeding
    def observe(self, snapshot: Snapshot) -> bool:
        """Record the lag of every channel of every up MySQL node in `snapshot`.

        Only observations newer than a series' last point are added, so feeding the same
        observation twice (snapshots are taken more often than MySQL is polled) changes nothing.
        When a node that had series is seen down, or stops reporting a channel, one gap point is
        added so the line breaks there; after that the series just ages out of the window.
        Returns True when the history changed (a redraw is worth it).
        """
        now = snapshot.taken_at
        oldest = now - self.window_seconds
        changed = False
        for (node, kind), obs in sorted(snapshot.observations.items()):
            if kind != Kind.MYSQL or obs.at < oldest:
                continue
            status = obs.value
            reported: set[SeriesKey] = set()
            if getattr(status, "up", False):
                for ch in status.channels:
                    key = (node, ch.name)
                    reported.add(key)
                    changed |= self._append(key, obs.at, ch.lag_seconds)
            for key in [k for k in self._series if k[0] == node and k not in reported]:
                series = self._series[key]
                if series and series[-1][1] is not None:
                    changed |= self._append(key, obs.at, None)
        return self._trim(oldest) or changed

    def _append(self, key: SeriesKey, at: float, lag: float | None) -> bool:
        series = self._series.get(key)
        if series is not None and series and at <= series[-1][0]:
            return False  # already have this observation (or an older one arrived late)
        if series is None:
            series = self._series[key] = deque(maxlen=self.max_points)
        series.append((float(at), None if lag is None else float(lag)))
        return True

    def _trim(self, oldest: float) -> bool:
        changed = False
        for key in list(self._series):
            series = self._series[key]
            while series and series[0][0] < oldest:
                series.popleft()
                changed = True
            if not series:
                del self._series[key]
        return changed

    # ------------------------------------------------------------------ reading
    def __contains__(self, key: object) -> bool:
        return key in self._series

    def __len__(self) -> int:
        return len(self._series)

    def series(self) -> dict[SeriesKey, list[Point]]:
        """Every series, keys sorted (node, then channel), points oldest first; copies."""
        return {k: list(self._series[k]) for k in sorted(self._series)}

    def latest(self, key: SeriesKey) -> float | None:
        """The newest lag of a series; None when it is unknown right now or the series is absent
        (`key in history` tells the two apart)."""
        series = self._series.get(key)
        return series[-1][1] if series else None

    def worst(self) -> tuple[SeriesKey, float] | None:
        """The series whose newest lag is highest, with that lag; None if no lag is known.
        Series whose newest point is a gap are skipped; ties go to the first key in order."""
        best: tuple[SeriesKey, float] | None = None
        for key in sorted(self._series):
            lag = self._series[key][-1][1]
            if lag is not None and (best is None or lag > best[1]):
                best = (key, lag)
        return best

    def sparkline_values(self, key: SeriesKey, n: int = 20) -> list[float]:
        """The last `n` lags of a series, oldest first, for a sparkline.

        Gaps (unknown lag) are given as 0.0 because a sparkline cannot show a hole: do not read
        these values as measurements. An absent series gives [].
        """
        series = self._series.get(key)
        if not series or n <= 0:
            return []
        tail = list(series)[-n:]
        return [0.0 if lag is None else lag for _, lag in tail]

    def segments(self, key: SeriesKey) -> list[list[tuple[float, float]]]:
        """The known stretches of a series: runs of consecutive points with a lag, split at gaps."""
        return list(_runs(self._series.get(key, ())))

    @staticmethod
    def label(key: SeriesKey) -> str:
        """ "db3" for a node's default channel, "db3/chan" for a named one."""
        node, channel = key
        return f"{node}/{channel}" if channel else node


def _runs(points: Iterable[tuple[float, float | None]]) -> Iterator[list[tuple[float, float]]]:
    run: list[tuple[float, float]] = []
    for at, lag in points:
        if lag is None:
            if run:
                yield run
            run = []
        else:
            run.append((at, lag))
    if run:
        yield run
