"""Make the node where writes go writable again, when no server is (docs/runbooks.md,
"make-writable").

The chaos soak's case (seed 002's deployment): the primary's mysqld restarts, comes back
read-only (read_only in my.cnf, as it should: a server never starts writable by itself), and the
routers still send every write to it: every write fails, while nothing failed over. keepalived's
notify script does this on the database hosts; behind routers nobody does. The DBA's fix is one
statement; what makes it safe is what must be true first, checked here before it is sent:

- every MySQL server answers (a dead one may hold the last writes: that is `hatui failover`);
- none is writable (else there is a writer, and moving it is a switchover);
- writes go to this node: every router's writers' route targets it alone, or it alone holds the
  writer's VIP;
- it holds every transaction any other server has (by GTID; without GTIDs that cannot be proven
  from positions alone, so it refuses and says so).

The step is SetWritable (undone by fencing it again), from the server's own dialect; then, when
a failover left its fence file (the soak's actual cause: the node had been failed over from,
rejoined, made the writer again by hand, and its next restart brought the fence back), the file
goes too."""

from __future__ import annotations

from typing import Any

from hatui.cluster import Cluster, Role, VipRole
from hatui.mysql.dialect import dialect_for
from hatui.rules.errant import Standing, classify
from hatui.rules.routers import server_node
from hatui.rules.topology import vip_views, writable
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Check, Step, Verdict, mysql_node
from hatui.runbook.ops import SetWritable, op_step, unfence_op
from hatui.runbook.runner import RunContext

P, F = Verdict.PASS, Verdict.FAIL


def _gtids(st) -> bool:
    return bool(st.version and st.version.is_mariadb) or (st.gtid_mode or "").upper() == "ON"


class MakeWritable:
    name = "make-writable"
    destructive = True
    resume_hint = "run the same `hatui make-writable` again (it re-reads everything; a writable node is left alone)"

    def __init__(self, cluster: Cluster, node: str):
        mysql_node(cluster, node)
        self.cluster = cluster
        self.node = self.target = node
        self.facts: Facts | None = None

    def params(self) -> dict[str, Any]:
        return {"node": self.node}

    async def preflight(self, ctx: RunContext) -> list[Check]:
        return self.judge(await gather(ctx))

    def judge(self, facts: Facts) -> list[Check]:
        """Pure: the checks above, from what preflight read."""
        self.facts = facts
        c, n = self.cluster, self.node
        checks: list[Check] = []
        mysql_nodes = [m for m in c.nodes if c.nodes[m].has_role(Role.MYSQL)]
        down = {
            m: (st.error if st else None) or "not read"
            for m in mysql_nodes
            if not (st := facts.status.get(m)) or not st.up
        }
        if down:
            checks.append(
                Check(
                    "every MySQL server answers",
                    F,
                    "; ".join(f"{m}: {why}" for m, why in sorted(down.items())),
                    "a server that does not answer may hold the last writes: start it, or `hatui failover` "
                    "when the writer died",
                )
            )
            return checks
        checks.append(Check("every MySQL server answers", P, ", ".join(mysql_nodes)))
        open_ = [m for m in mysql_nodes if writable(facts.status[m])]
        if open_:
            checks.append(
                Check(
                    "no server takes writes",
                    F,
                    f"{', '.join(open_)} {'is' if len(open_) == 1 else 'are'} writable"
                    + (": nothing to do" if open_ == [n] else ": there is a writer already"),
                    "" if open_ == [n] else f"to move the writer: `hatui switchover --to {n}`",
                )
            )
            return checks
        checks.append(Check("no server takes writes", P, "every server is read-only"))
        checks.append(self._writes_go_here(facts))
        st = facts.status[n]
        for m in mysql_nodes:
            if m == n:
                continue
            other = facts.status[m]
            if not (_gtids(st) and _gtids(other)):
                checks.append(
                    Check(
                        f"{n} has everything {m} has",
                        F,
                        "GTIDs are off: binlog positions on two servers cannot prove which holds more",
                        f"compare by hand (SHOW SLAVE STATUS on {m} against SHOW MASTER STATUS on {n}), then "
                        f"SET GLOBAL read_only=OFF on {n} yourself",
                    )
                )
                continue
            # what m has that n lacks: m's "errant" transactions against n
            cl = classify(other, st, None)
            ok = cl.standing != Standing.DIVERGED
            checks.append(
                Check(
                    f"{n} has everything {m} has",
                    P if ok else F,
                    "yes" if ok else f"{m} has {cl.errant}, which {n} lacks",
                    ""
                    if ok
                    else f"{m} is ahead: `hatui switchover --to {m}` once a writer exists, or recover them on {n} "
                    f"(`hatui repair-gap --from {m} --to {n}`)",
                )
            )
        return checks

    def _writes_go_here(self, facts: Facts) -> Check:
        c, n = self.cluster, self.node
        name = f"writes go to {n}"
        routers = [r for r in c.nodes if c.nodes[r].has_role(Role.ROUTER)]
        if routers:
            wrong = []
            for r in routers:
                obs = facts.routers.get(r)
                if obs is None or obs.error:
                    wrong.append(f"{r}: not read ({obs.error if obs else 'no reading'})")
                    continue
                for route in obs.with_role("writer"):
                    targets = sorted({server_node(facts.snap, t) or t.name for t in route.targets})
                    if targets != [n]:
                        wrong.append(f"{r}'s {route.name} -> {', '.join(targets) or 'nothing'}")
            if wrong:
                return Check(
                    name, F, "; ".join(wrong), f"point every writers' route at {n} first (or choose its target)"
                )
            return Check(name, P, f"every router's writers' route targets {n} alone")
        holders = [h for v in vip_views(facts.snap) if v.role == VipRole.WRITER for h in v.holders]
        if holders == [n]:
            return Check(name, P, f"{n} holds the writer's VIP alone")
        return Check(
            name,
            F,
            f"the writer's VIP is on {', '.join(holders) or 'no node'}",
            "make the node that holds the writer's VIP writable, or move the VIP (keepalived) first",
        )

    def steps(self, ctx: RunContext) -> list[Step]:
        st = self.facts.status.get(self.node) if self.facts else None
        if st is None or st.version is None:
            return []  # preflight refused: nothing to plan
        d = dialect_for(st.version)
        steps = [op_step("writable", f"Make {self.node} writable", [SetWritable(self.node, d, True)], 15)]
        if self.facts and self.facts.fenced.get(self.node):
            # a failover's fence file: left, the next restart brings the writer back read-only
            steps.append(op_step("unfence", f"Remove {self.node}'s fence file", [unfence_op(self.node)], 15))
        return steps
