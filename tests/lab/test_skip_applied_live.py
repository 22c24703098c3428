"""`hatui skip-applied` against the real lab: the chaos soak's MMM partition, made on purpose.

While both sides of the dual master are cut off from each other, the same insert commits on
each (a client's retry through the moved VIP), and the standby takes more rows. When replication
comes back, each side's channel stops on the other's copy (1062) and the writer lacks the
standby's rows. The console suggests skip-applied; it proves each side holds the duplicate's
row exactly, skips that one transaction, and both channels carry on: every row on every node.
A replica whose row differs is refused, named and left alone, until the DBA settles the row."""

from __future__ import annotations

from .support import hatui, wait_until
from .test_gap_live import TABLE, canonical, checksum, follows, rows, slave, state

DUP = 5000


def stopped_on(lab, node: str) -> str:
    return str(slave(lab, node).get("Last_SQL_Errno", ""))


def test_a_duplicate_on_both_sides_is_skipped_once_proven_and_a_real_conflict_is_refused(lab, tmp_path):
    canonical(lab, tmp_path)
    # the partition: neither side receives from the other
    lab.sql("db1", "STOP SLAVE")
    lab.sql("db2", "STOP SLAVE")
    # the in-flight insert committed on db1, the client's retry on db2: the same row, two GTIDs;
    # then one retried with another value on each side (a NOW() in the row, say)
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES ({DUP}, 'retried insert')")
    lab.sql("db2", f"INSERT INTO {TABLE} VALUES ({DUP}, 'retried insert')")
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES ({DUP + 200}, 'db1 at 10:00:01')")
    lab.sql("db2", f"INSERT INTO {TABLE} VALUES ({DUP + 200}, 'db2 at 10:00:03')")
    # what the standby took while it held the VIP
    for i in range(20):
        lab.sql("db2", f"INSERT INTO {TABLE} VALUES ({DUP + 1 + i}, 'on db2 {i}')")
    # db3 (a replica of db1) wrote the same key itself, with another value: a real conflict
    lab.sql("db3", f"SET sql_log_bin=0; INSERT INTO {TABLE} VALUES ({DUP + 100}, 'db3 local')")
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES ({DUP + 100}, 'from db1')")
    lab.sql("db1", "START SLAVE")
    lab.sql("db2", "START SLAVE")
    wait_until(
        "every channel stopped on its duplicate",
        lambda: stopped_on(lab, "db1") == stopped_on(lab, "db2") == stopped_on(lab, "db3") == "1062",
        30,
    )
    assert not {DUP + 1 + i for i in range(20)} & set(rows(lab, "db1"))  # the writer lacks them

    st = hatui(lab, tmp_path, "status")
    for node in ("db1", "db2", "db3"):
        assert f"hatui skip-applied --cluster {lab.spec.cluster_file} {node}" in st.stdout, st.stdout

    dry = hatui(lab, tmp_path, "skip-applied", "db1", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "db1 holds every row as 2-2-" in dry.stdout and "SET GLOBAL gtid_slave_pos" in dry.stdout
    assert stopped_on(lab, "db1") == "1062"  # the dry run changed nothing

    # the identical duplicate: skipped on each side; each channel then stops on the one that differs
    for node in ("db1", "db2"):
        r = hatui(lab, tmp_path, "skip-applied", node, "--yes")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"{node} went past" in r.stdout and "then stopped again" in r.stdout, r.stdout
    # the one that differs is refused without a choice, nothing changed
    for node in ("db1", "db2"):
        bad = hatui(lab, tmp_path, "skip-applied", node, "--yes")
        assert bad.returncode != 0 and "differ" in bad.stdout and f"({DUP + 200})" in bad.stdout, bad.stdout
        assert "--keep-local" in bad.stdout and stopped_on(lab, node) == "1062"
    # the writer's version wins: db1 keeps its own, db2 takes db1's (its own saved first)
    keep = hatui(lab, tmp_path, "skip-applied", "db1", "--keep-local", "--yes")
    assert keep.returncode == 0 and "and replicates" in keep.stdout, keep.stdout + keep.stderr
    take = hatui(lab, tmp_path, "skip-applied", "db2", "--take-source", "--yes")
    assert take.returncode == 0 and "and replicates" in take.stdout, take.stdout + take.stderr
    saved = list((tmp_path / "lab" / "recovery").glob("*-db2-skip/replaced-rows.json"))
    assert saved and "db2 at 10:00:03" in saved[0].read_text()
    for node, source in (("db1", "db2"), ("db2", "db1")):
        wait_until(f"{node} following {source}", lambda n=node, s=source: follows(lab, n, s), 20)
    wait_until(
        "db1 and db2 equal, the standby's rows on the writer",
        lambda: checksum(lab, "db1") == checksum(lab, "db2") and DUP + 20 in rows(lab, "db1"),
        20,
    )
    assert rows(lab, "db1")[DUP] == "retried insert" and rows(lab, "db2")[DUP + 200] == "db1 at 10:00:01"

    # db3's row differs: refused, named, nothing changed
    bad = hatui(lab, tmp_path, "skip-applied", "db3", "--yes")
    assert bad.returncode != 0 and "differ" in bad.stdout and f"({DUP + 100})" in bad.stdout, bad.stdout
    assert "column 2 is 'db3 local'" in bad.stdout and stopped_on(lab, "db3") == "1062"
    # the DBA settles the row (db1's value wins) and runs it again
    lab.sql("db3", f"SET sql_log_bin=0; UPDATE {TABLE} SET v='from db1' WHERE id={DUP + 100}")
    ok = hatui(lab, tmp_path, "skip-applied", "db3", "--yes")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wait_until(
        "db3 following db1 again, equal",
        lambda: follows(lab, "db3", "db1") and checksum(lab, "db3") == checksum(lab, "db1"),
        20,
    )
    # MariaDB holds a skipped GTID in the replica's position, not its binlog: db3's binlog shows
    # domain 1 at db1's next transaction again, and then every server has the same GTIDs
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES ({DUP + 101}, 'after')")
    wait_until(
        "the same rows and GTIDs everywhere",
        lambda: (
            state(lab, "db1") == state(lab, "db2") == state(lab, "db3")
            and checksum(lab, "db1") == checksum(lab, "db2") == checksum(lab, "db3")
        ),
        20,
    )
    again = hatui(lab, tmp_path, "skip-applied", "db3", "--yes")
    assert again.returncode != 0 and "its replication runs: nothing to skip" in again.stdout, again.stdout
