"""Resolve a split brain (docs/runbooks.md, "split-brain"): the writer's VIP on two nodes, or two
writable masters (seed 000's `kill -9` of keepalived; a partition between the masters).

Never decided silently: preflight shows each side's own writes the other lacks (GTIDs per side),
whether its keepalived runs, and which side survives and why (the one with more writes the
other lacks, then the one whose keepalived runs, then the VIP's first node; `--keep NODE`
chooses), and the DBA confirms by typing the survivor's name. The loser's divergent
transactions are saved first (replayable SQL with its sha256, as the rejoin saves them), then
the loser is fenced (read_only, never undone) and its VIP dropped (its keepalived stopped, or,
when keepalived is dead and left the address behind, the address removed by hand). The report
hands over: keep the loser's writes with `hatui repair-gap --from LOSER --to SURVIVOR`, or
discard them with `hatui rejoin LOSER --discard-errant`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from hatui.cluster import Cluster, Role, VipRole
from hatui.mysql.dialect import dialect_for
from hatui.rules.errant import classify
from hatui.rules.topology import vip_views, writable
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.ops import Op, SetWritable, Shell, op_step, vip_wait_command
from hatui.runbook.rejoin import save_errant
from hatui.runbook.runner import RunContext
from hatui.state import Kind

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL


def _count(gtids: str) -> int:
    """How many transactions a GTID list names: MariaDB `1-1-5..9,2-2-3` (as classify writes
    it) or a MySQL set `uuid:1-5:7-9`."""
    n = 0
    for part in filter(None, (p.strip() for p in gtids.replace("\n", "").split(","))):
        ranges = part.split(":")[1:] if ":" in part else [part.rsplit("-", 1)[-1]]
        for rng in ranges:
            a, sep, b = rng.partition("..") if ".." in rng else rng.partition("-")
            try:
                n += int(b) - int(a) + 1 if sep else 1
            except ValueError:
                n += 1
    return n


def drop_address_command(address: str) -> str:
    """Remove `address` from whichever interface carries it (keepalived is dead there and left
    it behind), then wait until it is gone."""
    q = shlex.quote(address)
    return (
        f"set -- $(ip -o addr show to {q} | awk '{{print $2, $4; exit}}'); "
        f'if [ -n "$1" ]; then ip addr del "$2" dev "$1"; fi; ' + vip_wait_command(address, False, 5)
    )


class SplitBrain:
    name = "split-brain"
    destructive = True
    resume_hint = "run the same `hatui split-brain` again (it re-reads both sides; a fenced loser stays fenced)"

    def __init__(self, cluster: Cluster, keep: str | None = None, *, base_dir: Path | None = None):
        if keep is not None:
            mysql_node(cluster, keep)
        self.cluster = cluster
        self.keep = keep
        self.base_dir = base_dir
        self.target = ""  # the survivor: what the DBA types
        self.loser: str | None = None
        self.address: str | None = None  # the writer's VIP
        self.facts: Facts | None = None
        self.saved: str | None = None  # the loser's divergent transactions, where they were saved

    def params(self) -> dict[str, Any]:
        return {"keep": self.target, "loser": self.loser}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        checks = self.judge(await gather(ctx))
        if any(c.verdict == F for c in checks) or self.loser is None or self.facts is None:
            return checks
        st, ws = self.facts.status[self.loser], self.facts.status[self.target]
        diverged = classify(st, ws, None).errant
        if not diverged:
            checks.append(Check(f"{self.loser}'s writes the survivor lacks", P, "none: nothing to save"))
        elif st.version is not None and st.version.is_mariadb:
            g, _ = await save_errant(ctx, self.cluster, self.loser, ws, checks, base_dir=self.base_dir)
            if g is not None:
                self.saved = str(g.folder / "errant.sql")
        else:
            checks.append(
                Check(
                    f"{self.loser}'s writes the survivor lacks are saved",
                    F,
                    f"{diverged}: hatui saves them on MariaDB only",
                    "save them by hand first (mysqlbinlog --include-gtids), then run it with --keep",
                )
            )
        return checks

    def judge(self, facts: Facts) -> list[Check]:
        """Pure: whether there is a split brain, its sides with their evidence, the survivor."""
        self.facts = facts
        snap, c = facts.snap, self.cluster
        wv = next((v for v in vip_views(snap) if v.role == VipRole.WRITER), None)
        self.address = wv.address if wv else None
        mysql_nodes = [n for n in c.nodes if c.nodes[n].has_role(Role.MYSQL)]
        held = [h for h in (wv.holders if wv else ()) if h in mysql_nodes]
        open_ = [n for n in mysql_nodes if (st := facts.status.get(n)) is not None and st.up and writable(st)]
        sides = held if len(held) > 1 else open_ if len(open_) > 1 else []
        if not sides:
            return [
                Check(
                    "a split brain",
                    F,
                    f"none: the writer's VIP is on {', '.join(held) or 'no node'} and "
                    f"{', '.join(open_) or 'no node'} is writable",
                    "nothing to resolve (the console's incidents say what is wrong)",
                )
            ]
        how = f"the writer VIP {self.address} is on {', '.join(held)}" if len(held) > 1 else "several writable masters"
        checks = [Check("a split brain", P, f"{how} ({', '.join(sides)} may all take writes)")]
        if len(sides) != 2:
            checks.append(Check("two sides", F, f"{len(sides)} sides: {', '.join(sides)}", "resolve it by hand"))
            return checks
        down = [s for s in sides if (st := facts.status.get(s)) is None or not st.up]
        if down:
            checks.append(
                Check(
                    "MySQL answers on both sides",
                    F,
                    f"{', '.join(down)} does not answer: its writes cannot be read",
                    "bring it back first (or, if it is lost, this is a failover)",
                )
            )
            return checks
        a, b = sides
        sa, sb = facts.status[a], facts.status[b]
        only = {a: classify(sa, sb, None).errant, b: classify(sb, sa, None).errant}
        alive = {s: bool((p := snap.value(s, Kind.KEEPALIVED)) is not None and p.running) for s in sides}
        for s in sides:
            checks.append(
                Check(
                    f"{s}: writes the other side lacks",
                    P,
                    f"{_count(only[s])} ({only[s] or 'none'}); keepalived {'running' if alive[s] else 'not running'}",
                )
            )
        if self.keep is not None:
            if self.keep not in sides:
                checks.append(
                    Check("the survivor", F, f"{self.keep} is not one of the sides ({a}, {b})", f"--keep {a} or {b}")
                )
                return checks
            survivor, why = self.keep, "chosen with --keep"
        else:
            order = sorted(
                sides,
                key=lambda s: (-_count(only[s]), not alive[s], (wv.holders.index(s) if wv and s in wv.holders else 9)),
            )
            survivor = order[0]
            why = (
                "more writes the other lacks"
                if _count(only[a]) != _count(only[b])
                else "its keepalived runs"
                if alive[a] != alive[b]
                else "the VIP's first node"
            )
        self.target, self.loser = survivor, b if survivor == a else a
        checks.append(
            Check(
                "the survivor",
                W,
                f"{survivor} ({why}); {self.loser} is fenced and its VIP dropped",
                f"--keep {self.loser} to keep {self.loser} instead",
            )
        )
        return checks

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        facts, loser, keep, c = self.facts, self.loser, self.target, self.cluster
        if facts is None or loser is None or not keep:
            return []  # preflight refused: nothing to plan
        st = facts.status[loser]
        assert st.version is not None
        d = dialect_for(st.version)
        steps = [
            op_step(
                "fence",
                f"Fence {loser}: read-only (its writes stop; never undone)",
                [SetWritable(loser, d, False)],
                15,
                undoable=False,
                commits=True,
            )
        ]
        if self.address is not None and c.nodes[loser].has_role(Role.KEEPALIVED):
            proc = facts.snap.value(loser, Kind.KEEPALIVED)
            ka = c.nodes[loser].keepalived
            drop: Op
            if proc is not None and proc.running:
                drop = Shell(
                    loser,
                    f"{ka.stop_command} && {vip_wait_command(self.address, False, 10)}",
                    f"keepalived stopped on {loser}: the VIP left it",
                    timeout=30,
                )
                how = "stop its keepalived"
            else:
                drop = Shell(loser, drop_address_command(self.address), f"{self.address} removed from {loser}")
                how = "its keepalived is dead and left the address: remove it"
            steps.append(op_step("drop_vip", f"Take VIP {self.address} off {loser}: {how}", [drop], 40))
        address = self.address

        async def verify(ctx: RunContext) -> str:  # reads only
            lo = await ctx.access.sql(loser).status()
            if not lo.read_only:
                raise StepFailed(f"{loser} is writable again")
            if address is not None:
                out = await ctx.access.ssh(loser, f"ip -o addr show to {shlex.quote(address)}", read=True)
                if out.strip():
                    raise StepFailed(f"VIP {address} is still on {loser}")
            done = f"{keep} alone takes writes; {loser} is read-only" + (f" without VIP {address}" if address else "")
            return "; next: ".join([done, *self.next_steps()])

        steps.append(Step("verify", f"Verify {keep} alone takes writes", [], verify, 20))
        return steps

    def next_steps(self) -> list[str]:
        """What the DBA runs next: the loser's writes kept or discarded, then the rejoin."""
        if not self.loser:
            return []
        saved = f" (saved in {self.saved})" if self.saved else ""
        return [
            f"start keepalived on {self.loser} again (it comes back BACKUP: the VIP stays on {self.target})",
            f"keep {self.loser}'s writes{saved}: hatui repair-gap --from {self.loser} --to {self.target}, "
            f"then hatui rejoin {self.loser}",
            f"or discard them: hatui rejoin {self.loser} --discard-errant (a replica that pulled "
            f"{self.loser}'s writes first, the same way: the discard resets {self.loser}'s binlogs)",
        ]
