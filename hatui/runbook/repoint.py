"""Repoint replicas that still pull from a source that is gone to the current writer (seed 002's
main pitfall: keepalived moved the VIP, the replicas' IO threads keep connecting to the dead
master). It does not wait for the dead node to come back (docs/runbooks.md, "repoint").

Read-only first: who the writer is (it holds the writer's VIP, or is the only writable server),
which replicas pull from somewhere else, and whether each can follow the writer by GTID: a
replica holding transactions the writer lacks (the dead master's last writes reached it, not the
writer) is refused, never repointed silently: that is a gap repair first. Without GTIDs a dead
source's binlog position cannot be mapped onto the writer's binlog without reading relay logs
(MHA does); it refuses and says so. Then, for each replica, the runbook core's operations:
stop, (MariaDB: where it continues), change source, start, and wait until it has the writer's
position. Nothing is undone: pointing a replica back at a dead source helps nobody."""

from __future__ import annotations

from typing import Any

from hatui.cluster import Cluster, Role
from hatui.mysql.dialect import Dialect, dialect_for
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.rules.errant import Standing, classify
from hatui.rules.topology import node_for_host, writer
from hatui.runbook.facts import Facts, gather, reread_writer, writer_first_head
from hatui.runbook.model import Check, Step, Verdict, mysql_node
from hatui.runbook.ops import (
    Op,
    ReadPosition,
    Slot,
    WaitFor,
    op_step,
    repoint_ops,
)
from hatui.runbook.runner import RunContext

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL


def _gtids(st: MysqlStatus) -> bool:
    """The server can be positioned by GTID (MariaDB always logs them; MySQL needs gtid_mode=ON)."""
    if st.version is not None and st.version.is_mariadb:
        return True
    return (st.gtid_mode or "").upper() == "ON"


