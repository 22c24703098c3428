"""read_status's statements per dialect (few round trips, each passed to the guard first), and
MysqlProbe's behaviour against dead and silent servers on loopback: short reasons, bounded time,
and no probe or event loop ever waiting on another."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pymysql
import pytest

from hatui.mysql.cli_output import parse_any
from hatui.mysql.dialect import dialect_for
from hatui.mysql.reader import MysqlProbe, describe_error, read_status
from hatui.mysql.version import detect_version

from . import mysql_wire as wire
from .mysql_wire import WireConnection

FIXTURES = Path(__file__).parent / "fixtures" / "mysql"


def fixture_rows(rel: str) -> list[dict]:
    return parse_any((FIXTURES / rel).read_text())


class FakeConnection:
    """Answers statements from a table of SQL prefixes; records what was executed."""

    def __init__(self, version: str, comment: str, answers: dict[str, object]):
        self.answers = {"SELECT @@version": [{"version": version, "version_comment": comment}], **answers}
        self.executed: list[str] = []

    def cursor(self, cls=None):
        return _FakeCursor(self)


class _FakeCursor:
    def __init__(self, conn: FakeConnection):
        self.conn, self.rows = conn, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, args=None):
        self.conn.executed.append(sql)
        for prefix, answer in self.conn.answers.items():
            if sql.startswith(prefix):
                if isinstance(answer, Exception):
                    raise answer
                self.rows = list(answer)
                return len(self.rows)
        raise AssertionError(f"unexpected statement {sql!r}")

    def fetchall(self):
        return self.rows


def select_row(version: str, values: dict) -> dict:
    """A `SELECT @@global.x AS x, ...` row for every variable the dialect reads."""
    d = dialect_for(detect_version(version))
    return {n: values.get(n) for n in d.variables}


STATUS_ROWS = [{"Variable_name": "Threads_connected", "Value": "4"}, {"Variable_name": "Uptime", "Value": "86400"}]


def test_mysql_57_poll_is_five_statements_each_guarded_first():
    v = "5.7.22-log"
    conn = FakeConnection(
        v,
        "MySQL Community Server (GPL)",
        {
            "SELECT @@global.": [
                select_row(
                    v,
                    {
                        "server_id": 2,
                        "read_only": 1,
                        "super_read_only": 1,
                        "log_bin": 1,
                        "log_slave_updates": 1,
                        "gtid_mode": "ON",
                        "hostname": "db2",
                        "gtid_executed": "9e520b78-013c-11eb-a84c-0800271bf591:1-78",
                    },
                )
            ],
            "SHOW SLAVE STATUS": fixture_rows("mysql-5.7/show-slave-status-sql-error.txt"),
            "SHOW MASTER STATUS": fixture_rows("mysql-5.7/show-master-status.txt"),
            "SHOW GLOBAL STATUS": STATUS_ROWS,
        },
    )
    guarded: list[str] = []

    def guard(sql: str) -> None:
        guarded.append(sql)
        assert len(conn.executed) == len(guarded) - 1, "guard must run before the statement"

    st = read_status(conn, guard=guard)
    assert [s if s.startswith("SELECT") else s.split(" WHERE")[0] for s in conn.executed] == [
        "SELECT @@version AS version, @@version_comment AS version_comment",
        dialect_for(detect_version(v)).variables_sql(),
        "SHOW SLAVE STATUS",
        "SHOW GLOBAL STATUS",
        "SHOW MASTER STATUS",  # last: it can wait behind a writer waiting for disk space
    ]
    assert guarded == conn.executed
    assert st.up and st.version.number == (5, 7, 22) and st.hostname == "db2" and st.server_id == 2
    assert st.read_only is True and st.super_read_only is True and st.gtid_mode == "ON"
    assert st.channels[0].last_sql_errno == 1060 and not st.channels[0].sql_running
    assert (st.binlog_file, st.binlog_position) == ("source-bin.000002", 1307)
    assert (st.uptime_seconds, st.threads_connected) == (86400, 4)
    assert st.semi_sync is None and st.warnings == ()


def test_mysql_84_with_the_semi_sync_source_plugin_reads_its_switches():
    v = "8.4.3"
    conn = FakeConnection(
        v,
        "MySQL Community Server - GPL",
        {
            "SELECT @@global.": [select_row(v, {"server_id": 1, "read_only": 0, "super_read_only": 0})],
            "SHOW REPLICA STATUS": [],
            "SHOW BINARY LOG STATUS": fixture_rows("mysql-8.4/show-binary-log-status.txt"),
            "SHOW GLOBAL STATUS": STATUS_ROWS
            + [
                {"Variable_name": "Rpl_semi_sync_source_clients", "Value": "2"},
                {"Variable_name": "Rpl_semi_sync_source_status", "Value": "ON"},
            ],
            "SHOW GLOBAL VARIABLES LIKE 'rpl": [{"Variable_name": "rpl_semi_sync_source_enabled", "Value": "ON"}],
        },
    )
    st = read_status(conn)
    assert "SHOW MASTER STATUS" not in conn.executed and "SHOW SLAVE STATUS" not in conn.executed
    assert len(conn.executed) == 6
    assert not st.is_replica and st.read_only is False
    assert st.gtid_executed == "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"
    ss = st.semi_sync
    assert (ss.naming, ss.source_enabled, ss.source_active, ss.clients) == ("source", True, True, 2)


def test_mariadb_reads_every_connection_and_its_gtid_positions():
    v = "10.11.19-MariaDB-0+deb12u1-log"
    conn = FakeConnection(
        v,
        "Debian 12",
        {
            "SELECT @@global.": [
                select_row(
                    v,
                    {
                        "server_id": 3,
                        "read_only": 1,
                        "gtid_domain_id": 0,
                        "gtid_slave_pos": "0-1-1",
                        "gtid_current_pos": "0-1-1",
                        "gtid_binlog_pos": "0-1-1",
                        "gtid_binlog_state": "0-1-1",
                        "gtid_strict_mode": 0,
                        "rpl_semi_sync_master_enabled": 0,
                        "rpl_semi_sync_slave_enabled": 0,
                    },
                )
            ],
            "SHOW ALL SLAVES STATUS": fixture_rows("mariadb-10.11/show-all-slaves-status.txt"),
            "SHOW MASTER STATUS": fixture_rows("mariadb-10.11/show-master-status.txt"),
            "SHOW GLOBAL STATUS": STATUS_ROWS,
        },
    )
    st = read_status(conn)
    assert len(conn.executed) == 5  # semi-sync switches came with the variables (built in)
    assert st.gtid_slave_pos == st.gtid_current_pos == "0-1-1" and st.gtid_domain_id == 0
    assert st.gtid_mode is None and st.super_read_only is None and st.gtid_strict_mode is False
    assert st.channels[0].source_host == "198.18.0.11" and st.channels[0].healthy
    assert st.semi_sync.naming == "master" and st.semi_sync.source_enabled is False


def test_a_guard_refusal_stops_before_the_statement():
    conn = FakeConnection("8.0.36", "", {"SELECT @@global.": [{}], "SHOW REPLICA STATUS": []})

    def guard(sql: str) -> None:
        if sql.startswith("SHOW GLOBAL"):
            raise PermissionError(f"not on the allowlist: {sql}")

    with pytest.raises(PermissionError):
        read_status(conn, guard=guard)
    assert conn.executed[-1] == "SHOW REPLICA STATUS"


def test_missing_privilege_is_a_warning_while_the_server_is_up():
    denied = pymysql.err.OperationalError(
        1227, "Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation"
    )
    conn = FakeConnection(
        "8.0.36",
        "",
        {
            "SELECT @@global.": [{"server_id": 5}],
            "SHOW REPLICA STATUS": denied,
            "SHOW MASTER STATUS": denied,
            "SHOW GLOBAL STATUS": STATUS_ROWS,
        },
    )
    st = read_status(conn)
    assert st.up and st.server_id == 5 and st.channels == () and st.binlog_file is None
    assert st.warnings == (
        "cannot read replica status: missing privilege SUPER, REPLICATION CLIENT",
        "cannot read binary log status: missing privilege SUPER, REPLICATION CLIENT",
    )


@pytest.mark.parametrize(
    "exc, expected",
    [
        (
            pymysql.err.OperationalError(
                2003, "Can't connect to MySQL server on '10.0.0.9' ([Errno 111] Connection refused)"
            ),
            "connection refused",
        ),
        (
            pymysql.err.OperationalError(2003, "Can't connect to MySQL server on '10.0.0.9' (timed out)"),
            "timeout after 2 s connecting",
        ),
        (
            pymysql.err.OperationalError(
                2003, "Can't connect to MySQL server on '10.0.0.9' ([Errno 113] No route to host)"
            ),
            "no route to host",
        ),
        (
            pymysql.err.OperationalError(
                2003, "Can't connect to MySQL server on 'x.invalid' ([Errno -2] Name or service not known)"
            ),
            "unknown host name",
        ),
        (
            pymysql.err.OperationalError(
                1045, "Access denied for user 'hatui_monitor'@'198.18.0.2' (using password: YES)"
            ),
            "access denied for hatui_monitor",
        ),
        (
            pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query (timed out)"),
            "timeout after 3 s waiting for an answer",
        ),
        (pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"), "connection lost"),
        (pymysql.err.OperationalError(1040, "Too many connections"), "too many connections"),
        (pymysql.err.InterfaceError(0, ""), "connection closed"),
    ],
)
def test_error_reasons_are_short_and_human(exc, expected):
    assert describe_error(exc, user="hatui_monitor", connect_timeout=2.0, read_timeout=3.0) == expected


def test_a_secret_is_never_part_of_a_reason():
    exc = pymysql.err.OperationalError(1105, "Unknown error near 'S3cret-pw' at line 1")
    assert "S3cret-pw" not in describe_error(exc, secret="S3cret-pw")


# ----------------------------------------------------------------------------- MysqlProbe on loopback
@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_port():
    """Accepts TCP connections (the kernel does) and never says a word: a hung server."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s.getsockname()[1]
    s.close()


