"""`hatui status` against the real lab: healthy is OK, and each fault shows up within 3 s.

Every check runs the real command, as cron or a monitoring system would, from the lab's
operator namespace, and measures from the fault to the first status that reports it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from .support import SLACK, vip_holders, vip_to, wait_until

DEADLINE = 3.0  # the promise: a fault is seen within 3 s


def status(lab, timeout: float = 20) -> tuple[dict, int]:
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "status", "--cluster", str(lab.spec.cluster_file), "--json", "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode in (0, 1, 2, 3), res.stderr
    try:
        return json.loads(res.stdout), res.returncode
    except json.JSONDecodeError:
        pytest.fail(f"status printed no JSON (exit {res.returncode}):\n{res.stdout}\n{res.stderr}")


def codes(d: dict) -> set[tuple[str, str | None]]:
    return {(a["code"], a["node"]) for a in d["alerts"]}


def seen_within(lab, want: set[tuple[str, str | None]], what: str) -> tuple[dict, float]:
    """Run status until every wanted (code, node) alert is present; fail after the deadline."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < DEADLINE + 10:
        last, _ = status(lab)
        if want <= codes(last):
            took = time.monotonic() - t0
            assert took <= DEADLINE + 1.0 + SLACK, f"{what}: seen only after {took:.1f} s"
            return last, took
    pytest.fail(f"{what}: {want - codes(last)} never reported; alerts were {codes(last)}")


def cleared(lab, gone: set[tuple[str, str | None]], what: str, timeout: float = 20) -> dict:
    def ok():
        d, _ = status(lab)
        return d if not (gone & codes(d)) else None

    d, _ = wait_until(f"{what} to clear", ok, timeout, every=0.2)
    return d


def test_healthy_lab_is_ok_and_reports_every_node(lab):
    # healthy as built: db1 writes and db3 replicates from it. (With the VIP on db2, db3 pulling
    # from db1 is rightly a repl.source_not_writer warning until it is repointed.)
    vip_to(lab, "db1")

    def clean() -> dict | None:
        # the old holder's keepalived was just restarted: its notify scripts may still be
        # setting read_only (a CI run caught db2 writable for a moment on a loaded machine)
        d, code = status(lab)
        return d if code == 0 else None

    d, _ = wait_until("a status without alerts after the VIP moved to db1", clean, 20, every=0.5)
    holder = vip_holders(lab)[0]
    assert d["cluster"] == "lab" and d["writer"] == holder
    assert d["vips"] == [
        {
            "address": lab.spec.vip,
            "role": "writer",
            "ports": [{"port": 3306, "role": "writer"}],
            "holders": [holder],
            "unknown": [],
        }
    ]
    assert d["incidents"] == [] and d["mmm"] is None
    nodes = {n["name"]: n for n in d["nodes"]}
    assert set(nodes) == {"db1", "db2", "db3"}
    for n in nodes.values():
        assert n["reachable"] is True
        m = n["mysql"]
        assert m["up"] and m["flavor"] == "mariadb" and m["version"].startswith("10.11")
        assert m["read_only"] is (n["name"] != holder)
        assert m["gtid_executed"]
    assert [n["mysql"]["server_id"] for n in d["nodes"]] == [1, 2, 3]
    (chan,) = nodes["db3"]["mysql"]["replication"]
    assert chan["source_host"] == lab.spec.node("db1").address

    assert chan["io_running"] and chan["sql_running"] and chan["lag_seconds"] == 0
    ka = nodes[holder]["keepalived"]
    assert ka["running"] and ka["instances"][0]["state"] == "MASTER"
    assert ka["instances"][0]["vips"] == [lab.spec.vip]
    assert nodes[holder]["vips"] == [lab.spec.vip]
    assert nodes["db3"]["keepalived"] is None


