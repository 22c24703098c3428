"""The write capability: admin SQL sessions and SSH commands on the cluster's nodes.

Only a runbook Runner makes one, and never in watch mode (`WriteAccess` refuses a read-only
policy). Every statement and command goes through `announce` first, so it is shown and written
to the audit log before it is sent, and its outcome is audited after. A dry run gets a
`WriteAccess(dry_run=True)`, which sends reads and refuses anything else."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT

from hatui.cluster import Cluster, MysqlVia
from hatui.cluster.secrets import resolve_password
from hatui.errors import Refused
from hatui.mysql.dialect import Dialect, Statement
from hatui.mysql.reader import read_dialect, read_status
from hatui.mysql.status import MysqlStatus
from hatui.runbook.model import Action
from hatui.ssh.pool import SessionPool


class WatchModeRefused(Refused, PermissionError):
    """Watch mode has no write capability: no runbook can be built there."""


class DryRunWrite(Refused, PermissionError):
    """A dry run was about to send something that is not a read."""


# Reads a dry run (and preflight) may send: SELECT/SHOW, nothing else.
_READ_SQL = re.compile(r"\s*(SELECT|SHOW)\b", re.IGNORECASE)
_READ_SSH = re.compile(r"\s*(ip -j addr|cat |test |grep |stat )")


def is_read_sql(sql: str) -> bool:
    return bool(_READ_SQL.match(sql)) and "GET_LOCK" not in sql.upper()


Announce = Callable[[Action, str], None]  # (action, phase: "start" | "ok" | "error: ...")


class NodeSql:
    """One admin session to one node's mysqld, in its own thread (pymysql blocks)."""

    def __init__(self, access: WriteAccess, node: str, *, multi_statements: bool = False):
        self.access = access
        self.node = node
        self.multi_statements = multi_statements  # only a replay script's session sends rounds
        self._conn: Any = None
        self._dialect: Dialect | None = None
        # created lazily from the caller's thread, so it inherits that thread's network namespace
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hatui-admin-{node}")

    async def _target(self) -> tuple[str, int]:
        n = self.access.cluster.nodes[self.node]
        if n.mysql.via == MysqlVia.SSH_TUNNEL:
            port = await self.access.pool[self.node].forward_local(n.host, n.mysql.port)
            return "127.0.0.1", port
        return n.host, n.mysql.port

    def _connect(self, target: tuple[str, int], timeout: float) -> Any:
        account = self.access.cluster.nodes[self.node].mysql.admin
        if account is None:
            raise RuntimeError(f"{self.node}: no mysql.admin account in the cluster file (runbooks need one)")
        conn = pymysql.connect(
            host=target[0],
            port=target[1],
            user=account.user,
            password=resolve_password(account),
            connect_timeout=min(timeout, 5.0),
            read_timeout=timeout,
            write_timeout=timeout,
            autocommit=True,
            charset="utf8mb4",
            cursorclass=pymysql.cursors.DictCursor,
            client_flag=CLIENT.MULTI_STATEMENTS if self.multi_statements else 0,
            # through the SSH tunnel: it encrypts already (PyMySQL's "preferred" TLS would
            # build a context from the system CA store per connection, and encrypt twice)
            ssl_disabled=self.access.cluster.nodes[self.node].mysql.via == MysqlVia.SSH_TUNNEL,
        )
        self._dialect = read_dialect(conn)
        return conn

    def _execute(self, target: tuple[str, int], sql: str, args: Any, timeout: float) -> list[dict]:
        self.access.record(self.node, "sql", sql)
        if self._conn is None:
            self._conn = self._connect(target, timeout)
        conn = self._conn
        conn._read_timeout = timeout  # pymysql reads this per query
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall() or [])
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError):
            self._drop()
            raise

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    async def dialect(self) -> Dialect:
        if self._dialect is None:
            await self.query("SELECT 1")
        assert self._dialect is not None
        return self._dialect

    async def query(self, sql: str, args: Any = None, *, timeout: float = 10.0) -> list[dict]:
        """A read: SELECT/SHOW only (also allowed in a dry run). Not announced: reads change nothing."""
        if not is_read_sql(sql):
            raise ValueError(f"query() is for reads; use execute() for {sql.split()[0]}")
        target = await self._target()
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._executor, self._execute, target, sql, args, timeout), timeout + 5
        )

    async def execute(
        self,
        stmt: Statement | str,
        *,
        timeout: float = 10.0,
        show: str | None = None,
        benign: dict[int, str] | None = None,
    ) -> list[dict]:
        """Send a statement that may write: announced (shown, audited) before it is sent."""
        sql, args, text = (
            (stmt.sql, stmt.execute_args(), stmt.redacted()) if isinstance(stmt, Statement) else (stmt, None, stmt)
        )
        action = Action(self.node, "sql", show or text)
        self.access.check_write("sql", sql)
        self.access.announce(action, "start")
        try:
            target = await self._target()
            loop = asyncio.get_running_loop()
            rows = await asyncio.wait_for(
                loop.run_in_executor(self._executor, self._execute, target, sql, args, timeout), timeout + 5
            )
        except BaseException as exc:
            code = exc.args[0] if isinstance(exc, pymysql.err.MySQLError) and exc.args else None
            if benign and code in benign:  # e.g. 1094: the session ended by itself meanwhile
                self.access.announce(action, "ok")
                self.access.announce(Action(self.node, "note", benign[code]), "ok")
                return []
            self.access.announce(action, f"error: {self.access.describe(exc)}")
            raise
        self.access.announce(action, "ok")
        return rows

    async def execute_batch(self, rounds: list[list[str]], *, show: str, timeout: float = 60.0) -> None:
        """Send round trips of statements, announced once as `show`, one after the other in this
        session's thread (no event-loop hop between them): each round is one multi-statement
        query (its statements joined by ";\\n", every result read), so this needs a session made
        with multi_statements. For replaying extracted binlog events, which are many and small.

        A round's BINLOG statement must be its last: MariaDB 10.11 answers one inside a
        multi-statement query without the "more results" flag, so the client would stop reading
        while the server goes on executing (seen in the lab: 21 of 259 results read, the rest
        applied later or not). render_sql's rounds are built that way."""
        if not self.multi_statements:
            raise ValueError("execute_batch needs a session made with multi_statements (script_session)")
        action = Action(self.node, "sql", show)
        for stmts in rounds:
            for st in stmts:
                self.access.check_write("sql", st)
        self.access.announce(action, "start")
        target = await self._target()

        def run() -> None:
            self.access.record(self.node, "sql", f"<batch of {len(rounds)} round trip(s)> {show}")
            if self._conn is None:
                self._conn = self._connect(target, timeout)
            conn = self._conn
            conn._read_timeout = timeout
            try:
                for stmts in rounds:
                    # bytes as the tool printed them: row values in -v comments and statement
                    # text need not be UTF-8 (read with surrogateescape, written back as is)
                    conn.query(";\n".join(stmts).encode("utf-8", errors="surrogateescape"))
                    while conn._result is not None and conn._result.has_next:
                        conn.next_result()  # a failed statement raises here, the rest unsent
            except (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError):
                self._drop()
                raise

        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor, run), timeout + 5)
        except BaseException as exc:
            self.access.announce(action, f"error: {self.access.describe(exc)}")
            raise
        self.access.announce(action, "ok")

    async def status(self, *, timeout: float = 10.0) -> MysqlStatus:
        """The same status the monitor reads, through this admin session."""
        target = await self._target()
        loop = asyncio.get_running_loop()

        def read() -> MysqlStatus:
            self.access.record(self.node, "sql", "<status reads>")
            if self._conn is None:
                self._conn = self._connect(target, timeout)
            try:
                return read_status(self._conn, dialect=self._dialect)
            except (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError):
                self._drop()
                raise

        return await asyncio.wait_for(loop.run_in_executor(self._executor, read), timeout + 5)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._drop)
        self._executor.shutdown(wait=False)