def probe(port: int, **kw) -> MysqlProbe:
    kw.setdefault("connect_timeout", 1.0)
    kw.setdefault("read_timeout", 1.0)
    return MysqlProbe("127.0.0.1", port, "hatui_monitor", "S3cret-pw", name="t", **kw)


@pytest.fixture
def tls_offering_port():
    """A server that offers TLS in its greeting (as MySQL 8 does by default), records what the
    client answers, then refuses the login: (port, the client's answers)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    answers: list[bytes] = []
    caps = 0x1 | 0x8 | 0x200 | 0x800 | 0x8000 | 0x10000 | 0x20000 | 0x80000  # 0x800: CLIENT_SSL
    greeting = (
        b"\x0a8.0.36\x00"
        + (7).to_bytes(4, "little")
        + b"abcdefgh\x00"
        + (caps & 0xFFFF).to_bytes(2, "little")
        + bytes([45])
        + (2).to_bytes(2, "little")
        + (caps >> 16).to_bytes(2, "little")
        + bytes([21])
        + bytes(10)
        + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )

    def serve() -> None:
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            with conn:
                conn.sendall(len(greeting).to_bytes(3, "little") + b"\x00" + greeting)
                head = conn.recv(4)
                if len(head) == 4:
                    answers.append(conn.recv(int.from_bytes(head[:3], "little")))
                denied = wire.error(1045, "Access denied")
                conn.sendall(len(denied).to_bytes(3, "little") + b"\x02" + denied)

    threading.Thread(target=serve, daemon=True).start()
    yield s.getsockname()[1], answers
    s.close()


async def test_through_a_tunnel_the_probe_never_asks_for_tls_even_when_the_server_offers_it(tls_offering_port):
    """The SSH tunnel encrypts already: TLS inside it would build a context from the system CA
    store per node (~0.8 MB each, most of what a node cost the console) and hide the poll from
    the tunnel's tap. A direct connection still takes the TLS the server offers."""
    port, answers = tls_offering_port
    tunnelled = probe(port, tls=False)
    st = await tunnelled.poll()
    assert not st.up and "denied" in (st.error or "").lower()  # it went on to log in, in the clear
    assert len(answers) == 1 and not int.from_bytes(answers[0][:4], "little") & 0x800
    assert len(answers[0]) > 32 and b"hatui_monitor" in answers[0]  # a login, not a TLS request
    await tunnelled.close()

    direct = probe(port)
    await direct.poll()
    assert len(answers) == 2 and int.from_bytes(answers[1][:4], "little") & 0x800
    assert len(answers[1]) == 32  # the TLS request that comes before the login
    await direct.close()


