"""Planned switchover: move the writer role and its VIP from the current writer to another master
without losing a transaction (DESIGN.md §5: what MHA, orchestrator and MySQL Shell check, and more).

The VIP moves through keepalived, never behind its back: the target's tracked priority file is
raised (a short skew time, so it takes over within milliseconds) and the old writer's is set
below -253 (FAULT: it sends a priority-0 advert and drops the VIP at once)."""

from __future__ import annotations

import asyncio
import shlex
import time
from typing import Any

from hatui.cluster import Cluster, Role
from hatui.gtid import GtidPos, GtidSet
from hatui.mysql.dialect import dialect_for
from hatui.mysql.status import MysqlStatus
from hatui.rules.errant import errant_transactions
from hatui.rules.topology import node_for_host, vip_views, writer
from hatui.runbook.access import Armed
from hatui.runbook.facts import Facts, gather, wait_channel
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict
from hatui.runbook.runner import RunContext
from hatui.ssh.errors import SshError
from hatui.state import Kind

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
BOOST = 253  # added to the target's priority (capped at 254): skew time (256-254)/256 s = 8 ms
FAULT = -254  # below -253: keepalived puts the instance in FAULT (priority-0 advert, VIP dropped)
LONG_TRX_SECONDS = 10
POLL = 0.02  # seconds between looks at a VIP or a thread during a step


def _gtid_of(st: MysqlStatus) -> str:
    return (st.gtid_binlog_pos or "") if st.version and st.version.is_mariadb else (st.gtid_executed or "")


