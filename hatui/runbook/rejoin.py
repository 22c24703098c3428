"""Rejoin a repaired old writer as a replica of the current writer (docs/runbooks.md, "rejoin";
after MySQL Shell's rejoinInstance, replication-manager's autorejoin).

Read-only first. Then classify it against the writer: identical, behind (recoverable), diverged
(it holds transactions the writer never had: refused, listed; the DBA may keep them with
`hatui repair-gap` or discard them, and a discard saves them to a file first), or irrecoverable
(what it needs is purged on the writer: re-clone). Repoint it with GTID auto-positioning,
restore the reverse channel of a dual-master pair, wait until it caught up, make sure its
keepalived stays BACKUP (the VIP must not flap back), and repoint replicas still pulling from it."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.dump import RowChange
from hatui.binlog.locate import FILES_SQL, from_variables
from hatui.cluster import Cluster, Role, Topology, VipRole
from hatui.cluster.secrets import resolve_password
from hatui.mysql.dialect import Dialect, Statement, dialect_for
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.privatefs import write_private
from hatui.rules.errant import Classification, Standing, classify, pulls_from, without_errant
from hatui.rules.topology import node_for_host, vip_views, writer
from hatui.runbook.facts import Facts, down_check, gather, reread_writer, writer_first_head
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.ops import (
    ChangeSource,
    Op,
    ReadPosition,
    SetWritable,
    Slot,
    StartReplica,
    WaitFor,
    op_step,
    repoint_ops,
)
from hatui.runbook.recovery import Gap, extract, script_of
from hatui.runbook.rows import q, table_meta
from hatui.runbook.runner import RunContext
from hatui.state import Kind

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
SHOWN = 20


def inverse(
    change: RowChange, pk: list[int], columns: list[str], unix_ts: set[int] | frozenset[int] = frozenset()
) -> tuple[str, list[Any]]:
    """The statement that undoes one row change (values as parameters, never spliced in).
    `unix_ts`: TIMESTAMP columns, which the tools print as epoch seconds."""
    val = gapmod.literal_param

    def ph(pos: int) -> str:
        return "FROM_UNIXTIME(%s)" if pos in unix_ts else "%s"

    table = f"{q(change.schema)}.{q(change.table)}"

    def where(image: dict[int, str]) -> tuple[str, list[Any]]:
        keys = pk or sorted(image)
        return (" AND ".join(f"{q(columns[k - 1])} <=> {ph(k)}" for k in keys), [val(image[k]) for k in keys])

    if change.kind == "insert":
        assert change.after is not None
        w, args = where(change.after)
        return f"DELETE FROM {table} WHERE {w} LIMIT 1", args
    if change.kind == "delete":
        assert change.before is not None
        cols = sorted(change.before)
        return (
            f"INSERT INTO {table} ({', '.join(q(columns[c - 1]) for c in cols)}) VALUES "
            f"({', '.join(ph(c) for c in cols)})",
            [val(change.before[c]) for c in cols],
        )
    assert change.before is not None and change.after is not None
    cols = sorted(change.before)
    w, args = where(change.after)
    return (
        f"UPDATE {table} SET {', '.join(f'{q(columns[c - 1])} = {ph(c)}' for c in cols)} WHERE {w} LIMIT 1",
        [val(change.before[c]) for c in cols] + args,
    )


class Rejoin:
    name = "rejoin"
    destructive = True
    resume_hint = "run the same `hatui rejoin` again (it classifies the node afresh and repeats only what is needed)"

    def __init__(
        self,
        cluster: Cluster,
        node: str,
        *,
        discard_errant: bool = False,
        catch_up_timeout: float = 120.0,
        base_dir: Path | None = None,
    ):
        mysql_node(cluster, node)
        self.cluster = cluster
        self.node = node
        self.target = node
        self.discard_errant = discard_errant
        self.catch_up_timeout = catch_up_timeout
        self.base_dir = base_dir
        self.facts: Facts | None = None
        self.writer: str | None = None
        self.cls: Classification | None = None
        self.errant: Gap | None = None  # the saved errant transactions (discard only)
        self.orphans: list[str] = []
        self.reverse = False  # the writer replicates from the node (dual master)

    def params(self) -> dict[str, Any]:
        return {"node": self.node, "writer": self.writer, "discard_errant": self.discard_errant}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        facts = self.facts = await gather(ctx)
        n = self.node
        c = self.cluster
        checks: list[Check] = []
        w = writer(facts.snap)
        self.writer = w.node
        if w.node != n:
            await reread_writer(ctx, facts, w.node)
        if not w.node or w.node == n:
            checks.append(
                Check(
                    "a current writer other than the node",
                    F,
                    f"{n} is the writer ({w.how})" if w.node == n else w.how,
                    "fail the VIP over to another master first"
                    if w.node == n
                    else "resolve the writer question first (see the console's alerts)",
                )
            )
            return checks
        checks.append(Check("a current writer other than the node", P, f"{w.node} ({w.how})"))
        st, ws = facts.status.get(n), facts.status.get(w.node)
        if n in facts.ssh_errors:
            checks.append(Check(f"{n} reachable over SSH", F, facts.ssh_errors[n], "bring sshd back"))
        if st is None or not st.up:
            fix = f"start mysqld on {n} (with read_only=ON in its my.cnf, so it takes no writes)"
            return [*checks, down_check(f"MySQL on {n} answers", st, fix)]
        if ws is None or not ws.up:
            return [*checks, down_check(f"MySQL on the writer {w.node} answers", ws)]
        # a writer VIP would bring it client writes; a reader VIP (MMM, seed 003's second VIP)
        # serves reads a replica may serve, and leaves a replica that falls behind by itself.
        # (Any VIP refused every MMM rejoin of a node holding its reader VIP: the chaos soak.)
        held = [v.address for v in vip_views(facts.snap) if n in v.holders and v.role == VipRole.WRITER]
        checks.append(
            Check(
                f"{n} holds no writer VIP",
                F if held else P,
                f"holds {', '.join(held)}" if held else "none",
                "it must not take client writes: stop its keepalived" if held else "",
            )
        )
        checks.append(
            Check(
                f"{n} read-only",
                P if st.read_only else W,
                "read_only=ON" if st.read_only else "writable now: the first step fences it",
            )
        )
        # The writer's GTIDs again, read after the node's: while it takes writes, a node reading
        # newer than the writer's showed the writer's own latest transactions as "errant" (the
        # chaos soak: MMM rejoins refused as diverged by 1-1-14296..14299, db1's own).
        ws = await ctx.access.sql(w.node).status()
        if not ws.up:
            checks.append(Check(f"MySQL on the writer {w.node} answers", F, ws.error or "does not answer", ""))
            return checks
        mariadb = bool(ws.version and ws.version.is_mariadb)
        head = await writer_first_head(ctx, w.node, ws, mariadb)
        writer_pulls = pulls_from(facts.snap, ws, n)
        self.cls = cl = classify(st, ws, head, writer_pulls=writer_pulls)
        ctx.facts.update({"writer": w.node, "standing": str(cl.standing)})
        verdict = {Standing.IDENTICAL: P, Standing.BEHIND: P, Standing.DIVERGED: F, Standing.IRRECOVERABLE: F}
        fix = ""
        if cl.standing == Standing.DIVERGED:
            fix = (
                f"keep them: `hatui repair-gap --from {n} --to {w.node}` copies them to the writer, then rejoin; "
                f"or discard them: `hatui rejoin {n} --discard-errant` saves them to a file, then rolls them "
                f"back on {n}"
            )
            if self.discard_errant:
                verdict[Standing.DIVERGED] = W
        elif cl.standing == Standing.IRRECOVERABLE:
            fix = f"re-clone {n} from {w.node} (mariabackup / CLONE), then rejoin"
        checks.append(Check(f"{n} against {w.node}: {cl.standing}", verdict[cl.standing], cl.reason, fix))
        if mariadb:
            checks += self._domains_check(st, ws)
        if cl.standing == Standing.DIVERGED and self.discard_errant and writer_pulls:
            checks.append(
                Check(
                    f"the writer {w.node} does not replicate from {n}",
                    F,
                    f"{w.node} replicates from {n} now: what {n} wrote itself reaches {w.node} whatever is "
                    f"done here, and discarding would reset the binlogs {w.node} reads (error 1236)",
                    f"wait for {w.node}'s channel from {n} to bring them and rejoin without --discard-errant; "
                    f"to drop them instead, stop that channel first (STOP SLAVE on {w.node})",
                )
            )
        elif cl.standing == Standing.DIVERGED and self.discard_errant:
            checks += await self._save_errant(ctx, st, ws, mariadb)
        # the reverse channel of a dual-master pair, and replicas still pulling from the node
        snap = facts.snap
        # a master candidate of a dual-master pair gets its reverse channel back; a replica not
        writer_vip_nodes = {x for v in c.vips if v.role == "writer" for x in (v.nodes or c.nodes)}
        self.reverse = (
            c.topology == Topology.DUAL_MASTER and c.nodes[n].has_role(Role.KEEPALIVED) and n in writer_vip_nodes
        ) or any(node_for_host(snap, ch.source_host or "") == n for ch in ws.channels)
        pulling = [
            o
            for o, s in facts.status.items()
            if o not in (n, w.node)
            and s.up
            and any(node_for_host(snap, ch.source_host or "") == n for ch in s.channels)
        ]
        self.orphans = []
        discarding_here = cl.standing == Standing.DIVERGED and self.discard_errant
        for o in pulling:
            ocl = classify(facts.status[o], ws, head)
            ok = ocl.standing in (Standing.IDENTICAL, Standing.BEHIND)
            if ok:
                self.orphans.append(o)
            # a diverged replica is left alone (never repointed silently): it needs its own rejoin.
            # Not when this rejoin discards: RESET MASTER would take the binlogs it reads from
            # under it (found by the chaos soak: its IO thread stopped on error 1236).
            if ok:
                verdict_o, why, fix_o = P, ocl.reason, ""
            elif discarding_here:
                verdict_o = F
                why = f"{ocl.reason}; the discard's RESET MASTER on {n} would break it"
                fix_o = f"`hatui rejoin {o} --discard-errant` first (it replicates from {n})"
            else:
                verdict_o, why = W, f"{ocl.reason}; it is left as it is"
                fix_o = f"`hatui rejoin {o}` after this one (it lists and can save/discard what it holds)"
            checks.append(Check(f"{o} (still replicating from {n}) can follow {w.node}", verdict_o, why, fix_o))
        if not st.channels and c.nodes[w.node].mysql.replication is None:
            checks.append(
                Check(
                    f"credentials for {n}'s channel from {w.node}",
                    F,
                    f"{n} has no replication channel and the cluster file has no mysql.replication account",
                    "add mysql.replication to the cluster file",
                )
            )
        if self.reverse and not any(node_for_host(snap, ch.source_host or "") == n for ch in ws.channels):
            acct = c.nodes[w.node].mysql.replication
            checks.append(
                Check(
                    f"credentials for {w.node}'s channel from {n}",
                    P if acct else F,
                    f"mysql.replication ({acct.user})"
                    if acct
                    else "the channel does not exist and the cluster file has no mysql.replication account",
                    "" if acct else "add mysql.replication to the cluster file",
                )
            )
        if c.nodes[n].has_role(Role.KEEPALIVED):
            checks.append(
                Check(
                    f"keepalived on {n} will not take the VIP back",
                    P if facts.nopreempt.get(n) else W,
                    "nopreempt"
                    if facts.nopreempt.get(n)
                    else "no nopreempt: a higher priority would preempt the writer",
                    ""
                    if facts.nopreempt.get(n)
                    else "hatui lowers its tracked priority; better: state BACKUP + nopreempt on every node (seed 000)",
                )
            )
        return checks

    def _domains_check(self, st: MysqlStatus, ws: MysqlStatus) -> list[Check]:
        """A MariaDB position holds one GTID per domain: when two masters wrote in one domain,
        it cannot say where in the writer's binlog the node should continue."""
        mine = gapmod.maria_state(st.gtid_binlog_state, st.gtid_slave_pos)
        theirs = gapmod.maria_state(ws.gtid_binlog_state, ws.gtid_slave_pos)
        servers: dict[int, set[int]] = {}
        for d, sid in [*mine, *theirs]:
            servers.setdefault(d, set()).add(sid)
        risky = [
            d
            for d, sids in sorted(servers.items())
            if len(sids) > 1
            and {k: v for k, v in mine.items() if k[0] == d} != {k: v for k, v in theirs.items() if k[0] == d}
        ]
        if not risky:
            return [Check("GTID domains", P, "each domain has one writing server, or both sides agree on it")]
        return [
            Check(
                "GTID domains",
                F,
                f"domain(s) {', '.join(map(str, risky))} hold transactions of several "
                "servers that the two sides do not share: a GTID position cannot say where to continue",
                "give every master its own gtid_domain_id (MariaDB's advice for multi-master), and rejoin "
                "this node by hand or by re-clone",
            )
        ]

    async def _save_errant(self, ctx: RunContext, st: MysqlStatus, ws: MysqlStatus, mariadb: bool) -> list[Check]:
        checks: list[Check] = []
        if not mariadb:
            return [
                Check(
                    "errant transactions can be rolled back",
                    F,
                    "on MySQL hatui does not un-execute GTIDs",
                    f"re-clone {self.node} from the writer",
                )
            ]
        g, (columns, pk, unix_ts) = await save_errant(ctx, self.cluster, self.node, ws, checks, base_dir=self.base_dir)
        if g is None:
            return checks
        self.errant = g
        folder = g.folder
        ddl = [t for t in g.missing if t.ddl]
        checks.append(
            Check(
                "errant transactions can be rolled back row by row",
                F if ddl else P,
                f"{len(ddl)} DDL among them ({ddl[0].gtid})" if ddl else "row changes only",
                f"re-clone {self.node}" if ddl else "",
            )
        )
        self._meta = (columns, pk, unix_ts)
        ctx.facts["errant_folder"] = str(folder)
        if not ddl:
            stuck = []
            seen = set()
            for t in reversed(g.missing):
                for r in reversed(t.rows):
                    key = _row_key(r, pk)
                    if key in seen:
                        continue
                    seen.add(key)
                    what = await _undo_kind(ctx, self.node, self.writer or "", r, pk, columns, unix_ts)
                    if what == "conflict":
                        stuck.append(f"{t.gtid} {r.schema}.{r.table} {key[2]}")
            checks.append(
                Check(
                    "every errant row is still as the errant change left it",
                    F if stuck else P,
                    f"{len(stuck)} row(s) changed since by something else: {', '.join(stuck[:5])}"
                    if stuck
                    else "or already equal to the writer's row (nothing to undo there)",
                    f"re-clone {self.node}" if stuck else "",
                )
            )
        return checks

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        facts, n, w, c = self.facts, self.node, self.writer, self.cluster
        st = facts.status.get(n) if facts else None
        ws = facts.status.get(w) if facts and w else None
        if facts is None or not w or st is None or ws is None or st.version is None or ws.version is None:
            return []  # preflight refused: nothing to plan
        snap = facts.snap
        d, dw = dialect_for(st.version), dialect_for(ws.version)
        mariadb = dw.is_mariadb
        wh, wport = c.nodes[w].host, c.nodes[w].mysql.port
        nh, nport = c.nodes[n].host, c.nodes[n].mysql.port
        discarding = bool(self.cls and self.cls.standing == Standing.DIVERGED and self.discard_errant and self.errant)

        def channel_from(status: MysqlStatus, source: str, host: str) -> ReplicationChannel | None:
            return next(
                (
                    x
                    for x in status.channels
                    if node_for_host(snap, x.source_host or "") == source or x.source_host == host
                ),
                None,
            )

        def account(of: str) -> tuple[str | None, str | None]:
            """The replication account, for a channel that does not exist yet (masked when shown)."""
            acct = c.nodes[of].mysql.replication
            return (acct.user, resolve_password(acct)) if acct else (None, None)

        steps = [op_step("fence", f"Make {n} read-only", [SetWritable(n, d, False)], 15, undoable=False)]
        if discarding:
            steps.append(self._discard_step(n, w, d, st, ws))

        ch = channel_from(st, w, wh) or (st.channels[0] if st.channels else None)
        name = ch.name if ch else ""
        user, password = account(w) if ch is None else (None, None)
        # the discard stopped every channel and set the position already
        chans = [x.name for x in st.channels]
        repoint = repoint_ops(
            n, d, chans, wh, wport, [name], user, password, exists=ch is not None, positioned=discarding
        )
        how = "GTID positions" if mariadb else "GTID auto-positioning"
        steps.append(op_step("repoint", f"Replicate {n} from {w} with {how}", repoint, 60, commits=not discarding))
        wpos = Slot("the writer's position")
        steps.append(
            op_step(
                "catch_up",
                f"Wait until {n} has caught up with {w}",
                [ReadPosition(w, dw, True, wpos), WaitFor(n, d, wpos, self.catch_up_timeout, name)],
                self.catch_up_timeout + 15,
            )
        )
        if self.reverse:
            rch = channel_from(ws, n, nh)
            rname = rch.name if rch else ""
            ruser, rpassword = account(w) if rch is None else (None, None)
            # the writer asks the node for the writer's own latest GTID: the node must have it first
            rpos = Slot("the writer's position")
            reverse: list[Op] = [ReadPosition(w, dw, True, rpos), WaitFor(n, d, rpos, 30, name)]
            wchans = [x.name for x in ws.channels]
            reverse += repoint_ops(w, dw, wchans, nh, nport, [rname], ruser, rpassword, exists=rch is not None)
            if mariadb:  # the channels all stopped for gtid_slave_pos: the others that ran start again
                others = [x for x in ws.channels if x.name != rname and x.io_running and x.sql_running]
                reverse += [StartReplica(w, dw, x.source_host or "", x.name) for x in others]
            steps.append(op_step("reverse", f"Restore the reverse channel: {w} replicates from {n}", reverse, 90))
        orphans: list[Op] = []
        for o in self.orphans:
            so = facts.status[o]
            if so.version is None:
                continue
            do = dialect_for(so.version)
            for x in so.channels:
                if node_for_host(snap, x.source_host or "") == n or x.source_host == nh:
                    orphans.append(ChangeSource(o, do, wh, wport, x.name))
        if orphans:
            steps.append(
                op_step("orphans", f"Repoint {', '.join(self.orphans)} (still pulling from {n}) to {w}", orphans, 90)
            )
        if c.nodes[n].has_role(Role.KEEPALIVED):
            steps.append(self._keepalived_step(n, w))
        steps.append(self._verify_step(n, w))
        return steps

    def _keepalived_step(self, n: str, w: str) -> Step:
        facts = self.facts
        assert facts is not None
        pf = self.cluster.nodes[n].keepalived.priority_file
        base_n, base_w = facts.priority.get(n), facts.priority.get(w)
        # below the writer's priority, so it never preempts even without nopreempt
        low = min(0, base_w - base_n - 1) if base_n is not None and base_w is not None else 0
        command = f"printf '%s\\n' {int(low)} > {shlex.quote(str(pf))}" if pf is not None and low else None
        proc = facts.snap.value(n, Kind.KEEPALIVED)

        async def keepalived(ctx: RunContext) -> str:
            if command is not None:
                await ctx.access.ssh(n, command, sudo=True)
            if proc is None or not proc.running:
                raise StepFailed(
                    f"keepalived is not running on {n}: start it yourself (as BACKUP, nopreempt); "
                    "hatui does not start services"
                )
            return f"keepalived on {n} stays BACKUP" + (f" (priority file {low} below {w})" if low else "")

        return Step(
            "keepalived",
            f"keepalived on {n} stays BACKUP (the VIP does not flap back)",
            [Action(n, "ssh", command)] if command else [],
            keepalived,
            15,
        )

    def _verify_step(self, n: str, w: str) -> Step:
        c = self.cluster

        async def verify(ctx: RunContext) -> str:  # reads only
            st2 = await ctx.access.sql(n).status()
            ws2 = await ctx.access.sql(w).status()
            # the reverse channel, started by this rejoin, brings what n wrote itself
            cl = classify(st2, ws2, None, writer_pulls=self.reverse and any(ch.io_running for ch in ws2.channels))
            if cl.standing == Standing.DIVERGED:
                raise StepFailed(f"{n} has errant transactions: {cl.errant}")
            if not st2.read_only:
                raise StepFailed(f"{n} is writable")
            bad = [ch.name or "(default)" for ch in st2.channels if not (ch.io_running and ch.sql_running)]
            if bad:
                raise StepFailed(f"{n}'s replication is not running: {bad}")
            healthy = f"{n} is a healthy read-only replica of {w} with no errant transactions"
            if not vips:
                return healthy
            out = await ctx.access.ssh(w, "ip -j addr", read=True)
            missing = [v for v in vips if f'"{v}"' not in out]
            if missing:
                raise StepFailed(f"VIP {', '.join(missing)} is no longer on {w}")
            return f"{healthy}; the VIP stays on {w}"

        # the writer VIPs that live on the databases; behind routers (seed 002) the VIP is the
        # routers' and never on {w}: found by the chaos soak, this step failed every rejoin there
        vips = [str(v.address) for v in c.vips if v.role == "writer" and (v.nodes is None or w in v.nodes)]
        title = f"Verify {n} is a healthy replica" + (f" and the VIP stayed on {w}" if vips else "")
        return Step("verify", title, [], verify, 30)

    def _discard_step(self, n: str, w: str, d: Dialect, st: MysqlStatus, ws: MysqlStatus) -> Step:
        g = self.errant
        assert g is not None
        keep = without_errant(st, ws)
        sent: list[Action] = []  # what the run sent: the plan read back after it

        async def discard(ctx: RunContext) -> str:
            columns, pk, unix_ts = self._meta
            sql = ctx.access.sql(n)
            sent.clear()

            async def send(stmt: Statement | str, show: str | None = None) -> None:
                text = stmt.redacted() if isinstance(stmt, Statement) else stmt
                sent.append(Action(n, "sql", show or text))
                await sql.execute(stmt, show=show)

            for ch in st.channels:  # rows must not move while they are undone
                await send(d.stop_replica(ch.name))
            await send(
                "SET SESSION sql_log_bin = 0", "SET SESSION sql_log_bin = 0 (the undo is not replicated anywhere)"
            )
            undone = 0
            try:
                for t in reversed(g.missing):
                    for r in reversed(t.rows):
                        what = await _undo_kind(ctx, n, w, r, pk, columns, unix_ts)
                        if what == "converged":
                            ctx.note(f"{t.gtid}: {r.schema}.{r.table} row already as on {w}: nothing to undo")
                            continue
                        if what == "conflict":
                            raise StepFailed(
                                f"{t.gtid}: a row of {r.schema}.{r.table} changed since the errant "
                                f"change and differs from {w}'s: stopped (re-clone {n})"
                            )
                        text, args = inverse(
                            r,
                            pk.get((r.schema, r.table), []),
                            columns[(r.schema, r.table)],
                            unix_ts.get((r.schema, r.table), frozenset()),
                        )
                        stmt = Statement(text, tuple(args))
                        await send(stmt, f"undo {t.gtid}: {stmt.redacted()}")
                    undone += 1
            finally:
                await send("SET SESSION sql_log_bin = 1")
            await send(
                "RESET MASTER", f"RESET MASTER (its binlogs still hold the errant events; they are saved in {g.folder})"
            )
            await send(Statement("SET GLOBAL gtid_binlog_state = %s", (keep,)))
            await send(Statement("SET GLOBAL gtid_slave_pos = %s", (keep,)))
            return f"rolled back {undone} errant transaction(s) on {n}; its GTID state is now {keep or 'empty'}"

        planned = [
            *(Action(n, "sql", str(d.stop_replica(ch.name))) for ch in st.channels),
            Action(n, "sql", "SET SESSION sql_log_bin = 0 (the undo is not replicated anywhere)"),
            Action(n, "sql", "<the inverse of each errant row change, newest first>"),
            Action(n, "sql", "SET SESSION sql_log_bin = 1"),
            Action(n, "sql", f"RESET MASTER (its binlogs still hold the errant events; they are saved in {g.folder})"),
            Action(n, "sql", Statement("SET GLOBAL gtid_binlog_state = %s", (keep,)).redacted()),
            Action(n, "sql", Statement("SET GLOBAL gtid_slave_pos = %s", (keep,)).redacted()),
        ]

        class Discard(Step):
            def actions(self) -> list[Action]:
                return list(sent) if sent else planned

        return Discard(
            "discard",
            f"Roll back {len(g.missing)} errant transaction(s) on {n} (saved in {g.folder})",
            [],
            discard,
            600,
            commits=True,
        )


