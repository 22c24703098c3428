"""Replication operations, each in one place: what it will send and sending exactly that.

An operation knows its node and that node's dialect. `actions()` is the plan the DBA confirms:
the statements and commands as they will be sent (secrets masked); a value only a run can learn
(the old writer's final position, the sessions to end) shows as `<name>` until it is known and
as itself after, so the plan read back after a run is what was sent (tests hold every runbook to
that, on every dialect). `run()` sends exactly those, verifies what it must, and returns a line
for the report; `undo()` is the operation that reverses it, where there is one.

Like orchestrator's small topology operations (ChangeMasterTo, MasterPosWait...), these are the
only places that write replication state; runbooks compose them into steps.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from hatui.gtid import MariaGtid
from hatui.mysql.dialect import Dialect, Statement
from hatui.mysql.fencefile import FENCE_FILE, unfence_command
from hatui.runbook.access import WriteAccess
from hatui.runbook.model import Action, Step, StepFailed


@dataclass
class Position:
    """Where a server's binary log (or a replica's execution) stands: a GTID set / MariaDB GTID
    position, or a binlog file and offset when there are no GTIDs (seed 001)."""

    gtid: str = ""
    file: str = ""
    pos: int = 0

    @property
    def by_gtid(self) -> bool:
        return not self.file

    def __str__(self) -> str:
        return self.gtid if self.by_gtid else f"{self.file}:{self.pos}"

    def to_json(self) -> dict[str, Any]:
        return {"gtid": self.gtid, "file": self.file, "pos": self.pos}

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Position | None:
        return None if d is None else cls(str(d.get("gtid", "")), str(d.get("file", "")), int(d.get("pos", 0)))


class Slot:
    """A value a run learns (a position, the sessions to end): `<name>` in the plan until set."""

    def __init__(self, name: str, value: Any = None):
        self.name = name
        self.value = value

    def shown(self) -> str:
        return f"<{self.name}>" if self.value is None else str(self.value)

    def need(self) -> Any:
        if self.value is None:
            raise StepFailed(f"{self.name} is not known: the step that reads it did not run")
        return self.value


class Op:
    """One operation on one node."""

    node: str
    title: str

    def actions(self) -> list[Action]:
        raise NotImplementedError

    async def run(self, x: WriteAccess) -> str:
        raise NotImplementedError

    def undo(self) -> Op | None:
        return None


def _sql(node: str, stmt: Statement | str) -> Action:
    return Action(node, "sql", stmt.redacted() if isinstance(stmt, Statement) else stmt)


async def _send(x: WriteAccess, node: str, stmt: Statement | str, **kw: Any) -> list[dict]:
    return await x.sql(node).execute(stmt, **kw)


# ----------------------------------------------------------------------------- fencing


@dataclass
class SetWritable(Op):
    """read_only (and super_read_only where it exists) off (writable) or on (fenced), then read
    back: a server that did not take it fails the step."""

    node: str
    d: Dialect
    writable: bool

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"make {self.node} {'writable' if self.writable else 'read-only'}"

    def statements(self) -> tuple[Statement, ...]:
        return self.d.fence(not self.writable)

    def actions(self) -> list[Action]:
        return [_sql(self.node, s) for s in self.statements()]

    async def run(self, x: WriteAccess) -> str:
        for s in self.statements():
            await _send(x, self.node, s)
        ro = await x.sql(self.node).query("SELECT @@global.read_only AS ro")
        if int(ro[0]["ro"]) != (0 if self.writable else 1):
            raise StepFailed(
                f"{self.node} is still {'read-only' if self.writable else 'writable'} after {self.actions()}"
            )
        return f"{self.node} is {'writable' if self.writable else 'read-only'}"

    def undo(self) -> Op:
        return SetWritable(self.node, self.d, not self.writable)


_NOT_APPLICATION = (
    "SELECT ID, USER, HOST FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN "
    "('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker') "
    "AND USER NOT IN ('system user', 'event_scheduler', %s, %s)"
)


@dataclass
class EndSessions(Op):
    """End the application's sessions on a fenced node: a client waiting on it when the VIP
    leaves is stuck until its own timeout; ended, it reconnects and gets a fast 1290 (or the new
    writer). Which sessions is learned at run time."""

    node: str
    keep_users: tuple[str, ...]  # hatui's own accounts
    killed: list[str] = field(default_factory=list)
    ran: bool = False

    title = "end the application's sessions"

    def actions(self) -> list[Action]:
        if not self.ran:
            return [Action(self.node, "sql", "KILL CONNECTION <each application session>")]
        return [Action(self.node, "sql", k) for k in self.killed]

    async def run(self, x: WriteAccess) -> str:
        users = (list(self.keep_users) + ["", ""])[:2]
        rows = await x.sql(self.node).query(_NOT_APPLICATION, tuple(users))
        self.ran = True
        self.killed = []
        for r in rows:
            text = f"KILL CONNECTION {int(r['ID'])}"
            self.killed.append(text)
            await _send(x, self.node, text, benign={1094: f"session {int(r['ID'])} had already ended"})
        return f"{len(rows)} application session(s) ended on {self.node}"


# ----------------------------------------------------------------------------- positions


@dataclass
class ReadPosition(Op):
    """The node's own position: its GTID position, or (no GTIDs) its binlog file and offset."""

    node: str
    d: Dialect
    by_gtid: bool
    into: Slot

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"read {self.node}'s {'GTID position' if self.by_gtid else 'binlog position'}"

    def statement(self) -> str:
        return self.d.gtid_position_sql if self.by_gtid else self.d.binlog_status_sql

    def actions(self) -> list[Action]:
        return [_sql(self.node, self.statement())]

    async def read(self, x: WriteAccess) -> Position:
        rows = await _send(x, self.node, self.statement())
        if self.by_gtid:
            gtid = str(rows[0]["pos"] or "").replace("\n", "") if rows else ""
            if not gtid:
                raise StepFailed(
                    f"{self.node} has no GTID position: GTIDs are off (a switchover by position is needed)"
                )
            return Position(gtid=gtid)
        if not rows or not rows[0].get("File"):
            raise StepFailed(f"{self.node} has no binary log (log_bin is OFF)")
        return Position(file=str(rows[0]["File"]), pos=int(rows[0]["Position"]))

    async def run(self, x: WriteAccess) -> str:
        self.into.value = await self.read(x)
        return f"{self.node} at {self.into.value}"