class Switchover:
    name = "switchover"
    destructive = True

    def __init__(
        self,
        cluster: Cluster,
        target: str,
        *,
        lag_limit: float | None = None,
        catch_up_timeout: float = 30.0,
        vip_timeout: float = 10.0,
    ):
        if target not in cluster.nodes:
            raise ValueError(f"no node {target!r} in cluster {cluster.name} (nodes: {', '.join(cluster.nodes)})")
        self.cluster = cluster
        self.target = target
        self.lag_limit = cluster.thresholds.lag_warning if lag_limit is None else lag_limit
        self.catch_up_timeout = catch_up_timeout
        self.vip_timeout = vip_timeout
        self.facts: Facts | None = None
        self.old: str | None = None  # the writer, known after preflight (or from the journal)
        self._arrive: Armed | None = None  # the armed command on the target waiting for the VIP
        self._arrive_result: asyncio.Future | None = None
        self._fault: Armed | None = None  # the armed command that faults the old writer's keepalived

    async def cleanup(self) -> None:
        """Close what a step left waiting (the runner calls this however the run ended)."""
        if self._fault is not None:
            self._fault.close()  # never fired: it exits without touching anything
            self._fault = None
        if self._arrive is not None:
            self._arrive.close()
            self._arrive = None
        if self._arrive_result is not None:
            try:
                await asyncio.wait_for(self._arrive_result, 5)
            except (asyncio.CancelledError, Exception):
                pass
            self._arrive_result = None

    def params(self) -> dict[str, Any]:
        return {"to": self.target, "from": self.old}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        facts = self.facts = await gather(ctx)
        checks = self.evaluate(facts)
        if self.old and self.old in facts.status and facts.status[self.old].up:
            facts.long_trx = await _long_transactions(ctx, self.old)
            checks.append(_long_trx_check(facts.long_trx, self.old))
            problem = await _purged_problem(ctx, self.old, facts.status[self.old], facts.status.get(self.target))
            checks.append(
                Check(
                    "the writer still has every binlog the target needs",
                    F if problem else P,
                    problem or "nothing the target needs is purged",
                    "re-clone the target from the writer" if problem else "",
                )
            )
        ctx.facts.update({"from": self.old, "to": self.target})
        return checks

    def evaluate(self, facts: Facts) -> list[Check]:
        """The checks that need only what `gather` read: pure, so tests can feed recorded facts."""
        c = self.cluster
        snap = facts.snap
        t = self.target
        checks: list[Check] = []
        down = {n: e for n, e in facts.ssh_errors.items()}
        checks.append(
            Check(
                "every node reachable over SSH",
                F if down else P,
                "; ".join(f"{n}: {e}" for n, e in down.items()) or f"all {len(c.nodes)} nodes answer",
                "bring the node back or remove it from the cluster file" if down else "",
            )
        )
        vips = [v for v in vip_views(snap) if v.role == "writer"]
        w = writer(snap)
        self.old = w.node
        checks.append(
            Check(
                "exactly one writer",
                P if w.node else F,
                f"{w.node} ({w.how})" if w.node else w.how,
                "" if w.node else "resolve the writer question first (see the console's alerts)",
            )
        )
        node = c.nodes[t]
        candidates = {n for v in c.vips for n in (v.nodes or c.nodes)}
        ok_target = node.has_role(Role.MYSQL) and node.has_role(Role.KEEPALIVED) and t in candidates
        checks.append(
            Check(
                f"{t} can hold the writer VIP",
                P if ok_target else F,
                "MySQL and keepalived, listed for the VIP"
                if ok_target
                else f"{t} needs roles mysql and keepalived and to be one of the VIP's nodes",
                "" if ok_target else "pick a standby master as the target",
            )
        )
        if w.node == t:
            checks.append(Check("target differs from the writer", F, f"{t} is already the writer", "nothing to do"))
        for v in vips:
            held = list(v.holders)
            good = w.node is not None and held == [w.node]
            checks.append(
                Check(
                    f"VIP {v.address} held by the writer only",
                    P if good else F,
                    f"held by {', '.join(held) or 'nobody'}",
                    "" if good else "repair the VIP first (split brain or unheld)",
                )
            )
        ts = facts.status.get(t)
        ws = facts.status.get(w.node) if w.node else None
        if ts is None or not ts.up:
            checks.append(
                Check(
                    f"MySQL on {t} answers",
                    F,
                    (ts.error or "does not answer") if ts else "not read",
                    "start mysqld on the target",
                )
            )
        if ws is None or not ws.up:
            checks.append(
                Check(
                    "MySQL on the writer answers",
                    F,
                    (ws.error or "does not answer") if ws else "no writer",
                    "a planned switchover needs a live writer; for a dead one use failover",
                )
            )
        if ts is not None and ts.up and w.node:
            chans = [ch for ch in ts.channels if node_for_host(snap, ch.source_host or "") == w.node]
            if not chans:
                checks.append(
                    Check(
                        f"{t} replicates directly from {w.node}",
                        F,
                        f"{t} has no channel from {w.node} ("
                        + (", ".join(ch.source_host or "?" for ch in ts.channels) or "no channels")
                        + ")",
                        f"point {t} at {w.node} first",
                    )
                )
            for ch in chans:
                threads = ch.io_running and ch.sql_running
                checks.append(
                    Check(
                        f"{t} replication threads running",
                        P if threads else F,
                        f"IO {ch.io_state or ch.io_running}, SQL {'Yes' if ch.sql_running else 'No'}"
                        + (f": {ch.last_error}" if ch.last_error else ""),
                        "" if threads else f"fix and START SLAVE on {t}, then try again",
                    )
                )
                lag_ok = ch.lag_seconds is not None and ch.lag_seconds <= self.lag_limit
                checks.append(
                    Check(
                        f"{t} lag under {self.lag_limit:g} s",
                        P if lag_ok else F,
                        "lag unknown (SQL thread stopped?)"
                        if ch.lag_seconds is None
                        else f"{ch.lag_seconds:g} s behind",
                        "" if lag_ok else "wait until it catches up",
                    )
                )
            if ws is not None and ws.up:
                errant = errant_transactions(ts, ws)
                checks.append(
                    Check(
                        f"no errant transactions on {t}",
                        F if errant else P,
                        f"{t} has transactions {w.node} never had: {errant}" if errant else "none",
                        f"inspect them; `hatui rejoin` or remove them on {t}" if errant else "",
                    )
                )
            checks.append(
                Check(
                    f"binary log on {t}",
                    P if ts.log_bin else F,
                    "log_bin=ON" if ts.log_bin else "log_bin is OFF: replicas could not follow it",
                    "" if ts.log_bin else "enable log_bin (needs a restart)",
                )
            )
        for n in (w.node, t):
            if n is None or not c.nodes[n].has_role(Role.KEEPALIVED):
                continue
            proc = snap.value(n, Kind.KEEPALIVED)
            running = proc is not None and proc.running
            checks.append(
                Check(
                    f"keepalived running on {n}",
                    P if running else F,
                    "running" if running else "not running",
                    "" if running else f"start keepalived on {n}",
                )
            )
            pf = c.nodes[n].keepalived.priority_file
            tracked = facts.tracked.get(n, False)
            checks.append(
                Check(
                    f"keepalived on {n} tracks the priority file",
                    P if tracked else F,
                    f"{pf} is tracked"
                    if tracked
                    else (
                        "no keepalived.priority_file in the cluster file"
                        if pf is None
                        else f"{pf} is not in {c.nodes[n].keepalived.config}"
                    ),
                    ""
                    if tracked
                    else "add to keepalived.conf: track_file hatui_priority { file "
                    f'"{pf or "/etc/keepalived/hatui_priority"}" weight 1 init_file 0 overwrite }} '
                    "and `track_file { hatui_priority }` in the instance; set "
                    "keepalived.priority_file in the cluster file",
                )
            )
            if n == (w.node or "") and not facts.nopreempt.get(n, True):
                checks.append(
                    Check(
                        f"nopreempt on {n}",
                        W,
                        "preempt is on: a restarted keepalived on the old writer would take the VIP back",
                        "use state BACKUP + nopreempt on every node (seed 000)",
                    )
                )
        others = [
            n
            for n, st in facts.status.items()
            if n not in (t, w.node)
            and st.up
            and any(node_for_host(snap, ch.source_host or "") == w.node for ch in st.channels)
        ]
        if others:
            checks.append(Check("replicas to repoint", P, f"{', '.join(others)} will follow {t}"))
        return checks

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        c = self.cluster
        old = self.old or ctx.facts.get("from") or "<writer>"
        t = self.target
        vip = next((v for v in c.vips if v.role == "writer"), c.vips[0] if c.vips else None)
        addr = str(vip.address) if vip else "<vip>"
        pf_t = c.nodes[t].keepalived.priority_file
        pf_o = c.nodes[old].keepalived.priority_file if old in c.nodes else None
        old_mysql = c.nodes[old].mysql if old in c.nodes else None
        monitor = old_mysql.monitor.user if old_mysql and old_mysql.monitor else ""
        admin = old_mysql.admin.user if old_mysql and old_mysql.admin else ""
        facts = self.facts
        snap = facts.snap if facts else None
        replicas = []
        dual = False
        if facts and snap:
            replicas = [
                n
                for n, st in facts.status.items()
                if n not in (t, old)
                and st.up
                and any(node_for_host(snap, ch.source_host or "") == old for ch in st.channels)
            ]
            ws = facts.status.get(old)
            dual = bool(ws and ws.up and any(node_for_host(snap, ch.source_host or "") == t for ch in ws.channels))
        replicas = ctx.facts.setdefault("replicas", replicas)
        dual = ctx.facts.setdefault("dual", dual)
        ws = facts.status.get(old) if facts else None
        d_old = dialect_for(ws.version) if ws is not None and ws.version else None
        fence_plan = (
            [Action(old, "sql", st.redacted()) for st in d_old.fence(True)]
            if d_old
            else [Action(old, "sql", "SET GLOBAL read_only = ON (+ super_read_only = ON on MySQL)")]
        )
        fence_plan.append(Action(old, "sql", "KILL CONNECTION <each application session>"))
        pos_sql = (
            ("SELECT @@global.gtid_binlog_pos" if d_old.is_mariadb else "SELECT @@global.gtid_executed")
            if d_old
            else "SELECT @@global.gtid_binlog_pos / gtid_executed"
        )
        wait_fn = (
            ("MASTER_GTID_WAIT" if d_old.is_mariadb else "WAIT_FOR_EXECUTED_GTID_SET")
            if d_old
            else "MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET"
        )

        async def set_writable(node: str, on: bool) -> None:
            """Lift (on) or apply the node's fence, then check @@read_only says so."""
            sql = ctx.access.sql(node)
            d = await sql.dialect()
            for stmt in d.fence(not on):
                await sql.execute(stmt)
            ro = await sql.query("SELECT @@global.read_only AS ro")
            if int(ro[0]["ro"]) != (0 if on else 1):
                raise StepFailed(f"{node} is still {'read-only' if on else 'writable'} after SET GLOBAL read_only")

        async def position(node: str) -> str:
            """The node's own GTID position: gtid_binlog_pos (MariaDB) or gtid_executed (MySQL)."""
            sql = ctx.access.sql(node)
            d = await sql.dialect()
            q = "SELECT @@global.gtid_binlog_pos AS pos" if d.is_mariadb else "SELECT @@global.gtid_executed AS pos"
            return str((await sql.query(q))[0]["pos"] or "").replace("\n", "")

        async def end_sessions(sql) -> int:
            rows = await sql.query(
                "SELECT ID, USER, HOST, COMMAND, TIME FROM information_schema.PROCESSLIST "
                "WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', "
                "'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker') "
                "AND USER NOT IN ('system user', 'event_scheduler', %s, %s)",
                (monitor, admin),
            )
            killed = 0
            for r in rows:
                await sql.execute(
                    f"KILL CONNECTION {int(r['ID'])}",
                    show=f"KILL CONNECTION {int(r['ID'])}  -- {r['USER']}@{r['HOST']}",
                    benign={1094: f"session {int(r['ID'])} had already ended"},
                )
                killed += 1
            return killed

        async def prepare(ctx: RunContext) -> str:
            # Opening an SSH channel costs ~0.1 s, and sshd stalls the connection's other
            # channels meanwhile (the SQL port forward too): open both before the pause begins.
            await arm_fault(ctx)
            await watch_vip_arrive(ctx, self.catch_up_timeout + self.vip_timeout + 60)
            return f"ready: {old} will drop the VIP on one packet; {t} watches for it"

        async def disarm(ctx: RunContext) -> str:
            await self.cleanup()
            return "nothing armed any more"

        async def fence(ctx: RunContext) -> str:
            # Why not FLUSH TABLES WITH READ LOCK (writes would wait instead of failing): a client
            # waiting on the old writer when the VIP leaves it is stuck on a dead connection
            # until its own read timeout. Ended sessions reconnect and get a fast 1290 instead.
            ctx.facts["fenced"] = True
            await set_writable(old, False)
            killed = await end_sessions(ctx.access.sql(old))
            return f"{old} is read-only; {killed} application session(s) ended"

        async def unfence(ctx: RunContext) -> str:
            await set_writable(old, True)
            return f"{old} takes writes again"

        async def final_position(ctx: RunContext) -> str:
            pos = ctx.facts["final"] = await position(old)
            return f"{old} stopped at {pos or '(no GTID yet)'}"

        async def catch_up(ctx: RunContext) -> str:
            pos = ctx.facts.get("final", "")
            if not pos:
                return "nothing to wait for"
            sql = ctx.access.sql(t)
            d = await sql.dialect()
            wait = min(self.catch_up_timeout, 3600)
            rows = await sql.execute(d.wait_for_gtid(pos, wait), timeout=wait + 5)
            if not d.gtid_wait_reached(rows[0]["reached"] if rows else None):
                raise StepFailed(f"{t} did not execute {pos} within {wait:g} s")
            return f"{t} has executed {pos}"

        async def unchanged(ctx: RunContext) -> str:
            before = ctx.facts.get("final", "")
            now = await position(old)
            if now != before:
                raise StepFailed(
                    f"{old} moved from {before} to {now} after it was fenced: a session "
                    f"with SUPER / READ ONLY ADMIN is still writing"
                )
            return f"{old} still at {now}"

        async def write_priority(ctx: RunContext, node: str, value: int) -> None:
            pf = c.nodes[node].keepalived.priority_file
            assert pf is not None
            await ctx.access.ssh(node, f"printf '%s\\n' {int(value)} > {shlex.quote(str(pf))}", timeout=5, sudo=True)

        def wait_cmd(present: bool, seconds: float) -> str:
            # one round trip that returns as soon as the address shows up (or goes away) on the
            # node, instead of polling over SSH: the write pause is what the client sees
            test = f"ip -o addr show to {shlex.quote(addr)} | grep -q ."
            cond = test if present else f"! {{ {test}; }}"
            n = max(1, int(seconds / 0.01))
            return f"i=0; while [ $i -lt {n} ]; do if {cond}; then exit 0; fi; sleep 0.01; i=$((i+1)); done; exit 1"

        async def wait_vip(node: str, present: bool, seconds: float) -> bool:
            try:
                await ctx.access.ssh(node, wait_cmd(present, seconds), read=True, timeout=seconds + 5)
                return True
            except SshError:
                return False

        async def watch_vip_arrive(ctx: RunContext, seconds: float) -> None:
            # a channel on the target that returns within ~10 ms of the VIP arriving
            if self._arrive is None:
                self._arrive = await ctx.access.arm(t, wait_cmd(True, seconds), show=f"wait until {addr} is on {t}")
                self._arrive.fire()
                self._arrive_result = asyncio.ensure_future(self._arrive.result(seconds + 5))

        async def arm_fault(ctx: RunContext) -> None:
            # the channel that will fault the old writer is opened before the pause begins;
            # firing it is one packet, not a ~0.1 s exec round trip
            if self._fault is None:
                pf = c.nodes[old].keepalived.priority_file
                assert pf is not None
                self._fault = await ctx.access.arm(
                    old,
                    f"printf '%s\\n' {FAULT} > {shlex.quote(str(pf))} && " + wait_cmd(False, self.vip_timeout),
                    show=f"printf '%s\\n' {FAULT} > {pf}; wait until {addr} is gone",
                    sudo=True,
                )

        async def move_vip(ctx: RunContext) -> str:
            t0 = time.monotonic()
            await watch_vip_arrive(ctx, self.vip_timeout)
            if not ctx.facts.get("boosted"):
                await write_priority(ctx, t, BOOST)
            await arm_fault(ctx)
            assert self._fault is not None
            self._fault.fire()
            try:
                await self._fault.result(self.vip_timeout + 5)
                off_old = True
            except Exception:
                off_old = False
            finally:
                self._fault = None
            try:
                assert self._arrive_result is not None
                await asyncio.wait_for(self._arrive_result, self.vip_timeout + 5)
                on_t = True
            except Exception:
                on_t = False
            finally:
                self._arrive = self._arrive_result = None
            if on_t and off_old:
                ctx.facts["vip_moved"] = True
                return f"VIP {addr} on {t} {time.monotonic() - t0:.3f} s after the move began"
            raise StepFailed(
                f"VIP {addr} not on {t} alone within {self.vip_timeout:g} s "
                f"(on {t}: {on_t}, gone from {old}: {off_old})"
            )

        async def vip_back(ctx: RunContext) -> str:
            await write_priority(ctx, t, 0)
            await write_priority(ctx, old, 0)
            on_old, off_t = await asyncio.gather(wait_vip(old, True, 20), wait_vip(t, False, 20))
            if on_old and off_t:
                return f"VIP {addr} back on {old}"
            raise StepFailed(f"VIP {addr} did not come back to {old} alone within 20 s")

        async def boost(ctx: RunContext) -> str:
            await write_priority(ctx, t, BOOST)
            ctx.facts["boosted"] = True
            return f"{t}'s priority raised by {BOOST} (nopreempt: it waits until {old} leaves)"

        async def unboost(ctx: RunContext) -> str:
            await write_priority(ctx, t, 0)
            return f"{t}'s priority back to its configured value"

        async def read_only_again(ctx: RunContext) -> str:
            await set_writable(t, False)
            return f"{t} read-only again"

        async def writable(ctx: RunContext) -> str:
            await set_writable(t, True)
            return f"{t} takes writes"

        async def settle_priorities(ctx: RunContext) -> str:
            base_t = _base_priority(facts, t)
            base_o = _base_priority(facts, old)
            keep_low = min(0, base_t - base_o - 1) if base_t is not None and base_o is not None else 0
            await write_priority(ctx, t, 0)
            await write_priority(ctx, old, keep_low)
            return f"{t} back to its configured priority; {old} leaves FAULT as BACKUP" + (
                f" with {keep_low} so it never preempts {t}" if keep_low else ""
            )

        async def repoint(ctx: RunContext) -> str:
            done = []
            th = c.nodes[t].host
            for r in ctx.facts.get("replicas", []):
                sql = ctx.access.sql(r)
                d = await sql.dialect()
                st = await sql.status()
                for ch in st.channels:
                    src = node_for_host(facts.snap, ch.source_host or "") if facts else None
                    if src != old and (ch.source_host or "") != c.nodes[old].host:
                        continue
                    await sql.execute(d.stop_replica(ch.name))
                    await sql.execute(d.change_source(th, c.nodes[t].mysql.port, channel=ch.name, use_gtid="slave_pos"))
                    await sql.execute(d.start_replica(ch.name))
                    await wait_channel(sql, ch.name, th, 15)
                    done.append(r)
            return f"{', '.join(done)} now replicate from {t}" if done else "no other replicas"

        async def old_follows(ctx: RunContext) -> str:
            sql = ctx.access.sql(old)
            d = await sql.dialect()
            st = await sql.status()
            th = c.nodes[t].host
            ch = next(
                (
                    ch
                    for ch in st.channels
                    if ch.source_host == th or (facts and node_for_host(facts.snap, ch.source_host or "") == t)
                ),
                None,
            )
            if ch is None:
                named = next(iter(st.channels), None)
                if named is None:
                    raise StepFailed(
                        f"{old} has no replication channel to repoint: run CHANGE MASTER TO "
                        f"MASTER_HOST='{th}', MASTER_USER=..., MASTER_USE_GTID=slave_pos on it"
                    )
                await sql.execute(d.stop_replica(named.name))
                await sql.execute(d.change_source(th, c.nodes[t].mysql.port, channel=named.name))
                ch = named
            if not (ch.io_running and ch.sql_running):
                await sql.execute(d.start_replica(ch.name))
            await wait_channel(sql, ch.name, th, 15)
            return f"{old} replicates from {t}"

        async def verify(ctx: RunContext) -> str:
            sql_t = ctx.access.sql(t)
            pos = await position(t)
            sid = (await sql_t.query("SELECT @@server_id AS id"))[0]["id"]
            seen = await _through_vip(ctx, t, addr, vip.port if vip else 3306)
            if int(seen["id"]) != int(sid) or int(seen["ro"]) != 0:
                raise StepFailed(
                    f"through the VIP: server_id {seen['id']} read_only {seen['ro']}, "
                    f"expected {t} (server_id {sid}) writable"
                )
            followers = [old, *ctx.facts.get("replicas", [])]
            for r in followers:
                if not pos:
                    break
                s = ctx.access.sql(r)
                rd = await s.dialect()
                rows = await s.query(
                    rd.wait_for_gtid(pos, 20).sql, rd.wait_for_gtid(pos, 20).execute_args(), timeout=25
                )
                if not rd.gtid_wait_reached(rows[0]["reached"] if rows else None):
                    raise StepFailed(f"{r} did not reach {t}'s position {pos}")
            return f"the VIP reaches {t} (server_id {sid}), writable; {', '.join(followers)} in sync with it"

        pt = str(pf_t) if pf_t else "<priority file>"
        po = str(pf_o) if pf_o else "<priority file>"
        early_boost = ctx.facts.setdefault("early_boost", bool(facts and facts.nopreempt.get(t)))
        steps: list[Step] = []
        if early_boost:
            steps.append(
                Step(
                    "boost",
                    f"Raise {t}'s keepalived priority (it has nopreempt: nothing moves yet)",
                    [Action(t, "ssh", f"printf '%s\\n' {BOOST} > {pt}")],
                    boost,
                    10,
                    f"reset {t}'s priority file",
                    unboost,
                )
            )
        return steps + [
            Step(
                "prepare",
                "Open the channels for the VIP move (before writes pause)",
                [
                    Action(old, "ssh", f"(armed, runs at the move) printf '%s\\n' {FAULT} > {po}"),
                    Action(t, "ssh", f"wait until {addr} is on {t}"),
                ],
                prepare,
                15,
                "close them (an armed command that never fired changes nothing)",
                disarm,
            ),
            Step(
                "fence",
                f"Fence {old}: read-only, end the application's sessions",
                fence_plan,
                fence,
                15,
                f"make {old} writable again",
                unfence,
            ),
            Step(
                "final_position", f"Read {old}'s final GTID position", [Action(old, "sql", pos_sql)], final_position, 10
            ),
            Step(
                "catch_up",
                f"Wait until {t} has executed it",
                [Action(t, "sql", f"SELECT {wait_fn}('<final position>', {self.catch_up_timeout:g})")],
                catch_up,
                self.catch_up_timeout + 10,
            ),
            Step("unchanged", f"Check {old} did not move since", [Action(old, "sql", pos_sql)], unchanged, 10),
            # writable before the VIP moves: the old writer is fenced, so one node takes writes
            # at any instant, and clients write again the moment the VIP arrives
            Step(
                "writable",
                f"Make {t} writable (only it can take writes now)",
                [Action(t, "sql", st.redacted()) for st in d_old.fence(False)]
                if d_old
                else [Action(t, "sql", "SET GLOBAL read_only = OFF")],
                writable,
                10,
                f"make {t} read-only again",
                read_only_again,
            ),
            Step(
                "move_vip",
                f"Move VIP {addr} to {t} through keepalived",
                ([] if early_boost else [Action(t, "ssh", f"printf '%s\\n' {BOOST} > {pt}")])
                + [
                    Action(old, "ssh", f"printf '%s\\n' {FAULT} > {po}; wait until {addr} is gone"),
                    Action(t, "ssh", f"(watching since the fence) wait until {addr} is on {t}"),
                ],
                move_vip,
                self.vip_timeout + 5,
                f"reset both priority files and wait for the VIP on {old}",
                vip_back,
                commits=True,
            ),
            Step(
                "priorities",
                "Restore keepalived priorities (VIP stays)",
                [
                    Action(t, "ssh", f"printf '%s\\n' 0 > {pt}"),
                    Action(old, "ssh", f"printf '%s\\n' <0 or below {t}'s priority> > {po}"),
                ],
                settle_priorities,
                10,
            ),
            Step(
                "repoint",
                f"Repoint replicas of {old} to {t}",
                [
                    Action(
                        r,
                        "sql",
                        f"STOP SLAVE; CHANGE MASTER TO MASTER_HOST='{c.nodes[t].host}', "
                        "MASTER_USE_GTID=slave_pos; START SLAVE",
                    )
                    for r in replicas
                ]
                or [Action("-", "sql", "(no other replicas)")],
                repoint,
                60,
            ),
            Step(
                "old_follows",
                f"Make {old} replicate from {t}" + (" (dual-master: its channel exists)" if dual else ""),
                [Action(old, "sql", "START SLAVE (or CHANGE MASTER TO the new writer)")],
                old_follows,
                30,
            ),
            Step(
                "verify",
                f"Verify: writes reach {t} through the VIP, replication healthy",
                [
                    Action(t, "sql", f"SELECT @@server_id, @@read_only through {addr}"),
                    Action("replicas", "sql", f"SELECT {wait_fn}('<new writer position>', 20)"),
                ],
                verify,
                60,
            ),
        ]


