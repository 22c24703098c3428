"""Read a server's state over pymysql: `read_status` (blocking) and `MysqlProbe` (async, one worker
thread and one kept connection per server).

Statements per poll: the version (once per connection), one SELECT of @@global variables, the
replica status, the binary log status and one SHOW GLOBAL STATUS; on MySQL a fifth statement reads
the semi-sync switches, only when a semi-sync plugin is loaded. MysqlProbe sends the four in one
round trip (a multi-statement batch): through an SSH tunnel each round trip costs the console
far more than the statement (bench/fleet.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT, ER

from .dialect import DISK_WAITS, Dialect, dialect_for
from .status import (
    BinlogStatus,
    MysqlStatus,
    ReplicationChannel,
    assemble_status,
    parse_binlog_status,
    parse_global_status,
    parse_replica_rows,
    parse_variables,
)
from .version import ServerVersion, detect_version
from .wire import ColumnCache, Rows, Tap, answers_in, command, may_end, query_batch

__all__ = ["Guard", "MysqlProbe", "read_status", "read_dialect", "describe_error"]

log = logging.getLogger(__name__)

Guard = Callable[[str], None]

# Errors that mean "you may not look at this part", not "the server is down"
_PRIVILEGE_ERRORS = {ER.SPECIFIC_ACCESS_DENIED_ERROR, ER.TABLEACCESS_DENIED_ERROR, ER.DBACCESS_DENIED_ERROR}


def _rows(conn: Any, sql: str, guard: Guard | None) -> list[dict[str, Any]]:
    if guard is not None:
        guard(sql)
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql)
        return list(cur.fetchall() or [])


VERSION_SQL = "SELECT @@version AS version, @@version_comment AS version_comment"


def read_dialect(conn: Any, *, guard: Guard | None = None) -> Dialect:
    """The first question on a connection: which server is this?"""
    rows = _rows(conn, VERSION_SQL, guard)
    if not rows:
        raise ValueError("SELECT @@version returned no row")
    row = {k.lower(): v for k, v in rows[0].items()}
    return dialect_for(detect_version(row.get("version") or "", row.get("version_comment")))


def _privilege_error(exc: BaseException) -> bool:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code in _PRIVILEGE_ERRORS


def _optional(conn: Any, sql: str, guard: Guard | None, what: str, warnings: list[str]) -> list[dict[str, Any]]:
    """Run a statement whose failure for lack of privileges should not make the server 'down'."""
    try:
        return _rows(conn, sql, guard)
    except pymysql.err.MySQLError as exc:
        if _privilege_error(exc):
            warnings.append(f"cannot read {what}: {describe_error(exc)}")
            return []
        raise


def _batch(
    conn: Any,
    statements: list[str],
    guard: Guard | None,
    enough: Callable[[list[Rows | pymysql.err.MySQLError]], bool] | None = None,
    columns: ColumnCache | None = None,
) -> list[Rows | pymysql.err.MySQLError]:
    """Send `statements` in one round trip (the connection allows multi-statements); every one is
    guarded before any is sent. Each statement's rows, in order; the server stops at a failing
    statement: its error takes its place and the ones after it are missing (not run).
    `enough(results so far)` true: the rest are not waited for and the connection is closed
    (its answers are still to come). Read by the lean reader (hatui.mysql.wire): the same rows
    as pymysql's, at a fraction of its CPU."""
    if guard is not None:
        for sql in statements:
            guard(sql)
    try:
        out, _ = query_batch(conn, ";\n".join(statements), columns or ColumnCache(), enough)
    except pymysql.err.MySQLError as exc:
        return [exc]
    return out