def _row_key(r: RowChange, pk: dict[tuple[str, str], list[int]]) -> tuple[str, str, tuple[str, ...]]:
    image = r.after if r.after is not None else r.before or {}
    keys = pk.get((r.schema, r.table)) or sorted(image)
    return (r.schema, r.table, tuple(image.get(k, "NULL") for k in keys))


async def _current_row(
    sql, r: RowChange, pk: list[int], columns: list[str], unix_ts: set[int] | frozenset[int] = frozenset()
) -> dict[int, Any] | None:
    image = r.after if r.after is not None else r.before or {}
    keys = pk or sorted(image)
    where = " AND ".join(f"{q(columns[k - 1])} <=> " + ("FROM_UNIXTIME(%s)" if k in unix_ts else "%s") for k in keys)
    select = ", ".join(f"UNIX_TIMESTAMP({q(c)})" if i + 1 in unix_ts else q(c) for i, c in enumerate(columns))
    args = [gapmod.literal_param(image[k]) for k in keys]
    rows = await sql.query(f"SELECT {select} FROM {q(r.schema)}.{q(r.table)} WHERE {where} LIMIT 1", tuple(args))
    return {i + 1: v for i, v in enumerate(rows[0].values())} if rows else None


def _matches(row: dict[int, Any] | None, image: dict[int, str] | None) -> bool:
    if row is None or image is None:
        return row is None and image is None
    try:
        return all(gapmod.same_value(gapmod.literal_value(t), row.get(pos)) for pos, t in image.items())
    except ValueError:
        return False


