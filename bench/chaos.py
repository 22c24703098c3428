"""Chaos soak: a seeded schedule of every fault the lab has, under a writing client, with the
console and the read-only wallboard watching, and every acknowledged row accounted for.

    sudo .venv/bin/python bench/chaos.py --minutes 30 --seed 7 [--topology mmm] [--gtid off]

A lab of its own (prefix hatui-chaos-; --use-lab takes the one $HATUI_LAB_PREFIX/_DIR/_SUBNET
name, as the CI soak does). Each cycle: a client writes rows 1, 2, 3, ... through the writer's
address (exactly once each, reconnecting, each commit's GTID kept); one fault, or two at once on
two nodes, is injected (kill/stop/SIGSTOP of mysqld, kill -9/stop of keepalived, HAProxy on a
router, sshd stop, a partition); the console (headless, driven by Pilot) must show the right
incident naming the node, the wallboard (--watch, its own app) must leave OK, and a key must get
its answer; the faults hold a few seconds; then the soak does what a DBA at the console would:
runs the runbook the console suggests for a dead writer (failover, repair-gap) before the
repair, repairs (start, thaw, heal), runs what is suggested next (rejoin, ...), and the
incidents must clear. Then the rows: every id the client was told committed must be readable
through the writer's address; the ones that are not are listed with their GTIDs. The lab goes
back to canonical (repaired as a DBA would, rebuilt only when that cannot work) before the next
cycle, and the console must show nothing wrong then.

It prints the seed first and a summary at the end; --json writes the whole report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.widgets import DataTable

from hatui.cluster import load_cluster
from hatui.lab import Lab, canonical
from hatui.lab.chaos import CyclePlan, CycleResult, Fault, FaultResult, RunbookRun, SoakReport, plan_cycle
from hatui.lab.operator import OperatorLoop
from hatui.lab.spec import TOPOLOGIES, LabOptions, default_spec
from hatui.lab.stalls import StallWatch
from hatui.lab.writer import VipWriter, ids_through_vip
from screens.app import HatuiApp
from screens.dashboard import ClusterView
from screens.help import HelpScreen
from screens.wallboard import ClusterBoard

SYMPTOM = "  └ "
DETECT_GIVE_UP = 30.0  # after this a fault counts as never detected
CLEAR_GIVE_UP = 30.0
QUIET_WATCH = 8.0  # a fault with nothing to show is watched this long for a wrong incident
CLEAR_HOLD = 1.0  # cleared means: not named by any incident for this long
BEFORE_REPAIR = ("failover", "repair-gap")  # what the console suggests while the writer is dead
COUNT_GIVE_UP = 30.0  # seconds a row count through the writer's address is retried
# what it suggests once the node is back (a healed primary that was failed over from is still
# writable: the console's split_brain suggests split-brain, which the soak waited 30 s to run)
AFTER_REPAIR = ("rejoin", "repoint", "repair-gap", "skip-applied", "split-brain")
SETTLE_RUNBOOKS = (*AFTER_REPAIR, "make-writable")  # what else it may suggest before all is quiet
SETTLE_GIVE_UP = 60.0
LATE_GIVE_UP = 120.0  # rows on another server: how long replication gets to bring them to the writer
RUNBOOK_TIMEOUT = 240
KILL_ADVICE = re.compile(r"stop it \(kill (\d+)\)")


class MemoryTrace:
    """--trace-memory: where the soak process's Python memory grew since the first cycle, by
    source line (tracemalloc), printed after every cycle; for finding what keeps RSS growing."""

    def __init__(self) -> None:
        tracemalloc.start(4)
        self.first: tracemalloc.Snapshot | None = None

    def lines(self, top: int = 12) -> list[str]:
        import gc

        gc.collect()
        snap = tracemalloc.take_snapshot().filter_traces(
            (
                tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            )
        )
        if self.first is None:
            self.first = snap
            return [f"memory: traced {sum(s.size for s in snap.statistics('filename')) // 1024} KB"]
        out = [f"memory: traced {tracemalloc.get_traced_memory()[0] // 1024} KB, growth since the first cycle:"]
        for d in snap.compare_to(self.first, "traceback")[:top]:
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in d.traceback)
            out.append(f"    {d.size_diff // 1024:+7d} KB {d.count_diff:+7d} objs  {where}")
        return out


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Headless:
    """One Textual app, the console or the wallboard (watch=True), run by Pilot on an event loop
    of its own in the lab's operator namespace, as the DBA's terminal would run it there."""

    def __init__(self, cluster_file: Path, ns: str, *, watch: bool):
        self.cluster_file = cluster_file
        self.watch = watch
        self.loop = OperatorLoop(ns)
        self.app: HatuiApp | None = None
        self.pilot = None
        self._done: asyncio.Event | None = None
        ready = threading.Event()

        async def main() -> None:
            self._done = asyncio.Event()
            app = HatuiApp([load_cluster(cluster_file)], watch=watch)
            async with app.run_test(size=(200, 60), notifications=True) as pilot:
                self.app, self.pilot = app, pilot
                ready.set()
                await self._done.wait()
                await pilot.press("q")

        self.future = self.loop.start(main())
        self.stalls = StallWatch(self.loop.loop, self.loop.thread) if self.loop.loop else None
        deadline = time.monotonic() + 30
        while not ready.wait(0.1):
            if self.future.done() or time.monotonic() > deadline:
                raise RuntimeError(f"the {'wallboard' if watch else 'console'} did not start: {self.failure()}")

    def failure(self) -> str | None:
        """Why the app is gone (None while it runs)."""
        if not self.future.done():
            return None
        exc = self.future.exception()
        return repr(exc) if exc else "it exited"

    def call(self, fn, timeout: float = 10.0):
        async def on_loop():
            return fn(self.app)

        return self.loop.run(on_loop(), timeout)

    def key_round_trip(self) -> float:
        """Seconds from a ? key reaching the app to its help screen being up (then Escape closes
        it): the app's own input latency, not Pilot's wait for every widget to go idle."""

        async def rt() -> float:
            app = self.app
            assert app is not None
            t0 = time.monotonic()
            app.simulate_key("question_mark")
            while not isinstance(app.screen, HelpScreen):
                if time.monotonic() - t0 > 10:
                    raise TimeoutError("the help screen did not open within 10 s")
                await asyncio.sleep(0.005)
            took = time.monotonic() - t0
            app.simulate_key("escape")
            while isinstance(app.screen, HelpScreen):
                if time.monotonic() - t0 > 20:
                    raise TimeoutError("the help screen did not close within 10 s")
                await asyncio.sleep(0.005)
            return took

        return self.loop.run(rt(), 30)

    def close(self) -> None:
        if self._done is not None and not self.future.done():
            self.loop.call_soon(self._done.set)
            try:
                self.future.result(30)
            except Exception:
                pass
        if self.stalls is not None:
            self.stalls.stop()
            time.sleep(0.2)  # its heartbeat sees it and ends before the loop does
        self.loop.close()


def console_incidents(app) -> list[tuple[str, tuple[str, ...]]]:
    """(code, nodes) of every incident the console's incident table shows now."""
    view = app.query_one(ClusterView)
    table = app.query_one("#alerts", DataTable)
    shown = set()
    for i in range(table.row_count):
        r = [str(c) for c in table.get_row_at(i)]
        if r[0] != "cleared" and not r[1].startswith(SYMPTOM):
            shown.add(r[1])
    out = []
    for ai in view.state.incidents.active:
        inc = ai.incident
        if str(inc.code) in shown:
            out.append((str(inc.code), tuple(dict.fromkeys((inc.anchor, *inc.nodes)))))
    return out