def read_status(
    conn: Any,
    *,
    guard: Guard | None = None,
    dialect: Dialect | None = None,
    batch: bool = False,
    binlog: bool = True,
    columns: ColumnCache | None = None,
) -> MysqlStatus:
    """The server's state from an open pymysql connection (blocking).

    `guard(sql)` is called before every statement and may raise to refuse it. `dialect`, when
    known for this connection already, saves the version query. Connection errors propagate;
    privilege errors on the replica/binlog/status reads become `warnings`. `batch`: the
    connection allows multi-statements; the reads go in one round trip (a statement the
    server refused, and the ones after it, are then asked again one by one, with the same
    outcome as unbatched). `columns`: the column definitions a batch has seen before (kept
    per probe: the same statements describe the same columns every poll).

    The binary log status comes last, and not at all with `binlog=False` (the caller's last
    reading had threads waiting for disk space): SHOW MASTER STATUS waits for the binlog's lock,
    which a writer waiting for space holds, up to a minute a retry. When it times out behind
    such threads the rest is still true: the status is returned without the binlog position
    (the connection is then broken; the caller drops it), not as a server that does not answer.
    """
    if dialect is None:
        dialect = read_dialect(conn, guard=guard)
    warnings: list[str] = []
    reads = _reads(dialect, binlog)
    got = _batch(conn, [sql for sql, _ in reads], guard, _enough, columns) if batch else []
    results: list[list[dict[str, Any]]] = []
    for i, (sql, what) in enumerate(reads):
        done = got[i] if i < len(got) else None
        if isinstance(done, list):
            results.append(done)
        elif isinstance(done, BaseException):
            if i == 3 and _timed_out(done) and _disk_waits(results[0]):
                warnings.append(_BINLOG_WAITS)
                results.append([])
                continue
            if what is None or not _privilege_error(done):
                raise done
            warnings.append(f"cannot read {what}: {describe_error(done)}")
            results.append([])
        elif what is None:
            results.append(_rows(conn, sql, guard))
        elif i == 3 and _disk_waits(results[0]):
            warnings.append(_BINLOG_WAITS)  # unbatched: never sent behind the waiting threads
            results.append([])
        else:  # not batched, or after a refused statement the server did not run
            results.append(_optional(conn, sql, guard, what, warnings))
    if not binlog:
        warnings.append(_BINLOG_WAITS)
    parts = _Parts(dialect, results, binlog)
    semi_vars: dict[str, Any] = {}
    if parts.wants_semi_sync:
        semi_vars = parse_variables(
            _optional(conn, dialect.semi_sync_variables_sql, guard, "semi-sync variables", warnings), dialect
        )
    return parts.status(semi_vars, warnings)


def _reads(dialect: Dialect, binlog: bool) -> list[tuple[str, str | None]]:
    """The poll's statements, in order, each with what it reads (None: the server's own
    variables, without which there is no reading)."""
    reads: list[tuple[str, str | None]] = [
        (dialect.variables_sql(), None),
        (dialect.replica_status_sql, "replica status"),
        (dialect.global_status_sql, "global status"),
    ]
    if binlog:
        reads.append((dialect.binlog_status_sql, "binary log status"))
    return reads


def _enough(got: list[Rows | pymysql.err.MySQLError]) -> bool:
    # threads waiting for space (the first read counts them): the binlog read, last, would wait
    # behind them up to a minute: not waited for
    return len(got) == 3 and isinstance(got[0], list) and _disk_waits(got[0]) > 0


class _Parts:
    """The poll's rows, parsed: all of a reading but MySQL's semi-sync switches. A part whose
    rows equal those of `before` (the last poll's) is taken from it, not parsed again: on a
    quiet server only the status counters move from one second to the next."""

    def __init__(self, dialect: Dialect, results: list[Rows], binlog: bool, before: _Parts | None = None):
        self.rows = results
        self.dialect = dialect
        if before is None or before.dialect is not dialect:
            before = None

        def unchanged(i: int) -> _Parts | None:
            return before if before is not None and len(before.rows) > i and before.rows[i] == results[i] else None

        b = unchanged(0)
        self.variables: dict[str, Any] = b.variables if b else parse_variables(results[0], dialect)
        b = unchanged(1)
        self.channels: tuple[ReplicationChannel, ...] = b.channels if b else parse_replica_rows(results[1], dialect)
        self.global_status = parse_global_status(results[2])
        b = unchanged(3) if binlog else None
        self.binlog: BinlogStatus = b.binlog if b else parse_binlog_status(results[3] if binlog else [])

    @property
    def wants_semi_sync(self) -> bool:
        """MySQL with a semi-sync plugin loaded: its *_enabled switches need one more read."""
        return not self.dialect.is_mariadb and any(k.startswith("rpl_semi_sync_") for k in self.global_status)

    def status(self, semi_vars: dict[str, Any], warnings: list[str]) -> MysqlStatus:
        return assemble_status(
            self.dialect.version, self.variables, self.channels, self.binlog, self.global_status, semi_vars, warnings
        )


