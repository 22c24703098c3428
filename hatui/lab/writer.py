"""A continuous application writer through the lab's VIP, for switchover tests and benchmarks.

It answers "did the switchover lose, duplicate or stall writes?": rows 1, 2, 3, ... are written
exactly once each, and every gap between acknowledged commits is timed.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import pymysql
from pyroute2 import netns

from . import configs, procs
from .lab import Lab
from .preflight import LabError

DUPLICATE_KEY = 1062
PAUSE_THRESHOLD = 0.1  # gaps longer than this are listed in WriteReport.pauses
STOP_GRACE = 30.0  # stop() gives up on the in-flight id after this long
SETUP_TIMEOUT = 30.0  # start() retries creating the table this long (the VIP may be moving)

# Short names for the errors a switchover produces, so a report reads at a glance.
ERROR_NAMES = {
    1045: "access denied",
    1053: "server shutdown",
    1062: "duplicate key",
    1142: "command denied",
    1146: "no such table",
    1205: "lock wait timeout",
    1213: "deadlock",
    1290: "read-only",
    1836: "read-only",
    1927: "connection killed",
    2003: "can't connect",
    2006: "server gone away",
    2013: "lost connection",
}

_IDENT = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def classify(exc: BaseException) -> str:
    """A key for WriteReport.error_kinds: "CODE name" for MySQL errors, else the exception type."""
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
        return f"{code} {ERROR_NAMES.get(code, type(exc).__name__)}"
    return type(exc).__name__


class PauseTracker:
    """Gaps between consecutive acknowledged commits; the first gap runs from `start`."""

    def __init__(self, start: float, threshold: float = PAUSE_THRESHOLD) -> None:
        self.threshold = threshold
        self.last = start
        self.longest = 0.0
        self.pauses: list[tuple[float, float]] = []

    def ack(self, t: float) -> None:
        gap = t - self.last
        self.longest = max(self.longest, gap)
        if gap > self.threshold:
            self.pauses.append((self.last, t))
        self.last = t


@dataclass(frozen=True)
class WriteReport:
    acked: int  # highest id acknowledged to the client (ids 1..acked are committed)
    attempts: int  # tries to write an id, including ones that failed to connect
    errors: int  # failed attempts (any error), each followed by a retry of the same id
    reconnects: int  # successful connections after the first
    longest_pause: float  # seconds: longest gap between two consecutive acks (and start -> first)
    pauses: tuple[tuple[float, float], ...]  # (start, end) monotonic of every gap > 0.1 s
    error_kinds: dict[str, int] = field(default_factory=dict)  # e.g. {"1290 read-only": 12}
    duplicate_acks: int = 0  # retries answered 1062: the earlier, "failed" attempt had committed
    abandoned: int = 0  # id still unacknowledged when stop() gave up (0: none). It may exist.


class VipWriter:
    """Inserts rows with ids 1, 2, 3, ... through the lab's VIP, continuously, from the lab's operator
    namespace, in its own thread. Exactly-once: each id is retried (after reconnecting) until it is
    acknowledged; a retry answered with a duplicate-key error (1062) means the earlier attempt had
    committed, so it counts as acknowledged. Reconnects on any error.

    Caveat, true of any application doing this on a dual master: if an attempt committed on the
    old writer but its event has not reached the new one when the retry lands there, the retry
    commits too and replication between the masters then stops on 1062. verify_rows shows it.
    """

    def __init__(
        self,
        lab: Lab,
        *,
        table: str = "hatui_writes",
        interval: float = 0.002,
        connect_timeout: float = 1.0,
        rw_timeout: float = 2.0,
        retry_sleep: float = 0.005,
        port: int | None = None,
        gtids: bool = False,
    ):
        if not _IDENT.match(table):
            raise ValueError(f"table name {table!r}: use letters, digits and _ only")
        self.lab = lab
        self.table = table
        self.interval = interval
        self.connect_timeout = connect_timeout
        self.rw_timeout = rw_timeout
        self.retry_sleep = retry_sleep
        # behind routers (seed 002) the writers' port of the router VIP, else MySQL's own
        self.port = port or (configs.ROUTER_PORTS["writer"] if lab.spec.topology == "primary-replicas" else 3306)
        self._password = (lab.spec.secrets_dir / "app.pw").read_text().strip()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._stop_deadline = float("inf")
        self._failure: BaseException | None = None
        self._report: WriteReport | None = None
        self._acked = 0  # written by the thread only; an int read is atomic
        # id -> the GTID the server gave its commit (MariaDB's @@last_gtid, one more round trip
        # a row): what a report names for a row that went missing. "" for a retry answered 1062.
        self.gtids: dict[int, str] | None = {} if gtids else None

    @property
    def acked(self) -> int:
        return self._acked

    def start(self) -> None:
        """Create the table through the VIP (retrying up to ~30 s), then write until stop()."""
        if self._thread is not None:
            raise RuntimeError("VipWriter.start() called twice")
        self._thread = threading.Thread(target=self._main, name=f"vipwriter-{self.table}", daemon=True)
        self._thread.start()
        # The thread does the setup too: every socket must be made inside the operator namespace.
        if not self._ready.wait(SETUP_TIMEOUT + self.connect_timeout + self.rw_timeout + 5):
            self._stop.set()
            raise LabError(f"the writer did not get ready through the VIP {self.lab.spec.vip}")
        if self._failure is not None:
            raise self._failure

    def stop(self) -> WriteReport:
        """Stop after the in-flight id is acknowledged (or after 30 s of trying); join the thread."""
        if self._thread is None:
            raise RuntimeError("VipWriter.stop() before start()")
        self._stop_deadline = time.monotonic() + STOP_GRACE
        self._stop.set()
        self._thread.join(STOP_GRACE + self.connect_timeout + 2 * self.rw_timeout + 5)
        if self._thread.is_alive():
            raise LabError("the writer thread did not stop (a timeout is not being honoured)")
        if self._failure is not None:
            raise self._failure
        assert self._report is not None
        return self._report

    # ------------------------------------------------------------ the thread
    def _connect(self) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.lab.spec.vip,
            port=self.port,
            user=configs.APP_USER,
            password=self._password,
            database=configs.APP_DB,
            autocommit=True,
            connect_timeout=self.connect_timeout,
            read_timeout=self.rw_timeout,
            write_timeout=self.rw_timeout,
        )

    def _main(self) -> None:
        try:
            # setns moves only this thread. Not pushns: it opens with O_CREAT (a stray namespace
            # if the lab is gone) and keeps a process-wide stack other threads also push on.
            # This thread never needs to go back: it ends with the writer.
            netns.setns(self.lab.spec.operator_ns, flags=0)
            self._setup()
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._write_loop()
        except BaseException as exc:  # a bug, not a database error: surface it from stop()
            self._failure = exc

    def _setup(self) -> None:
        ddl = (
            f"CREATE TABLE IF NOT EXISTS `{self.table}` (id BIGINT PRIMARY KEY, "
            "written_at DATETIME(6) NOT NULL, writer VARCHAR(64) NOT NULL)"
        )
        deadline = time.monotonic() + SETUP_TIMEOUT
        while True:
            try:
                conn = self._connect()
                try:
                    with conn.cursor() as cur:
                        cur.execute(ddl)
                        cur.execute(f"SELECT COUNT(*) FROM `{self.table}`")
                        row = cur.fetchone()
                        n = row[0] if row else 0
                finally:
                    conn.close()
                break
            except pymysql.err.MySQLError as exc:
                if time.monotonic() > deadline:
                    raise LabError(f"could not create {configs.APP_DB}.{self.table} through the VIP: {exc}") from exc
                time.sleep(0.2)
        if n:
            # ids restart at 1: old rows would turn first attempts into false 1062 "acks"
            raise LabError(f"{configs.APP_DB}.{self.table} already has {n} rows: drop it first")

    def _write_loop(self) -> None:
        sql = f"INSERT INTO `{self.table}` (id, written_at, writer) VALUES (%s, NOW(6), @@hostname)"
        attempts = errors = reconnects = dup_acks = connects = 0
        kinds: dict[str, int] = {}
        conn: pymysql.connections.Connection | None = None
        next_id = 1
        failed_before = False  # an earlier attempt at next_id has an unknown outcome
        abandoned = 0
        pauses = PauseTracker(time.monotonic())
        while True:
            if self._stop.is_set() and (not failed_before or time.monotonic() > self._stop_deadline):
                abandoned = next_id if failed_before else 0
                break
            attempts += 1
            try:
                if conn is None:
                    conn = self._connect()
                    connects += 1
                    reconnects = connects - 1
                with conn.cursor() as cur:
                    try:
                        cur.execute(sql, (next_id,))
                        if self.gtids is not None:
                            cur.execute("SELECT @@last_gtid")
                            row = cur.fetchone()
                            self.gtids[next_id] = str(row[0]) if row else ""
                    except pymysql.err.IntegrityError as exc:
                        if not (exc.args and exc.args[0] == DUPLICATE_KEY):
                            raise
                        if not failed_before:
                            # the table started empty and only we write it: someone else is
                            # writing these ids, and exactly-once cannot be judged any more
                            raise LabError(
                                f"id {next_id} existed before its first attempt: another writer on {self.table}?"
                            ) from exc
                        dup_acks += 1  # our earlier attempt committed; its ack was lost
            except LabError:
                raise
            except Exception as exc:
                errors += 1
                kind = classify(exc)
                kinds[kind] = kinds.get(kind, 0) + 1
                failed_before = True
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:
                        pass
                    conn = None
                time.sleep(self.retry_sleep)
                continue
            pauses.ack(time.monotonic())
            self._acked = next_id
            next_id += 1
            failed_before = False
            if self.interval > 0:
                time.sleep(self.interval)
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
        self._report = WriteReport(
            acked=self._acked,
            attempts=attempts,
            errors=errors,
            reconnects=reconnects,
            longest_pause=pauses.longest,
            pauses=tuple(pauses.pauses),
            error_kinds=kinds,
            duplicate_acks=dup_acks,
            abandoned=abandoned,
        )


# ---------------------------------------------------------------- checking the rows


def ids_through_vip(lab: Lab, table: str, upto: int, *, port: int | None = None, timeout: float = 5.0) -> set[int]:
    """The ids 1..upto the application sees through the writer's address now (a fresh
    connection, as the writer's own): what "committed on the writer" means to it."""
    if not _IDENT.match(table):
        raise ValueError(f"table name {table!r}: use letters, digits and _ only")
    port = port or (configs.ROUTER_PORTS["writer"] if lab.spec.topology == "primary-replicas" else 3306)
    password = (lab.spec.secrets_dir / "app.pw").read_text().strip()
    out: list[set[int] | BaseException] = []

    def run() -> None:
        try:
            netns.setns(lab.spec.operator_ns, flags=0)  # this thread only; it ends here
            conn = pymysql.connect(
                host=lab.spec.vip,
                port=port,
                user=configs.APP_USER,
                password=password,
                database=configs.APP_DB,
                connect_timeout=timeout,
                read_timeout=timeout * 4,
            )
            try:
                with conn.cursor() as cur:
                    cur.execute(f"SELECT id FROM `{table}` WHERE id BETWEEN 1 AND %s", (int(upto),))
                    out.append({int(r[0]) for r in cur.fetchall()})
            finally:
                conn.close()
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=run, name=f"ids-{table}", daemon=True)
    t.start()
    t.join(timeout * 6)
    if not out:
        raise LabError(f"reading {table} through {lab.spec.vip}:{port} did not finish")
    if isinstance(out[0], BaseException):
        raise LabError(f"reading {table} through {lab.spec.vip}:{port}: {out[0]}")
    return out[0]


