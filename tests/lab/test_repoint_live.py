"""Seed 002's main pitfall, for real: the writer's mysqld dies, keepalived moves the VIP to db2,
clients write on db2, and db3 keeps pulling from the dead db1. `hatui repoint` points db3 at db2
without waiting for db1, and db3 gets every write made on db2 since; run again, it has nothing to
do and refuses, changing nothing."""

from __future__ import annotations

import uuid

from hatui.lab.writer import VipWriter, verify_rows

from .support import hatui, query, vip_holders, wait_until


def source_of(lab, node: str) -> dict:
    rows = query(lab, lab.spec.node(node).address, "SHOW SLAVE STATUS")
    return rows[0] if rows else {}


def test_replicas_of_a_dead_writer_follow_the_new_one(lab, tmp_path):
    db1, db2 = lab.spec.node("db1").address, lab.spec.node("db2").address
    assert source_of(lab, "db3")["Master_Host"] == db1
    lab.fault("stop-mysqld", "db1")
    wait_until("the VIP on db2", lambda: vip_holders(lab) == ["db2"], 20)
    wait_until("db2 writable", lambda: lab.sql("db2", "SELECT @@read_only").strip() == "0", 20)
    # clients write on the new writer; db3 still pulls from the dead one and misses all of it
    w = VipWriter(lab, table=f"repoint_{uuid.uuid4().hex[:6]}")
    w.start()
    try:
        wait_until("writes on db2", lambda: w.acked >= 200, 30, every=0.05)
        st = source_of(lab, "db3")
        assert st["Master_Host"] == db1 and st["Slave_IO_Running"] != "Yes"

        dry = hatui(lab, tmp_path, "repoint", "--dry-run")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert source_of(lab, "db3")["Master_Host"] == db1  # the dry run changed nothing
        assert "db3 (pulling from db1) can follow db2" in dry.stdout

        r = hatui(lab, tmp_path, "repoint", "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        st = source_of(lab, "db3")
        assert st["Master_Host"] == db2 and st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"
        assert "CHANGE MASTER TO MASTER_HOST='198.18.0.12'" in r.stdout  # shown as sent
        wait_until("more writes", lambda: w.acked >= 400, 30, every=0.05)
    finally:
        report = w.stop()
    # every write acknowledged on db2 is on db3 (db1 is down: not checked), once, and no other
    checks = verify_rows(lab, w.table, report.acked)
    assert set(checks) == {"db2", "db3"} and all(c.ok for c in checks.values()), checks

    again = hatui(lab, tmp_path, "repoint", "--yes")
    assert again.returncode != 0 and "replicas to repoint" in again.stdout and "none" in again.stdout