@dataclass
class SamePosition(ReadPosition):
    """The node has not moved since `into` was read (a fenced writer must stay where it was)."""

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"check {self.node} did not move"

    async def run(self, x: WriteAccess) -> str:
        before = self.into.need()
        now = await self.read(x)
        if str(now) != str(before):
            raise StepFailed(
                f"{self.node} moved from {before} to {now} after it was fenced: a session with SUPER / "
                f"READ ONLY ADMIN is still writing"
            )
        return f"{self.node} still at {now}"


@dataclass
class WaitFor(Op):
    """Block until the node has executed a position: MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET,
    or MASTER_POS_WAIT / SOURCE_POS_WAIT on the channel from the position's server."""

    node: str
    d: Dialect
    target: Slot  # a Position
    timeout: float
    channel: str = ""
    by_gtid: bool = True

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"wait until {self.node} has executed {self.target.shown()}"

    def statement(self) -> Statement | str:
        p: Position | None = self.target.value
        if p is None:  # shown with its placeholder; run() refuses to send it so
            fn = (
                ("MASTER_GTID_WAIT" if self.d.is_mariadb else "WAIT_FOR_EXECUTED_GTID_SET")
                if self.by_gtid
                else ("SOURCE_POS_WAIT" if self.d._mysql_at_least(8, 0, 26) else "MASTER_POS_WAIT")
            )
            return f"SELECT {fn}('<{self.target.name}>', {self.timeout:g}) AS reached"
        if p.by_gtid:
            return self.d.wait_for_gtid(p.gtid, self.timeout)
        return self.d.wait_for_position(p.file, p.pos, self.timeout, self.channel)

    def actions(self) -> list[Action]:
        return [_sql(self.node, self.statement())]

    async def run(self, x: WriteAccess) -> str:
        p: Position = self.target.need()
        stmt = self.statement()
        assert isinstance(stmt, Statement)
        rows = await _send(x, self.node, stmt, timeout=self.timeout + 5)
        value = rows[0]["reached"] if rows else None
        ok = self.d.gtid_wait_reached(value) if p.by_gtid else self.d.position_wait_reached(value)
        if not ok:
            why = "timed out" if value is not None else "replication is not running"
            raise StepFailed(f"{self.node} did not execute {p} within {self.timeout:g} s ({why})")
        return f"{self.node} has executed {p}"


