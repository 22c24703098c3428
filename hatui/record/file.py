"""A recording on disk: one SQLite file. Why SQLite: one file a DBA can copy, safe against a
crash mid-write (WAL), indexed by time so a seek reads a few rows; readable with any sqlite3.

Tables:
- meta: format and version, the cluster as a replay needs it (codec.encode_cluster: no inline
  password, no notify hooks), when recording started.
- batches: the readings, a zstd-compressed batch of JSON lines every BATCH_SECONDS, each line
  [taken_at, node, kind, value]; value null means "the same as the node's last reading of that
  kind", which most per-second readings are.
- keyframes: every KEYFRAME_SECONDS the latest reading of every (node, kind), compressed: a seek
  starts at the keyframe before the moment and applies at most that long of batches.
- events: keepalived log events as the console received them (the log lines are redacted by the
  parser: no VRRP password), one row each.
- notes: what the console concluded (alerts and incidents raised, changed, cleared) and the
  runbook steps run, one row each.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from hatui.cluster import Cluster
from hatui.errors import InputError
from hatui.keepalived.events import KeepalivedEvent
from hatui.state.observations import Kind, Observation
from hatui.state.store import StoredEvent

from .codec import CodecError, decode_cluster, decode_event, decode_value, encode_cluster, encode_event, encode_value

FORMAT = "hatui-recording"
VERSION = 1  # bump on any change a reader of this version could not read
BATCH_SECONDS = 10.0
KEYFRAME_SECONDS = 60.0
ZSTD_LEVEL = 6

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (t0 REAL NOT NULL, t1 REAL NOT NULL, n INTEGER NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS batches_t1 ON batches (t1);
CREATE TABLE IF NOT EXISTS keyframes (t REAL NOT NULL, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS keyframes_t ON keyframes (t);
CREATE TABLE IF NOT EXISTS events (seq INTEGER NOT NULL, t REAL NOT NULL, node TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_t ON events (t);
CREATE TABLE IF NOT EXISTS notes (t REAL NOT NULL, what TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS notes_t ON notes (t);
"""


class RecordingError(InputError):
    """A file that is not a recording this hatui can read, said with the file's name."""


def _dumps(x: Any) -> str:
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False)


class RecordingWriter:
    """Appends one cluster's readings, events and notes to a recording file. Single-threaded (the
    console's event loop): every call is a memory append but flush(), which writes what is due."""

    def __init__(self, path: str | Path, cluster: Cluster, *, clock: Any = time.time):
        self.path = Path(path)
        self._clock = clock
        new = not self.path.exists()
        self._db = sqlite3.connect(self.path, isolation_level=None)
        if new:
            self.path.chmod(0o600)  # what the cluster looked like is nobody else's business
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        have = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if have:
            _check_meta(self.path, have)
            if have.get("cluster") != cluster.name:
                raise RecordingError(
                    f"{self.path}: a recording of cluster {have.get('cluster')!r}, not {cluster.name!r}: "
                    "record each cluster to its own file"
                )
        else:
            meta = {
                "format": FORMAT,
                "version": str(VERSION),
                "cluster": cluster.name,
                "cluster_json": _dumps(encode_cluster(cluster)),
                "started": repr(self._clock()),
            }
            self._db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        self._zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self._lines: list[str] = []
        self._t0: float | None = None
        self._t1 = 0.0
        self._latest: dict[tuple[str, Kind], tuple[float, Any]] = {}  # (at, encoded value)
        self._last_written: dict[tuple[str, Kind], Any] = {}
        self._batch_started = self._clock()
        self._keyframe_at = 0.0
        self.bytes_written = 0
        self._db.execute("BEGIN")

    # ------------------------------------------------------------------ writing
    def observation(self, obs: Observation) -> None:
        key = (obs.node, obs.kind)
        value = encode_value(obs.kind, obs.value)
        same = self._last_written.get(key) == value
        self._latest[key] = (obs.at, value)
        self._last_written[key] = value
        self._lines.append(_dumps([obs.at, obs.node, str(obs.kind), None if same else value]))
        self._t0 = obs.at if self._t0 is None else min(self._t0, obs.at)
        self._t1 = max(self._t1, obs.at)

    def event(self, stored: StoredEvent) -> None:
        data = {"received_at": stored.received_at, "event": encode_event(stored.event)}
        self._db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?)", (stored.seq, stored.received_at, stored.node, _dumps(data))
        )

    def last_event_time(self, node: str) -> str | None:
        """The log time (ISO 8601) of the node's newest recorded event: a `status --record` run
        re-reads the log's tail and adds only what is newer."""
        row = self._db.execute(
            "SELECT MAX(json_extract(data, '$.event.time')) FROM events WHERE node = ?", (node,)
        ).fetchone()
        return row[0] if row else None

    def note(self, t: float, what: str, data: dict[str, Any]) -> None:
        self._db.execute("INSERT INTO notes VALUES (?, ?, ?)", (t, what, _dumps(data)))

    def due(self) -> bool:
        return self._clock() - self._batch_started >= BATCH_SECONDS

    def flush(self) -> None:
        """Write the pending batch (and a keyframe when one is due), then commit."""
        now = self._clock()
        if self._lines and self._t0 is not None:
            blob = self._zstd.compress("\n".join(self._lines).encode())
            self._db.execute("INSERT INTO batches VALUES (?, ?, ?, ?)", (self._t0, self._t1, len(self._lines), blob))
            self.bytes_written += len(blob)
            self._lines, self._t0 = [], None
        if self._latest and now - self._keyframe_at >= KEYFRAME_SECONDS:
            # as of the last reading written: a seek applies the batches after it
            obs = [[node, str(kind), at, v] for (node, kind), (at, v) in self._latest.items()]
            blob = self._zstd.compress(_dumps({"t": self._t1, "obs": obs}).encode())
            self._db.execute("INSERT INTO keyframes VALUES (?, ?)", (self._t1, blob))
            self.bytes_written += len(blob)
            self._keyframe_at = now
        self._batch_started = now
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def close(self) -> None:
        self.flush()
        self._db.execute("COMMIT")
        self._db.close()


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RecordingMeta:
    cluster: str
    cluster_json: str  # the cluster as recorded (codec.encode_cluster)
    started: float
    version: int


