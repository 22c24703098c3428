"""Unplanned failover: the writer died and nothing took over (docs/runbooks.md, "failover").

Seed 002's primary behind routers, MMM's writer, a dual master whose keepalived did not move the
VIP: someone must choose the most advanced candidate, give it everything the others received,
make it writable, point the other replicas at it, turn the writer's address to it, and make sure
the dead writer cannot come back writable. MHA's master failover and orchestrator's recovery are
the anchors; what their users complained about shaped this one: the candidate is never chosen
silently (every candidate is shown with its evidence: what it holds of the dead writer's
transactions, lag, errant transactions, version, binlog), a candidate with transactions nobody
else has is refused rather than promoted (they would reach every replica), and the dead writer's
own last transactions are recovered from its binlogs on disk when its host answers, exactly as
`hatui repair-gap` does, before any client can write.

Read-only first. Refusals (nothing changed): the writer still answers (that is a switchover), a
writable server exists already (keepalived or someone failed over: repoint / repair-gap), no
candidate with binlogs (log_bin and log_slave_updates), no GTIDs (a position in a dead server's
binlog cannot be mapped onto a candidate's without its relay logs), the most advanced candidate
has errant transactions (unless --discard-errant: promote the best clean one and leave that one
to `hatui rejoin --discard-errant`).

Steps: fence the dead writer's restart (an option file read_only=ON, verified with
my_print_defaults), the candidate applies its relay log, catches up from a more advanced replica
if one holds more, replays what only the dead writer's binlogs hold, forgets its channel and
becomes writable (the point of no return is the fence: nothing after it is undone), the routers'
writers' route (or the VIP) turns to it, and every other replica follows it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.locate import alive_command
from hatui.cluster import Cluster, Role, Topology, VipRole
from hatui.gtid import GtidSet
from hatui.mysql.dialect import dialect_for
from hatui.mysql.fencefile import FENCE_FILE, fence_restart_command
from hatui.mysql.status import MysqlStatus
from hatui.rules.topology import node_for_host, vip_views, writable
from hatui.runbook import movers
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Check, Step, Verdict, mysql_node
from hatui.runbook.ops import (
    ChangeSource,
    ContinueFrom,
    Detach,
    DrainRelay,
    Op,
    Position,
    ReadPosition,
    SetWritable,
    Shell,
    Slot,
    StopReplica,
    Together,
    WaitFor,
    op_step,
    repoint_ops,
    vip_wait_command,
)
from hatui.runbook.recovery import Gap, extract
from hatui.runbook.repair_gap import SHOWN_LINES, RepairGap
from hatui.runbook.replay import local_client
from hatui.runbook.rows import table_meta
from hatui.runbook.runner import RunContext
from hatui.ssh.errors import SshError
from hatui.state import Kind

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL


@dataclass(frozen=True)
class Candidate:
    """One server that could become the writer, with the evidence shown to the DBA."""

    node: str
    holds: int  # how many of the dead writer's transactions it holds (executed or received)
    holds_text: str  # the same, as GTIDs
    received: Position | None  # what its IO thread received (None: nothing beyond executed)
    lag: float | None
    errant: str  # transactions it originated that no other server has
    version: str
    binlog: bool  # log_bin and log_slave_updates: replicas can get the dead writer's transactions from it
    problem: str = ""  # why it cannot be the writer ("" if it can)

    def evidence(self) -> str:
        lag = "lag unknown" if self.lag is None else f"lag {self.lag:g} s"
        got = f", received up to {self.received}" if self.received else ""
        return (
            f"holds {self.holds} of the dead writer's transactions ({self.holds_text or 'none'}{got}); {lag}; "
            f"errant: {self.errant or 'none'}; {self.version}; binlog {'on' if self.binlog else 'OFF'}"
        )


def _gtids_on(st: MysqlStatus) -> bool:
    if st.version is not None and st.version.is_mariadb:
        return True
    return (st.gtid_mode or "").upper() == "ON"


def _mariadb(st: MysqlStatus) -> bool:
    return bool(st.version and st.version.is_mariadb)


def holdings(st: MysqlStatus, origin: int | str | None) -> gapmod.Have:
    """Everything a server has executed or received, in its flavour's terms."""
    chans = st.channels
    if _mariadb(st):
        received = ",".join(filter(None, [st.gtid_slave_pos or "", *(c.gtid_io_pos or "" for c in chans)]))
        return gapmod.Have.of(True, st.gtid_binlog_state, received)
    received_set = ",".join(filter(None, (c.retrieved_gtid_set or "" for c in chans)))
    return gapmod.Have.of(False, st.gtid_executed, received_set)