def _base_priority(facts: Facts | None, node: str) -> int | None:
    """The node's configured VRRP priority, as read from its keepalived.conf by `gather`."""
    return facts.priority.get(node) if facts else None


async def _through_vip(ctx: RunContext, node: str, vip: str, port: int) -> dict:
    """Who answers on the VIP, asked through `node`'s SSH connection (the path a client on the
    LAN takes), with the admin account."""
    rows = await ctx.access.query_via(node, vip, port, "SELECT @@server_id AS id, @@global.read_only AS ro")
    if not rows:
        raise StepFailed(f"nothing answered on {vip}:{port}")
    return rows[0]


async def _long_transactions(ctx: RunContext, node: str) -> list[dict]:
    return await ctx.access.sql(node).query(
        "SELECT trx_mysql_thread_id AS thread, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS seconds, "
        "trx_rows_modified AS rows_modified FROM information_schema.INNODB_TRX "
        "WHERE trx_started < NOW() - INTERVAL %s SECOND",
        (LONG_TRX_SECONDS,),
    )


def _long_trx_check(rows: list[dict], node: str) -> Check:
    if not rows:
        return Check(f"no long-running transactions on {node}", P, f"none older than {LONG_TRX_SECONDS} s")
    text = ", ".join(f"thread {r['thread']} for {r['seconds']} s ({r['rows_modified']} rows)" for r in rows[:5])
    return Check(
        f"no long-running transactions on {node}",
        F,
        text,
        "let them finish (fencing would roll them back and stall the switch)",
    )