class Repoint:
    name = "repoint"
    destructive = True
    resume_hint = "run the same `hatui repoint` again (it re-reads every replica and repoints what still needs it)"

    def __init__(self, cluster: Cluster, nodes: list[str] | None = None, *, catch_up_timeout: float = 60.0):
        for n in nodes or []:
            mysql_node(cluster, n)
        self.cluster = cluster
        self.nodes = list(nodes or [])
        self.catch_up_timeout = catch_up_timeout
        self.writer: str | None = None
        self.target = ""  # what the DBA types to confirm: the writer they will follow
        self.facts: Facts | None = None
        self.moves: dict[str, list[ReplicationChannel]] = {}  # replica -> the channels to repoint

    def params(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "writer": self.writer}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        facts = await gather(ctx)
        w = writer(facts.snap).node
        await reread_writer(ctx, facts, w)
        ws = facts.status.get(w) if w else None
        head = None
        if w and ws is not None and ws.up:
            # what the writer no longer has in its binlogs: a replica that lacks it cannot follow
            head = await writer_first_head(ctx, w, ws, bool(ws.version and ws.version.is_mariadb))
        return self.judge(facts, head)

    def judge(self, facts: Facts, writer_head: str | None = None) -> list[Check]:
        """Pure: the checks, the writer and the replicas to repoint, from what preflight read
        (`writer_head`: the GTID state at the head of the writer's oldest binlog / its
        gtid_purged)."""
        self.facts = facts
        snap, c = facts.snap, self.cluster
        w = writer(snap)
        checks: list[Check] = []
        if not w.node:
            return [Check("a current writer", F, w.how, "resolve the writer question first (see the console's alerts)")]
        self.writer = self.target = w.node
        checks.append(Check("a current writer", P, f"{w.node} ({w.how})"))
        ws = facts.status.get(w.node)
        if ws is None or not ws.up:
            checks.append(
                Check(f"MySQL on the writer {w.node} answers", F, (ws.error if ws else None) or "not read", "")
            )
            return checks
        if ws.read_only:
            checks.append(
                Check(
                    f"the writer {w.node} is writable",
                    F,
                    "read_only=ON: replicas of it would follow a server that takes no writes",
                    f"make {w.node} writable first (or fail the VIP over to the right node)",
                )
            )
            return checks
        asked = self.nodes or [n for n in c.nodes if c.nodes[n].has_role(Role.MYSQL) and n != w.node]
        self.moves = {}
        for n in asked:
            if n == w.node:
                checks.append(Check(f"{n} is not the writer", F, f"{n} is the writer", "name the replicas only"))
                continue
            st = facts.status.get(n)
            if st is None or not st.up:
                why = (st.error if st else None) or "not read"
                if n in self.nodes:  # named on purpose: a refusal
                    checks.append(Check(f"MySQL on {n} answers", F, why, "start it first"))
                else:  # the dead source itself, most often: its replicas are what is repointed
                    checks.append(
                        Check(f"{n} is down", W, f"{why}; not repointed", f"`hatui rejoin {n}` once it is repaired")
                    )
                continue
            away = [ch for ch in st.channels if node_for_host(snap, ch.source_host or "") != w.node]
            if not away:
                if n in self.nodes:
                    checks.append(Check(f"{n} replicates from {w.node}", P, "already: nothing to do for it"))
                continue
            if len(st.channels) > 1 and len(away) < len(st.channels):
                checks.append(
                    Check(
                        f"{n} has one source",
                        F,
                        f"channels {', '.join(ch.name or '(default)' for ch in st.channels)}: one of them pulls from "
                        f"{w.node} already; another one to it would apply its writes twice",
                        "repoint it by hand",
                    )
                )
                continue
            sources = sorted({node_for_host(snap, ch.source_host or "") or ch.source_host or "?" for ch in away})
            if not self.nodes:
                alive = [s for s in sources if (ss := facts.status.get(s)) is not None and ss.up]
                if alive:  # a chain through a live intermediate is the DBA's design: only when asked
                    continue
            if not (_gtids(st) and _gtids(ws)):
                checks.append(
                    Check(
                        f"{n} can be positioned on {w.node} by GTID",
                        F,
                        "GTIDs are off: the position it reached in the dead source's binlog cannot be mapped onto "
                        f"{w.node}'s binlog without reading relay logs",
                        "repoint it by hand (MASTER_LOG_FILE/POS from the relay log), or turn GTIDs on",
                    )
                )
                continue
            cl = classify(st, ws, writer_head)
            ok = cl.standing in (Standing.IDENTICAL, Standing.BEHIND)
            fix = ""
            if cl.standing == Standing.DIVERGED:
                fix = (
                    f"it holds transactions {w.node} lacks (the dead source's last ones): recover them on {w.node} "
                    f"first (`hatui repair-gap`), or `hatui rejoin {n} --discard-errant`"
                )
            elif not ok:
                fix = f"re-clone {n} from {w.node}"
            checks.append(
                Check(f"{n} (pulling from {', '.join(sources)}) can follow {w.node}", P if ok else F, cl.reason, fix)
            )
            if ok:
                self.moves[n] = away
        if not self.moves and all(ch.verdict != F for ch in checks):
            checks.append(
                Check(
                    "replicas to repoint",
                    F,
                    f"none: every replica that answers pulls from {w.node} or from a live intermediate",
                    "nothing to do (name a replica to repoint it anyway)",
                )
            )
        elif self.moves:
            checks.append(Check("replicas to repoint", P, ", ".join(f"{n} -> {w.node}" for n in self.moves)))
        return checks

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        facts, w, c = self.facts, self.writer, self.cluster
        ws = facts.status.get(w) if facts and w else None
        if facts is None or w is None or ws is None or ws.version is None or not self.moves:
            return []  # preflight refused: nothing to plan
        wh, wport = c.nodes[w].host, c.nodes[w].mysql.port
        dw = dialect_for(ws.version)
        steps: list[Step] = []
        waits: list[Op] = []
        pos = Slot("the writer's position")
        for n, channels in self.moves.items():
            st = facts.status[n]
            assert st.version is not None
            d: Dialect = dialect_for(st.version)
            ops = repoint_ops(n, d, [ch.name for ch in st.channels], wh, wport, [ch.name for ch in channels])
            steps.append(op_step(f"repoint_{n}", f"Replicate {n} from {w}", ops, 60, commits=not steps))
            waits += [WaitFor(n, d, pos, self.catch_up_timeout, ch.name) for ch in channels]
        steps.append(
            op_step(
                "catch_up",
                f"Wait until {', '.join(self.moves)} {'has' if len(self.moves) == 1 else 'have'} {w}'s position",
                [ReadPosition(w, dw, True, pos), *waits],
                self.catch_up_timeout + 15,
            )
        )
        return steps
