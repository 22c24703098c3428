"""Runs a runbook: lock, preflight, plan, confirmation, steps with verification, undo on failure,
and a journal and an audit log on disk for all of it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hatui.cluster import Cluster
from hatui.privatefs import private_dir
from hatui.runbook.access import WriteAccess
from hatui.runbook.audit import AuditLog, operator
from hatui.runbook.journal import Journal
from hatui.runbook.lock import LockBusy, RunbookLock
from hatui.runbook.model import Action, Check, Event, Outcome, Step, StepFailed, Verdict
from hatui.ssh.pool import SessionPool
from hatui.statedir import cluster_dir, state_dir


def private_cluster_dir(base: Path, cluster: Cluster, *sub: str) -> Path:
    """The cluster's state folder (or one inside it), created 0700 and checked to be the
    operator's own from `base` down (hatui.privatefs)."""
    return private_dir(cluster_dir(base, cluster).joinpath(*sub), root=base)


class Runbook(Protocol):
    name: str
    destructive: bool  # the DBA types the target's name to confirm
    target: str

    def params(self) -> dict[str, Any]: ...

    async def preflight(self, ctx: RunContext) -> list[Check]: ...

    def steps(self, ctx: RunContext) -> list[Step]: ...


@dataclass
class RunContext:
    cluster: Cluster
    access: WriteAccess
    facts: dict[str, Any]  # learned by steps, kept in the journal for undo and resume
    emit: Callable[[Event], None]
    step: str = ""

    def note(self, text: str, **data: Any) -> None:
        self.emit(Event("note", text, step=self.step, data=data))


Confirm = Callable[[list[Check], list[Step]], Awaitable[bool]]


@dataclass
class Report:
    outcome: Outcome
    checks: list[Check] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.DONE, Outcome.DRY_RUN)