def union(haves: list[gapmod.Have], mariadb: bool) -> gapmod.Have:
    if mariadb:
        state: gapmod.State = {}
        domains: dict[int, int] = {}
        for h in haves:
            for k, n in h.state.items():
                state[k] = max(state.get(k, 0), n)
            for d, n in h.domains.items():
                domains[d] = max(domains.get(d, 0), n)
        return gapmod.Have(True, state=state, domains=domains)
    out = GtidSet()
    for h in haves:
        out = out | h.gtids
    return gapmod.Have(False, gtids=out)


def of_origin(have: gapmod.Have, origin: int | str | None) -> tuple[int, str]:
    """How many transactions of one origin (MariaDB server_id / MySQL server_uuid) `have` holds:
    (count, as GTIDs). MariaDB seq numbers count per domain, so the count is the sum of the
    highest seq per domain."""
    if have.mariadb:
        keys = {(d, s) for (d, s) in have.state if origin is None or s == origin}
        if origin is not None:
            # a replica without log_slave_updates logs none of them: its slave position says it
            keys |= {(d, int(origin)) for d in have.domains}
        best: dict[int, int] = {}
        for d, s in keys:
            best[d] = max(best.get(d, 0), have.seq(d, s))
        text = ",".join(f"{d}-{origin if origin is not None else '?'}-{n}" for d, n in sorted(best.items()) if n)
        return sum(best.values()), text
    mine = have.gtids
    if origin is not None:
        key = str(origin).lower()
        mine = GtidSet.from_intervals({key: mine.intervals.get((key, ""), ())})
    return mine.count(), str(mine)


def errant_of(st: MysqlStatus, others: list[MysqlStatus]) -> str:
    """Transactions `st` originated itself (its server_id / server_uuid) that no other server
    has: written on a replica, they would reach every replica once it is the writer."""
    if _mariadb(st):
        if st.server_id is None:
            return ""
        # per (domain, server_id) from the binlog states only: a domain's seq numbers are shared by
        # every server writing in it, so another server's position says nothing about this one's
        mine = gapmod.maria_state(st.gtid_binlog_state)
        rest = gapmod.maria_state(*(o.gtid_binlog_state for o in others))
        # seq numbers are per domain: only the latest such GTID is known exactly
        return ",".join(
            f"{d}-{s}-{n}" for (d, s), n in sorted(mine.items()) if s == st.server_id and n > rest.get((d, s), 0)
        )
    uuid = (st.server_uuid or "").lower()
    if not uuid:
        return ""
    own = GtidSet.parse(st.gtid_executed or "")
    own = GtidSet.from_intervals({uuid: own.intervals.get((uuid, ""), ())})
    rest_set = GtidSet()
    for o in others:
        rest_set = rest_set | GtidSet.parse(o.gtid_executed or "")
    extra = own - rest_set
    return str(extra) if extra else ""


