"""Skip a replicated transaction a replica already holds, after proving it does
(docs/runbooks.md, "skip-applied").

The chaos soak's MMM case: a partition isolates the writer while a client's insert commits
there; the acknowledgement is lost, the client retries through the VIP (now on the standby) and
the same row commits on both sides under two GTIDs. When the partition heals, each side's
channel stops on the other's copy (1062, duplicate key) and everything written after it waits
behind: the writer lacks the rows the standby took meanwhile. The DBA's usual fix is
`sql_slave_skip_counter=1` or `slave_exec_mode=IDEMPOTENT`, blind: a real conflict (the two
sides wrote different values) is lost without a trace. This runbook skips one transaction, and
only when the replica holds every row exactly as that transaction leaves it: then skipping it
changes nothing there.

Checks, named as in the code:
- `NODE's replication stopped on a row conflict`: a channel whose SQL thread stopped with 1062
  (duplicate key) or 1032 (row not found); any other error is no case for a skip;
- `the transaction NODE stopped on`: read from the source's binlog, where the channel's executed
  position points (its events by SHOW BINLOG EVENTS up to its commit, then its rows with the
  binlog tool over SSH, checked against the binlog's positions): exactly one transaction, row
  events only (a DDL or a statement-based one is refused), with a GTID NODE has not executed;
- `NODE holds every row as GTID leaves it`: each row's final image (or its absence) read on NODE
  by primary key; one row that differs refuses, naming it (the two sides wrote different values:
  a person decides which wins);
- MariaDB: `no other channel of NODE runs` (gtid_slave_pos is global).

Steps: stop the channel; skip (MySQL: an empty transaction with the GTID; MariaDB, which logs no
empty transaction: gtid_slave_pos with that domain at the GTID, read back first and refused if
it moved since the checks); start the channel and wait until it runs past the GTID.
Without GTIDs it refuses: a position cannot be told from a transaction's content.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.dump import (
    BinlogDump,
    BinlogIntegrityError,
    RowProbe,
    Transaction,
    final_states,
    parse_dump,
    readable,
    render_sql,
    row_based,
)
from hatui.binlog.locate import dump_command, from_variables, tool_command
from hatui.cluster import Cluster
from hatui.gtid import MariaGtid
from hatui.mysql.dialect import Dialect, Statement, dialect_for
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.privatefs import write_private
from hatui.rules.topology import node_for_host
from hatui.runbook.access import WriteAccess
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.ops import Op, StartReplica, StopReplica, op_step
from hatui.runbook.recovery import run_folder
from hatui.runbook.rows import probe_rows, q, table_meta
from hatui.runbook.runner import RunContext, state_dir
from hatui.ssh.errors import SshError

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
RESOLVE = ("keep-local", "take-source")
ROW_CONFLICTS = {1062: "duplicate key", 1032: "row not found"}
CATCH_UP = 20.0  # seconds the verify waits for the channel to apply what waited behind
MAX_EVENTS = 2000  # a transaction longer than this is no duplicate insert: refused, not paged


@dataclass
class Stopped:
    """Where a channel stopped and the transaction it stopped on."""

    channel: ReplicationChannel
    source: str  # the cluster node the channel pulls from
    file: str  # the source's binlog
    start: int  # the transaction's first event
    end: int = 0  # where its commit event ends
    gtid: str = ""
    trx: Transaction | None = None
    dump: BinlogDump | None = None


def _mariadb(st: MysqlStatus) -> bool:
    return bool(st.version and st.version.is_mariadb)


def stopped_on_row(st: MysqlStatus) -> ReplicationChannel | None:
    """The channel whose SQL thread stopped on a row conflict (1062 / 1032), if one did."""
    for ch in st.channels:
        if not ch.sql_running and ch.last_sql_errno in ROW_CONFLICTS:
            return ch
    return None


def skip_position(slave_pos: str, gtid: str) -> str:
    """MariaDB: gtid_slave_pos with `gtid`'s domain at `gtid` (the other domains as they are)."""
    g = MariaGtid.parse(gtid)
    kept = [e.strip() for e in slave_pos.split(",") if e.strip() and MariaGtid.parse(e.strip()).domain != g.domain]
    return ",".join(sorted([*kept, str(g)], key=lambda e: MariaGtid.parse(e).domain))