def _check_meta(path: Path, meta: dict[str, str]) -> None:
    if meta.get("format") != FORMAT:
        raise RecordingError(f"{path}: not a hatui recording (no '{FORMAT}' in its meta table)")
    try:
        version = int(meta.get("version", ""))
    except ValueError:
        raise RecordingError(f"{path}: a hatui recording without a readable version") from None
    if version > VERSION:
        raise RecordingError(
            f"{path}: recorded by a newer hatui (recording format {version}); this hatui reads format "
            f"{VERSION} and older: replay it with a newer hatui"
        )


class Recording:
    """A recording opened for reading (read-only: replaying never changes the file)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such file")
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{self.path}: not a hatui recording ({exc})") from None
        _check_meta(self.path, meta)
        self.meta = RecordingMeta(
            meta.get("cluster", "?"),
            meta.get("cluster_json", "{}"),
            float(meta.get("started", "0")),
            int(meta["version"]),
        )
        self._zstd = zstandard.ZstdDecompressor()

    def close(self) -> None:
        self._db.close()

    def cluster(self) -> Cluster:
        try:
            return decode_cluster(json.loads(self.meta.cluster_json))
        except (CodecError, ValueError) as exc:
            raise RecordingError(f"{self.path}: {exc}") from None

    def span(self) -> tuple[float, float] | None:
        """First and last moment with a reading, or None for an empty recording."""
        row = self._db.execute("SELECT MIN(t0), MAX(t1) FROM batches").fetchone()
        return None if row is None or row[0] is None else (float(row[0]), float(row[1]))

    def _lines(self, blob: bytes) -> list[list[Any]]:
        try:
            return [json.loads(line) for line in self._zstd.decompress(blob).decode().split("\n") if line]
        except (zstandard.ZstdError, ValueError) as exc:
            raise RecordingError(f"{self.path}: a damaged batch ({exc})") from None

    def cursor(self, t: float) -> Cursor:
        """A reader positioned at moment t (its state is the state at t), to read forward."""
        cur = Cursor(self, self._keyframe_before(t))
        cur.skip_to(t)
        return cur

    def _batches_after(self, kf_t: float, rowid: int) -> Iterator[tuple[int, bytes]]:
        yield from self._db.execute(
            "SELECT rowid, blob FROM batches WHERE t1 > ? AND rowid > ? ORDER BY rowid", (kf_t, rowid)
        )

    def _decode(self, kind: str, data: Any) -> Any:
        try:
            return decode_value(kind, data)
        except CodecError as exc:
            raise RecordingError(f"{self.path}: {exc}") from None

    @dataclass(frozen=True)
    class _Keyframe:
        t: float
        values: dict[tuple[str, str], Any]
        at: dict[tuple[str, str], float]

    def _keyframe_before(self, t: float) -> Recording._Keyframe | None:
        row = self._db.execute("SELECT t, blob FROM keyframes WHERE t <= ? ORDER BY t DESC LIMIT 1", (t,)).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(self._zstd.decompress(row[1]).decode())
        except (zstandard.ZstdError, ValueError) as exc:
            raise RecordingError(f"{self.path}: a damaged keyframe ({exc})") from None
        values = {(n, k): v for n, k, _, v in data["obs"]}
        at = {(n, k): float(a) for n, k, a, _ in data["obs"]}
        return Recording._Keyframe(float(data["t"]), values, at)

    def state_at(self, t: float) -> dict[tuple[str, Kind], Observation]:
        """The latest reading of every (node, kind) at moment t: what a console showed then."""
        return self.cursor(t).state()

    def events(self, since: float, until: float, *, last: int | None = None) -> list[StoredEvent]:
        """keepalived events received in (since, until], oldest first (only the `last` ones)."""
        q = "SELECT seq, t, node, data FROM events WHERE t > ? AND t <= ? ORDER BY t DESC, seq DESC"
        rows = self._db.execute(q + (f" LIMIT {int(last)}" if last else ""), (since, until)).fetchall()
        out = []
        for seq, t, node, data in reversed(rows):
            d = json.loads(data)
            try:
                ev: KeepalivedEvent = decode_event(d["event"])
            except CodecError as exc:
                raise RecordingError(f"{self.path}: {exc}") from None
            out.append(StoredEvent(int(seq), float(t), node, ev))
        return out

    def next_mark(self, after: float) -> float | None:
        """The first moment after `after` when something happened: a keepalived event arrived,
        the console noted an alert, an incident or a runbook step."""
        row = self._db.execute(
            "SELECT MIN(t) FROM (SELECT MIN(t) AS t FROM events WHERE t > ? UNION ALL "
            "SELECT MIN(t) AS t FROM notes WHERE t > ?)",
            (after, after),
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def notes(self, since: float, until: float) -> list[tuple[float, str, dict[str, Any]]]:
        rows = self._db.execute(
            "SELECT t, what, data FROM notes WHERE t > ? AND t <= ? ORDER BY t, rowid", (since, until)
        ).fetchall()
        return [(float(t), what, json.loads(data)) for t, what, data in rows]


class Cursor:
    """Reads a recording forward from a keyframe: the latest raw value and time of every
    (node, kind) so far, decoded only when asked (a seek decodes one value per kind, not the
    minute of readings it skips)."""

    def __init__(self, rec: Recording, kf: Recording._Keyframe | None):
        self.rec = rec
        self._kf_t = kf.t if kf else float("-inf")
        self.values: dict[tuple[str, str], Any] = dict(kf.values) if kf else {}
        self.at: dict[tuple[str, str], float] = dict(kf.at) if kf else {}
        self._rowid = 0
        self._pending: list[list[Any]] = []  # the current batch's lines not read yet (reversed)
        self._batches = rec._batches_after(self._kf_t, 0)
        self.t = self._kf_t  # readings up to here are in

    def _next_line(self, until: float) -> list[Any] | None:
        """The next line taken by `until` (None when there is none yet: it stays pending)."""
        while not self._pending:
            row = next(self._batches, None)
            if row is None:
                return None
            self._rowid = row[0]
            self._pending = list(reversed(self.rec._lines(row[1])))
        line = self._pending[-1]
        if line[0] > until:
            return None
        return self._pending.pop()

    def _take(self, line: list[Any]) -> tuple[str, str] | None:
        at, node, kind, v = line
        if v is not None:
            self.values[(node, kind)] = v  # in the order written: what "same" refers to
        if (node, kind) not in self.values:
            return None  # repeats a value from before the recording's first keyframe
        self.at[(node, kind)] = at
        return node, kind

    def skip_to(self, t: float) -> None:
        while (line := self._next_line(t)) is not None:
            self._take(line)
        self.t = max(self.t, t)

    def advance(self, until: float) -> Iterator[Observation]:
        """The readings taken after the cursor's moment, by `until`, decoded, in order."""
        while (line := self._next_line(until)) is not None:
            key = self._take(line)
            if key is not None:
                yield Observation(key[0], Kind(key[1]), self.rec._decode(key[1], self.values[key]), self.at[key])
        self.t = max(self.t, until)

    def state(self) -> dict[tuple[str, Kind], Observation]:
        return {
            (node, Kind(kind)): Observation(node, Kind(kind), self.rec._decode(kind, v), self.at[(node, kind)])
            for (node, kind), v in self.values.items()
        }