class Failover:
    name = "failover"
    destructive = True
    resume_hint = (
        "run the same `hatui failover` again while no server is writable (it re-reads everything and skips "
        "what is done); once the new writer is writable, `hatui repoint` finishes the replicas"
    )

    def __init__(
        self,
        cluster: Cluster,
        to: str | None = None,
        *,
        discard_errant: bool = False,
        catch_up_timeout: float = 60.0,
        base_dir: Path | None = None,
    ):
        if to is not None:
            mysql_node(cluster, to)
        self.cluster = cluster
        self.to = to
        self.discard_errant = discard_errant
        self.catch_up_timeout = catch_up_timeout
        self.base_dir = base_dir
        self.old: str | None = None  # the dead writer
        self.target = ""  # the chosen candidate: what the DBA types
        self.candidates: list[Candidate] = []
        self.source: str | None = None  # a replica holding more than the candidate: it catches up from it
        self.replicas: list[str] = []  # the others that follow the new writer
        self.left_out: list[str] = []  # errant replicas left to `hatui rejoin --discard-errant`
        self.routes: list[movers.RouterRoute] = []
        self.vip: str | None = None  # the writer's VIP when keepalived moves it (no routers)
        self.vip_on_old = False
        self.old_ssh = False  # the dead writer's host answers SSH: fence its restart, read its binlogs
        self.gap: Gap | None = None
        self.facts: Facts | None = None
        self._turn: movers.RouterMover | None = None
        self.client: str | None = None  # the candidate's own mysql client, for the replay

    async def cleanup(self) -> None:
        """A run that stopped before the turn leaves armed router commands: they exit unfired."""
        if self._turn is not None:
            await self._turn.cleanup()

    def params(self) -> dict[str, Any]:
        return {"to": self.target or self.to, "old": self.old, "discard_errant": self.discard_errant}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        checks = self.judge(await gather(ctx))
        if any(c.failed for c in checks) or self.old is None or self.facts is None:
            return checks
        checks += await self._old_disk(ctx)
        return checks

    def judge(self, facts: Facts) -> list[Check]:
        """Pure: the dead writer, every candidate with its evidence, the chosen one, the replicas
        that follow it and how the writer's address moves."""
        self.facts = facts
        snap, c = facts.snap, self.cluster
        mysql_nodes = [n for n in c.nodes if c.nodes[n].has_role(Role.MYSQL)]
        up = {n: st for n in mysql_nodes if (st := facts.status.get(n)) is not None and st.up}
        checks: list[Check] = []

        open_ = [n for n, st in up.items() if writable(st)]
        sources: dict[str, list[str]] = {}
        for n, st in up.items():
            for chan in st.channels:
                s = node_for_host(snap, chan.source_host or "")
                if s is not None and s != n:
                    sources.setdefault(s, []).append(n)
        dead = [s for s in sources if s not in up]
        if not dead:
            alive = ", ".join(sorted(sources)) or "none"
            takes = f"; {', '.join(open_)} takes writes" if open_ else ""
            return [
                Check(
                    "the writer is dead",
                    F,
                    f"every source the replicas pull from answers ({alive}){takes}: nothing failed",
                    "a planned move is a switchover: `hatui switchover --to NODE`",
                )
            ]
        if open_:
            return [
                Check(
                    "no server takes writes",
                    F,
                    f"{', '.join(open_)} {'is' if len(open_) == 1 else 'are'} writable: there is a writer already",
                    f"replicas still on the dead {dead[0]}: `hatui repoint`; its last transactions: "
                    f"`hatui repair-gap --from {dead[0]} --to {open_[0]}`",
                )
            ]
        if len(dead) > 1:
            return [
                Check(
                    "one dead writer",
                    F,
                    f"replicas pull from several dead sources: {', '.join(sorted(dead))}",
                    "repair the chain by hand first",
                )
            ]
        old = self.old = dead[0]
        ost = facts.status.get(old)
        checks.append(
            Check(
                f"the writer {old} is dead",
                P,
                f"its MySQL does not answer ({(ost.error if ost else None) or 'not read'}); "
                f"{', '.join(sorted(sources[old]))} pulled from it",
            )
        )
        self.old_ssh = old not in facts.ssh_errors
        origin = self._origin(up, old)

        # the candidates, each with its evidence
        writers = self._writer_capable()
        self.candidates = []
        for n in [n for n in mysql_nodes if n != old and n in up]:
            st = up[n]
            have = holdings(st, origin)
            count, text = of_origin(have, origin)
            from_old = next((x for x in st.channels if node_for_host(snap, x.source_host or "") == old), None)
            received: Position | None = None
            if from_old is not None:
                ch = from_old
                got = (
                    ch.gtid_io_pos
                    if _mariadb(st)
                    else GtidSet.parse(st.gtid_executed or "")
                    .union(GtidSet.parse(ch.retrieved_gtid_set or ""))
                    .format()
                )
                received = Position(gtid=(got or "").replace("\n", "")) if got else None
            others = [o for m, o in up.items() if m != n]
            errant = "" if n in writers else errant_of(st, others)
            problem = ""
            if not _gtids_on(st):
                problem = "GTIDs are off (gtid_mode OFF): its position cannot be mapped onto another server's"
            elif not st.log_bin:
                problem = "log_bin is OFF: replicas could not follow it"
            elif not st.log_slave_updates:
                problem = "log_slave_updates is OFF: replicas could not get the dead writer's transactions from it"
            elif from_old is None and not st.channels:
                problem = f"it does not replicate from {old}: it holds none of its transactions"
            elif st.disk_waits:
                problem = (
                    f"{st.disk_waits} thread(s) wait for free disk space (a full binlog or data volume): "
                    f"it could not write as the writer"
                )
            self.candidates.append(
                Candidate(
                    n,
                    count,
                    text,
                    received,
                    from_old.lag_seconds if from_old else None,
                    errant,
                    str(st.version) if st.version else "version unknown",
                    bool(st.log_bin and st.log_slave_updates),
                    problem,
                )
            )
        if not self.candidates:
            checks.append(Check("a candidate", F, "no other MySQL server answers", "start a replica first"))
            return checks
        order = {n: i for i, n in enumerate(mysql_nodes)}
        ranked = sorted(self.candidates, key=lambda x: (-x.holds, x.lag if x.lag is not None else 1e9, order[x.node]))
        usable = [x for x in ranked if not x.problem]
        if not usable:
            checks.append(
                Check(
                    "a candidate with binlogs",
                    F,
                    "; ".join(f"{x.node}: {x.problem}" for x in ranked),
                    "no server can take over safely: restore the writer, or turn on log_bin and "
                    "log_slave_updates (and GTIDs) on a replica",
                )
            )
            return checks
        best = usable[0]
        chosen: Candidate | None
        if self.to is not None:
            chosen = next((x for x in self.candidates if x.node == self.to), None)
            if chosen is None:
                checks.append(Check(f"{self.to} answers", F, "its MySQL does not answer", "start it first"))
                return checks
            if chosen.problem:
                checks.append(Check(f"{self.to} can be the writer", F, chosen.problem, "choose another with --to"))
                return checks
            if chosen.errant:
                checks.append(
                    Check(
                        f"{self.to} has no errant transactions",
                        F,
                        f"it has transactions no other server has: {chosen.errant}; as the writer it would hand "
                        "them to every replica",
                        "choose another with --to (its errant transactions are then left out, with "
                        "--discard-errant), or remove them first",
                    )
                )
                return checks
            why = "chosen with --to"
        else:
            clean = [x for x in usable if not x.errant]
            if best.errant and not self.discard_errant:
                checks.append(
                    Check(
                        f"the most advanced candidate {best.node} has no errant transactions",
                        F,
                        f"it has transactions no other server has: {best.errant}; promoting it hands them to every "
                        "replica",
                        "--discard-errant: promote the best candidate without them (what only "
                        f"{best.node} received from {old} is recovered from it first) and leave {best.node} "
                        f"to `hatui rejoin {best.node} --discard-errant`",
                    )
                )
                return checks
            if not clean:
                checks.append(Check("a candidate without errant transactions", F, "none", "remove them first"))
                return checks
            chosen = clean[0]
            why = "the most advanced" if chosen is best else "the most advanced without errant transactions"
        self.target = chosen.node
        for x in ranked:
            if x is chosen:
                checks.append(Check(f"candidate {x.node} (chosen: {why})", P, x.evidence()))
            else:
                checks.append(
                    Check(
                        f"candidate {x.node}",
                        W if x.problem or x.errant else P,
                        x.evidence() + (f"; not eligible: {x.problem}" if x.problem else ""),
                    )
                )
        # a replica that holds more of the dead writer's transactions: the candidate catches up from it
        self.source = None
        # (never one with errant transactions: replicating from it would bring them along)
        more = [x for x in usable if not x.errant and x.holds > chosen.holds]
        if more:
            src = more[0]
            self.source = src.node
            checks.append(
                Check(
                    f"{chosen.node} gets what only {src.node} received",
                    P,
                    f"{src.node} holds {src.holds - chosen.holds} more of {old}'s transactions: {chosen.node} "
                    "replicates from it first",
                )
            )
        if best.errant and chosen is not best and best.holds > max([chosen.holds, *(x.holds for x in more)]):
            checks.append(
                Check(
                    f"what only {best.node} received from {old}",
                    W,
                    f"{best.node} (left out: errant) holds {best.holds - chosen.holds} more of {old}'s transactions: "
                    + (
                        f"recovered from {old}'s binlogs on disk"
                        if self.old_ssh
                        else f"{old}'s host does not answer: they are lost unless it comes back"
                    ),
                )
            )
        # the others follow the new writer; errant ones are left to rejoin
        self.replicas, self.left_out = [], []
        for x in ranked:
            if x.node == chosen.node:
                continue
            if x.errant:
                self.left_out.append(x.node)
                checks.append(
                    Check(
                        f"{x.node} is left out",
                        W,
                        f"errant transactions {x.errant}: it would not follow {chosen.node} cleanly",
                        f"`hatui rejoin {x.node} --discard-errant` after the failover",
                    )
                )
            elif not _gtids_on(up[x.node]):
                self.left_out.append(x.node)
                checks.append(Check(f"{x.node} is left out", W, "GTIDs are off", "repoint it by hand"))
            else:
                self.replicas.append(x.node)
        checks += self._mover(facts, old, chosen.node)
        if not self.old_ssh:
            checks.append(
                Check(
                    f"{old}'s host answers SSH",
                    W,
                    f"{facts.ssh_errors.get(old)}: its binlogs cannot be read (transactions no replica received "
                    "are lost unless its disk comes back) and its restart cannot be fenced",
                    f"bring the host back for `hatui repair-gap --from {old} --to {chosen.node}` later",
                )
            )
        return checks

    def _origin(self, up: dict[str, MysqlStatus], old: str) -> int | str | None:
        """The dead writer's server_id (MariaDB) or server_uuid (MySQL), as its replicas saw it."""
        assert self.facts is not None
        for st in up.values():
            for ch in st.channels:
                if node_for_host(self.facts.snap, ch.source_host or "") != old:
                    continue
                if _mariadb(st) and ch.source_server_id:
                    return int(ch.source_server_id)
                if not _mariadb(st) and ch.source_uuid:
                    return ch.source_uuid.lower()
        return None

    def _writer_capable(self) -> set[str]:
        """Nodes that may hold writes of their own (a standby master's writes are not errant)."""
        c = self.cluster
        if c.topology == Topology.PRIMARY_REPLICAS:
            return set()
        return {n for v in c.vips if v.role == VipRole.WRITER for n in (v.nodes or ())}

    def _mover(self, facts: Facts, old: str, t: str) -> list[Check]:
        c = self.cluster
        self.routes, self.vip = [], None
        wvip = next((v for v in c.vips if v.role == VipRole.WRITER), None)
        if wvip is None:
            return [Check("mover: how the writer's address moves", F, "the cluster file names no writer VIP", "")]
        if c.topology == Topology.PRIMARY_REPLICAS and all(
            c.nodes[n].has_role(Role.ROUTER) for n in (wvip.nodes or ())
        ):
            self.routes, checks = movers.router_routes(c, facts, old, t)
            return checks
        self.vip = str(wvip.address)
        view = next((v for v in vip_views(facts.snap) if v.address == self.vip), None)
        holders = list(view.holders) if view else []
        ok = t in (wvip.nodes or c.nodes) and c.nodes[t].has_role(Role.KEEPALIVED)
        if not ok:
            return [
                Check(
                    f"{t} can hold the writer VIP {self.vip}",
                    F,
                    f"{t} needs the keepalived role and to be one of the VIP's nodes",
                    "choose a standby master with --to",
                )
            ]
        proc = facts.snap.value(t, Kind.KEEPALIVED)
        if proc is None or not proc.running:
            return [
                Check(
                    f"keepalived runs on {t}",
                    F,
                    "not running: nothing would take the VIP there",
                    f"start keepalived on {t} (it stays BACKUP while {old} holds the VIP), then run it again",
                )
            ]
        self.vip_on_old = holders == [old]
        if holders not in ([], [old], [t]):
            return [
                Check(
                    f"VIP {self.vip} held by {old} or nobody",
                    F,
                    f"held by {', '.join(holders)}",
                    "repair the VIP first (`hatui split-brain`)",
                )
            ]
        if self.vip_on_old and not self.old_ssh:
            return [
                Check(
                    f"VIP {self.vip} can leave {old}",
                    F,
                    f"{old} holds it and does not answer SSH: its keepalived cannot be stopped",
                    "power the host off (or fix SSH), then run it again",
                )
            ]
        how = (
            f"keepalived on {old} stopped ({c.nodes[old].keepalived.stop_command}); {t} takes it"
            if self.vip_on_old
            else f"keepalived on {t} takes it"
        )
        return [Check("mover: how the writer's address moves", P, f"VIP {self.vip}: {how}")]

    async def _old_disk(self, ctx: RunContext) -> list[Check]:
        """The dead writer's mysqld is really gone (not hung), and its binlogs hold nothing the
        survivors lack, or what they hold is saved and replayed."""
        old, t = self.old, self.target
        assert old is not None and self.facts is not None
        if not self.old_ssh:
            return []
        ost = self.facts.status.get(old)
        tst = self.facts.status[t]
        rg = RepairGap(self.cluster, old, t, on_conflict="apply", base_dir=self.base_dir)
        rg.facts = self.facts
        mariadb = _mariadb(tst)
        g = Gap.new(self.base_dir, self.cluster, f"{old}-failover-to-{t}", mariadb)
        rg.gap = g
        checks: list[Check] = []
        try:
            files = await rg.server_files(ctx, ost)
        except (ValueError, OSError, SshError) as exc:
            return [Check(f"{old}'s binlog files", W, f"not found ({exc}): nothing can be recovered from them")]
        alive = (await ctx.access.ssh(old, alive_command(files), read=True, sudo=True, timeout=5)).split()
        if alive and alive[0] == "alive":
            return [
                Check(
                    f"{old}'s mysqld is not running",
                    F,
                    f"process {alive[1]} runs but does not answer (hung?): it could still commit",
                    f"stop it (kill {alive[1]}) or power the host off, then run it again",
                )
            ]
        checks.append(Check(f"{old}'s mysqld is not running", P, "no live process behind its pid file"))
        # everything the survivors have or received: what the candidate will hold after catching up
        ups = [st for n, st in self.facts.status.items() if n != old and st.up and n not in self.left_out]
        have = union([holdings(st, None) for st in ups], mariadb)
        failed = await extract(ctx, old, files, have, g, checks, what=f"transactions only {old} has")
        g.keep_cached()  # as the download left it: this runbook's own work is small
        if failed:
            return checks
        if not g.missing:
            checks.append(Check(f"transactions only {old} has", P, "none: the survivors received all of them"))
            return checks
        g.apply = list(g.missing)
        columns, _, _ = await table_meta(ctx, t, g.missing)
        pv = gapmod.preview(g.missing, columns)
        rg.save(g, pv.lines)
        for line in pv.summary() + pv.lines[:SHOWN_LINES]:
            ctx.note(line)
        checks.append(
            Check(
                f"transactions only {old} has",
                P,
                f"{len(g.missing)} ({pv.first} … {pv.last}), recovered from its binlogs on disk: saved in "
                f"{g.folder} (sha256 {g.sha256[:12]}…), replayed on {t} before it takes writes",
            )
        )
        rg.client = await local_client(ctx, t, mariadb)
        self.client = rg.client
        self.gap = g
        return checks

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        facts, old, t, c = self.facts, self.old, self.target, self.cluster
        if facts is None or old is None or not t:
            return []
        tst = facts.status[t]
        assert tst.version is not None
        d = dialect_for(tst.version)
        snap = facts.snap
        steps: list[Step] = []
        self._turn = None
        early: list[Op] = []
        if self.routes:
            # open a channel to every router now: the turn then costs one packet, not an SSH exec
            self._turn = movers.RouterMover("router", self.routes)
            early.append(self._turn.prepare())
        if self.old_ssh:
            fence = Shell(
                old,
                fence_restart_command(d.has_super_read_only),
                f"{old} starts read-only from now on ({FENCE_FILE})",
            )
            steps.append(
                op_step(
                    "fence",
                    f"Fence {old}: if its mysqld starts again, it starts read-only",
                    [Together(old, [fence, *early])],  # the routers' channels open meanwhile
                    20,
                    commits=True,
                    undoable=False,
                )
            )
            early = []
        cand = next(x for x in self.candidates if x.node == t)
        from_old = [ch for ch in tst.channels if node_for_host(snap, ch.source_host or "") == old]
        drain: list[Op] = [DrainRelay(t, d, cand.received, self.catch_up_timeout, ch.name) for ch in from_old]
        drain += [StopReplica(t, d, ch.name) for ch in tst.channels if ch not in from_old]
        drain = early + drain
        steps.append(
            op_step(
                "relay",
                f"{t} applies everything it received from {old}",
                drain,
                self.catch_up_timeout + 15,
                commits=not steps,
                undoable=False,
            )
        )
        if self.source is not None:
            s = self.source
            sst = facts.status[s]
            assert sst.version is not None
            ds = dialect_for(sst.version)
            src = next(x for x in self.candidates if x.node == s)
            pos = Slot(f"{s}'s position")
            ops: list[Op] = [
                DrainRelay(s, ds, src.received, self.catch_up_timeout, ch.name)
                for ch in sst.channels
                if node_for_host(snap, ch.source_host or "") == old
            ]
            ops.append(ReadPosition(s, ds, True, pos))
            if d.is_mariadb:
                ops.append(ContinueFrom(t))
            ops += [
                ChangeSource(t, d, c.nodes[s].host, c.nodes[s].mysql.port, stop=False),
                WaitFor(t, d, pos, self.catch_up_timeout),
                StopReplica(t, d),
            ]
            steps.append(op_step("from_" + s, f"{t} gets what only {s} received", ops, self.catch_up_timeout * 2 + 30))
        if self.gap is not None and self.gap.apply:
            rg = RepairGap(c, old, t, on_conflict="apply", base_dir=self.base_dir)
            rg.gap, rg.facts, rg.client = self.gap, facts, self.client
            for st_ in rg.steps(ctx):
                st_.key = f"recover_{st_.key}"
                st_.commits = False
                steps.append(st_)
        promote: list[Op] = [Detach(t, d, ch.name) for ch in tst.channels]
        promote.append(SetWritable(t, d, True))
        steps.append(op_step("promote", f"Make {t} the writer: no source, writable", promote, 30, undoable=False))
        if self._turn is not None:
            steps.append(
                op_step(
                    "route",
                    f"Turn every router's writers' route to {t}",
                    [self._turn.move()],
                    20,
                    undoable=False,
                )
            )
        elif self.vip is not None:
            vops: list[Op] = []
            if self.vip_on_old:
                vops.append(Shell(old, c.nodes[old].keepalived.stop_command, f"keepalived on {old} stopped"))
            vops.append(Shell(t, vip_wait_command(self.vip, True, 15), f"{t} holds {self.vip}", sudo=False, timeout=20))
            steps.append(op_step("vip", f"Move the writer VIP {self.vip} to {t}", vops, 30, undoable=False))
        if self.replicas:
            wh, wport = c.nodes[t].host, c.nodes[t].mysql.port
            waits: list[Op] = []
            at = Slot(f"{t}'s position")
            for r in self.replicas:
                rst = facts.status[r]
                assert rst.version is not None
                dr = dialect_for(rst.version)
                away = [ch for ch in rst.channels if node_for_host(snap, ch.source_host or "") == old]
                if not away:
                    continue  # it pulls from a live intermediate: the DBA's chain stays
                ops = []
                ops += repoint_ops(r, dr, [ch.name for ch in rst.channels], wh, wport, [ch.name for ch in away])
                steps.append(op_step(f"repoint_{r}", f"Replicate {r} from {t}", ops, 60, undoable=False))
                waits.append(WaitFor(r, dr, at, self.catch_up_timeout))
            steps.append(
                op_step(
                    "catch_up",
                    f"Wait until {', '.join(self.replicas)} {'has' if len(self.replicas) == 1 else 'have'} "
                    f"{t}'s position",
                    [ReadPosition(t, d, True, at), *waits],
                    self.catch_up_timeout + 15,
                    undoable=False,
                )
            )
        steps.append(self._summary_step())
        return steps

    def recovered(self) -> list[str]:
        """Where the new writer's transactions of the dead one came from, one line each."""
        old, t = self.old, self.target
        cand = {x.node: x for x in self.candidates}
        me = cand[t]
        lines = [f"{t} held {me.holds} of {old}'s transactions ({me.holds_text or 'none'}), applied from its relay log"]
        if self.source is not None:
            s = cand[self.source]
            lines.append(
                f"{s.holds - me.holds} more ({s.holds_text}) from {self.source}, which had received them from {old}"
            )
        if self.gap is not None and self.gap.apply:
            g = self.gap
            lines.append(
                f"{len(g.apply)} from {old}'s binlogs on disk ({g.apply[0].gtid} … {g.apply[-1].gtid}), saved in "
                f"{g.folder} (sha256 {g.sha256[:12]}…)"
            )
        elif self.old_ssh:
            lines.append(f"none from {old}'s binlogs: the survivors had received every transaction it logged")
        else:
            lines.append(f"{old}'s binlogs were not read (its host does not answer): check them once it is back")
        for r in self.replicas:
            x = cand[r]
            lines.append(f"{r} ({x.holds_text or 'nothing'} before) got the rest by replicating from {t}")
        for r in self.left_out:
            lines.append(f"{r} left out: `hatui rejoin {r}` next")
        return lines

    def _summary_step(self) -> Step:
        lines = self.recovered()

        async def summary(ctx: RunContext) -> str:
            for line in lines:
                ctx.note(line)
            return f"{self.target} is the writer; recovered: " + "; ".join(lines)

        return Step("summary", "Report where every transaction of the dead writer came from", [], summary, 10)