def test_status_prints_exactly_its_report_and_no_warning(lab):
    # cron and Nagios read it: no library warning (asyncssh's DSA deprecation) on any stream
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "status", "--cluster", str(lab.spec.cluster_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert res.stdout.startswith("cluster lab (dual-master)") and "Warning" not in res.stdout


def test_human_table_and_exit_code(lab):
    vip_to(lab, "db1")
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "status", "--cluster", str(lab.spec.cluster_file)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "cluster lab (dual-master)" in out and " OK " in out
    assert "alerts: none" in out
    for name in ("db1", "db2", "db3"):
        assert f"\n{name} " in out


def test_killed_writer_mysqld_is_reported_then_clears(lab):
    holder = vip_holders(lab)[0]
    other = "db2" if holder == "db1" else "db1"
    lab.fault("kill-mysqld", holder)
    d, took = seen_within(lab, {("mysql.down", holder)}, f"kill-mysqld {holder}")
    assert any(a["code"] == "mysql.down" and a["severity"] == "critical" for a in d["alerts"])
    # the VIP follows keepalived's check to the other master; replicas of the dead one are flagged
    wait_until("VIP on the other master", lambda: vip_holders(lab) == [other], 15)
    lab.fault("start-mysqld", holder)
    cleared(lab, {("mysql.down", holder), ("vip.holder_mysql_down", holder)}, "mysqld down")


def test_vip_on_a_dead_mysqld_is_critical(lab):
    # Seed 000: keepalived SIGKILLed leaves the VIP behind; then mysqld dies under it.
    holder = vip_holders(lab)[0]
    lab.fault("stop-keepalived", "db2" if holder == "db1" else "db1")  # nobody to take over
    lab.fault("kill-keepalived", holder)
    lab.fault("kill-mysqld", holder)
    d, _ = seen_within(lab, {("vip.holder_mysql_down", holder)}, "VIP on dead mysqld")
    assert d["writer"] == holder


def test_split_brain_after_keepalived_is_killed(lab):
    holder = vip_holders(lab)[0]
    other = "db2" if holder == "db1" else "db1"
    lab.fault("kill-keepalived", holder)  # SIGKILL: the VIP stays behind (seed 000)
    # the other master takes over only after 3 missed adverts: time from when both hold it
    wait_until("both masters holding the VIP", lambda: len(vip_holders(lab)) == 2, 15)
    d, _ = seen_within(lab, {("vip.split_brain", None), ("keepalived.down", holder)}, "split brain")
    assert sorted(d["vips"][0]["holders"]) == sorted([holder, other])
    assert d["exit_code"] == 2


def test_standby_keepalived_stopped_and_fault(lab):
    holder = vip_holders(lab)[0]
    standby = "db2" if holder == "db1" else "db1"
    lab.fault("stop-keepalived", standby)
    seen_within(lab, {("keepalived.down", standby)}, "keepalived stopped")
    lab.fault("start-keepalived", standby)
    cleared(lab, {("keepalived.down", standby)}, "keepalived down")
    lab.fault("stop-mysqld", standby)  # its check fails: keepalived goes to FAULT
    seen_within(lab, {("mysql.down", standby)}, "standby's mysqld down")
    # keepalived itself needs `fall 2` failed checks (1 s apart) before FAULT: not ours to time
    wait_until("keepalived.fault reported", lambda: ("keepalived.fault", standby) in codes(status(lab)[0]), 10)
    lab.fault("start-mysqld", standby)
    cleared(lab, {("keepalived.fault", standby), ("mysql.down", standby)}, "FAULT", timeout=30)


def test_replication_sql_thread_stopped(lab):
    lab.sql("db3", "STOP SLAVE SQL_THREAD")
    try:
        d, _ = seen_within(lab, {("repl.sql_stopped", "db3")}, "SQL thread stopped")
        assert d["exit_code"] == 2
    finally:
        lab.sql("db3", "START SLAVE SQL_THREAD")
    cleared(lab, {("repl.sql_stopped", "db3")}, "SQL thread stopped")


def test_replica_left_on_the_old_writer_after_failover(lab):
    vip_to(lab, "db1")  # db3 replicates from db1
    lab.fault("stop-keepalived", "db1")
    wait_until("VIP on db2", lambda: vip_holders(lab) == ["db2"], 15)
    d, _ = seen_within(lab, {("repl.source_not_writer", "db3")}, "seed 002's pitfall")
    assert d["writer"] == "db2"
    # what the console offers for it: repoint db3, named (db1 is alive and relays)
    [inc] = [i for i in d["incidents"] if i["nodes"][:1] == ["db3"]]
    assert {"runbook": "repoint", "args": ["db3"]}.items() <= inc["suggested"][0].items()
    lab.fault("stop-mysqld", "db1")
    seen_within(lab, {("repl.source_down", "db3")}, "replica pulling from a dead master")


def test_writes_outside_the_writer(lab):
    holder = vip_holders(lab)[0]
    standby = "db2" if holder == "db1" else "db1"
    lab.sql(standby, "SET GLOBAL read_only=OFF")
    try:
        d, _ = seen_within(lab, {("topology.multiple_writers", None)}, "two writable masters")
    finally:
        lab.sql(standby, "SET GLOBAL read_only=ON")
    lab.sql(holder, "SET GLOBAL read_only=ON")
    try:
        seen_within(lab, {("vip.holder_read_only", holder)}, "read-only writer")
    finally:
        lab.sql(holder, "SET GLOBAL read_only=OFF")
    cleared(lab, {("vip.holder_read_only", holder), ("topology.multiple_writers", None)}, "writers")


def test_errant_transaction_and_duplicate_server_id_on_the_replica(lab):
    # root bypasses read_only: exactly how errant transactions get onto replicas
    lab.sql("db3", "CREATE DATABASE IF NOT EXISTS errant_probe")
    try:
        d, _ = seen_within(lab, {("gtid.errant", "db3")}, "errant transaction")
        (a,) = [a for a in d["alerts"] if a["code"] == "gtid.errant"]
        assert "3-3-" in a["message"]  # db3's own domain
    finally:
        # Forget db3's own binlog history (nothing replicates from db3), keep the data in sync,
        # and give it back the GTID state the others have (the lab's canonical state)
        lab.sql("db3", "SET sql_log_bin=0; DROP DATABASE IF EXISTS errant_probe")
        wait_until(
            "db3 to have all of db1",
            lambda: (
                lab.sql("db3", "SELECT @@gtid_slave_pos").strip() == lab.sql("db1", "SELECT @@gtid_binlog_pos").strip()
            ),
            20,
        )
        others = lab.sql("db1", "SELECT @@gtid_binlog_state").strip()
        lab.sql("db3", f"RESET MASTER; SET GLOBAL gtid_binlog_state = '{others}'")
    cleared(lab, {("gtid.errant", "db3")}, "errant")
    lab.sql("db3", "SET GLOBAL server_id=2")
    try:
        seen_within(lab, {("mysql.duplicate_server_id", None)}, "duplicate server_id")
    finally:
        lab.sql("db3", "SET GLOBAL server_id=3")


def test_unreachable_node_degrades_only_that_node(lab):
    lab.fault("stop-sshd", "db3")
    d, _ = seen_within(lab, {("ssh.unreachable", "db3")}, "sshd stopped")
    nodes = {n["name"]: n for n in d["nodes"]}
    assert nodes["db3"]["reachable"] is False
    assert nodes["db1"]["reachable"] and nodes["db1"]["mysql"]["up"]
    lab.fault("start-sshd", "db3")
    lab.fault("partition", "db3")
    t0 = time.monotonic()
    d, _ = seen_within(lab, {("ssh.unreachable", "db3")}, "partitioned node")
    assert time.monotonic() - t0 < 8
    lab.fault("heal", "db3")
    cleared(lab, {("ssh.unreachable", "db3")}, "unreachable")


def test_a_full_binlog_volume_is_a_full_disk_not_a_dead_writer_and_the_write_lands_once_freed(lab):
    import threading

    holder = vip_holders(lab)[0]
    lab.sql(holder, "CREATE TABLE IF NOT EXISTS labdb.diskfull (id INT PRIMARY KEY, v MEDIUMTEXT)")
    lab.sql(holder, "DELETE FROM labdb.diskfull")
    # the console's own probe, kept across the fill: its next reading is a batch with the binlog read
    from .test_mysql_live import make_probe

    probe = make_probe(lab, holder, read_timeout=1.5)
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(probe.poll()).up  # a new connection: one statement at a time
    assert loop.run_until_complete(probe.poll()).binlog_file  # then batched, binlog position read
    print(lab.fault("fill-binlog", holder))
    writes = []

    def write() -> None:  # waits for space (as the application's writes would)
        writes.append(lab.sql(holder, "INSERT INTO labdb.diskfull VALUES (1, REPEAT('x', 100000))", timeout=120))

    t = threading.Thread(target=write, daemon=True)
    try:
        t.start()
        wait_until(
            "the write waiting for space",
            lambda: (
                "Waiting for someone to free space"
                in lab.sql(holder, "SELECT STATE FROM information_schema.PROCESSLIST WHERE INFO LIKE 'INSERT%'")
            ),
            10,
        )
        # the batch's count says it; its binlog read, last, is not waited for: up, not "dead"
        t0 = time.monotonic()
        st = loop.run_until_complete(probe.poll())
        print(f"the probe's batched reading under a full volume: {time.monotonic() - t0:.2f} s")
        assert st.up and st.disk_waits and st.binlog_file is None, st
        st = loop.run_until_complete(probe.poll())  # a new connection, the binlog read not sent
        assert st.up and st.disk_waits and st.binlog_file is None, st
        loop.run_until_complete(probe.close())
        d, took = seen_within(lab, {("mysql.disk_full", holder)}, f"fill-binlog {holder}")
        print(f"disk_full seen after {took:.2f} s")
        # mysqld answers: not down, no failover offered; the binlog position is said unread, why
        assert ("mysql.down", holder) not in codes(d)
        [inc] = [i for i in d["incidents"] if i["code"] == "disk_full"]
        assert holder in inc["nodes"] and not any(s.get("runbook") for s in inc["suggested"])
        assert not [i for i in d["incidents"] if i["code"].startswith("dead_writer")]
        node = next(n for n in d["nodes"] if n["name"] == holder)
        assert any("wait for free disk space" in w for w in node["mysql"]["warnings"]), node["mysql"]

        # `hatui status` never leaves a read waiting behind the stuck write (each would hold a
        # connection); the probe's abandoned batch above left one, at most
        def stuck() -> int:
            sql = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SHOW MASTER STATUS%'"
            return int(lab.sql(holder, sql).strip())

        before = stuck()
        assert before <= 1
        for _ in range(3):
            status(lab)
        assert stuck() == before
    finally:
        print(lab.fault("free-binlog", holder))
        loop.close()
    # MariaDB retries a write waiting for space once a minute: the incident ends at that retry
    cleared(lab, {("mysql.disk_full", holder)}, "the full binlog volume", timeout=75)
    t.join(60)
    assert lab.sql(holder, "SELECT COUNT(*) FROM labdb.diskfull").strip() == "1"  # the write landed
    lab.sql(holder, "DROP TABLE labdb.diskfull")