async def _purged_problem(ctx: RunContext, old: str, ws: MysqlStatus, ts: MysqlStatus | None) -> str:
    """What the target still needs that the writer no longer has in its binlogs ("" if nothing)."""
    if ts is None or not ts.up:
        return ""
    if ws.version and ws.version.is_mariadb:
        rows = await ctx.access.sql(old).query("SHOW BINARY LOGS")
        if not rows:
            return f"{old} has no binary logs"
        first = rows[0].get("Log_name")
        start = await ctx.access.sql(old).query("SELECT BINLOG_GTID_POS(%s, 4) AS pos", (first,))
        start_pos = GtidPos.parse(str(start[0]["pos"] or ""))
        have = GtidPos.parse(ts.gtid_current_pos or ts.gtid_slave_pos or "")
        # the oldest binlog begins after start_pos: a target behind it in any domain needs
        # transactions that only purged binlogs held
        gone = [g for g in start_pos if have.seq(g.domain) < g.seq]
        if gone:
            return (
                f"{old}'s oldest binlog {first} starts after {start_pos}, the target is at "
                f"{have or 'nothing'}: the transactions in between are purged"
            )
        return ""
    purged_set = GtidSet.parse(ws.gtid_purged or "")
    have_set = GtidSet.parse(ts.gtid_executed or "")
    need = purged_set - have_set
    return f"{old} purged {need} which the target never executed" if need else ""