# ----------------------------------------------------------------------------- replication


async def wait_channel(x: WriteAccess, node: str, channel: str, host: str, timeout: float) -> None:
    """Until `channel` replicates from `host` with both threads running; StepFailed after
    `timeout` seconds, with what the channel last said."""
    sql = x.sql(node)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        st = await sql.status()
        ch = st.channel(channel)
        if ch is not None and ch.source_host == host and ch.io_running and ch.sql_running:
            return
        last = "" if ch is None else f"IO {ch.io_state or ch.io_running}, SQL {ch.sql_running} {ch.last_error or ''}"
        await asyncio.sleep(0.2)
    raise StepFailed(f"{node}: replication from {host} not running within {timeout:g} s ({last.strip()})")


@dataclass
class ChangeSource(Op):
    """Stop the channel, point it at host:port (GTID auto-position, or a binlog position), start
    it, and wait until both threads run from there."""

    node: str
    d: Dialect
    host: str
    port: int
    channel: str = ""
    at: Slot | None = None  # a Position (by file): where to start without GTIDs; None: GTIDs
    user: str | None = None  # only for a channel that does not exist yet
    password: str | None = None
    stop: bool = True  # False: no channel runs yet
    timeout: float = 20.0

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"point {self.node} at {self.host}:{self.port}"

    def change(self) -> Statement | str:
        kw: dict[str, Any] = {"channel": self.channel, "user": self.user, "password": self.password}
        if self.at is None:
            return self.d.change_source(self.host, self.port, **kw)
        p: Position | None = self.at.value
        if p is None:
            text = self.d.change_source(self.host, self.port, position=("placeholder", 4), **kw).redacted()
            return text.replace("'placeholder'", f"'<{self.at.name} file>'").replace(
                "_POS=4", f"_POS=<{self.at.name} offset>"
            )
        return self.d.change_source(self.host, self.port, position=(p.file, p.pos), **kw)

    def statements(self) -> list[Statement | str]:
        out: list[Statement | str] = [self.d.stop_replica(self.channel)] if self.stop else []
        return [*out, self.change(), self.d.start_replica(self.channel)]

    def actions(self) -> list[Action]:
        return [_sql(self.node, s) for s in self.statements()]

    async def run(self, x: WriteAccess) -> str:
        if self.at is not None:
            self.at.need()
        for s in self.statements():
            await _send(x, self.node, s)
        await wait_channel(x, self.node, self.channel, self.host, self.timeout)
        where = "" if self.at is None else f" at {self.at.value}"
        return f"{self.node} replicates from {self.host}{where}"


@dataclass
class StartReplica(Op):
    """Start a channel that points where it should already (a dual master's channel)."""

    node: str
    d: Dialect
    host: str
    channel: str = ""
    timeout: float = 20.0

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"start {self.node}'s replication from {self.host}"

    def actions(self) -> list[Action]:
        return [_sql(self.node, self.d.start_replica(self.channel))]

    async def run(self, x: WriteAccess) -> str:
        # START SLAVE on a running channel is a warning (1254), not an error: always sent
        await _send(x, self.node, self.d.start_replica(self.channel))
        await wait_channel(x, self.node, self.channel, self.host, self.timeout)
        return f"{self.node} replicates from {self.host}"


@dataclass
class StopReplica(Op):
    node: str
    d: Dialect
    channel: str = ""
    host: str = ""  # where the channel points: its undo starts it again

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"stop {self.node}'s replication"

    def actions(self) -> list[Action]:
        return [_sql(self.node, self.d.stop_replica(self.channel))]

    async def run(self, x: WriteAccess) -> str:
        await _send(x, self.node, self.d.stop_replica(self.channel))
        return f"{self.node}'s replication stopped"

    def undo(self) -> Op | None:
        return StartReplica(self.node, self.d, self.host, self.channel) if self.host else None