async def test_refused_is_reported_at_once(closed_port):
    p = probe(closed_port)
    t0 = time.monotonic()
    st = await p.poll()
    assert time.monotonic() - t0 < 0.5
    assert not st.up and st.error == "connection refused" and st.version is None
    await p.close()


async def test_a_silent_server_times_out_after_read_timeout(silent_port):
    p = probe(silent_port, read_timeout=0.5)
    t0 = time.monotonic()
    st = await p.poll()
    took = time.monotonic() - t0
    assert not st.up and st.error == "timeout after 0.5 s waiting for an answer"
    assert 0.4 < took < 1.5
    await p.close()


async def test_a_hung_server_blocks_neither_the_loop_nor_other_probes(silent_port, closed_port):
    hung, dead = probe(silent_port, read_timeout=1.5), probe(closed_port)
    ticks = 0
    done_at: dict[str, float] = {}
    t0 = time.monotonic()

    async def ticker():
        nonlocal ticks
        while "hung" not in done_at:
            ticks += 1
            await asyncio.sleep(0.05)

    async def timed(name, p):
        st = await p.poll()
        done_at[name] = time.monotonic() - t0
        return st

    results = await asyncio.gather(timed("hung", hung), timed("dead", dead), ticker())
    assert results[1].error == "connection refused" and done_at["dead"] < 0.5
    assert results[0].error.startswith("timeout after 1.5 s") and done_at["hung"] >= 1.4
    assert ticks >= 20  # the event loop kept running while a worker waited on the silent server
    await hung.close()
    await dead.close()


