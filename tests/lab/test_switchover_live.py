"""Planned switchover against the real lab: under live writes it loses nothing; refusals change
nothing and say why; a fault mid-way rolls back; a dry run sends no write."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time

from hatui.cluster import load_cluster
from hatui.lab.configs import APP_DB
from hatui.lab.writer import VipWriter, verify_rows
from hatui.mysql.fencefile import fence_check_command
from hatui.runbook.access import is_read_sql
from hatui.runbook.audit import read_audit
from hatui.runbook.model import Outcome
from hatui.runbook.runner import Runner
from hatui.runbook.switchover import Switchover
from hatui.ssh.pool import SessionPool

from .support import SLACK, connect, query, vip_holders, vip_to, wait_until

_tables = itertools.count(1)
PRIORITY_FILE = "/etc/keepalived/hatui_priority"


def fresh_table() -> str:
    return f"sw_{os.getpid()}_{next(_tables)}"


def switchover(lab, to: str, state_dir, *extra: str) -> subprocess.CompletedProcess:
    """`hatui switchover` exactly as a DBA runs it (it enters the lab's operator namespace)."""
    env = dict(os.environ, HATUI_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, "-m", "hatui", "switchover", "--cluster", str(lab.spec.cluster_file), "--to", to, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def read_only(lab, node: str) -> str:
    return lab.sql(node, "SELECT @@global.read_only").strip()


def priority_file(lab, node: str) -> str:
    return lab.node_run(node, ["cat", PRIORITY_FILE]).stdout.strip()


def slave_status(lab, node: str) -> dict:
    rows = query(lab, lab.spec.node(node).address, "SHOW SLAVE STATUS")
    return rows[0] if rows else {}


def source_of(lab, node: str) -> str:
    return slave_status(lab, node).get("Master_Host", "")


def threads_ok(lab, node: str) -> bool:
    st = slave_status(lab, node)
    return st.get("Slave_IO_Running") == "Yes" and st.get("Slave_SQL_Running") == "Yes"


def unchanged(lab) -> None:
    """What a refused or rolled-back switchover must leave: db1 the writable VIP holder,
    db2 read-only, both priority files back at 0."""
    assert vip_holders(lab) == ["db1"]
    assert read_only(lab, "db1") == "0" and read_only(lab, "db2") == "1"
    assert priority_file(lab, "db1") == "0" and priority_file(lab, "db2") == "0"


def test_switchover_and_back_under_live_writes_loses_nothing(lab, tmp_path):
    vip_to(lab, "db1")
    w = VipWriter(lab, table=fresh_table())
    w.start()

    def wrote(n: int) -> None:
        base = w.acked
        wait_until(f"{n} more acknowledged writes", lambda: w.acked >= base + n, 30, every=0.05)

    wrote(150)
    there = switchover(lab, "db2", tmp_path, "--yes")
    print(there.stdout)
    assert there.returncode == 0, there.stdout + there.stderr
    assert vip_holders(lab) == ["db2"] and read_only(lab, "db2") == "0" and read_only(lab, "db1") == "1"
    assert source_of(lab, "db3") == lab.spec.node("db2").address  # seed 002: replicas follow
    wrote(150)
    back = switchover(lab, "db1", tmp_path, "--yes")
    print(back.stdout)
    assert back.returncode == 0, back.stdout + back.stderr
    wrote(150)
    report = w.stop()
    print("writer:", report)
    checks = verify_rows(lab, w.table, report.acked)
    assert all(c.ok for c in checks.values()), checks  # none lost, none duplicated, none invented
    assert set(checks) == {"db1", "db2", "db3"} and report.acked >= 450
    assert vip_holders(lab) == ["db1"] and read_only(lab, "db1") == "0" and read_only(lab, "db2") == "1"
    assert source_of(lab, "db3") == lab.spec.node("db1").address
    assert all(threads_ok(lab, n) for n in ("db1", "db2", "db3"))
    assert report.longest_pause < 2.0 + SLACK  # the bench measures it properly; this catches a stall
    # every action is in the audit log, with who ran it
    audit = read_audit(tmp_path / "lab" / "audit.log")
    actions = [a["text"] for a in audit if a["event"] == "action"]
    assert any("SET GLOBAL read_only = ON" in a for a in actions)
    assert any("MASTER_GTID_WAIT" in a for a in actions)
    # the target took the VIP and announced it before the old writer let go, both ways; keepalived
    # kept it as its own (it left db2 again on the way back: one holder above)
    assert sum("ip addr replace" in a and "arping -q -U" in a for a in actions) == 2, actions
    assert sum("arping -q -U" in a and "ip addr" not in a for a in actions) == 2, actions  # again after
    assert all(a["operator"] for a in audit)


def test_refused_when_the_target_sql_thread_is_stopped(lab, tmp_path):
    vip_to(lab, "db1")
    lab.sql("db2", "STOP SLAVE SQL_THREAD")
    try:
        r = switchover(lab, "db2", tmp_path, "--yes")
        print(r.stdout)
        assert r.returncode == 1
        assert "✘ threads: db2 replication threads running" in r.stdout and "SQL No" in r.stdout
        assert "REFUSED" in r.stdout and "▶" not in r.stdout  # no step ran
        unchanged(lab)
    finally:
        lab.sql("db2", "START SLAVE SQL_THREAD")


def test_refused_when_the_target_has_an_errant_transaction(lab, tmp_path):
    vip_to(lab, "db1")
    lab.sql("db1", "STOP SLAVE")  # so db1 does not pick it up through dual-master replication
    try:
        # root bypasses read_only: a transaction written on the standby by hand (seed 002's mess)
        lab.sql(
            "db2", "CREATE TABLE IF NOT EXISTS labdb.errant (id INT PRIMARY KEY); INSERT INTO labdb.errant VALUES (1)"
        )
        r = switchover(lab, "db2", tmp_path, "--yes")
        print(r.stdout)
        assert r.returncode == 1
        assert "✘ no_errant: no errant transactions on db2" in r.stdout and "2-2-" in r.stdout
        unchanged(lab)
    finally:
        lab.sql("db1", "START SLAVE")
        wait_until("db1 to replicate db2 again", lambda: threads_ok(lab, "db1"), 20)
        lab.sql("db2", "DROP TABLE IF EXISTS labdb.errant")


def test_refused_when_the_target_is_unreachable(lab, tmp_path):
    vip_to(lab, "db1")
    lab.fault("stop-sshd", "db2")
    r = switchover(lab, "db2", tmp_path, "--yes")
    print(r.stdout)
    assert r.returncode == 1
    assert "✘ reachable: every node reachable over SSH" in r.stdout and "db2" in r.stdout
    lab.fault("start-sshd", "db2")
    unchanged(lab)


def test_killing_the_target_while_it_catches_up_rolls_back_and_loses_nothing(lab, op, tmp_path):
    vip_to(lab, "db1")
    cluster = load_cluster(lab.spec.cluster_file)
    w = VipWriter(lab, table=fresh_table())
    w.start()
    time.sleep(0.5)
    events = []

    def on_event(ev):
        events.append(ev)
        if ev.kind == "step_start" and ev.step == "catch_up":
            lab.fault("kill-mysqld", "db2")  # the target dies while it should be catching up

    async def run():
        pool = SessionPool.for_cluster(cluster)
        try:
            runner = Runner(cluster, Switchover(cluster, "db2"), pool=pool, on_event=on_event, base_dir=tmp_path)
            return await runner.execute(lambda checks, steps: asyncio.sleep(0, True))
        finally:
            await pool.close()

    report = op.run(run(), timeout=120)
    print("\n".join(f"{e.kind}: {e.text}" for e in events))
    assert report.outcome == Outcome.ROLLED_BACK, report.reason
    assert [e.step for e in events if e.kind == "step_failed"] == ["catch_up"]
    assert {e.step for e in events if e.kind == "undo_done"} >= {"fence", "boost", "prepare"}
    # the old writer holds the VIP and takes writes again: the writer client goes on
    acked = w.acked
    wait_until("writes through the VIP again", lambda: w.acked > acked + 50, 10)
    report_w = w.stop()
    assert vip_holders(lab) == ["db1"] and read_only(lab, "db1") == "0"
    assert priority_file(lab, "db1") == "0" and priority_file(lab, "db2") == "0"
    lab.fault("start-mysqld", "db2")
    wait_until("db2 to replicate again", lambda: threads_ok(lab, "db2"), 60)
    checks = verify_rows(lab, w.table, report_w.acked)
    assert all(c.ok for c in checks.values()), checks


def test_dry_run_sends_no_write(lab, op, tmp_path):
    vip_to(lab, "db1")
    cluster = load_cluster(lab.spec.cluster_file)
    sent: list[tuple[str, str, str]] = []

    async def run():
        pool = SessionPool.for_cluster(cluster)
        try:
            runner = Runner(
                cluster, Switchover(cluster, "db2"), pool=pool, base_dir=tmp_path, dry_run=True, recorder=sent
            )
            return await runner.plan()
        finally:
            await pool.close()

    report = op.run(run(), timeout=60)
    assert report.outcome == Outcome.DRY_RUN, [c for c in report.checks if c.failed]
    assert [s.key for s in report.steps][:3] == ["boost", "prepare", "fence"]
    sql = [text for _, kind, text in sent if kind == "sql"]
    ssh = [text for _, kind, text in sent if kind == "ssh"]
    assert sql and ssh
    assert all(is_read_sql(q) or q == "<status reads>" for q in sql), sql
    # reads only: addresses, the keepalived config, whether a failover left its fence file, and
    # whether the target has arping (to announce the VIP it takes)
    reads = ("ip -j addr", "cat ", "command -v arping")
    assert all(c.startswith(reads) or "ip -j addr" in c or c == fence_check_command() for c in ssh), ssh
    assert "command -v arping || true" in ssh
    unchanged(lab)
    # and the CLI's --dry-run exits 0 and says nothing was changed
    r = switchover(lab, "db2", tmp_path, "--dry-run")
    assert r.returncode == 0 and "DRY RUN: nothing was changed" in r.stdout and "▶" not in r.stdout
    unchanged(lab)


def _audit_steps(path, event: str = "step_done") -> list[str]:
    if not path.exists():
        return []
    return [a.get("step", "") for a in read_audit(path) if a["event"] == event]


def _interrupted(lab, tmp_path, after_step: str, event: str = "step_done") -> None:
    """`hatui switchover --to db2` killed (SIGKILL, as a crashed console) right after `after_step`
    is done (or, with event="step_start", once it started), seen in its audit log."""
    env = dict(os.environ, HATUI_STATE_DIR=str(tmp_path))
    audit = tmp_path / "lab" / "audit.log"
    p = subprocess.Popen(
        [sys.executable, "-m", "hatui", "switchover", "--cluster", str(lab.spec.cluster_file), "--to", "db2", "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_until(f"the switchover at {after_step}", lambda: after_step in _audit_steps(audit, event), 60, every=0.005)
    finally:
        p.kill()  # by the handle we started it with
        p.wait()


def recovery(lab, how: str, state_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, HATUI_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, "-m", "hatui", "runbook", how, "--cluster", str(lab.spec.cluster_file), "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_a_switchover_killed_past_the_vip_move_resumes_from_its_journal(lab, tmp_path):
    vip_to(lab, "db1")
    w = VipWriter(lab, table=fresh_table())
    w.start()
    wait_until("writes", lambda: w.acked > 100, 30, every=0.05)
    _interrupted(lab, tmp_path, "move")
    st = recovery(lab, "status", tmp_path)
    print(st.stdout)
    assert st.returncode == 1 and "switchover" in st.stdout and "running" in st.stdout
    assert "done         move" in st.stdout
    r = recovery(lab, "resume", tmp_path)
    print(r.stdout, r.stderr)
    assert r.returncode == 0 and "DONE" in r.stdout, r.stdout + r.stderr
    assert "▶ Repoint replicas of db1 to db2" in r.stdout  # the steps not done yet, from the journal
    assert "Move VIP" not in r.stdout  # and not those done
    acked = w.acked
    wait_until("writes through the VIP again", lambda: w.acked > acked + 100, 30, every=0.05)
    report = w.stop()
    assert vip_holders(lab) == ["db2"] and read_only(lab, "db2") == "0" and read_only(lab, "db1") == "1"
    assert source_of(lab, "db3") == lab.spec.node("db2").address
    assert all(threads_ok(lab, n) for n in ("db1", "db2", "db3"))
    checks = verify_rows(lab, w.table, report.acked)
    assert all(c.ok for c in checks.values()), checks
    back = switchover(lab, "db1", tmp_path, "--yes")  # the lab as it was
    assert back.returncode == 0, back.stdout


def test_a_switchover_killed_before_the_vip_move_rolls_back_from_its_journal(lab, tmp_path):
    vip_to(lab, "db1")
    w = VipWriter(lab, table=fresh_table())
    w.start()
    wait_until("writes", lambda: w.acked > 100, 30, every=0.05)
    # db2 cannot apply the writer's last rows while a session holds their table: the catch-up
    # waits, and the kill lands in it for sure (steps take milliseconds: killing "right after
    # catch_up" once landed in the VIP move, past the point of no return)
    lock = connect(lab, lab.spec.node("db2").address, account="admin")
    try:
        lock.cursor().execute(f"LOCK TABLES {APP_DB}.{w.table} WRITE")
        _interrupted(lab, tmp_path, "catch_up", "step_start")  # db1 fenced, db2 boosted
    finally:
        lock.cursor().execute("UNLOCK TABLES")
        lock.close()
    r = recovery(lab, "rollback", tmp_path)
    print(r.stdout, r.stderr)
    assert r.returncode == 0 and "ROLLED BACK" in r.stdout, r.stdout + r.stderr
    acked = w.acked
    wait_until("writes through the VIP again", lambda: w.acked > acked + 100, 30, every=0.05)
    report = w.stop()
    unchanged(lab)
    checks = verify_rows(lab, w.table, report.acked)
    assert all(c.ok for c in checks.values()), checks