class Runner:
    def __init__(
        self,
        cluster: Cluster,
        runbook: Runbook,
        *,
        pool: SessionPool,
        on_event: Callable[[Event], None] | None = None,
        base_dir: Path | None = None,
        watch: bool = False,
        dry_run: bool = False,
        recorder: list[tuple[str, str, str]] | None = None,
        who: str | None = None,
        close_pool: bool = False,
    ):
        self.cluster = cluster
        self.runbook = runbook
        self.pool = pool
        self.on_event = on_event
        self.dir = private_cluster_dir(base_dir or state_dir(), cluster)
        self.run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.who = who or operator()
        self.events: list[Event] = []
        self.audit = AuditLog(self.dir / "audit.log", cluster=cluster.name, run_id=self.run_id, who=self.who)
        # watch mode: WriteAccess refuses to exist, so no runbook can be built there
        self.access = WriteAccess(
            cluster,
            pool,
            announce=self._announce,
            dry_run=dry_run,
            read_only_policy=object() if watch else None,
            recorder=recorder,
        )
        self.dry_run = dry_run
        self.close_pool = close_pool  # the console gives each run its own SSH connections
        self.lock = RunbookLock(self.dir / "runbook.lock")
        self.journal_path = self.dir / "journal.json"
        self._task: asyncio.Task | None = None
        self._aborted = False

    # ------------------------------------------------------------------ events
    def emit(self, ev: Event) -> None:
        self.events.append(ev)
        fields = {"text": ev.text, "ok": ev.ok}
        if ev.step:
            fields["step"] = ev.step
        if ev.node:
            fields["node"] = ev.node
        if ev.data:
            fields["data"] = ev.data
        self.audit.write(ev.kind, **fields)
        if self.on_event is not None:
            self.on_event(ev)

    def _announce(self, action: Action, phase: str) -> None:
        step = self._ctx.step if getattr(self, "_ctx", None) else ""
        if phase == "start":
            self.emit(Event("action", action.text, step=step, node=action.node, data={"kind": action.kind}))
        else:
            ok = phase in ("ok", "closed")
            self.emit(
                Event(
                    "action_done",
                    action.text if phase == "ok" else f"{action.text} → {phase}",
                    step=step,
                    node=action.node,
                    ok=ok,
                    data={"kind": action.kind},
                )
            )

    def _context(self, facts: dict[str, Any]) -> RunContext:
        self._ctx = RunContext(self.cluster, self.access, facts, self.emit)
        return self._ctx

    # ------------------------------------------------------------------ plan / dry run
    async def _preflight(self, ctx: RunContext) -> list[Check]:
        self.emit(Event("phase", f"preflight checks for {self.runbook.name}"))
        try:
            checks = await self.runbook.preflight(ctx)
        except Exception as exc:  # a check that cannot run is a failed check, never a crash
            checks = [Check("preflight", Verdict.FAIL, f"could not run the checks: {self.access.describe(exc)}")]
        for c in checks:
            self.emit(
                Event(
                    "check",
                    f"{c.name}: {c.reason}",
                    ok=not c.failed,
                    data={"verdict": str(c.verdict), "fix": c.fix, "name": c.name},
                )
            )
        return checks

    def _emit_plan(self, steps: list[Step]) -> None:
        for i, s in enumerate(steps, 1):
            self.emit(
                Event(
                    "plan",
                    f"{i}. {s.title}",
                    step=s.key,
                    data={
                        "actions": [str(a) for a in s.actions()],
                        "undo": s.undo_title,
                        "timeout": s.timeout,
                        "commits": s.commits,
                    },
                )
            )

    async def plan(self) -> Report:
        """The dry run: checks and the steps it would take. Sends reads only."""
        t0 = time.monotonic()
        ctx = self._context({})
        holder = self.lock.holder()
        checks = await self._preflight(ctx)
        if holder:
            checks.append(
                Check(
                    "no other runbook running",
                    Verdict.FAIL,
                    str(LockBusy(holder)),
                    "wait for it to finish, or see `hatui runbook status`",
                )
            )
        steps = self.runbook.steps(ctx)
        self._emit_plan(steps)
        outcome = Outcome.REFUSED if any(c.failed for c in checks) else Outcome.DRY_RUN
        await self._cleanup()
        return Report(outcome, checks, steps, self.events, seconds=time.monotonic() - t0)

    # ------------------------------------------------------------------ execute
    def abort(self) -> None:
        """The DBA asked to stop: the current step is cancelled, then everything is undone
        (before the commit point)."""
        self._aborted = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def execute(self, confirm: Confirm) -> Report:
        t0 = time.monotonic()
        try:
            self.lock.acquire(
                {
                    "runbook": self.runbook.name,
                    "operator": self.who,
                    "run": self.run_id,
                    "params": self.runbook.params(),
                }
            )
        except LockBusy as busy:
            self.emit(Event("refused", str(busy), ok=False))
            return Report(Outcome.REFUSED, events=self.events, reason=str(busy))
        try:
            return await self._execute(confirm, t0)
        finally:
            await self._cleanup()
            self.lock.release()

    async def _cleanup(self) -> None:
        cleanup = getattr(self.runbook, "cleanup", None)
        if cleanup is not None:
            await cleanup()
        await self.access.close()
        if self.close_pool:
            await self.pool.close()

    async def _execute(self, confirm: Confirm, t0: float) -> Report:
        journal = Journal(self.journal_path, self.runbook.name, self.runbook.params(), self.run_id, self.who)
        ctx = self._context(journal.facts)
        self.emit(Event("start", f"{self.runbook.name} {self.runbook.params()}"))
        checks = await self._preflight(ctx)
        steps = self.runbook.steps(ctx)
        if any(c.failed for c in checks):
            reason = "; ".join(f"{c.name}: {c.reason}" for c in checks if c.failed)
            self.emit(Event("refused", f"refused, nothing was changed: {reason}", ok=False))
            return Report(Outcome.REFUSED, checks, steps, self.events, reason)
        self._emit_plan(steps)
        if not steps:  # e.g. a gap repair that finds nothing missing: nothing to confirm
            self.emit(Event("done", f"{self.runbook.name}: nothing to do, nothing was changed"))
            return Report(Outcome.DONE, checks, steps, self.events, seconds=time.monotonic() - t0)
        if not await confirm(checks, steps):
            self.emit(Event("refused", "not confirmed: nothing was changed", ok=False))
            return Report(Outcome.REFUSED, checks, steps, self.events, "not confirmed")
        self._keep_state(journal, ctx)
        journal.save()
        outcome, reason = await self._run_steps(steps, ctx, journal)
        return Report(outcome, checks, steps, self.events, reason, time.monotonic() - t0)

    async def _run_steps(
        self, steps: list[Step], ctx: RunContext, journal: Journal, start: int = 0
    ) -> tuple[Outcome, str]:
        # past a `commits` step that completed (the VIP moved), nothing is undone automatically
        committed = any(journal.status_of(s.key) == "done" for s in steps if s.commits)
        for step in steps[start:]:
            if self._aborted:
                return await self._fail(steps, ctx, journal, step, "aborted by the DBA", committed)
            ctx.step = step.key
            journal.record(step.key, "started")
            self.emit(Event("step_start", step.title, step=step.key))
            t_step = time.monotonic()
            try:
                self._task = asyncio.ensure_future(step.run(ctx))
                detail = await asyncio.wait_for(self._task, step.timeout)
            except asyncio.CancelledError:
                if not self._aborted:
                    raise
                return await self._fail(steps, ctx, journal, step, "aborted by the DBA", committed)
            except TimeoutError:
                return await self._fail(steps, ctx, journal, step, f"timed out after {step.timeout:g} s", committed)
            except Exception as exc:
                why = str(exc) if isinstance(exc, StepFailed) else self.access.describe(exc)
                return await self._fail(steps, ctx, journal, step, why, committed)
            finally:
                self._task = None
            self._keep_state(journal, ctx)
            journal.record(step.key, "done", detail or "")
            committed = committed or step.commits
            self.emit(
                Event(
                    "step_done",
                    detail or step.title,
                    step=step.key,
                    data={"seconds": round(time.monotonic() - t_step, 3)},
                )
            )
        journal.finish("done")
        self.emit(Event("done", f"{self.runbook.name} done"))
        return Outcome.DONE, ""

    async def _fail(
        self, steps: list[Step], ctx: RunContext, journal: Journal, step: Step, why: str, committed: bool
    ) -> tuple[Outcome, str]:
        self._keep_state(journal, ctx)
        journal.record(step.key, "failed", why)
        self.emit(Event("step_failed", f"{step.title}: {why}", step=step.key, ok=False))
        if committed:
            journal.finish("failed")
            how = getattr(self.runbook, "resume_hint", "`hatui runbook resume --cluster FILE` to finish")
            msg = (
                f"{step.title} failed after the point of no return ({why}). Nothing was undone: "
                f"fix the cause, then {how}, or follow the report by hand."
            )
            self.emit(Event("failed", msg, ok=False))
            return Outcome.FAILED, why
        ok = await self._undo(steps, ctx, journal)
        if ok:
            journal.finish("rolled_back")
            self.emit(Event("rolled_back", f"rolled back: {why}. The cluster is as it was before.", ok=False))
            return Outcome.ROLLED_BACK, why
        journal.finish("failed")
        self.emit(
            Event(
                "failed",
                f"{why}; and an undo step failed: see above, then "
                f"`hatui runbook rollback --cluster FILE` once the cause is fixed",
                ok=False,
            )
        )
        return Outcome.FAILED, why

    async def _undo(self, steps: list[Step], ctx: RunContext, journal: Journal) -> bool:
        todo = [
            s
            for s in steps
            if journal.status_of(s.key) in ("started", "done", "failed", "undo_failed") and s.undo is not None
        ]
        ok = True
        self._aborted = False  # an abort stops the forward run, never the undo
        for s in reversed(todo):
            ctx.step = s.key
            self.emit(Event("undo_start", s.undo_title, step=s.key))
            try:
                assert s.undo is not None
                detail = await asyncio.wait_for(s.undo(ctx), max(s.timeout, 30.0))
            except Exception as exc:
                ok = False
                why = str(exc) if isinstance(exc, StepFailed) else self.access.describe(exc)
                journal.record(s.key, "undo_failed", why)
                self.emit(Event("undo_failed", f"{s.undo_title}: {why}", step=s.key, ok=False))
                continue
            journal.record(s.key, "undone", detail or "")
            self.emit(Event("undo_done", detail or s.undo_title, step=s.key))
        return ok

    def _keep_state(self, journal: Journal, ctx: RunContext) -> None:
        """What the runbook has learned, saved with each step: its typed state where it has one
        (dump_state/load_state), the context's facts otherwise."""
        journal.facts = ctx.facts
        journal.params = self.runbook.params()  # preflight may have learned some (the old writer)
        dump = getattr(self.runbook, "dump_state", None)
        if dump is not None:
            journal.facts["state"] = dump()

    # ------------------------------------------------------------------ after a restart
    def unfinished(self) -> Journal | None:
        j = Journal.load(self.journal_path)
        return j if j is not None and j.state in ("running", "failed") else None

    async def recover(self, journal: Journal, how: str) -> Report:
        """`rollback`: undo what the journal says was done (only before the commit point);
        `resume`: run the steps not done yet."""
        t0 = time.monotonic()
        try:
            self.lock.acquire({"runbook": f"{self.runbook.name} ({how})", "operator": self.who, "run": journal.run_id})
        except LockBusy as busy:
            self.emit(Event("refused", str(busy), ok=False))
            return Report(Outcome.REFUSED, events=self.events, reason=str(busy))
        try:
            ctx = self._context(journal.facts)
            load = getattr(self.runbook, "load_state", None)
            if load is not None and "state" in journal.facts:
                load(journal.facts["state"])
            steps = self.runbook.steps(ctx)
            committed = any(journal.status_of(s.key) == "done" for s in steps if s.commits)
            if how == "rollback":
                if committed:
                    msg = "the VIP move had started: rolling back is not safe; use resume"
                    self.emit(Event("refused", msg, ok=False))
                    return Report(Outcome.REFUSED, steps=steps, events=self.events, reason=msg)
                ok = await self._undo(steps, ctx, journal)
                journal.finish("rolled_back" if ok else "failed")
                self.emit(Event("rolled_back" if ok else "failed", "rolled back from the journal", ok=ok))
                return Report(
                    Outcome.ROLLED_BACK if ok else Outcome.FAILED,
                    steps=steps,
                    events=self.events,
                    seconds=time.monotonic() - t0,
                )
            first = next((i for i, s in enumerate(steps) if journal.status_of(s.key) != "done"), len(steps))
            journal.state = "running"
            outcome, reason = await self._run_steps(steps, ctx, journal, start=first)
            return Report(outcome, steps=steps, events=self.events, reason=reason, seconds=time.monotonic() - t0)
        finally:
            await self._cleanup()
            self.lock.release()