async def test_a_poll_while_the_last_is_stuck_answers_at_once(silent_port):
    p = probe(silent_port, read_timeout=1.0)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(p.poll(), 0.2)  # the caller gave up; the worker is still waiting
    t0 = time.monotonic()
    st = await p.poll()
    assert time.monotonic() - t0 < 0.1
    assert not st.up and st.error.startswith("no answer yet (previous poll still waiting")
    # the stuck read ends at its 1 s read_timeout (later on a busy machine): wait for it, not a second
    await asyncio.wait_for(asyncio.wrap_future(p._running), 10)
    st = await p.poll()  # the worker is free again and tries anew
    assert st.error == "timeout after 1 s waiting for an answer"
    await p.close()


async def test_thread_initializer_runs_once_in_the_probes_own_thread(closed_port):
    seen: list[str] = []
    p = probe(closed_port, thread_initializer=lambda: seen.append(threading.current_thread().name))
    await p.poll()
    await p.poll()
    assert len(seen) == 1 and seen[0].startswith("hatui-mysql-t") and seen[0] != threading.current_thread().name
    await p.close()


async def test_retarget_takes_effect_on_the_next_poll(closed_port, silent_port):
    p = probe(closed_port, read_timeout=0.3)
    assert (await p.poll()).error == "connection refused"
    p.retarget("127.0.0.1", silent_port)
    assert (p.host, p.port) == ("127.0.0.1", silent_port)
    assert (await p.poll()).error == "timeout after 0.3 s waiting for an answer"
    await p.close()


async def test_password_stays_out_of_repr_and_closed_probe_says_so(closed_port):
    p = probe(closed_port)
    assert "S3cret-pw" not in repr(p) and "S3cret-pw" not in str(vars(p))
    await p.close()
    st = await p.poll()
    assert not st.up and st.error == "probe closed"


async def test_an_idle_session_that_ends_sets_lost_at_once():
    """A killed mysqld's sockets are closed by the kernel: the probe's idle kept session turns
    readable, and `lost` tells the caller to poll now rather than at its next tick."""
    import socket as socketlib

    probe = MysqlProbe("127.0.0.1", 3306, "u", "p")
    ours, server = socketlib.socketpair()

    class Kept:
        _sock = ours

    probe._conn = Kept()
    probe._watch()
    assert probe.lost is not None and not probe.lost.is_set()
    await asyncio.sleep(0.05)
    assert not probe.lost.is_set()  # idle and alive: nothing
    t0 = time.monotonic()
    server.close()  # the server side goes away
    await asyncio.wait_for(probe.lost.wait(), 1.0)
    assert time.monotonic() - t0 < 0.5
    assert probe._watched is None  # watched once: the next poll re-arms it
    probe._conn = None
    ours.close()
    await probe.close()