@dataclass
class DrainRelay(Op):
    """A replica whose source is gone applies everything it received (its relay log) and stops:
    the SQL thread started (a no-op warning if it runs), a wait until it has executed what the
    IO thread had received, then the channel stopped. After it the node holds all it ever got
    from the dead source, and nothing more will come in."""

    node: str
    d: Dialect
    received: Position | None  # what the IO thread had received (None: nothing beyond executed)
    timeout: float
    channel: str = ""

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"let {self.node} apply its relay log" + (f" up to {self.received}" if self.received else "")

    def statements(self) -> list[Statement | str]:
        out: list[Statement | str] = [self.d.start_replica(self.channel, "sql")]
        if self.received is not None and self.received.by_gtid and self.received.gtid:
            out.append(self.d.wait_for_gtid(self.received.gtid, self.timeout))
        return [*out, self.d.stop_replica(self.channel)]

    def actions(self) -> list[Action]:
        return [_sql(self.node, s) for s in self.statements()]

    async def run(self, x: WriteAccess) -> str:
        for s in self.statements():
            rows = await _send(x, self.node, s, timeout=self.timeout + 5)
            if isinstance(s, Statement) and "reached" in s.sql:
                value = rows[0]["reached"] if rows else None
                if not self.d.gtid_wait_reached(value):
                    raise StepFailed(
                        f"{self.node} did not apply its relay log up to {self.received} within {self.timeout:g} s "
                        f"({'timed out' if value is not None else 'its SQL thread stopped'})"
                    )
        return f"{self.node} applied everything it received" + (f" ({self.received})" if self.received else "")


def continue_from(binlog_pos: str | None, slave_pos: str | None) -> str:
    """MariaDB: where a server continues replicating from, per domain the latest GTID it holds,
    whether it logged it or applied it as a replica.

    Not MASTER_DEMOTE_TO_SLAVE: that merges gtid_current_pos, which for a domain whose last GTID
    has another server's id keeps the older gtid_slave_pos. After a gap repair the writer holds
    the old writer's transactions with their ids, so demote would fetch them again (duplicate
    key, seen in the lab)."""
    best: dict[int, tuple[int, str]] = {}
    for text in (binlog_pos, slave_pos):
        for entry in (text or "").split(","):
            if entry.strip():
                g = MariaGtid.parse(entry)
                if g.seq >= best.get(g.domain, (-1, ""))[0]:
                    best[g.domain] = (g.seq, str(g))
    return ",".join(v for _, (_, v) in sorted(best.items()))


@dataclass
class ContinueFrom(Op):
    """MariaDB: gtid_slave_pos set to the latest GTID the node holds per domain (continue_from),
    so its channels continue after everything it has. The variable is global: every channel of
    the node must be stopped first."""

    node: str
    value: Slot = field(default_factory=lambda: Slot("latest GTID per domain it holds"))

    title = "set where its replication continues"
    READ = "SELECT @@gtid_binlog_pos AS b, @@gtid_slave_pos AS s"

    def set_statement(self) -> Statement | str:
        if self.value.value is None:
            return f"SET GLOBAL gtid_slave_pos = '{self.value.shown()}'"
        return Statement("SET GLOBAL gtid_slave_pos = %s", (self.value.value,))

    def actions(self) -> list[Action]:
        return [_sql(self.node, self.READ), _sql(self.node, self.set_statement())]

    async def run(self, x: WriteAccess) -> str:
        rows = await _send(x, self.node, self.READ)
        self.value.value = continue_from(rows[0]["b"], rows[0]["s"]) if rows else ""
        await _send(x, self.node, self.set_statement())
        return f"{self.node} continues from {self.value.value or 'the start'}"


def repoint_ops(
    node: str,
    d: Dialect,
    channels: list[str],
    host: str,
    port: int,
    move: list[str],
    user: str | None = None,
    password: str | None = None,
    *,
    exists: bool = True,
    positioned: bool = False,
) -> list[Op]:
    """Point the channels `move` of `node` at host:port by GTID. MariaDB: gtid_slave_pos is
    global, so it can only be set with every channel stopped (`channels`: all of the node's,
    running or not when preflight looked: a restarted mysqld starts its channels by itself, and
    stopping a stopped one is only a note), then the node continues after everything it holds
    (`positioned`: that was done already). MySQL: each channel stopped (if it `exists`), changed
    and started."""
    first: list[Op] = []
    if d.is_mariadb and not positioned:
        first = [*(StopReplica(node, d, c) for c in channels), ContinueFrom(node)]
    stop = exists and not d.is_mariadb
    return first + [ChangeSource(node, d, host, port, c, None, user, password, stop=stop) for c in move]