def console_detail(app) -> list[str]:
    """Every incident with its symptoms, one line each: what a report names when it went wrong."""
    view = app.query_one(ClusterView)
    return [
        f"{ai.incident.code} ({','.join(ai.incident.nodes)}): "
        + "; ".join(f"{a.code}@{a.node or '-'} {a.message[:100]}" for a in ai.incident.alerts)
        for ai in view.state.incidents.active
    ]


def critical_incidents(app) -> list[str]:
    view = app.query_one(ClusterView)
    return [str(ai.incident.code) for ai in view.state.incidents.active if str(ai.incident.severity) == "critical"]


def console_suggestions(app) -> list[tuple[str, tuple[str, ...], str]]:
    """(runbook, args, the incident suggesting it) for every runbook the console suggests now."""
    view = app.query_one(ClusterView)
    return [
        (s.runbook, s.args, f"{ai.incident.code} {ai.incident.anchor}")
        for ai in view.state.incidents.active
        for s in ai.incident.suggestions
        if s.runbook
    ]


def wallboard_health(app) -> str:
    b = app.query_one(ClusterBoard).last
    return b.health if b is not None else "connecting"


class Soak:
    def __init__(self, lab: Lab, seed: int, minutes: float, out_dir: Path, memory: MemoryTrace | None = None):
        self.memory = memory
        self.lab = lab
        self.spec = lab.spec
        self.rng = random.Random(seed)
        self.minutes = minutes
        self.state_dir = out_dir
        self.report = SoakReport(seed, f"{self.spec.topology}, {self.spec.options.describe()}", minutes)
        self.console: Headless | None = None
        self.wall: Headless | None = None
        self._writer: VipWriter | None = None

    def abandon_writer(self) -> None:
        w, self._writer = self._writer, None
        if w is not None:
            try:
                w.stop()
            except Exception as exc:
                self.say(f"  the writer did not stop cleanly: {exc!r}")

    def say(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def say_stalls(self) -> None:
        """The console's event loop late by 0.5 s or more since the last call, with where it was."""
        if self.console is None or self.console.stalls is None:
            return
        for st in self.console.stalls.take():
            where = " <- ".join(reversed(st.stack.splitlines()[-4:]))
            self.report.stalls.append((round(st.seconds, 2), where))
            self.say(f"    console loop late {st.seconds:.2f} s ({st.share:.0%} of {st.samples} samples at {where})")

    # ------------------------------------------------------------ the two apps
    def open_apps(self) -> None:
        self.console = Headless(self.spec.cluster_file, self.spec.operator_ns, watch=False)
        self.wall = Headless(self.spec.cluster_file, self.spec.operator_ns, watch=True)

    def close_apps(self) -> None:
        for h in (self.console, self.wall):
            if h is not None:
                h.close()

    def check_apps(self, where: str) -> None:
        """A dead app is a crash: counted, said, and started again so the soak goes on."""
        assert self.console is not None and self.wall is not None
        if (why := self.console.failure()) is not None:
            self.report.console_crashes += 1
            self.say(f"CONSOLE CRASHED ({where}): {why}")
            self.console.close()
            self.console = Headless(self.spec.cluster_file, self.spec.operator_ns, watch=False)
        if (why := self.wall.failure()) is not None:
            self.report.wallboard_crashes += 1
            self.say(f"WALLBOARD CRASHED ({where}): {why}")
            self.wall.close()
            self.wall = Headless(self.spec.cluster_file, self.spec.operator_ns, watch=True)

    def incidents(self) -> list[tuple[str, tuple[str, ...]]]:
        assert self.console is not None
        return self.console.call(console_incidents)

    def wait_quiet(self, timeout: float) -> list[str]:
        """Until the console shows no incident and the wallboard says OK; what was left if not."""
        assert self.wall is not None
        deadline = time.monotonic() + timeout
        while True:
            left = [f"{c} ({','.join(n)})" for c, n in self.incidents()]
            board = self.wall.call(wallboard_health)
            if not left and board == "ok":
                return []
            if time.monotonic() > deadline:
                assert self.console is not None
                return self.console.call(console_detail) + ([f"wallboard {board}"] if board != "ok" else [])
            time.sleep(0.1)

    # ------------------------------------------------------------ a cycle
    def detect(self, fault: Fault, res: FaultResult, t0: float) -> None:
        assert self.wall is not None
        if fault.quiet:
            # nothing is wrong for the console (sshd stopped: its sessions live on): watch that
            # nothing naming the node comes up
            while time.monotonic() - t0 < QUIET_WATCH:
                for code, nodes in self.incidents():
                    # about the node (its anchor), not one that names it as a replica of another
                    if nodes[:1] == (fault.node,) and code not in res.seen:
                        res.seen.append(code)
                time.sleep(0.1)
            res.quiet = not res.seen
            return
        board_left = None
        while time.monotonic() - t0 < DETECT_GIVE_UP:
            now = time.monotonic() - t0
            for code, nodes in self.incidents():
                if fault.node in nodes and code not in res.seen:
                    res.seen.append(code)
                if fault.node in nodes and code in fault.expected and res.detected is None:
                    res.detected = round(now, 3)
            if board_left is None and self.wall.call(wallboard_health) in ("warning", "critical"):
                board_left = round(now, 3)
            if res.detected is not None and board_left is not None:
                break
            time.sleep(0.05)
        res.wallboard = board_left
        if res.detected is None:  # what it showed instead, for the report
            res.seen += [f"{c} ({','.join(n)})" for c, n in self.incidents() if fault.node not in n]

    def run_hatui(self, runbook: str, args: tuple[str, ...], extra: tuple[str, ...] = ()) -> RunbookRun:
        argv = [runbook, "--cluster", str(self.spec.cluster_file), *args, *extra, "--yes"]
        env = dict(os.environ, HATUI_STATE_DIR=str(self.state_dir))
        self.say(f"$ hatui {' '.join(argv)}")
        try:
            r = subprocess.run(
                [sys.executable, "-m", "hatui", *argv],
                capture_output=True,
                text=True,
                timeout=RUNBOOK_TIMEOUT,
                env=env,
            )
            code, text = r.returncode, (r.stdout + r.stderr)
        except subprocess.TimeoutExpired as exc:
            code, text = -1, f"timed out after {RUNBOOK_TIMEOUT} s: {exc.stdout or ''}"
        said = " / ".join(line.strip() for line in text.strip().splitlines()[-8:])
        self.say(f"  -> exit {code}: {said[-400:]}")
        return RunbookRun(f"hatui {' '.join(argv)}", code, said[-1500:])

    def mysqld_node(self, pid: int) -> str | None:
        """The lab node whose mysqld has this PID (as the lab recorded it)."""
        st = self.lab.state()
        for node, daemons in (st.daemons if st else {}).items():
            rec = daemons.get("mysqld")
            if rec is not None and rec.pid == pid:
                return node
        return None

    def follow(self, wanted: tuple[str, ...], res: CycleResult, tried: dict[tuple[str, ...], int]) -> bool:
        """Run the first runbook of `wanted` the console suggests now. Each suggestion is run at
        most twice a cycle (a refused one again after another succeeded), as a DBA would."""
        assert self.console is not None
        for runbook, args, why in self.console.call(console_suggestions):
            key = (runbook, *args)
            if runbook not in wanted or tried.get(key, 0) >= 2 or tried.get(key) == -1:
                continue
            self.say(f"  the console suggests ({why}):")
            run = self.run_hatui(runbook, args)
            res.runbooks.append(run)
            if run.exit != 0 and (m := KILL_ADVICE.search(run.said)):
                # "mysqld ... runs but does not answer (hung?) ... stop it (kill PID)": do so
                node = self.mysqld_node(int(m.group(1)))
                if node is not None:
                    self.say(
                        f"  as the runbook says, stop the hung mysqld (pid {m.group(1)}): "
                        f"{self.lab.fault('kill-mysqld', node)}"
                    )
                    run = self.run_hatui(runbook, args)
                    res.runbooks.append(run)
            if run.exit != 0 and runbook == "rejoin" and "--discard-errant" in run.said and "diverged" in run.said:
                # what the runbook offers for a node holding what the writer never got: the soak's
                # own client wrote those rows again on the writer (its retries), so discard them
                # (saved to a file first)
                run = self.run_hatui(runbook, args, ("--discard-errant",))
                res.runbooks.append(run)
            if run.exit != 0 and runbook == "repair-gap" and "conflict" in run.said.lower():
                # the client's own retry already wrote the row on the new writer: keep it
                run = self.run_hatui(runbook, args, ("--on-conflict", "skip"))
                res.runbooks.append(run)
            if run.exit != 0 and runbook == "skip-applied" and "row(s) differ" in run.said:
                # a duplicate whose values differ (the client's retry: another written_at and
                # writer): as a DBA would, the writer's version wins on both sides
                node = args[-1]
                ro = self.lab.sql(node, "SELECT @@read_only", check=False).strip()
                run = self.run_hatui(runbook, args, ("--keep-local",) if ro == "0" else ("--take-source",))
                res.runbooks.append(run)
            again = runbook == "skip-applied" and "run skip-applied again" in run.said
            # a skip that found the channel stopped on the next conflict asks to be run again
            # (one transaction a run): not done with it yet
            tried[key] = -1 if run.exit == 0 and not again else tried.get(key, 0) + (0 if again else 1)
            return True
        return False

    def settle_cluster(self, res: CycleResult, tried: dict[tuple[str, ...], int]) -> None:
        """Until the console shows no critical incident (SETTLE_GIVE_UP at most), doing what it
        suggests: a fault's own incidents may be gone while what it left is not (a partitioned
        writer's split brain; writes routed to a read-only server). Warnings may stay: a replica
        relaying through the old writer after a failover is how a dual master runs."""
        deadline = time.monotonic() + SETTLE_GIVE_UP
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.console.call(critical_incidents) if self.console else False:
                quiet_since = None
                if self.follow(SETTLE_RUNBOOKS, res, tried):
                    continue
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= CLEAR_HOLD:
                return
            time.sleep(0.2)
        assert self.console is not None
        left = self.console.call(console_detail)
        res.notes.append(f"the console still showed, when the rows were counted: {left}")
        self.say(f"  not quiet after {SETTLE_GIVE_UP:.0f} s: {left}")

    def count_rows(self, table: str, upto: int) -> set[int]:
        """The ids the writer's address shows, tried for COUNT_GIVE_UP seconds: right after a
        heal the address can be unreachable for a moment (the VIP moving back, ARP caches), and
        a count that could not be made is not a lost row (one soak reported such a cycle as
        "lost 1, id -1")."""
        deadline = time.monotonic() + COUNT_GIVE_UP
        while True:
            try:
                return ids_through_vip(self.lab, table, upto)
            except Exception:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(1.0)

    def held_elsewhere(self, table: str, lost: list[int]) -> int:
        """How many of the lost ids some other server holds (not gone from the cluster: a split
        brain's other side, or replication that has not brought them yet)."""
        ids = ",".join(str(i) for i in lost[:5000])
        found: set[int] = set()
        for n in self.spec.mysql_nodes:
            out = self.lab.sql(n.name, f"SELECT id FROM labdb.`{table}` WHERE id IN ({ids})", check=False)
            found |= {int(x) for x in out.split() if x.isdigit()}
        return len(found)

    def await_clear(self, plan: CyclePlan, res: CycleResult, tried: dict[tuple[str, ...], int]) -> None:
        """From the repair: when each fault's node stops being named by any incident (and stays
        so for CLEAR_HOLD). A fault still shown after a moment gets what the console suggests
        run (rejoin, ...); the clock then starts again at that runbook's end."""
        t_repair = time.monotonic()
        clear_at: dict[int, float] = {}
        followed = 0
        give_up = max(CLEAR_GIVE_UP, *(f.kind.clear_within + 10 for f in plan.faults))
        while True:
            now = time.monotonic()
            shown = self.incidents()
            for i, f in enumerate(plan.faults):
                if any((nodes[:1] == (f.node,)) if f.quiet else (f.node in nodes) for _, nodes in shown):
                    clear_at.pop(i, None)
                else:
                    clear_at.setdefault(i, now)
            if len(clear_at) == len(plan.faults) and now - max(clear_at.values()) >= CLEAR_HOLD:
                break
            if now - t_repair > give_up:
                break
            if len(clear_at) < len(plan.faults) and now - t_repair > 2.0 and followed < 4:
                # the node is back and the console has had its readings: what does it suggest?
                if self.follow(AFTER_REPAIR, res, tried):
                    followed += 1
                    t_repair = time.monotonic()
                    clear_at.clear()
                    continue
            time.sleep(0.05)
        for i, fres in enumerate(res.faults):
            if i in clear_at:
                fres.cleared = round(clear_at[i] - t_repair, 3) if clear_at[i] >= t_repair else 0.0
            else:  # what still named the node when the soak gave up: the report says why
                f = plan.faults[i]
                codes = {c for c, n in shown if (n[:1] == (f.node,) if f.quiet else f.node in n)}
                assert self.console is not None
                held = [d for d in self.console.call(console_detail) if d.split(" ", 1)[0] in codes]
                res.notes.append(f"{f} not cleared after {give_up:.0f} s: {held}")
                self.say(f"  {f} not cleared after {give_up:.0f} s: {held}")

    def cycle(self, plan: CyclePlan) -> CycleResult:
        lab = self.lab
        res = CycleResult(
            plan.number,
            [FaultResult(str(f), sorted(f.expected), clear_within=f.kind.clear_within) for f in plan.faults],
        )
        self.say(f"cycle {plan.number}: {' + '.join(str(f) for f in plan.faults)} (hold {plan.hold} s)")
        table = f"chaos_{self.report.seed}_{plan.number}"
        lab.sql(lab.spec.writer, f"DROP TABLE IF EXISTS labdb.{table}", check=False)
        w = self._writer = VipWriter(lab, table=table, interval=0.005, gtids=True)
        w.start()
        deadline = time.monotonic() + 30
        while w.acked < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        writer_down = False
        for i, (fault, fres) in enumerate(zip(plan.faults, res.faults, strict=True)):
            if i:
                time.sleep(plan.overlap_after)
            t0 = time.monotonic()  # a stop takes effect while the call waits: count from its start
            said = lab.fault(fault.kind.inject, fault.node)
            if fault.kind.from_end:  # ... a volume is full once the call is done
                said += f" in {time.monotonic() - t0:.2f} s"
                t0 = time.monotonic()
            self.say(f"  {said}")
            self.detect(fault, fres, t0)
            assert self.console is not None
            try:
                fres.key_ms = round(self.console.key_round_trip() * 1000, 1)
            except Exception as exc:
                res.notes.append(f"key round trip under {fault}: {exc!r}")
            self.check_apps(f"under {fault}")
            writer_down |= fault.takes_writer
            self.say(
                f"    detected {fres.detected} s (shown {fres.seen}), "
                f"wallboard {fres.wallboard} s, key {fres.key_ms} ms"
            )
            self.say_stalls()
        time.sleep(plan.hold)
        tried: dict[tuple[str, ...], int] = {}
        missing_before: set[int] = set()
        if writer_down:
            upto = w.acked
            try:
                missing_before = set(range(1, upto + 1)) - ids_through_vip(lab, table, upto)
            except Exception as exc:
                res.notes.append(f"reading the rows before the runbooks: {exc}")
            if missing_before:
                self.say(f"  {len(missing_before)} acknowledged rows are not on the new writer")
            self.follow(BEFORE_REPAIR, res, tried)
        for fault in reversed(plan.faults):
            self.say(f"  {lab.fault(fault.kind.repair, fault.node)}")
            if fault.kind.family == "mysqld" and fault.kind.repair != "start-mysqld":
                # a hung mysqld the soak killed on a runbook's advice is started again
                said = lab.fault("start-mysqld", fault.node)
                if "already running" not in said:
                    self.say(f"  {said}")
        self.await_clear(plan, res, tried)
        self.settle_cluster(res, tried)
        report = w.stop()
        self._writer = None
        res.acked = report.acked
        res.duplicated = report.duplicate_acks
        try:
            have = self.count_rows(table, report.acked)
            lost = sorted(set(range(1, report.acked + 1)) - have)
            t_wait = time.monotonic()
            shown = self.console.call(console_detail) if lost and self.console else []
            while lost and time.monotonic() - t_wait < LATE_GIVE_UP and self.held_elsewhere(table, lost) == len(lost):
                # every missing row is on another server: replication may still bring them (a
                # writer's channel from the standby that took writes sits on a dead connection
                # after a heal until slave_net_timeout); the console says so meanwhile. When the
                # channel comes back it may stop on the partition's duplicate: as a DBA would,
                # run what the console suggests then (the MMM soak waited 120 s on such a stop)
                if self.console is not None and self.console.call(critical_incidents):
                    self.follow(SETTLE_RUNBOOKS, res, tried)
                time.sleep(2)
                have = self.count_rows(table, report.acked)
                lost = sorted(set(range(1, report.acked + 1)) - have)
            if time.monotonic() - t_wait >= 2:
                res.notes.append(
                    f"rows held by another server reached the writer {time.monotonic() - t_wait:.0f} s after the "
                    f"count began ({len(lost)} still missing); the console showed then: {shown}"
                    + (f"; at the end: {self.console.call(console_detail)}" if lost and self.console else "")
                )
                self.say(f"  {res.notes[-1]}")
            res.lost = lost
            res.lost_gtids = [(w.gtids or {}).get(i, "?") for i in lost]
            res.recovered = len(missing_before & have)
            if lost:
                res.lost_elsewhere = self.held_elsewhere(table, lost)
        except Exception as exc:
            res.notes.append(f"reading the rows at the end: {exc}")
            res.lost = [-1]
        self.say(
            f"  rows {res.acked}, lost {len(res.lost)} ({res.lost_elsewhere} of them on another server), "
            f"recovered {res.recovered}"
        )
        restored = canonical.restore(lab)
        res.rebuilt = restored.rebuilt
        if restored.found:
            self.say(f"  back to canonical: found {restored.found[:4]}{' (rebuilt)' if restored.rebuilt else ''}")
        if restored.rebuilt:
            # new host keys and a new cluster: the apps start again on it (not a crash)
            self.close_apps()
            self.open_apps()
        else:
            lab.sql(lab.spec.writer, f"DROP TABLE IF EXISTS labdb.{table}", check=False)
        res.stuck = self.wait_quiet(30.0)
        if res.stuck:
            self.say(f"  STUCK: {res.stuck}")
        self.check_apps("after the cycle")
        res.rss_kb = rss_kb()
        assert self.console is not None
        res.events_held = self.console.call(lambda app: app.query_one(ClusterView).state.feed.store.events_held)
        self.say(f"  RSS {res.rss_kb // 1024} MB; the console holds {res.events_held} log events")
        if self.memory is not None:
            for line in self.memory.lines():
                self.say(f"  {line}")
        return res

    def run(self) -> SoakReport:
        self.open_apps()
        try:
            left = self.wait_quiet(60.0)
            if left:
                raise SystemExit(f"the console shows incidents on the canonical lab: {left}")
            self.report.rss_start_kb = rss_kb()
            if self.memory is not None:
                for line in self.memory.lines():
                    self.say(f"  {line}")
            end = time.monotonic() + self.minutes * 60
            n = 0
            while time.monotonic() < end:
                n += 1
                plan = plan_cycle(self.rng, self.spec, n)
                try:
                    self.report.cycles.append(self.cycle(plan))
                except Exception as exc:  # the soak's own driving failed: said, then the lab restored
                    self.say(f"  THE SOAK FAILED in cycle {n}: {exc!r}")
                    self.report.cycles.append(
                        CycleResult(n, [FaultResult(str(f), sorted(f.expected)) for f in plan.faults], error=repr(exc))
                    )
                    self.abandon_writer()
                    canonical.restore(self.lab)
                    self.check_apps("after a failed cycle")
            self.report.rss_end_kb = rss_kb()
        finally:
            self.close_apps()
        return self.report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    ap.add_argument("--topology", choices=TOPOLOGIES, default="dual-master")
    ap.add_argument("--gtid", choices=("on", "off"), default="on")
    ap.add_argument("--vip-mover", choices=("track-file", "flag-file", "none"), default="track-file")
    ap.add_argument("--use-lab", action="store_true", help="the lab $HATUI_LAB_PREFIX names, already up")
    ap.add_argument("--json", type=Path, help="write the whole report here")
    ap.add_argument("--trace-memory", action="store_true", help="print where memory grew after every cycle (slower)")
    ap.add_argument("--out", type=Path, help="the runbooks' state folder (default /var/tmp/hatui-chaos-SEED)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1 << 31)
    print(f"seed {seed}", flush=True)
    options = LabOptions(gtid=args.gtid == "on", vip_mover=args.vip_mover)
    if args.use_lab:
        spec = default_spec(topology=args.topology, options=options)
    else:
        spec = default_spec(
            prefix=os.environ.get("HATUI_BENCH_PREFIX", "hatui-chaos-"),
            state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-chaos"),
            subnet=os.environ.get("HATUI_BENCH_SUBNET", "198.19.9.0/24"),
            topology=args.topology,
            options=options,
        )
    lab = Lab(spec)
    if not args.use_lab:
        lab.down()
        lab.up()
    # the runbooks' audit logs and recovery folders outlive the lab (its folder goes with it)
    out_dir = args.out or Path(f"/var/tmp/hatui-chaos-{seed}")
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"runbook state and audit logs: {out_dir}", flush=True)
    try:
        canonical.restore(lab)
        report = Soak(lab, seed, args.minutes, out_dir, MemoryTrace() if args.trace_memory else None).run()
    finally:
        if not args.use_lab:
            lab.down()
    print("\n".join(report.lines()), flush=True)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1))
    bad = report.console_crashes + report.wallboard_crashes + report.lost
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