class BatchConnection(FakeConnection):
    """Also answers a multi-statement batch as a server does, in bytes (tests/mysql_wire.py):
    result sets in order, stopping at the first statement that fails (an error packet); a lost
    connection (error 2013) ends the bytes there."""

    def __init__(self, version: str, comment: str, answers: dict[str, object]):
        super().__init__(version, comment, answers)
        self.wire = WireConnection(self._respond)
        self._read_timeout = self._current_timeout = 1.0

    @property
    def closed(self) -> bool:
        return self.wire.closed or self.wire.force_closed

    @property
    def _rfile(self):
        return self.wire._rfile

    def _execute_command(self, command: int, sql: str) -> None:
        self.executed.append(sql)
        self.wire._execute_command(command, sql)

    def _force_close(self) -> None:
        self.wire._force_close()

    def close(self) -> None:
        self.wire.close()

    def _respond(self, sql: str) -> bytes:
        parts = sql.split(";\n")
        payloads: list[bytes] = []
        for n, part in enumerate(parts):
            answer = next((a for p, a in self.answers.items() if part.startswith(p)), None)
            assert answer is not None, f"unexpected statement {part!r}"
            if isinstance(answer, pymysql.err.MySQLError):
                code, message = answer.args
                if code != 2013:
                    payloads.append(wire.error(code, message))
                break  # 2013: the server never answers
            if isinstance(answer, Exception):
                raise answer
            payloads += wire.result_set(list(answer), more=n < len(parts) - 1)
        return wire.packets(payloads)


def _mariadb_answers(denied=None) -> dict:
    v = "10.11.6-MariaDB-log"
    return {
        "SELECT @@global.": [select_row(v, {"server_id": 2, "read_only": 1, "gtid_binlog_pos": "0-1-9"})],
        "SHOW ALL SLAVES STATUS": denied or fixture_rows("mariadb-10.11/show-all-slaves-status.txt"),
        "SHOW MASTER STATUS": fixture_rows("mysql-5.7/show-master-status.txt"),
        "SHOW GLOBAL STATUS": STATUS_ROWS,
    }


def test_a_batched_poll_is_one_round_trip_and_reads_what_four_statements_read():
    plain = FakeConnection("10.11.6-MariaDB-log", "mariadb.org binary distribution", _mariadb_answers())
    batched = BatchConnection("10.11.6-MariaDB-log", "mariadb.org binary distribution", _mariadb_answers())
    guarded: list[str] = []
    one = read_status(plain)
    two = read_status(batched, guard=guarded.append, batch=True)
    assert two == one and two.channels and two.binlog_file
    assert len(batched.executed) == 2  # the version once, then the four reads in one batch
    assert batched.executed[1] == ";\n".join(plain.executed[1:])
    assert guarded == plain.executed  # each statement guarded on its own, before anything is sent


def test_a_refused_statement_in_a_batch_is_a_warning_and_the_rest_are_still_read():
    denied = pymysql.err.OperationalError(
        1227, "Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation"
    )
    conn = BatchConnection("10.11.6-MariaDB-log", "", _mariadb_answers(denied))
    st = read_status(conn, batch=True)
    assert st.up and st.server_id == 2 and st.channels == ()
    assert st.warnings == ("cannot read replica status: missing privilege SUPER, SLAVE MONITOR",)
    assert (st.binlog_file, st.uptime_seconds) == ("source-bin.000002", 86400)  # asked again one by one
    assert [s.split(" ")[0:2] for s in conn.executed[2:]] == [["SHOW", "GLOBAL"], ["SHOW", "MASTER"]]


def _disk_full_answers(master_status: object) -> dict:
    v = "10.11.6-MariaDB-log"
    row = select_row(v, {"server_id": 1, "read_only": 0, "gtid_binlog_pos": "1-1-9"}) | {"hatui_disk_waits": 2}
    return _mariadb_answers() | {"SELECT @@global.": [row], "SHOW MASTER STATUS": master_status}


