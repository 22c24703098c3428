"""Planned switchover: the writer role and its address move from the current writer to another
node without losing a transaction (docs/runbooks.md, "switchover", names every check).

The steps are replication operations (hatui.runbook.ops) and a VIP mover (hatui.runbook.movers),
so the plan the DBA confirms is built from the objects that run. With GTIDs the target catches up
to the old writer's GTID position; without (seed 001) to its final binlog file and offset, and
every replica is made level with it too, so the target's own binlog position at that moment is
where they all continue (how MHA and orchestrator repoint without GTIDs, made exact by the fence:
nothing writes anywhere in between)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hatui.cluster import Cluster, Role, SecretError, Topology, VipRole, resolve_password
from hatui.gtid import GtidPos, GtidSet
from hatui.mysql.dialect import Dialect, dialect_for
from hatui.mysql.status import MysqlStatus
from hatui.mysql.version import detect_version
from hatui.rules.errant import errant_transactions
from hatui.rules.topology import node_for_host, vip_views, writer
from hatui.runbook import movers
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.ops import (
    ChangeSource,
    Detach,
    EndSessions,
    Op,
    Position,
    ReadPosition,
    SamePosition,
    SetWritable,
    Slot,
    StartReplica,
    StopReplica,
    WaitFor,
    op_step,
    unfence_op,
)
from hatui.runbook.runner import RunContext
from hatui.state import Kind

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
LONG_TRX_SECONDS = 10


@dataclass
class State:
    """What preflight decided and the steps learn: saved in the journal after every step, so a
    resumed or rolled-back run acts on the same values."""

    old: str = ""
    target: str = ""
    by_gtid: bool = True
    mover: str = ""
    versions: dict[str, str] = field(default_factory=dict)  # node -> server version
    channels: dict[str, str] = field(default_factory=dict)  # replica of the old writer -> its channel
    old_channel: str | None = None  # the old writer's channel from the target (dual master)
    address: str = ""  # the writer's address (a VIP, or the routers')
    port: int = 3306
    early_boost: bool = False
    keep_low: int = 0
    clear_flag: bool = False
    keep_flag: bool = True
    routes: list[dict[str, str]] = field(default_factory=list)  # router moves
    final: dict[str, Any] | None = None  # the old writer's position once fenced
    start: dict[str, Any] | None = None  # without GTIDs: the target's own, where all continue
    reached: dict[str, Any] | None = None  # the new writer's position, checked on followers
    unfence: bool = False  # the target has a failover's fence file: it goes once it is the writer
    claim_dev: str = ""  # the target takes the VIP itself before the old lets go (movers.Claim)
    claim_prefix: int = 32
    claim_instance: str = ""
    release_dev: str = ""  # flag-file with a claim: the old writer's copy of the VIP goes with the flag
    release_prefix: int = 32

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> State:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


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
        mysql_node(cluster, target)
        self.cluster = cluster
        self.target = target
        self.lag_limit = cluster.thresholds.lag_warning if lag_limit is None else lag_limit
        self.catch_up_timeout = catch_up_timeout
        self.vip_timeout = vip_timeout
        self.facts: Facts | None = None
        self.state = State(target=target)
        self._mover: movers.Mover | None = None

    @property
    def old(self) -> str | None:
        return self.state.old or None

    def params(self) -> dict[str, Any]:
        return {"to": self.target, "from": self.old}

    def dump_state(self) -> dict[str, Any]:
        return self.state.to_json()

    def load_state(self, d: dict[str, Any]) -> None:
        self.state = State.from_json(d)

    async def cleanup(self) -> None:
        """Close what a step left waiting (the runner calls this however the run ended)."""
        if self._mover is not None:
            await self._mover.cleanup()

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        facts = self.facts = await gather(ctx)
        checks = self.evaluate(facts)
        old = self.old
        if old and old in facts.status and facts.status[old].up:
            facts.long_trx = await _long_transactions(ctx, old)
            checks.append(_long_trx_check(facts.long_trx, old))
            problem = await _purged_problem(ctx, old, facts.status[old], facts.status.get(self.target))
            checks.append(
                Check(
                    "writer_has_binlogs: the writer still has every binlog the target needs",
                    F if problem else P,
                    problem or "nothing the target needs is purged",
                    "re-clone the target from the writer" if problem else "",
                )
            )
        if self.state.mover in ("track-file", "flag-file", "restart"):
            checks.append(await self._claim(ctx, facts))
        return checks

    async def _claim(self, ctx: RunContext, facts: Facts) -> Check:
        """Can the target take the address before the old writer lets it go (movers.Claim)? Needs
        the address as the target's keepalived.conf writes it, and arping there. Without, the VIP
        moves by keepalived alone: a warning, since clients may then wait 1 s."""
        s, t = self.state, self.target
        name = f"claim: {t} takes {s.address} before {s.old} lets it go"
        gap = "keepalived alone moves it: a client connecting in the moment it is on neither node waits 1 s"
        if ":" in s.address:
            return Check(name, W, f"{s.address} is IPv6 (arping announces IPv4 only): {gap}", "")
        found = _vip_in_conf(facts, t, s.address)
        if found is None:
            return Check(name, W, f"{t}'s keepalived.conf does not name {s.address} with its device: {gap}", "")
        try:
            have = await ctx.access.ssh(t, "command -v arping || true", read=True, sudo=True, timeout=5)
        except Exception as e:
            have = ""
            gap = f"{gap} ({e})"
        if not have.strip():
            return Check(name, W, f"no arping on {t}: {gap}", f"install arping on {t} (iputils-arping, iputils)")
        s.claim_instance, s.claim_dev, s.claim_prefix = found
        on_old = _vip_in_conf(facts, s.old, s.address) if s.mover == "flag-file" else None
        if on_old is not None:
            _, s.release_dev, s.release_prefix = on_old
        return Check(
            name,
            P,
            f"{t} adds {s.address}/{s.claim_prefix} on {s.claim_dev} and announces it (arping), then {s.old} "
            f"lets go; done once {t}'s keepalived ({s.claim_instance}) is MASTER",
        )

    def evaluate(self, facts: Facts) -> list[Check]:
        """The checks that need only what `gather` read: pure, so tests can feed recorded facts.
        Fills the state the steps are built from. Check names start with their code
        (docs/runbooks.md)."""
        c, snap, t, s = self.cluster, facts.snap, self.target, self.state
        checks: list[Check] = []

        def check(code: str, what: str, ok: bool, found: str, fix: str = "", warn: bool = False) -> None:
            checks.append(Check(f"{code}: {what}", P if ok else (W if warn else F), found, "" if ok else fix))

        down = dict(facts.ssh_errors)
        check(
            "reachable",
            "every node reachable over SSH",
            not down,
            "; ".join(f"{n}: {e}" for n, e in down.items()) or f"all {len(c.nodes)} nodes answer",
            "bring the node back or remove it from the cluster file",
        )
        w = writer(snap)
        s.old = w.node or ""
        check(
            "one_writer",
            "exactly one writer",
            bool(w.node),
            f"{w.node} ({w.how})" if w.node else w.how,
            "resolve the writer question first (see the console's incidents)",
        )
        if w.node == t:
            check(
                "target_differs", "target differs from the writer", False, f"{t} is already the writer", "nothing to do"
            )
        old = w.node
        ts, ws = facts.status.get(t), (facts.status.get(old) if old else None)
        for n, st in ((t, ts), (old, ws)):
            if n is not None:
                ok = st is not None and st.up
                check(
                    "mysql_up",
                    f"MySQL on {n} answers",
                    ok,
                    "up" if ok else ((st.error if st else None) or "not read"),
                    f"start mysqld on {n}" if n == t else "a planned switchover needs a live writer",
                )
        for n, st in ((t, ts), (old, ws)):
            if n is not None and st is not None and st.up and st.disk_waits:
                check(
                    "no_disk_wait",
                    f"writes on {n} are not waiting for disk space",
                    False,
                    f"{st.disk_waits} thread(s) wait for free disk space (a full binlog or data volume)",
                    f"free space on {n} first: the fence and the catch-up would wait behind them",
                )
        s.versions = {n: st.version.raw for n, st in facts.status.items() if st.up and st.version}
        s.unfence = bool(facts.fenced.get(t))
        if not (old and ts and ts.up and ws and ws.up):
            return checks
        # replication from the old writer
        chans = [ch for ch in ts.channels if node_for_host(snap, ch.source_host or "") == old]
        check(
            "direct_replica",
            f"{t} replicates directly from {old}",
            bool(chans),
            "channel " + ", ".join(repr(ch.name) for ch in chans)
            if chans
            else f"no channel from {old} ({', '.join(ch.source_host or '?' for ch in ts.channels) or 'no channels'})",
            f"point {t} at {old} first",
        )
        for ch in chans:
            s.channels[t] = ch.name
            threads = ch.io_running and ch.sql_running
            check(
                "threads",
                f"{t} replication threads running",
                threads,
                f"IO {ch.io_state or ch.io_running}, SQL {'Yes' if ch.sql_running else 'No'}"
                + (f": {ch.last_error}" if ch.last_error else ""),
                f"fix and START SLAVE on {t}, then try again",
            )
            lag_ok = ch.lag_seconds is not None and ch.lag_seconds <= self.lag_limit
            check(
                "lag",
                f"{t} lag under {self.lag_limit:g} s",
                lag_ok,
                "lag unknown (SQL thread stopped?)" if ch.lag_seconds is None else f"{ch.lag_seconds:g} s behind",
                "wait until it catches up",
            )
        errant = errant_transactions(ts, ws)
        check(
            "no_errant",
            f"no errant transactions on {t}",
            not errant,
            f"{t} has transactions {old} never had: {errant}" if errant else "none",
            f"inspect them; `hatui rejoin` or remove them on {t}",
        )
        check(
            "log_bin",
            f"binary log on {t}",
            bool(ts.log_bin),
            "log_bin=ON" if ts.log_bin else "log_bin is OFF: replicas could not follow it",
            "enable log_bin",
        )
        # GTIDs, or binlog positions
        s.by_gtid = _by_gtid(ws, ts, chans)
        check(
            "positioning",
            "how replicas find their place",
            True,
            "GTIDs"
            if s.by_gtid
            else f"binlog file and offset (no GTIDs): every replica is made level with {old} before any is repointed",
        )
        if not s.by_gtid:
            check(
                "log_bin",
                f"binary log on {old}",
                bool(ws.log_bin),
                "log_bin=ON" if ws.log_bin else "log_bin is OFF",
                "enable log_bin",
            )
        # the other replicas of the old writer follow the target
        s.old_channel = None
        for n, st in facts.status.items():
            if n in (t, old) or not st.up:
                continue
            for ch in st.channels:
                if node_for_host(snap, ch.source_host or "") == old:
                    s.channels[n] = ch.name
                    ok = ch.io_running and ch.sql_running
                    check(
                        "replica_threads",
                        f"{n} replicates from {old}",
                        ok,
                        f"IO {ch.io_state}, SQL {'Yes' if ch.sql_running else 'No'}",
                        f"fix {n}'s replication first: without GTIDs it must reach {old}'s last position",
                        warn=s.by_gtid,
                    )
        s.channels.pop(t, None)
        s.channels[t] = chans[0].name if chans else ""
        for ch in ws.channels:
            if node_for_host(snap, ch.source_host or "") == t:
                s.old_channel = ch.name
        others = [n for n in s.channels if n != t]
        if others:
            check("replicas", "replicas to repoint", True, f"{', '.join(others)} will follow {t}")
        if s.old_channel is None and c.nodes[old].mysql.replication is None:
            check(
                "replication_account",
                f"an account for {old} to replicate from {t}",
                False,
                f"{old} has no channel from {t} and the cluster file names no mysql.replication account",
                "add mysql.replication (user and password source) to the cluster file",
            )
        checks += self._choose_mover(facts, old, t)
        return checks

    def _choose_mover(self, facts: Facts, old: str, t: str) -> list[Check]:
        c, s, snap = self.cluster, self.state, facts.snap
        checks: list[Check] = []
        wvips = [v for v in c.vips if v.role == VipRole.WRITER]
        if not wvips:
            return [
                Check(
                    "mover: how the writer's address moves",
                    F,
                    "the cluster file names no writer VIP",
                    "add the writer VIP under vips:",
                )
            ]
        vip = wvips[0]
        s.address, s.port = str(vip.address), vip.port
        on_routers = c.topology == Topology.PRIMARY_REPLICAS and all(
            c.nodes[n].has_role(Role.ROUTER) for n in (vip.nodes or ())
        )
        if on_routers:
            return self._router_mover(facts, old, t)
        # a VIP keepalived moves between the databases
        cand = t in (vip.nodes or c.nodes) and c.nodes[t].has_role(Role.KEEPALIVED)
        checks.append(
            Check(
                f"target_candidate: {t} can hold the writer VIP",
                P if cand else F,
                "keepalived runs there and it is one of the VIP's nodes"
                if cand
                else f"{t} needs the keepalived role and to be one of {vip.address}'s nodes",
                "" if cand else "pick a standby master as the target",
            )
        )
        held = next((v for v in vip_views(snap) if v.address == s.address), None)
        good = held is not None and list(held.holders) == [old]
        checks.append(
            Check(
                f"vip_on_writer: VIP {s.address} held by the writer only",
                P if good else F,
                f"held by {', '.join(held.holders) if held else '?'}" if held and held.holders else "held by nobody",
                "" if good else "repair the VIP first (split brain or unheld)",
            )
        )
        for n in (old, t):
            proc = snap.value(n, Kind.KEEPALIVED)
            running = proc is not None and proc.running
            checks.append(
                Check(
                    f"keepalived_running: keepalived running on {n}",
                    P if running else F,
                    "running" if running else "not running",
                    "" if running else f"start keepalived on {n}",
                )
            )
        pf_o, pf_t = c.nodes[old].keepalived.priority_file, c.nodes[t].keepalived.priority_file
        base_o, base_t = facts.priority.get(old), facts.priority.get(t)
        if pf_o and pf_t and facts.tracked.get(old) and facts.tracked.get(t):
            s.mover = "track-file"
            s.early_boost = bool(facts.nopreempt.get(t))
            s.keep_low = min(0, base_t - base_o - 1) if base_t is not None and base_o is not None else 0
            if not facts.nopreempt.get(old, True):
                checks.append(
                    Check(
                        f"nopreempt: nopreempt on {old}",
                        W,
                        "preempt is on: a restarted keepalived on the old writer would take the VIP back",
                        "use state BACKUP + nopreempt on every node (seed 000)",
                    )
                )
            why = f"both priority files are tracked ({pf_t})"
        elif c.nodes[old].keepalived.flag_file is not None:
            flag = str(c.nodes[old].keepalived.flag_file)
            weight = _flag_weight(facts, old, flag)
            s.clear_flag = bool(facts.flags.get(t))
            after = (base_o + weight) if base_o is not None and weight is not None else None
            ok = weight is not None and after is not None and base_t is not None and after < base_t
            if not ok:
                checks.append(
                    Check(
                        "mover: how the VIP moves",
                        F,
                        f"the flag file {flag} must drop {old}'s priority below {t}'s: weight "
                        f"{weight}, priorities {base_o} and {base_t}",
                        "give the flag's vrrp_script a weight larger than the priority gap",
                    )
                )
                return checks
            s.mover = "flag-file"
            s.keep_flag = not (base_o is not None and base_t is not None and base_o < base_t)
            why = f"{flag} drops {old} from {base_o} to {after}, below {t}'s {base_t}"
        else:
            comes_back_low = bool(facts.nopreempt.get(old)) or (
                base_o is not None and base_t is not None and base_o < base_t
            )
            if not comes_back_low:
                checks.append(
                    Check(
                        "mover: how the VIP moves",
                        F,
                        f"no tracked priority file or flag file, and {old} would take the VIP back when "
                        f"its keepalived starts again (no nopreempt, priority {base_o} >= {base_t})",
                        "add a track_file (2.x) or a flag-file vrrp_script, or nopreempt",
                    )
                )
                return checks
            s.mover = "restart"
            why = f"no priority or flag file: stop keepalived on {old}, start it again once {t} holds the VIP"
        checks.append(Check("mover: how the VIP moves", P, f"{s.mover}: {why}"))
        return checks

    def _router_mover(self, facts: Facts, old: str, t: str) -> list[Check]:
        s = self.state
        s.mover = "router"
        routes, checks = movers.router_routes(self.cluster, facts, old, t)
        s.routes = [asdict(r) for r in routes]
        return checks

    # ------------------------------------------------------------------ steps
    def _dialect(self, node: str) -> Dialect:
        v = self.state.versions.get(node)
        if v is None:
            raise StepFailed(f"{node}'s server version is not known (preflight did not read it)")
        return dialect_for(detect_version(v))

    def mover(self) -> movers.Mover:
        s, c = self.state, self.cluster
        old, t = s.old, s.target
        if s.mover == "router":
            m: movers.Mover = movers.RouterMover("router", [movers.RouterRoute(**r) for r in s.routes])
        elif s.mover == "flag-file":
            flag = str(c.nodes[old].keepalived.flag_file)
            release = ""
            if s.claim_dev and s.release_dev:
                release = f"{{ {movers.unclaim_command(s.address, s.release_prefix, s.release_dev)}; }}"
            m = movers.flag_file(
                old,
                t,
                s.address,
                flag,
                seconds=self.vip_timeout,
                clear_target=s.clear_flag,
                keep_flag=s.keep_flag,
                release=release,
            )
        elif s.mover == "restart":
            ka = c.nodes[old].keepalived
            m = movers.restart(old, t, s.address, ka.stop_command, ka.start_command, seconds=self.vip_timeout)
        else:
            m = movers.track_file(
                old,
                t,
                s.address,
                str(c.nodes[old].keepalived.priority_file),
                str(c.nodes[t].keepalived.priority_file),
                seconds=self.vip_timeout,
                early_boost=s.early_boost,
                keep_low=s.keep_low,
            )
        if s.claim_dev and isinstance(m, movers.VipMover):
            pid = c.nodes[t].keepalived.pid_file
            claim = movers.Claim(s.claim_prefix, s.claim_dev, s.claim_instance, str(pid) if pid else None)
            m = replace(m, claim=claim)
        self._mover = m
        return m

    def steps(self, ctx: RunContext) -> list[Step]:
        s, c = self.state, self.cluster
        if not s.old or s.target not in s.versions or s.old not in s.versions:
            return []  # preflight refused: nothing to plan
        old, t = s.old, s.target
        d_old, d_t = self._dialect(old), self._dialect(t)
        by_gtid = s.by_gtid
        final = _slot(s, "final", "old writer's final position")
        start = _slot(s, "start", "new writer's position at the cut")
        reached = _slot(s, "reached", "new writer's position")
        m = self.mover()
        th, tport = c.nodes[t].host, c.nodes[t].mysql.port
        replicas = [n for n in s.channels if n not in (t, old)]
        keep = tuple(a.user for a in (c.nodes[old].mysql.monitor, c.nodes[old].mysql.admin) if a)
        wait = self.catch_up_timeout

        catch_up: list[Op] = [WaitFor(t, d_t, final, wait, s.channels.get(t, ""), by_gtid)]
        if not by_gtid:
            # every replica level with the old writer and held there: once the target takes
            # writes, a dual master's channel relays them through the old writer, and a replica
            # still attached there would apply them before it is repointed (then twice); then
            # the target's own position, where they all continue
            oh = c.nodes[old].host
            for r in replicas:
                catch_up += [
                    WaitFor(r, self._dialect(r), final, wait, s.channels[r], False),
                    StopReplica(r, self._dialect(r), s.channels[r], oh),
                ]
            catch_up.append(ReadPosition(t, d_t, False, start))
        at = None if by_gtid else start
        repoint: list[Op] = [ChangeSource(r, self._dialect(r), th, tport, s.channels[r], at) for r in replicas]
        if s.old_channel is not None:  # a dual master: its channel from the target exists
            follow: Op = StartReplica(old, d_old, th, s.old_channel)
        else:
            acct = c.nodes[old].mysql.replication
            follow = ChangeSource(
                old, d_old, th, tport, "", at, acct.user if acct else None, _password(acct), stop=False
            )
        followers = [old, *replicas]
        verify: list[Op] = [ReadPosition(t, d_t, by_gtid, reached)]
        verify += [
            WaitFor(n, self._dialect(n), reached, 20, s.old_channel or "" if n == old else s.channels[n], by_gtid)
            for n in followers
        ]
        verify.append(ThroughAddress(t, s.address, s.port))

        steps: list[Step] = []
        for i, op in enumerate(m.early):
            key = getattr(op, "key", "") or f"early{i}"
            steps.append(op_step(key, op.title or "prepare the move", [op], 10))
        prep = m.prepare()
        if prep is not None:
            steps.append(op_step("prepare", prep.title, [prep], 15))
        steps += [
            op_step(
                "fence",
                f"Fence {old}: read-only, end the application's sessions",
                [SetWritable(old, d_old, False), EndSessions(old, keep)],
                15,
            ),
            op_step("final_position", f"Read {old}'s final position", [ReadPosition(old, d_old, by_gtid, final)], 10),
            op_step(
                "catch_up",
                f"Wait until {t} has executed it"
                + (
                    ""
                    if by_gtid
                    else f" (and {', '.join(replicas)}: then read {t}'s own position)"
                    if replicas
                    else f", then read {t}'s own position"
                ),
                catch_up,
                wait + 10,
            ),
            op_step("unchanged", f"Check {old} did not move since", [SamePosition(old, d_old, by_gtid, final)], 10),
            # writable before the address moves: the old writer is fenced, so one node takes
            # writes at any instant, and clients write again the moment it arrives
            op_step("writable", f"Make {t} writable (only it can take writes now)", [SetWritable(t, d_t, True)], 10),
            op_step("move", m.move().title, [m.move()], self.vip_timeout + 10, commits=True),
        ]
        if m.settle():
            steps.append(op_step("settle", "Restore keepalived's settings (the VIP stays)", m.settle(), 30))
        if s.unfence:
            # after the move, out of the write pause: a later restart of the writer stays writable
            steps.append(op_step("unfence", f"{t} is the writer now: remove its fence file", [unfence_op(t)], 15))
        if s.old_channel is None:  # not a pair of masters: the old writer becomes the new one's replica
            steps.append(
                op_step("detach", f"Remove {t}'s channel from {old}", [Detach(t, d_t, s.channels.get(t, ""))], 20)
            )
        if repoint:
            steps.append(op_step("repoint", f"Repoint replicas of {old} to {t}", repoint, 60))
        steps += [
            op_step("old_follows", f"Make {old} replicate from {t}", [follow], 30),
            op_step(
                "verify", f"Verify: {t} takes writes through {s.address}:{s.port}, replication in sync", verify, 60
            ),
        ]
        return steps


class ThroughAddress(Op):
    """Who answers on the writer's address (through `node`'s SSH connection, the path a client on
    the LAN takes), with the admin account: it must be the new writer, writable. A read."""

    def __init__(self, node: str, address: str, port: int):
        self.node, self.address, self.port = node, address, port
        self.title = f"check writes through {address}:{port} reach {node}"

    def actions(self) -> list[Action]:
        return []  # reads only: nothing is sent that changes anything

    async def run(self, x) -> str:
        sid = (await x.sql(self.node).query("SELECT @@server_id AS id"))[0]["id"]
        rows = await x.query_via(
            self.node, self.address, self.port, "SELECT @@server_id AS id, @@global.read_only AS ro"
        )
        if not rows:
            raise StepFailed(f"nothing answered on {self.address}:{self.port}")
        seen = rows[0]
        if int(seen["id"]) != int(sid) or int(seen["ro"]) != 0:
            raise StepFailed(
                f"through {self.address}:{self.port}: server_id {seen['id']} read_only {seen['ro']}, expected "
                f"{self.node} (server_id {sid}) writable"
            )
        return f"{self.address}:{self.port} reaches {self.node} (server_id {sid}), writable"


def _slot(s: State, attr: str, label: str) -> Slot:
    """A Slot that writes through to the state (so the journal keeps what a step learned)."""

    class Bound(Slot):
        def __init__(self, name: str):
            self.name = name

        @property
        def value(self) -> Position | None:
            return Position.from_json(getattr(s, attr))

        @value.setter
        def value(self, v: Position | None) -> None:
            setattr(s, attr, None if v is None else v.to_json())

    return Bound(label)


def _by_gtid(ws: MysqlStatus, ts: MysqlStatus, chans: list) -> bool:
    """GTIDs only where the servers have them and the target's channel uses them: an empty
    gtid_executed compared with another is no proof of anything (seed 001)."""
    if ws.version and ws.version.is_mariadb:
        have = bool(ws.gtid_binlog_pos)
        return have and all((ch.using_gtid or "No").lower() != "no" for ch in chans)
    return (ws.gtid_mode or "").upper() == "ON" and bool(ws.gtid_executed) and all(ch.auto_position for ch in chans)


def _vip_in_conf(facts: Facts, node: str, address: str) -> tuple[str, str, int] | None:
    """(instance, device, prefix) of `address` as the node's keepalived adds it: keepalived's
    defaults are the instance's interface and /32."""
    conf = facts.configs.get(node)
    for inst in conf.instances if conf else ():
        for v in inst.vips:
            dev = v.dev or inst.interface
            if v.address == address and dev:
                return inst.name, dev, v.prefix if v.prefix is not None else 32
    return None


