"""The runbook engine without a cluster: order, undo, the commit point, journal, lock, audit."""

from __future__ import annotations

import asyncio
import json

import pytest

from hatui.runbook.access import DryRunWrite, WatchModeRefused, WriteAccess, is_read_sql
from hatui.runbook.audit import read_audit
from hatui.runbook.journal import Journal
from hatui.runbook.lock import LockBusy, RunbookLock
from hatui.runbook.model import Check, Outcome, Verdict
from hatui.runbook.report import EXIT, event_lines
from hatui.runbook.runner import Runner
from hatui.ssh.pool import SessionPool
from tests.recorded import Fake, lab_cluster


def runner(tmp_path, rb, **kw):
    events = []
    r = Runner(lab_cluster(), rb, pool=SessionPool([]), on_event=events.append, base_dir=tmp_path, who="dba@test", **kw)
    return r, events


async def yes(checks, steps):
    return True


async def no(checks, steps):
    return False


async def test_steps_run_in_order_and_everything_is_journaled_and_audited(tmp_path):
    rb = Fake()
    r, events = runner(tmp_path, rb)
    report = await r.execute(yes)
    assert report.outcome == Outcome.DONE and rb.did == ["a", "b", "c", "d"]
    j = Journal.load(r.journal_path)
    assert j.state == "done" and [s.status for s in j.steps] == ["done"] * 4
    assert j.facts == {"a": True, "b": True, "c": True, "d": True}
    audit = read_audit(r.audit.path)
    kinds = [a["event"] for a in audit]
    assert kinds[0] == "start" and "check" in kinds and kinds.count("plan") == 4 and kinds[-1] == "done"
    assert all(a["operator"] == "dba@test" and a["cluster"] == "lab" for a in audit)
    # the plan is shown before the first step starts
    assert kinds.index("plan") < kinds.index("step_start")


async def test_a_failure_before_the_commit_point_undoes_every_step_in_reverse(tmp_path):
    rb = Fake(fail_at="c", commit_at="d")
    r, events = runner(tmp_path, rb)
    report = await r.execute(yes)
    assert report.outcome == Outcome.ROLLED_BACK and "c could not be verified" in report.reason
    assert rb.did == ["a", "b", "c", "undo c", "undo b", "undo a"]
    assert Journal.load(r.journal_path).state == "rolled_back"
    assert EXIT[report.outcome] == 2


async def test_a_failure_after_the_commit_point_is_not_undone_and_says_how_to_resume(tmp_path):
    rb = Fake(fail_at="d", commit_at="b")
    r, events = runner(tmp_path, rb)
    report = await r.execute(yes)
    assert report.outcome == Outcome.FAILED and rb.did == ["a", "b", "c", "d"]
    assert any("runbook resume" in e.text for e in events if e.kind == "failed")
    # after a restart: resume runs only what is not done
    rb2 = Fake(commit_at="b")
    r2, _ = runner(tmp_path, rb2)
    j = r2.unfinished()
    assert j is not None and j.status_of("d") == "failed"
    back = await r2.recover(j, "rollback")
    assert back.outcome == Outcome.REFUSED and rb2.did == []  # past the VIP move: rollback refused
    done = await r2.recover(Journal.load(r.journal_path), "resume")
    assert done.outcome == Outcome.DONE and rb2.did == ["d"]


async def test_an_interrupted_run_can_be_rolled_back_after_a_restart(tmp_path):
    rb = Fake(hang_at="c", commit_at="d")
    r, _ = runner(tmp_path, rb)
    task = asyncio.ensure_future(r.execute(yes))
    await asyncio.sleep(0.2)
    task.cancel()  # the console died mid-step: the journal says a and b done, c started
    with pytest.raises(asyncio.CancelledError):
        await task
    r.lock.release()
    rb2 = Fake(commit_at="d")
    r2, _ = runner(tmp_path, rb2)
    j = r2.unfinished()
    assert j is not None and j.status_of("b") == "done" and j.status_of("c") == "started"
    report = await r2.recover(j, "rollback")
    assert report.outcome == Outcome.ROLLED_BACK and rb2.did == ["undo c", "undo b", "undo a"]


async def test_abort_stops_the_current_step_and_undoes(tmp_path):
    rb = Fake(hang_at="b", commit_at="d")
    r, events = runner(tmp_path, rb)
    task = asyncio.ensure_future(r.execute(yes))
    await asyncio.sleep(0.2)
    r.abort()
    report = await task
    assert report.outcome == Outcome.ROLLED_BACK and report.reason == "aborted by the DBA"
    assert rb.did == ["a", "b", "undo b", "undo a"]