def test_threads_waiting_for_disk_space_are_counted_and_the_binlog_read_that_would_wait_is_not_sent():
    sql = dialect_for(detect_version("10.11.6-MariaDB")).variables_sql()
    assert "information_schema.PROCESSLIST WHERE STATE IN ('Waiting for someone to free space'" in sql
    # unbatched (hatui status, the runbooks): once the count is known, SHOW MASTER STATUS is not sent
    conn = FakeConnection("10.11.6-MariaDB-log", "", _disk_full_answers(AssertionError("sent")))
    st = read_status(conn)
    assert st.up and st.disk_waits == 2 and st.binlog_file is None and st.server_id == 1
    assert not any(x.startswith("SHOW MASTER") for x in conn.executed)
    assert any("wait for free disk space" in w for w in st.warnings)
    # the console's poll: the reading before had waiting threads, so the batch leaves it out
    conn = BatchConnection("10.11.6-MariaDB-log", "", _disk_full_answers(AssertionError("sent")))
    st = read_status(conn, batch=True, binlog=False)
    assert st.up and st.disk_waits == 2 and "SHOW MASTER" not in conn.executed[-1]


def test_a_binlog_read_behind_waiting_threads_is_not_waited_for_and_the_server_is_not_called_dead():
    # the volume filled between two readings: the batch's last read would wait out the read
    # timeout; the count came first, so the rest of the batch is not waited for
    lost = pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query (timed out)")
    conn = BatchConnection("10.11.6-MariaDB-log", "", _disk_full_answers(lost))
    st = read_status(conn, batch=True)
    assert st.up and st.disk_waits == 2 and st.channels and st.uptime_seconds == 86400
    assert st.binlog_file is None and any("wait for free disk space" in w for w in st.warnings)
    assert conn.closed  # its last answer is still to come: the probe starts a new connection
    # without waiting threads the same timeout is a server that does not answer
    conn = BatchConnection("10.11.6-MariaDB-log", "", _mariadb_answers() | {"SHOW MASTER STATUS": lost})
    with pytest.raises(pymysql.err.OperationalError):
        read_status(conn, batch=True)


def test_a_guard_refusal_in_a_batch_sends_nothing():
    conn = BatchConnection("8.0.36", "", {"SELECT @@global.": [{}], "SHOW REPLICA STATUS": []})

    def guard(sql: str) -> None:
        if sql.startswith("SHOW MASTER") or sql.startswith("SHOW BINARY"):
            raise PermissionError(f"not on the allowlist: {sql}")

    with pytest.raises(PermissionError):
        read_status(conn, guard=guard, batch=True)
    assert len(conn.executed) == 1  # the version only


class _KeptConnection:
    def close(self) -> None:
        pass


@pytest.mark.parametrize(("silent", "connects"), [(True, 0), (False, 1)])
def test_a_kept_connection_that_hangs_is_reported_at_once_one_that_was_closed_is_tried_fresh(
    monkeypatch, silent, connects
):
    """A kept session that waited out read_timeout met a hung server (SIGSTOP): the poll says so
    after one read_timeout, not two. One the server had closed fails at once: one fresh try."""
    p = probe(1, read_timeout=0.3)
    p._conn, p._conn_target = _KeptConnection(), p._target
    fresh: list[tuple] = []

    def read(conn, **kw):
        if silent:
            time.sleep(0.3)
        raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")

    def connect(target):
        fresh.append(target)
        p._conn = _KeptConnection()

    monkeypatch.setattr("hatui.mysql.reader.read_status", read)
    monkeypatch.setattr(p, "_connect", connect)
    t0 = time.monotonic()
    st = p._poll_blocking()
    assert not st.up and len(fresh) == connects
    assert time.monotonic() - t0 < (0.55 if silent else 0.1)
    p._executor.shutdown()


def test_a_poll_reuses_only_the_parts_whose_rows_did_not_change():
    from hatui.mysql.reader import _Parts

    d = dialect_for(detect_version("10.11.6-MariaDB-log"))
    answers = _mariadb_answers()
    rows = [answers["SELECT @@global."], answers["SHOW ALL SLAVES STATUS"], STATUS_ROWS, answers["SHOW MASTER STATUS"]]
    first = _Parts(d, rows, True)
    moved = [dict(r) for r in rows[1]]
    moved[0]["Seconds_Behind_Master"] = "7"
    second = _Parts(d, [rows[0], moved, STATUS_ROWS, rows[3]], True, first)
    assert second.variables is first.variables and second.binlog is first.binlog
    assert second.channels is not first.channels and second.channels[0].lag_seconds == 7
    assert second.status({}, []) == _Parts(d, second.rows, True).status({}, [])  # the same reading as parsed afresh