def commit_end(events: list[dict[str, Any]], start: int, mariadb: bool) -> tuple[str, int] | str:
    """(GTID, end of the commit event) of the transaction starting at `start`, from SHOW BINLOG
    EVENTS rows; or why it cannot be read from them."""
    if not events or int(events[0]["Pos"]) != start:
        return f"no event starts at {start}"
    first = events[0]
    info = str(first.get("Info") or "")
    if str(first["Event_type"]) != "Gtid":
        return f"the event at {start} is a {first['Event_type']}, not a GTID event: no GTID to skip"
    if mariadb:
        parts = info.split()
        if len(parts) < 3 or parts[:2] != ["BEGIN", "GTID"]:
            return f"the transaction at {start} is no row transaction ({info!r})"
        gtid = parts[2]
    else:
        q = info.split("'")
        if len(q) < 2:
            return f"cannot read the GTID of the event at {start} ({info!r})"
        gtid = q[1]
    for ev in events[1:]:
        kind, text = str(ev["Event_type"]), str(ev.get("Info") or "").strip().upper()
        if kind == "Xid" or (kind == "Query" and text.startswith("COMMIT")):
            return gtid, int(ev["End_log_pos"])
        if kind == "Gtid":
            break
    return f"no commit within {MAX_EVENTS} events of {start}"


@dataclass
class SkipTransaction(Op):
    """Let `node` continue after `gtid` without applying it, holding the GTID as if it had.
    MySQL: an empty transaction with that GTID (GTID_NEXT), which its binlog keeps, so
    auto-positioning never asks for it and every server ends with the same GTID set
    (orchestrator's "inject empty"). MariaDB logs no empty transaction (BEGIN; COMMIT with
    that gtid_seq_no writes nothing, seen in the lab), so there gtid_slave_pos moves to it (read
    first: refused if it is not what the checks saw): the node's gtid_current_pos holds it, and
    its binlog shows the domain's position again with the next transaction from that server.
    No undo: the node holds the transaction's rows either way."""

    node: str
    d: Dialect
    gtid: str
    mariadb: bool
    before: str = ""  # MariaDB: gtid_slave_pos as the checks read it
    after: str = ""
    title: str = field(default="")

    READ = "SELECT @@gtid_slave_pos AS s"

    def statements(self) -> list[Statement | str]:
        if self.mariadb:
            return [Statement("SET GLOBAL gtid_slave_pos = %s", (self.after,))]
        return [Statement("SET GTID_NEXT = %s", (self.gtid,)), "BEGIN", "COMMIT", "SET GTID_NEXT = 'AUTOMATIC'"]

    def actions(self) -> list[Action]:
        reads = [Action(self.node, "sql", self.READ)] if self.mariadb else []
        shown = [s.redacted() if isinstance(s, Statement) else s for s in self.statements()]
        return reads + [Action(self.node, "sql", s) for s in shown]

    async def run(self, x: WriteAccess) -> str:
        sql = x.sql(self.node)
        if self.mariadb:
            rows = await sql.query(self.READ)
            now = str(rows[0]["s"] or "") if rows else ""
            if now != self.before:
                raise StepFailed(
                    f"{self.node}'s gtid_slave_pos moved since the checks ({self.before} -> {now}): run again"
                )
        for s in self.statements():
            await sql.execute(s)
        held = "its replication position holds it" if self.mariadb else "an empty transaction holds its GTID"
        return f"{self.node} continues after {self.gtid} without applying it ({held})"


@dataclass
class RemoveRow(Op):
    """Delete one row by primary key without a binlog entry (sql_log_bin=0 for that statement
    alone): the node's own version of a row the source's transaction inserts, so that
    transaction applies as written. Exactly one row must go."""

    node: str
    schema: str
    table: str
    keys: list[str]
    values: tuple[Any, ...]

    @property
    def title(self) -> str:  # type: ignore[override]  # computed here, a plain field in Op
        return f"remove {self.node}'s version of {self.schema}.{self.table} ({', '.join(map(str, self.values))})"

    def statements(self) -> list[Statement | str]:
        where = " AND ".join(f"{q(k)} = %s" for k in self.keys)
        return [
            "SET SESSION sql_log_bin = 0",
            Statement(f"DELETE FROM {q(self.schema)}.{q(self.table)} WHERE {where}", self.values),
            "SET SESSION sql_log_bin = 1",
        ]

    def actions(self) -> list[Action]:
        return [Action(self.node, "sql", s.redacted() if isinstance(s, Statement) else s) for s in self.statements()]

    async def run(self, x: WriteAccess) -> str:
        sql = x.sql(self.node)
        for st in self.statements():
            await sql.execute(st)
        return f"removed {self.node}'s version of {self.schema}.{self.table} ({', '.join(map(str, self.values))})"