class Armed:
    def __init__(self, access: WriteAccess, node: str, cmd, action: Action):
        self.access = access
        self.node = node
        self.cmd = cmd
        self.action = action
        self._closed = False

    def fire(self) -> None:
        self.access.announce(self.action, "start")
        self.cmd.fire()

    async def result(self, timeout: float) -> str:
        try:
            res = await self.cmd.result(timeout)
        except BaseException as exc:
            # closed on purpose (a watch no longer needed when the run stops): not a failure
            self.access.announce(self.action, "closed" if self._closed else f"error: {self.access.describe(exc)}")
            raise
        if res.exit_status != 0:
            self.access.announce(self.action, f"error: exit status {res.exit_status} {res.stderr.strip()[:200]}")
            raise RuntimeError(f"{self.node}: `{self.action.text}` exited with status {res.exit_status}")
        self.access.announce(self.action, "ok")
        return res.stdout

    def close(self) -> None:
        self._closed = True
        self.cmd.close()


class WriteAccess:
    def __init__(
        self,
        cluster: Cluster,
        pool: SessionPool,
        *,
        announce: Announce,
        dry_run: bool = False,
        read_only_policy: object | None = None,
        recorder: list[tuple[str, str, str]] | None = None,
    ):
        if read_only_policy is not None:
            raise WatchModeRefused(
                "watch mode is read-only: runbooks cannot run here (open the console without --watch)"
            )
        self.cluster = cluster
        self.pool = pool
        self.announce = announce
        self.dry_run = dry_run
        self.recorder = recorder  # (node, kind, text) of every write sent, for tests
        self._sql: dict[str, NodeSql] = {}
        self.secrets: tuple[str, ...] = ()

    def record(self, node: str, kind: str, text: str) -> None:
        if self.recorder is not None:
            self.recorder.append((node, kind, text))

    def check_write(self, kind: str, text: str) -> None:
        if self.dry_run and not (is_read_sql(text) if kind == "sql" else _READ_SSH.match(text)):
            raise DryRunWrite(f"dry run: refusing to send {kind} `{text.split()[0]} …`")

    def describe(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, TimeoutError) else "timed out"
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def sql(self, node: str) -> NodeSql:
        if node not in self._sql:
            self._sql[node] = NodeSql(self, node)
        return self._sql[node]

    async def ssh(
        self,
        node: str,
        command: str,
        *,
        timeout: float = 10.0,
        show: str | None = None,
        read: bool = False,
        sudo: bool = False,
        input: bytes | None = None,  # the command's stdin (subprocess.run's name)
    ) -> str:
        """Run a command on a node. Writes are announced first; `read=True` marks a pure read
        (ip addr, cat), which is neither announced nor refused in a dry run."""
        session = self.pool[node]
        self.record(node, "ssh", command)
        if read:
            res = await session.run(command, timeout=timeout, check=True, sudo=sudo)
            return res.stdout
        action = Action(node, "ssh", show or command)
        self.check_write("ssh", command)
        self.announce(action, "start")
        try:
            res = await session.run(command, timeout=timeout, check=True, sudo=sudo, input=input)
        except BaseException as exc:
            self.announce(action, f"error: {self.describe(exc)}")
            raise
        self.announce(action, "ok")
        return res.stdout

    def script_session(self, node: str) -> NodeSql:
        """A session of its own for replaying a binlog script: the script sets session
        variables (server_id, gtid_domain_id, pseudo_slave_mode) no other statement may inherit.
        The caller closes it."""
        return NodeSql(self, node, multi_statements=True)

    async def download(
        self,
        node: str,
        command: str,
        dest: Path,
        *,
        timeout: float = 600.0,
        sudo: bool = False,
        grew: Callable[[], None] | None = None,
    ) -> None:
        """A read whose output goes to a local file (binlog dumps); `grew` as NodeSession.download."""
        self.record(node, "ssh", command)
        await self.pool[node].download(command, dest, timeout=timeout, sudo=sudo, grew=grew)

    async def arm(self, node: str, command: str, *, show: str, sudo: bool = False) -> Armed:
        """Open the channel for a write now, run it later with `fire()` (see NodeSession.armed).
        It is announced when fired, the moment it runs."""
        self.check_write("ssh", command)
        self.record(node, "ssh", f"(armed) {command}")
        return Armed(self, node, await self.pool[node].armed(command, sudo=sudo), Action(node, "ssh", show))

    async def query_via(self, node: str, host: str, port: int, sql: str, *, timeout: float = 10.0) -> list[dict]:
        """A read on host:port reached through `node`'s SSH connection (e.g. the VIP, as clients
        see it), on a fresh admin connection."""
        if not is_read_sql(sql):
            raise ValueError("query_via() is for reads")
        self.record(node, "sql", f"via {host}:{port}: {sql}")
        local = await self.pool[node].forward_local(host, port)
        account = self.cluster.nodes[node].mysql.admin
        if account is None:
            raise RuntimeError(f"{node}: no mysql.admin account in the cluster file")
        password = resolve_password(account)

        def run() -> list[dict]:
            conn = pymysql.connect(
                host="127.0.0.1",
                port=local,
                user=account.user,
                password=password,
                connect_timeout=min(timeout, 5.0),
                read_timeout=timeout,
                autocommit=True,
                cursorclass=pymysql.cursors.DictCursor,
                ssl_disabled=True,  # through the node's SSH connection, which encrypts already
            )
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    return list(cur.fetchall() or [])
            finally:
                conn.close()

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(None, run), timeout + 5)

    async def close(self) -> None:
        for s in self._sql.values():
            await s.close()
        self._sql.clear()