async def _undo_kind(
    ctx: RunContext,
    node: str,
    w: str,
    r: RowChange,
    pk: dict[tuple[str, str], list[int]],
    columns: dict[tuple[str, str], list[str]],
    unix_ts: dict[tuple[str, str], set[int]] | None = None,
) -> str:
    """How one errant row change is undone: "converged" (the node's row already equals the
    writer's: replication overwrote it), "invert" (the row is as the change left it), or
    "conflict" (something else changed it: undoing could not give the writer's row)."""
    keys, cols = pk.get((r.schema, r.table), []), columns[(r.schema, r.table)]
    ts: set[int] | frozenset[int] = (unix_ts or {}).get((r.schema, r.table), frozenset())
    mine = await _current_row(ctx.access.sql(node), r, keys, cols, ts)
    if keys and w:
        theirs = await _current_row(ctx.access.sql(w), r, keys, cols, ts)
        if mine == theirs:
            return "converged"
    return "invert" if _matches(mine, r.after) else "conflict"


async def save_errant(
    ctx: RunContext, cluster: Cluster, node: str, ws: MysqlStatus, checks: list[Check], *, base_dir: Path | None = None
) -> tuple[Gap | None, Any]:
    """MariaDB: the transactions `node` holds and `ws`'s server lacks, read from its binlogs on
    disk, saved as replayable SQL with its sha256 and a preview in a private recovery folder
    (checks: what was found or why not). Returns the gap (None when it could not be read) and
    the touched tables' (columns, primary keys, TIMESTAMP columns)."""
    g = Gap.new(base_dir, cluster, f"{node}-errant", True)
    folder = g.folder
    files = from_variables((await ctx.access.sql(node).query(FILES_SQL))[0])
    have = gapmod.Have.of(True, ws.gtid_binlog_state, ws.gtid_slave_pos)
    failed = await extract(ctx, node, files, have, g, checks, what="its errant transactions")
    g.keep_cached()  # as the download left it: this runbook's own work is small
    if failed:
        return None, ({}, {}, {})
    g.write_script("errant.sql", script_of(g, g.missing))
    meta = await table_meta(ctx, node, g.missing)
    pv = gapmod.preview(g.missing, meta[0])
    write_private(folder / "preview.txt", "\n".join(pv.lines) + "\n")
    for line in pv.summary()[:1] + pv.lines[:SHOWN]:
        ctx.note(line)
    checks.append(
        Check("errant transactions saved", P, f"{len(g.missing)} in {folder / 'errant.sql'} (sha256 {g.sha256[:12]}…)")
    )
    return g, meta