@dataclass
class Detach(Op):
    """The new writer forgets its channel from the old one (primary and replicas: the old writer
    becomes its replica, so a channel back to it would make a ring)."""

    node: str
    d: Dialect
    channel: str = ""

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"remove {self.node}'s channel from the old writer"

    def actions(self) -> list[Action]:
        return [
            _sql(self.node, self.d.stop_replica(self.channel)),
            _sql(self.node, self.d.reset_replica_all(self.channel)),
        ]

    async def run(self, x: WriteAccess) -> str:
        for s in (self.d.stop_replica(self.channel), self.d.reset_replica_all(self.channel)):
            await _send(x, self.node, s)
        return f"{self.node} replicates from nobody"


# ----------------------------------------------------------------------------- commands


@dataclass
class Shell(Op):
    """A command on a node (sudo when it needs root), sent as shown."""

    node: str
    command: str
    title: str = ""
    sudo: bool = True
    timeout: float = 10.0
    inverse: Shell | None = None
    key: str = ""  # the step's name when it is a step of its own ("boost")

    def actions(self) -> list[Action]:
        return [Action(self.node, "ssh", self.command)]

    async def run(self, x: WriteAccess) -> str:
        await x.ssh(self.node, self.command, timeout=self.timeout, sudo=self.sudo)
        return self.title or self.command

    def undo(self) -> Op | None:
        return self.inverse


def unfence_op(node: str) -> Shell:
    """The node is the writer (again): the fence file a failover left on it goes, so its next
    restart does not bring the writer back read-only. Not undone: a writer keeps no fence."""
    return Shell(node, unfence_command(), f"{node} no longer starts read-only ({FENCE_FILE} removed)")


def vip_wait_command(address: str, present: bool, seconds: float) -> str:
    """One round trip that returns as soon as the address shows up on (or leaves) the node,
    polled every 10 ms there instead of over SSH: the write pause is what clients see."""
    import shlex

    test = f"ip -o addr show to {shlex.quote(address)} | grep -q ."
    cond = test if present else f"! {{ {test}; }}"
    n = max(1, int(seconds / 0.01))
    return f"i=0; while [ $i -lt {n} ]; do if {cond}; then exit 0; fi; sleep 0.01; i=$((i+1)); done; exit 1"


@dataclass
class Together(Op):
    """Operations on different nodes sent at once (an SSH exec each: their round trips overlap).
    Their actions are shown in order; each is announced as it is sent."""

    node: str
    ops: list[Op]
    title: str = ""

    def actions(self) -> list[Action]:
        return [a for op in self.ops for a in op.actions()]

    async def run(self, x: WriteAccess) -> str:
        return "; ".join(await asyncio.gather(*(op.run(x) for op in self.ops)))


def plan_of(ops: list[Op]) -> list[Action]:
    return [a for op in ops for a in op.actions()]


def op_step(
    key: str, title: str, ops: list[Op], timeout: float, *, commits: bool = False, undoable: bool = True
) -> Step:
    """A runbook step made of operations: run in order; undone by their inverses, the last first
    (every operation with an inverse, whether it ran or not: the inverses are idempotent, and a
    resumed run no longer knows which ran). `undoable=False`: a step that stays done (a node
    fenced for good)."""

    async def run(ctx: Any) -> str:
        return "; ".join([await op.run(ctx.access) for op in ops])

    inverses = [u for op in reversed(ops) if (u := op.undo()) is not None] if undoable else []

    async def undo(ctx: Any) -> str:
        return "; ".join([await u.run(ctx.access) for u in inverses])

    return Step(
        key,
        title,
        [],
        run,
        timeout,
        "; ".join(u.title for u in inverses if u.title) if inverses else "",
        undo if inverses else None,
        commits,
        list(ops),
    )