@dataclass(frozen=True)
class RowCheck:
    node: str
    count: int  # rows in the table
    missing: tuple[int, ...]  # ids in 1..acked that are absent
    extra: tuple[int, ...]  # ids above acked (a write the client never saw acknowledged)
    duplicates: int  # COUNT(*) - COUNT(DISTINCT id)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra and self.duplicates == 0


def row_check(node: str, acked: int, count: int, distinct: int, ids: list[int]) -> RowCheck:
    """Pure part of verify_rows: compare the ids a node holds with 1..acked."""
    have = set(ids)
    return RowCheck(
        node=node,
        count=count,
        missing=tuple(i for i in range(1, acked + 1) if i not in have),
        extra=tuple(sorted(i for i in have if i > acked or i < 1)),
        duplicates=count - distinct,
    )


def mysqld_nodes(lab: Lab) -> list[str]:
    st = lab.state()
    if st is None:
        raise LabError("the lab is not up: run `hatui lab up` first")
    return [
        n.name
        for n in lab.spec.nodes
        if (rec := st.daemons.get(n.name, {}).get("mysqld")) is not None and procs.is_alive(rec)
    ]


def verify_rows(lab: Lab, table: str, acked: int, *, timeout: float = 30.0) -> dict[str, RowCheck]:
    """Per node (every lab node running mysqld), waits (up to timeout) until the node has caught up to
    `acked` rows, then checks: ids 1..acked all present (missing list), no duplicates (COUNT(*) vs
    COUNT(DISTINCT id)), no rows with id > acked (extra list)."""
    if not _IDENT.match(table):
        raise ValueError(f"table name {table!r}: use letters, digits and _ only")
    t = f"`{configs.APP_DB}`.`{table}`"
    deadline = time.monotonic() + timeout
    out: dict[str, RowCheck] = {}
    for node in mysqld_nodes(lab):
        # Replicas apply asynchronously: poll until all acked ids arrived (or time runs out,
        # then report what is missing rather than fail here).
        caught_up = f"SELECT COUNT(DISTINCT id) FROM {t} WHERE id BETWEEN 1 AND {int(acked)}"
        while time.monotonic() < deadline:
            got = lab.sql(node, caught_up, check=False).strip()
            if got.isdigit() and int(got) >= acked:
                break
            time.sleep(0.2)
        # --batch --skip-column-names: "COUNT\tDISTINCT" on the first line, then one id a line
        text = lab.sql(node, f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {t}; SELECT id FROM {t} ORDER BY id")
        lines = text.splitlines()
        count, distinct = (int(x) for x in lines[0].split("\t"))
        out[node] = row_check(node, acked, count, distinct, [int(x) for x in lines[1:] if x])
    return out