_BINLOG_WAITS = (
    "binary log position not read: threads wait for free disk space, and SHOW MASTER STATUS would wait behind them"
)


def _timed_out(exc: BaseException) -> bool:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return code == 2013 or isinstance(exc, (TimeoutError, socket.timeout))


def _disk_waits(var_rows: list[dict[str, Any]]) -> int:
    for row in var_rows:
        for k, v in row.items():
            if str(k).lower() == DISK_WAITS:
                try:
                    return int(v or 0)
                except (TypeError, ValueError):
                    return 0
    return 0


# ----------------------------------------------------------------------------- errors
def describe_error(
    exc: BaseException,
    *,
    user: str | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    secret: str | None = None,
) -> str:
    """A short, human reason for a failed connection or statement; never contains `secret`."""
    text = _describe(exc, user, connect_timeout, read_timeout)
    if secret:
        text = text.replace(secret, "***")
    return text


def _fmt_s(seconds: float | None) -> str:
    return f"{seconds:g} s" if seconds is not None else "the time limit"


def _describe(exc: BaseException, user: str | None, connect_timeout: float | None, read_timeout: float | None) -> str:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    msg = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    low = msg.lower()
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timeout after {_fmt_s(read_timeout)}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if code == ER.ACCESS_DENIED_ERROR:
        m = re.search(r"for user '([^']*)'", msg)
        return f"access denied for {m.group(1) if m else user or 'this user'}"
    if code == 2003:  # CR_CONN_HOST_ERROR: pymysql puts the socket error's text in the message
        if "timed out" in low:
            return f"timeout after {_fmt_s(connect_timeout)} connecting"
        if "refused" in low:
            return "connection refused"
        if "no route" in low:
            return "no route to host"
        if "unreachable" in low:
            return "network unreachable"
        if "name or service" in low or "nodename" in low or "temporary failure in name" in low:
            return "unknown host name"
        return "cannot connect: " + re.sub(r"^Can't connect to MySQL server on [^(]*", "", msg).strip(" ()")
    if code == 2013:  # lost connection: during a read that hit read_timeout, or the server went away
        if "timed out" in low:
            return f"timeout after {_fmt_s(read_timeout)} waiting for an answer"
        return "connection lost"
    if code == 2006:
        return "server has gone away"
    if code == 1040:
        return "too many connections"
    if code == 1129:
        return "host blocked (too many connection errors; FLUSH HOSTS)"
    if code == ER.SPECIFIC_ACCESS_DENIED_ERROR:
        m = re.search(r"need (?:\(at least one of\) )?the (.+?) privilege", msg)
        return f"missing privilege {m.group(1)}" if m else "missing privilege"
    if code in (ER.TABLEACCESS_DENIED_ERROR, ER.DBACCESS_DENIED_ERROR):
        return "access denied: " + msg[:80]
    if isinstance(exc, pymysql.err.InterfaceError):
        return "connection closed"
    if isinstance(exc, OSError):
        return (exc.strerror or str(exc) or type(exc).__name__).lower()
    if isinstance(exc, ValueError):
        return str(exc)[:120]
    short = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    return f"error {code}: {short[:100]}" if code else short[:120]


# ----------------------------------------------------------------------------- the probe
class _Secret:
    __slots__ = ("_v",)

    def __init__(self, value: str):
        self._v = value

    def get(self) -> str:
        return self._v

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


# Connection-level failures on a kept connection: retry once on a fresh one before saying "down"
_STALE = {2006, 2013, 2055}