def _have(st: MysqlStatus) -> gapmod.Have:
    if _mariadb(st):
        return gapmod.Have.of(True, st.gtid_binlog_state, st.gtid_slave_pos)
    return gapmod.Have.of(False, st.gtid_executed)


@dataclass
class StartPast(StartReplica):
    """Start the channel and wait until the node's position holds `gtid` (skipped, or applied
    after --take-source). Not StartReplica's "both threads run": the SQL thread may stop again
    on the next conflict behind this one, which the verify step reports."""

    gtid: str = ""

    async def run(self, x: WriteAccess) -> str:
        sql = x.sql(self.node)
        await sql.execute(self.d.start_replica(self.channel))
        deadline = time.monotonic() + self.timeout
        while True:
            st = await sql.status()
            if _have(st).has(self.gtid):
                return f"{self.node} replicates from {self.host} past {self.gtid}"
            ch = st.channel(self.channel)
            why = "" if ch is None else ch.last_error
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"{self.node} did not get past {self.gtid} within {self.timeout:g} s ({why or 'no error'})"
                )
            await asyncio.sleep(0.2)


class SkipApplied:
    name = "skip-applied"
    destructive = True
    resume_hint = "run the same `hatui skip-applied` again (it re-reads everything; a running channel is left alone)"

    def __init__(self, cluster: Cluster, node: str, resolve: str | None = None, *, base_dir: Path | None = None):
        mysql_node(cluster, node)
        if resolve not in (None, *RESOLVE):
            raise ValueError(f"resolve must be one of {', '.join(RESOLVE)}")
        self.cluster = cluster
        self.node = self.target = node
        self.resolve = resolve
        self.base_dir = base_dir
        self.facts: Facts | None = None
        self.stopped: Stopped | None = None
        self.skip: SkipTransaction | None = None
        self.replace: list[Op] = []  # --take-source: the local rows removed before it applies

    def params(self) -> dict[str, Any]:
        return {"node": self.node, "resolve": self.resolve}

    def _save(self, ctx: RunContext, s: Stopped, columns: dict, bad: list[gapmod.Conflict]) -> Path:
        """The transaction as the source wrote it (replayable, readable) and the rows that differ,
        in a private recovery folder, before anything changes."""
        assert s.trx is not None
        folder = run_folder(self.base_dir or state_dir(), self.cluster, f"{self.node}-skip")
        d = BinlogDump(
            s.file, "mariadb" if "-" in s.gtid and ":" not in s.gtid else "mysql", "", "", [s.trx], "", s.end
        )
        write_private(folder / "transaction.sql", render_sql([(d, [s.trx])]))
        lines = [f"-- {s.gtid} from {s.source}'s {s.file} {s.start}-{s.end}"]
        lines += [readable(r, columns.get((r.schema, r.table))) for r in s.trx.rows]
        lines += ["", f"-- rows that differ on {self.node}:"] + [str(c) for c in bad]
        write_private(folder / "differs.txt", "\n".join(lines) + "\n")
        ctx.note(f"the transaction and the rows that differ are saved in {folder}", folder=str(folder))
        return folder

    async def _resolve(
        self,
        ctx: RunContext,
        s: Stopped,
        d: Dialect,
        ch: ReplicationChannel,
        probes: list[RowProbe],
        bad: list[gapmod.Conflict],
        columns: dict,
        pk: dict[tuple[str, str], list[int]],
        folder: Path,
    ) -> list[Check]:
        n, name = self.node, f"{self.node} holds every row as {s.gtid} leaves it"
        if self.resolve == "keep-local":
            return [
                Check(
                    name,
                    W,
                    f"{len(bad)} of {len(probes)} row(s) differ: {bad[0]}; --keep-local: {n}'s version stays, "
                    f"the transaction is skipped (saved in {folder / 'transaction.sql'})",
                )
            ]
        # --take-source: only rows the transaction inserts and that exist here with other values
        by_key = {(p.schema, p.table, p.key): p for p in probes}
        inserted = {(r.schema, r.table) for r in (s.trx.rows if s.trx else []) if r.kind == "insert"}
        ops: list[Op] = []
        saved: list[dict[str, Any]] = []
        for c in bad:
            schema, _, table = c.table.partition(".")
            p = by_key.get((schema, table, c.key))
            cols = columns.get((schema, table)) or []
            keys = [cols[i - 1] for i in pk.get((schema, table), []) if 0 < i <= len(cols)]
            if (
                ch.last_sql_errno != 1062
                or p is None
                or p.expect is None
                or (schema, table) not in inserted
                or not keys
                or len(keys) != len(c.key)
            ):
                return [
                    Check(
                        name,
                        F,
                        f"{c}: --take-source replaces a row the transaction inserts over a duplicate key, not this",
                        "fix the row by hand, then run this again",
                    )
                ]
            args = tuple(gapmod.literal_param(v) for v in c.key)
            where = " AND ".join(f"{q(k)} = %s" for k in keys)
            rows = await ctx.access.sql(n).query(f"SELECT * FROM {q(schema)}.{q(table)} WHERE {where}", args)
            saved += [{"table": c.table, "key": list(c.key), "row": {k: str(v) for k, v in r.items()}} for r in rows]
            ops.append(RemoveRow(n, schema, table, keys, args))
        write_private(folder / "replaced-rows.json", json.dumps(saved, indent=1, ensure_ascii=False))
        self.replace = ops
        return [
            Check(
                name,
                W,
                f"{len(bad)} of {len(probes)} row(s) differ: {bad[0]}; --take-source: {n}'s version of "
                f"{len(ops)} row(s) is removed (saved in {folder / 'replaced-rows.json'}) and {s.gtid} applies",
            )
        ]

    async def preflight(self, ctx: RunContext) -> list[Check]:
        n = self.node
        facts = self.facts = await gather(ctx)
        st = facts.status.get(n)
        checks: list[Check] = []
        if st is None or not st.up:
            return [Check(f"MySQL on {n} answers", F, (st.error if st else None) or "not read", "start it first")]
        ch = stopped_on_row(st)
        name = f"{n}'s replication stopped on a row conflict"
        if ch is None:
            running = [c for c in st.channels if c.sql_running]
            why = (
                "its replication runs: nothing to skip"
                if running and len(running) == len(st.channels)
                else "no channel stopped on 1062 (duplicate key) or 1032 (row not found)"
                + "".join(f"; {c.name or 'the channel'}: {c.last_error or 'no error'}" for c in st.channels)
            )
            return [*checks, Check(name, F, why, "" if "runs" in why else "a skip proves nothing about other errors")]
        checks.append(
            Check(name, P, f"SQL error {ch.last_sql_errno} ({ROW_CONFLICTS[ch.last_sql_errno]}): {ch.last_sql_error}")
        )
        mariadb = _mariadb(st)
        if not ch.uses_gtid:
            checks.append(
                Check(
                    "GTIDs in use",
                    F,
                    f"{n}'s channel replicates by binlog position",
                    "without a GTID a skipped transaction cannot be told from an applied one later: "
                    "compare the row by hand, then SET GLOBAL sql_slave_skip_counter=1",
                )
            )
            return checks
        if mariadb and (ch.using_gtid or "").lower() != "slave_pos":
            # with current_pos the channel starts from the binlog's position where the node wrote
            # the domain last: a moved gtid_slave_pos may not be where it continues
            checks.append(
                Check(
                    "the channel continues from gtid_slave_pos",
                    F,
                    f"MASTER_USE_GTID={ch.using_gtid}",
                    "CHANGE MASTER TO MASTER_USE_GTID=slave_pos (what hatui's runbooks set), then run this again",
                )
            )
            return checks
        if mariadb:
            others = [c.name or "default" for c in st.channels if c is not ch and (c.io_running or c.sql_running)]
            if others:
                checks.append(
                    Check(
                        f"no other channel of {n} runs",
                        F,
                        f"{', '.join(others)} running",
                        "gtid_slave_pos is global: stop those channels first",
                    )
                )
                return checks
        source = node_for_host(facts.snap, ch.source_host)
        src_st = facts.status.get(source) if source else None
        if source is None or src_st is None or not src_st.up:
            checks.append(
                Check(
                    "the transaction it stopped on",
                    F,
                    f"its source {ch.source_host} is "
                    + ("not a node of the cluster" if source is None else "not answering"),
                    "its binlog holds the transaction to compare: bring it back first",
                )
            )
            return checks
        if not ch.relay_source_log_file or ch.exec_source_log_pos is None:
            checks.append(Check("the transaction it stopped on", F, "the channel shows no executed position"))
            return checks
        self.stopped = s = Stopped(ch, source, ch.relay_source_log_file, int(ch.exec_source_log_pos))
        failed = await self._read(ctx, s, mariadb, checks)
        if failed or s.trx is None:
            return checks
        have = (
            gapmod.Have.of(True, st.gtid_binlog_state, st.gtid_slave_pos)
            if mariadb
            else gapmod.Have.of(False, st.gtid_executed)
        )
        if have.has(s.gtid):
            checks.append(Check(f"{n} lacks {s.gtid}", F, f"{n} has executed {s.gtid} already: not what it stopped on"))
            return checks
        columns, pk, unix_ts = await table_meta(ctx, n, [s.trx])
        probes = final_states([s.trx], pk)
        bad = await probe_rows(ctx, n, probes, pk, unix_ts, gapmod.already_applied)
        rows = "; ".join(readable(r, columns.get((r.schema, r.table))) for r in s.trx.rows[:5])
        if len(s.trx.rows) > 5:
            rows += f"; … {len(s.trx.rows) - 5} more"
        d = dialect_for(st.version) if st.version else None
        if d is None:
            checks.append(Check(f"{n}'s server version", F, "not read"))
            return checks
        name = f"{n} holds every row as {s.gtid} leaves it"
        if bad and self.resolve is None:
            checks.append(
                Check(
                    name,
                    F,
                    f"{len(bad)} of {len(probes)} row(s) differ: {bad[0]} (the transaction: {rows})",
                    f"the two sides wrote different values: decide which wins. On the node whose version "
                    f"wins: `--keep-local` (skips it anyway; the transaction is saved first); on the other: "
                    f"`--take-source` (a duplicate key: {n}'s row is saved, removed without a binlog entry, "
                    "and the transaction applies). Or fix the row by hand and run this again",
                )
            )
            return checks
        if bad:
            folder = self._save(ctx, s, columns, bad)
            checks += await self._resolve(ctx, s, d, ch, probes, bad, columns, pk, folder)
            if any(c.failed for c in checks):
                return checks
            if self.resolve == "take-source":
                return checks  # the transaction applies: nothing to skip
        else:
            checks.append(
                Check(
                    name, P, f"{len(probes)} row(s), each as it writes it: skipping it changes nothing on {n} ({rows})"
                )
            )
        before = (st.gtid_slave_pos or "") if mariadb else ""
        self.skip = SkipTransaction(
            n,
            d,
            s.gtid,
            mariadb,
            before,
            skip_position(before, s.gtid) if mariadb else "",
            f"skip {s.gtid} on {n}",
        )
        return checks

    async def _read(self, ctx: RunContext, s: Stopped, mariadb: bool, checks: list[Check]) -> bool:
        """Fill s.gtid, s.end and s.trx from the source's binlog; True (with a FAIL check) when
        it cannot be read or is not a single row transaction."""
        name = f"the transaction {self.node} stopped on"
        sql = ctx.access.sql(s.source)
        events = await sql.query(f"SHOW BINLOG EVENTS IN %s FROM %s LIMIT {MAX_EVENTS}", (s.file, s.start), timeout=30)
        got = commit_end(events, s.start, mariadb)
        if isinstance(got, str):
            checks.append(Check(name, F, f"{s.source}'s {s.file} at {s.start}: {got}", "a skip proves nothing there"))
            return True
        s.gtid, s.end = got
        rows = await sql.query(
            "SELECT @@log_bin_basename AS log_bin_basename, @@log_bin_index AS log_bin_index, "
            "@@datadir AS datadir, @@pid_file AS pid_file"
        )
        files = from_variables(rows[0])
        path = str(PurePosixPath(files.basename).parent / s.file)
        try:
            tool = (await ctx.access.ssh(s.source, tool_command(mariadb), read=True, timeout=5)).strip().splitlines()
            if not tool:
                checks.append(Check(name, F, f"no binlog tool on {s.source}", "install its client package"))
                return True
            text = await ctx.access.ssh(
                s.source, dump_command(tool[0], path, s.end, start=s.start), read=True, sudo=True, timeout=60
            )
        except SshError as exc:
            checks.append(Check(name, F, f"cannot read {path} on {s.source}: {exc}"))
            return True
        try:
            # lines end at "\n" only (splitlines would also cut at "\x0b", "\x85", "\u2028" ...)
            dump = parse_dump(io.StringIO(text, newline=""), s.file, expect_end=s.end, keep_text=False)
        except BinlogIntegrityError as exc:
            checks.append(Check(name, F, f"the dump of {s.file} does not check out: {exc}"))
            return True
        trx = [t for t in dump.transactions if t.gtid == s.gtid]
        if len(dump.transactions) != 1 or len(trx) != 1:
            checks.append(
                Check(
                    name,
                    F,
                    f"{s.file} {s.start}-{s.end} holds {len(dump.transactions)} transaction(s), not {s.gtid} alone",
                )
            )
            return True
        if not row_based(trx[0]):
            checks.append(
                Check(
                    name, F, f"{s.gtid} is not row events only (DDL or statement-based)", "compare and skip it by hand"
                )
            )
            return True
        s.trx, s.dump = trx[0], dump
        checks.append(
            Check(name, P, f"{s.gtid}, {s.source}'s {s.file} {s.start}-{s.end}, {len(s.trx.rows)} row change(s)")
        )
        return False

    def steps(self, ctx: RunContext) -> list[Step]:
        s, skip = self.stopped, self.skip
        st = self.facts.status.get(self.node) if self.facts else None
        if s is None or (skip is None and not self.replace) or st is None or st.version is None:
            return []  # preflight refused: nothing to plan
        d = dialect_for(st.version)
        host = s.channel.source_host or ""
        middle = (
            op_step("skip", f"Skip {s.gtid} on {self.node} (it holds its rows)", [skip], 15)
            if skip is not None
            else op_step(
                "replace",
                f"Remove {self.node}'s version of the row(s) {s.gtid} inserts (saved), without a binlog entry",
                self.replace,
                15,
                commits=True,
            )
        )
        return [
            op_step("stop", f"Stop {self.node}'s replication", [StopReplica(self.node, d, s.channel.name, host)], 15),
            middle,
            op_step(
                "start",
                f"Start {self.node}'s replication",
                [StartPast(self.node, d, host, s.channel.name, gtid=s.gtid)],
                30,
            ),
            Step(
                "verify",
                f"Verify {self.node} went past {s.gtid}",
                [Action(self.node, "sql", d.replica_status_sql)],
                self._verify,
                CATCH_UP + 10,
            ),
        ]

    async def _verify(self, ctx: RunContext) -> str:
        """The position holds the GTID; then, within CATCH_UP seconds, the node holds everything
        its source had when this step began (what waited behind the conflict), or it stopped
        again on the next conflict (said, not failed: the next one is checked the same way)."""
        s = self.stopped
        assert s is not None
        deadline = time.monotonic() + CATCH_UP
        src = await ctx.access.sql(s.source).status()
        target = (src.gtid_binlog_state if _mariadb(src) else src.gtid_executed) or ""
        while True:
            st = await ctx.access.sql(self.node).status()
            have = _have(st)
            if not have.has(s.gtid):
                if time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
                    continue
                raise StepFailed(f"{self.node}'s position does not include {s.gtid}")
            again = stopped_on_row(st)
            if again is not None:
                return (
                    f"{self.node} went past {s.gtid}, then stopped again: SQL error {again.last_sql_errno} "
                    f"({again.last_sql_error}); run skip-applied again: the next one is checked the same way"
                )
            ch = st.channel(s.channel.name)
            if ch is None or not ch.healthy:
                why = ch.last_error if ch is not None else "the channel is gone"
                raise StepFailed(f"{self.node}'s replication is not healthy: {why or 'threads not running'}")
            if have.covers(target):
                return f"{self.node} went past {s.gtid} and replicates (it has everything {s.source} had)"
            if time.monotonic() >= deadline:
                return f"{self.node} went past {s.gtid} and replicates (still applying what it received)"
            await asyncio.sleep(0.2)