async def test_failed_checks_or_no_confirmation_change_nothing(tmp_path):
    rb = Fake(checks=[Check("target lag", Verdict.FAIL, "SQL thread stopped", "start it")])
    r, events = runner(tmp_path, rb)
    report = await r.execute(yes)
    assert report.outcome == Outcome.REFUSED and rb.did == [] and "SQL thread stopped" in report.reason
    assert EXIT[report.outcome] == 1
    rb = Fake()
    r, _ = runner(tmp_path, rb)
    assert (await r.execute(no)).outcome == Outcome.REFUSED and rb.did == []


async def test_one_runbook_at_a_time_and_the_other_console_sees_who(tmp_path):
    rb = Fake(hang_at="b")
    r, _ = runner(tmp_path, rb)
    task = asyncio.ensure_future(r.execute(yes))
    await asyncio.sleep(0.2)
    other, events = runner(tmp_path, Fake())
    holder = other.lock.holder()
    assert holder["runbook"] == "fake" and holder["operator"] == "dba@test"
    report = await other.execute(yes)
    assert report.outcome == Outcome.REFUSED and "already running" in report.reason
    plan = await other.plan()
    assert plan.outcome == Outcome.REFUSED
    r.abort()
    await task
    assert other.lock.holder() is None


def test_lock_is_exclusive_between_holders(tmp_path):
    a, b = RunbookLock(tmp_path / "l"), RunbookLock(tmp_path / "l")
    a.acquire({"runbook": "x", "operator": "me"})
    with pytest.raises(LockBusy, match="x is already running"):
        b.acquire({"runbook": "y"})
    a.release()
    b.acquire({"runbook": "y"})
    b.release()


def test_watch_mode_cannot_create_write_access(tmp_path):
    with pytest.raises(WatchModeRefused):
        runner(tmp_path, Fake(), watch=True)
    with pytest.raises(WatchModeRefused):
        WriteAccess(lab_cluster(), SessionPool([]), announce=lambda a, p: None, read_only_policy=object())


def test_dry_run_refuses_anything_but_reads():
    acc = WriteAccess(lab_cluster(), SessionPool([]), announce=lambda a, p: None, dry_run=True)
    acc.check_write("sql", "SELECT @@read_only")
    for bad in (
        "SET GLOBAL read_only = ON",
        "KILL CONNECTION 5",
        "CHANGE MASTER TO MASTER_HOST='x'",
        "STOP SLAVE",
        "  set global read_only=0",
    ):
        with pytest.raises(DryRunWrite):
            acc.check_write("sql", bad)
    with pytest.raises(DryRunWrite):
        acc.check_write("ssh", "printf '%s\\n' 150 > /etc/keepalived/hatui_priority")
    assert is_read_sql("show binary logs") and not is_read_sql("SELECT GET_LOCK('x', 1)")


def test_audit_masks_secrets_and_vrrp_passwords(tmp_path):
    from hatui.runbook.audit import AuditLog

    log = AuditLog(tmp_path / "a.log", cluster="c", run_id="r", who="me", secrets=("s3cret",))
    log.write("action", text="CHANGE MASTER TO MASTER_PASSWORD='s3cret'")
    log.write("note", text="auth_pass hatuilab")
    raw = (tmp_path / "a.log").read_text()
    assert "s3cret" not in raw and "hatuilab" not in raw
    assert all(json.loads(ln)["operator"] == "me" for ln in raw.splitlines())


def test_report_lines_show_checks_with_fixes_and_the_plan_with_undo():
    from hatui.runbook.model import Event

    lines = event_lines(
        Event(
            "check",
            "db2 lag under 5 s: 12 s behind",
            ok=False,
            data={"verdict": "fail", "fix": "wait until it catches up"},
        )
    )
    assert lines == ["  ✘ db2 lag under 5 s: 12 s behind", "      → wait until it catches up"]
    lines = event_lines(
        Event(
            "plan",
            "1. Fence db1",
            data={"actions": ["db1 sql: SET GLOBAL read_only = ON"], "undo": "make db1 writable again"},
        )
    )
    assert lines[1].strip() == "db1 sql: SET GLOBAL read_only = ON" and "undo: make db1" in lines[2]