class MysqlProbe:
    """Polls one server from its own worker thread, keeping one read-only session between polls.

    Between polls the kept session is watched from the event loop: a killed mysqld's sockets are
    closed by the kernel, so the idle connection turns readable (EOF) at once. `lost` is then
    set, and the caller polls right away instead of at its next tick (a dead server shows in
    milliseconds, not up to a poll interval later; a hung one still needs the timed poll).

    `thread_initializer` runs once in that worker thread before anything else (e.g. entering a
    network namespace: setns is per thread). A poll never raises: a server that cannot be read
    gives `MysqlStatus(up=False, error=...)`. A server that hangs costs at most about
    connect_timeout + read_timeout per statement, and a poll started while the previous one is
    still stuck answers at once that it is still waiting, so neither the event loop nor other
    probes ever wait on it.

    `tls=False` where the connection goes through an SSH tunnel, which encrypts it already.
    PyMySQL otherwise "prefers" TLS: every connection builds its own TLS context from the system
    CA store (~0.8 MB, kept for the connection's life: most of what a node costs the console),
    and a server that offers TLS (MySQL 8 does by default) gets the poll wrapped in it, which
    the tunnel's tap cannot read (every poll would then go through the worker thread).
    """

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        connect_timeout: float = 2.0,
        # the status reads answer in milliseconds; a server silent for 1.5 s is hung, and the
        # console must say so within 3 s of it: up to 1 s until the next poll, this, and the
        # judging tick after it (2 s here gave 3.03-3.06 s in the soak)
        read_timeout: float = 1.5,
        name: str = "",
        guard: Guard | None = None,
        thread_initializer: Callable[[], None] | None = None,
        tls: bool = True,
    ):
        self.name = name or f"{host}:{port}"
        self.tls = tls
        self.user = user
        self._password = _Secret(password)
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.guard = guard
        self._target = (host, int(port))
        self._lock = threading.Lock()
        self._conn: Any = None
        self._columns = ColumnCache()
        self._tap_for: Callable[[int], Tap | None] | None = None
        self._tap_unfit = False  # this connection's readings need the worker (see _tapped_poll)
        self._parts: _Parts | None = None  # the last tapped reading's, to reuse what did not change
        self._disk_waits = 0  # threads waiting for disk space at the last reading: no binlog read then
        self._conn_target: tuple[str, int] | None = None
        self._dialect: Dialect | None = None
        self._running: Future | None = None
        self._closed = False
        self._watched: tuple[asyncio.AbstractEventLoop, int] | None = None
        self.lost: asyncio.Event | None = None  # set when the idle kept session ends
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"hatui-mysql-{self.name}", initializer=thread_initializer
        )

    # ------------------------------------------------------------------ target
    @property
    def host(self) -> str:
        return self._target[0]

    @property
    def port(self) -> int:
        return self._target[1]

    def tap_with(self, find: Callable[[int], Tap | None]) -> None:
        """`find(local port of the probe's connection)`: the tap of the relay that connection
        goes through (an SSH forward), if any. With one, a kept connection's poll is sent and
        read from the event loop (_tapped_poll)."""
        self._tap_for = find

    def retarget(self, host: str, port: int) -> None:
        """Point at a new address (an SSH tunnel's local port after a reconnect); the next poll
        reconnects there."""
        with self._lock:
            self._target = (host, int(port))

    def __repr__(self) -> str:
        return f"MysqlProbe(name={self.name!r}, host={self.host!r}, port={self.port}, user={self.user!r})"

    # ------------------------------------------------------------------ async API
    @property
    def max_poll_seconds(self) -> float:
        """Longest a poll can block in the worker: connect + setup + version + 5 statements, twice
        (one retry on a fresh connection)."""
        return 2 * (self.connect_timeout + 7 * self.read_timeout) + 1.0

    async def poll(self) -> MysqlStatus:
        status = await self._poll()
        if status.up:
            self._watch()
        return status

    # ------------------------------------------------------------------ watching the idle session
    def _watch(self) -> None:
        """Watch the kept connection's socket until the next poll (loop thread only)."""
        conn = self._conn
        sock = getattr(conn, "_sock", None) if conn is not None else None
        if sock is None or self._closed:
            return
        try:
            fd = sock.fileno()
        except OSError:
            return
        if fd < 0:
            return
        loop = asyncio.get_running_loop()
        if self.lost is None:
            self.lost = asyncio.Event()
        self._unwatch()
        try:
            loop.add_reader(fd, self._readable)
        except (OSError, ValueError, NotImplementedError):
            return
        self._watched = (loop, fd)

    def _unwatch(self) -> None:
        if self._watched is not None:
            loop, fd = self._watched
            self._watched = None
            try:
                loop.remove_reader(fd)
            except (OSError, ValueError):
                pass

    def _readable(self) -> None:
        # an idle session has nothing to read: the server closed it (killed, restarted, or it
        # ended the session); the next poll finds out which
        self._unwatch()
        if self.lost is not None:
            self.lost.set()

    async def _poll(self) -> MysqlStatus:
        self._unwatch()  # the worker thread uses the socket now
        if self._closed:
            return MysqlStatus.down("probe closed")
        if self._running is not None and not self._running.done():
            return MysqlStatus.down(
                f"no answer yet (previous poll still waiting, "
                f"limits {self.connect_timeout:g} s connect, {self.read_timeout:g} s read)"
            )
        tapped = await self._tapped_poll()
        if tapped is not None:
            return tapped
        if self._closed:
            return MysqlStatus.down("probe closed")
        loop = asyncio.get_running_loop()
        try:
            fut = self._executor.submit(self._poll_blocking)
        except RuntimeError:
            return MysqlStatus.down("probe closed")
        self._running = fut
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut, loop=loop), self.max_poll_seconds)
        except TimeoutError:
            return MysqlStatus.down(f"timeout after {self.max_poll_seconds:g} s")
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug, not the server: still never raise to the caller
            log.exception("probe %s: unexpected error", self.name)
            return MysqlStatus.down(f"internal error: {type(exc).__name__}")

    async def _tapped_poll(self) -> MysqlStatus | None:
        """The poll of a kept connection, sent and read in the event loop through its relay's
        tap: no worker thread, no local socket, the answer parsed as its bytes arrive. Only the
        plain case: every statement answered, no threads waiting for disk space, no semi-sync
        plugin to ask about. None: the worker's poll is to do it (it handles the rest, and a
        connection that ended: one fresh try). A server silent for read_timeout is hung: said
        at once, as the worker says it."""
        conn, dialect, find = self._conn, self._dialect, self._tap_for
        if find is None or conn is None or dialect is None or self._tap_unfit or self._disk_waits:
            return None
        with self._lock:
            if self._conn_target != self._target:
                return None
        try:
            tap = find(conn._sock.getsockname()[1])
        except (AttributeError, OSError):
            return None
        if tap is None:
            return None
        reads = _reads(dialect, True)
        try:
            if self.guard is not None:
                for sql, _ in reads:
                    self.guard(sql)
        except Exception:
            return None  # the worker refuses it the same way, and says so
        done: asyncio.Future[tuple[list[Rows | pymysql.err.MySQLError], bool]] = (
            asyncio.get_running_loop().create_future()
        )
        received = bytearray()

        def data(chunk: bytes) -> None:
            received.extend(chunk)
            if done.done() or not may_end(received):
                return
            try:
                got = answers_in(bytes(received), self._columns, _enough)
            except pymysql.err.MySQLError as exc:
                done.set_exception(exc)
                return
            if got is not None:
                done.set_result(got)

        def ended() -> None:
            if not done.done():
                done.set_exception(ConnectionResetError("the connection ended"))

        if not tap.take(data, ended):
            return None
        try:
            tap.send(command(";\n".join(sql for sql, _ in reads)))
            async with asyncio.timeout(self.read_timeout):
                answers, abandoned = await done
        except TimeoutError:
            self._drop()
            return MysqlStatus.down(f"timeout after {self.read_timeout:g} s waiting for an answer", dialect.version)
        except (pymysql.err.MySQLError, ConnectionResetError):
            self._drop()
            return None
        finally:
            tap.give_back()
        if abandoned:  # threads wait for disk space: the binlog read's answer is still to come
            self._drop()
            return None
        if len(answers) != len(reads) or not all(isinstance(a, list) for a in answers):
            self._tap_unfit = True  # a refused statement: asked again one by one, in the worker
            return None
        parts = _Parts(dialect, cast(list[Rows], answers), True, self._parts)
        self._parts = parts
        if parts.wants_semi_sync:
            self._tap_unfit = True
            return None
        status = parts.status({}, [])
        self._disk_waits = status.disk_waits or 0
        return status

    async def close(self) -> None:
        self._closed = True
        self._unwatch()
        loop = asyncio.get_running_loop()
        running = self._running
        if running is None or running.done():
            try:
                await asyncio.wait_for(loop.run_in_executor(self._executor, self._drop), self.read_timeout + 1)
            except (TimeoutError, RuntimeError):
                pass
        # a worker stuck in a read ends at its socket timeout; do not wait for it here
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ worker thread
    def _drop(self) -> None:
        conn, self._conn, self._dialect, self._conn_target = self._conn, None, None, None
        self._tap_unfit = False
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _connect(self, target: tuple[str, int]) -> Any:
        host, port = target
        conn = pymysql.connect(
            host=host,
            port=port,
            user=self.user,
            password=self._password.get(),
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            write_timeout=self.read_timeout,
            autocommit=True,
            charset="utf8mb4",
            cursorclass=pymysql.cursors.DictCursor,
            # the poll's four reads in one round trip (read_status(batch=True)); this session is
            # read-only (below) and sends only the guarded reads, never text from elsewhere
            client_flag=CLIENT.MULTI_STATEMENTS,
            ssl_disabled=not self.tls,
        )
        try:
            dialect = read_dialect(conn, guard=self.guard)
            # both flavors (MySQL 5.6.5+, MariaDB 10.0+): this session cannot write even by mistake
            sql = dialect.session_read_only_sql
            if self.guard is not None:
                self.guard(sql)
            with conn.cursor() as cur:
                cur.execute(sql)
        except BaseException:
            conn.close()
            raise
        self._conn, self._conn_target, self._dialect = conn, target, dialect
        return conn

    def _poll_blocking(self) -> MysqlStatus:
        with self._lock:
            target = self._target
        if self._conn is not None and self._conn_target != target:
            self._drop()
        reused = self._conn is not None
        for attempt in (1, 2):
            began = time.monotonic()
            try:
                if self._conn is None:
                    self._connect(target)
                    reused = False
                # a new connection's first reading goes one statement at a time: the binlog read
                # is then never sent behind threads waiting for disk space (each one sent would
                # wait there up to a minute, holding a connection: `hatui status` in a loop
                # would use up max_connections); afterwards the last reading says
                status = read_status(
                    self._conn,
                    guard=self.guard,
                    dialect=self._dialect,
                    batch=reused,
                    binlog=not self._disk_waits,
                    columns=self._columns,
                )
                self._disk_waits = status.disk_waits or 0
                if not self._conn.open:
                    self._drop()  # the binlog read timed out behind threads waiting for space
                return status
            except (pymysql.err.MySQLError, OSError, ValueError) as exc:
                version: ServerVersion | None = self._dialect.version if self._dialect else None
                self._drop()
                code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
                # A kept connection the server closed fails at once: worth one fresh try. One
                # that waited out read_timeout met a hung server: a second try would only wait
                # as long again before the console says so (the chaos soak's SIGSTOP: 6 s).
                hung = time.monotonic() - began >= 0.9 * self.read_timeout
                stale = reused and not hung and (code in _STALE or isinstance(exc, pymysql.err.InterfaceError))
                if attempt == 1 and stale:
                    continue  # the kept connection died (wait_timeout, server restart): try a fresh one
                reason = describe_error(
                    exc,
                    user=self.user,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    secret=self._password.get(),
                )
                return MysqlStatus.down(reason, version)
        raise AssertionError("unreachable")  # pragma: no cover
