"""`hatui switchover` and `hatui runbook status|rollback|resume`: the runbook engine on a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from hatui.cluster import Cluster
from hatui.runbook.journal import Journal
from hatui.runbook.model import Check, Event, Outcome, Step
from hatui.runbook.report import EXIT, event_lines
from hatui.runbook.runner import Runner, cluster_dir, state_dir
from hatui.runbook.switchover import Switchover
from hatui.ssh.pool import SessionPool


def _printer(out=sys.stdout) -> Callable[[Event], None]:
    def show(ev: Event) -> None:
        for line in event_lines(ev):
            print(line, file=out, flush=True)

    return show


def ask_target_name(target: str, *, read: Callable[[str], str] = input) -> Callable:
    async def confirm(checks: list[Check], steps: list[Step]) -> bool:
        warns = [c for c in checks if c.verdict == "warn"]
        if warns:
            print(f"{len(warns)} warning(s) above.")
        try:
            answer = await asyncio.to_thread(read, f"Type the target's name ({target}) to go ahead: ")
        except EOFError:
            return False
        return answer.strip() == target

    return confirm


async def _yes(checks, steps) -> bool:
    return True


def run_switchover(cluster: Cluster, target: str, *, dry_run: bool, yes: bool, interactive: bool, **runner_kw) -> int:
    try:
        runbook = Switchover(cluster, target)
    except ValueError as exc:
        print(f"hatui: {exc}", file=sys.stderr)
        return 1
    return run_runbook(cluster, runbook, dry_run=dry_run, yes=yes, interactive=interactive, **runner_kw)


def run_runbook(cluster: Cluster, runbook, *, dry_run: bool, yes: bool, interactive: bool, **runner_kw) -> int:
    """Any runbook on a terminal: checks and plan, confirmation (typing the target's name),
    every action as it is sent, the outcome as the exit status (see report.EXIT)."""
    target = runbook.target

    async def go() -> int:
        pool = SessionPool.for_cluster(cluster)
        try:
            runner = Runner(cluster, runbook, pool=pool, on_event=_printer(), dry_run=dry_run, **runner_kw)
            if dry_run:
                report = await runner.plan()
                print(
                    f"DRY RUN: {'would be refused' if report.outcome == Outcome.REFUSED else 'nothing was changed'}"
                    f" ({report.seconds:.2f} s)"
                )
                return EXIT[report.outcome]
            if not yes and not interactive:
                print(
                    f"hatui: refusing to run {runbook.name} without a terminal to confirm on; add --yes "
                    "(after a --dry-run) to confirm from a script",
                    file=sys.stderr,
                )
                return 1
            report = await runner.execute(_yes if yes else ask_target_name(target))
            print(
                f"{report.outcome.value.upper().replace('_', ' ')} in {report.seconds:.2f} s; "
                f"audit log: {runner.audit.path}"
            )
            return EXIT[report.outcome]
        finally:
            await pool.close()

    try:
        return asyncio.run(go())
    except ValueError as exc:
        print(f"hatui: {exc}", file=sys.stderr)
        return 1


def run_recovery(cluster: Cluster, how: str, *, yes: bool) -> int:
    path = cluster_dir(state_dir(), cluster) / "journal.json"
    journal = Journal.load(path)
    if how == "status":
        if journal is None:
            print(f"no runbook journal for {cluster.name} ({path})")
            return 0
        print(f"{journal.runbook} {journal.params} by {journal.operator}: {journal.state}")
        for s in journal.steps:
            print(f"  {s.status:12} {s.key}  {s.detail}")
        return 0 if journal.state != "running" and journal.state != "failed" else 1
    if journal is None or journal.state not in ("running", "failed"):
        print(f"nothing to {how}: no unfinished runbook for {cluster.name}")
        return 1
    if journal.runbook != "switchover":
        # gap repair and rejoin re-read everything and skip what is done: running them again
        # is their resume (a repair replays only what is still missing)
        again = {
            "repair-gap": f"hatui repair-gap --cluster FILE --from {journal.params.get('from')} "
            f"--to {journal.params.get('to')}",
            "rejoin": f"hatui rejoin --cluster FILE {journal.params.get('node')}",
            "repoint": "hatui repoint --cluster FILE " + " ".join(journal.params.get("nodes") or []),
            "split-brain": f"hatui split-brain --cluster FILE --keep {journal.params.get('keep')}",
            "failover": f"hatui failover --cluster FILE --to {journal.params.get('to')}",
            "make-writable": f"hatui make-writable --cluster FILE {journal.params.get('node')}",
            "skip-applied": f"hatui skip-applied --cluster FILE {journal.params.get('node')}"
            + (f" --{journal.params['resolve']}" if journal.params.get("resolve") else ""),
        }.get(journal.runbook)
        print(
            f"hatui: a {journal.runbook} is not resumed from its journal: run it again"
            + (f" (`{again}`); it re-reads the cluster and skips what is done" if again else ""),
            file=sys.stderr,
        )
        return 1

    print(f"{journal.runbook} {journal.params} by {journal.operator}, {journal.state}; {how} it:")
    for s in journal.steps:
        print(f"  {s.status:12} {s.key}  {s.detail}")
    if not yes:
        if not sys.stdin.isatty():
            print(f"hatui: refusing to {how} without a terminal to confirm on; add --yes", file=sys.stderr)
            return 1
        if input(f"type {how} to go on: ").strip() != how:
            print("not confirmed: nothing was changed")
            return 1

    async def go() -> int:
        pool = SessionPool.for_cluster(cluster)
        try:
            rb = Switchover(cluster, journal.params["to"])
            rb.state.old = journal.params.get("from") or ""
            runner = Runner(cluster, rb, pool=pool, on_event=_printer())
            report = await runner.recover(journal, how)
            print(f"{report.outcome.value.upper().replace('_', ' ')} in {report.seconds:.2f} s")
            if how == "rollback" and report.outcome == Outcome.ROLLED_BACK:
                return 0  # what was asked for
            return EXIT[report.outcome]
        finally:
            await pool.close()

    return asyncio.run(go())