def _flag_weight(facts: Facts, node: str, flag: str) -> int | None:
    """The weight of the vrrp_script that checks `flag` on the node's writer instance."""
    conf = facts.configs.get(node)
    if conf is None:
        return None
    for sc in conf.scripts.values():
        if sc.script and flag in sc.script:
            for inst in conf.instances:
                for tr in inst.track_scripts:
                    if tr.name == sc.name:
                        w = tr.weight if tr.weight is not None else sc.weight
                        return w if w is not None and w < 0 else None
    return None


def _password(account) -> str | None:
    if account is None:
        return None
    try:
        return resolve_password(account)
    except SecretError:
        return None


async def _long_transactions(ctx: RunContext, node: str) -> list[dict]:
    return await ctx.access.sql(node).query(
        "SELECT trx_mysql_thread_id AS thread, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS seconds, "
        "trx_rows_modified AS rows_modified FROM information_schema.INNODB_TRX "
        "WHERE trx_started < NOW() - INTERVAL %s SECOND",
        (LONG_TRX_SECONDS,),
    )


def _long_trx_check(rows: list[dict], node: str) -> Check:
    name = f"long_trx: no long-running transactions on {node}"
    if not rows:
        return Check(name, P, f"none older than {LONG_TRX_SECONDS} s")
    text = ", ".join(f"thread {r['thread']} for {r['seconds']} s ({r['rows_modified']} rows)" for r in rows[:5])
    return Check(name, F, text, "let them finish (fencing would roll them back and stall the switch)")


async def _purged_problem(ctx: RunContext, old: str, ws: MysqlStatus, ts: MysqlStatus | None) -> str:
    """What the target still needs that the writer no longer has in its binlogs ("" if nothing)."""
    if ts is None or not ts.up:
        return ""
    if ws.version and ws.version.is_mariadb:
        if not ws.gtid_binlog_pos:
            return ""  # no GTIDs: the target's channel position says what it still needs
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
    need = GtidSet.parse(ws.gtid_purged or "") - GtidSet.parse(ts.gtid_executed or "")
    return f"{old} purged {need} which the target never executed" if need else ""
