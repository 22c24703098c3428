"""Gap repair and rejoin against the real lab, as a DBA lives them: db2 stops receiving from db1,
db1 commits more, db1's mysqld is killed, keepalived fails the VIP over to db2, clients write on
db2. `hatui repair-gap` must recover exactly what db1 alone had (a second run changes nothing),
stop at a conflict, and `hatui rejoin` must bring db1 back as a healthy replica, refusing a
diverged node until the DBA chooses to discard, and only after saving what it discards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .support import connect, hatui, password, query, vip_holders, wait_until

TABLE = "labdb.gap"


def slave(lab, node: str) -> dict:
    rows = query(lab, lab.spec.node(node).address, "SHOW SLAVE STATUS")
    return rows[0] if rows else {}


def follows(lab, node: str, source: str) -> bool:
    st = slave(lab, node)
    return (
        st.get("Master_Host") == lab.spec.node(source).address
        and st.get("Slave_IO_Running") == "Yes"
        and st.get("Slave_SQL_Running") == "Yes"
    )


def rows(lab, node: str) -> dict[int, str]:
    out = lab.sql(node, f"SELECT id, v FROM {TABLE} ORDER BY id")
    return {int(line.split("\t")[0]): line.split("\t")[1] for line in out.splitlines() if line.strip()}


def checksum(lab, node: str) -> str:
    return lab.sql(node, f"CHECKSUM TABLE {TABLE}").split()[-1]


def state(lab, node: str) -> str:
    return lab.sql(node, "SELECT @@gtid_binlog_state").strip()


def own_domain(lab, node: str) -> str:
    """The node's own writes in its binlog state: the GTIDs of its domain (one per server)."""
    domain = lab.spec.node(node).server_id
    return ",".join(g for g in state(lab, node).split(",") if g.startswith(f"{domain}-"))


def canonical(lab, tmp_path) -> None:
    """db1 the writer, db2 and db3 replicating from it (a previous test may have moved things)."""
    if vip_holders(lab) != ["db1"]:
        assert hatui(lab, tmp_path, "switchover", "--to", "db1", "--yes").returncode == 0
    wait_until("db2 and db3 following db1", lambda: follows(lab, "db2", "db1") and follows(lab, "db3", "db1"), 20)
    lab.sql("db1", f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY, v VARCHAR(40))")
    lab.sql("db1", f"DELETE FROM {TABLE}")
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES (1,'orig'),(2,'orig'),(3,'orig')")
    want = rows(lab, "db1")
    wait_until("the table everywhere", lambda: rows(lab, "db2") == want and rows(lab, "db3") == want, 20)


def make_gap(lab, n: int, m: int, *, conflict: bool = False) -> None:
    """The unplanned failover with a gap: db2 misses db1's last n transactions."""
    lab.sql("db2", "STOP SLAVE IO_THREAD")
    for i in range(n):
        lab.sql("db1", f"INSERT INTO {TABLE} VALUES ({1000 + i}, 'only on db1 {i}')")
    if conflict:
        lab.sql("db1", f"UPDATE {TABLE} SET v='db1 says' WHERE id=1")
    lab.fault("kill-mysqld", "db1")
    wait_until(
        "the VIP on db2, writable",
        lambda: vip_holders(lab) == ["db2"] and lab.sql("db2", "SELECT @@read_only").strip() == "0",
        30,
    )
    for i in range(m):
        lab.sql("db2", f"INSERT INTO {TABLE} VALUES ({2000 + i}, 'on db2 {i}')")
    if conflict:
        lab.sql("db2", f"UPDATE {TABLE} SET v='db2 says' WHERE id=1")


def back_to_db1(lab, tmp_path) -> None:
    r = hatui(lab, tmp_path, "switchover", "--to", "db1", "--yes")
    assert r.returncode == 0, r.stdout


def recovery_folders(state_dir: Path) -> list[Path]:
    return sorted((state_dir / "lab" / "recovery").iterdir())


def test_repair_gap_recovers_exactly_the_missing_transactions_then_rejoin(lab, tmp_path):
    canonical(lab, tmp_path)
    n, m = 40, 7
    make_gap(lab, n, m)
    before = rows(lab, "db2")
    assert not any(1000 <= k < 1000 + n for k in before)

    # the preview is shown before anything is applied, and a dry run applies nothing
    dry = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--dry-run")
    assert dry.returncode == 0, dry.stdout
    assert f"{n} transaction(s) to recover" in dry.stdout and "labdb.gap: " in dry.stdout
    assert "INSERT labdb.gap (id=1000, v='only on db1 0')" in dry.stdout
    assert "mysqld is down" in dry.stdout and rows(lab, "db2") == before

    r = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--yes")
    assert r.returncode == 0, r.stdout
    after = rows(lab, "db2")
    assert {k for k in after if k >= 1000} == set(range(1000, 1000 + n)) | set(range(2000, 2000 + m))
    assert all(after[1000 + i] == f"only on db1 {i}" for i in range(n))
    # with their GTIDs: db1's domain on db2 now ends where db1's binlog ends
    assert "1-1-" in state(lab, "db2")
    folder = recovery_folders(tmp_path)[-1]
    script = (folder / "gap.sql").read_bytes()
    assert (folder / "gap.sql.sha256").read_text().split()[0] == hashlib.sha256(script).hexdigest()
    assert len(json.loads((folder / "manifest.json").read_text())["apply"]) == n
    audit = (tmp_path / "lab" / "audit.log").read_text()
    assert "replay 1-1-" in audit and f"then {folder / 'gap.sql'} (sha256 " in audit
    assert "--defaults-extra-file" in audit  # through db2's own client, its password in no command line
    assert password(lab, "admin") not in audit

    # a second run finds nothing and changes nothing
    st = state(lab, "db2")
    again = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--yes")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    assert state(lab, "db2") == st and rows(lab, "db2") == after
    # db1's binlogs did not change since the first run read them: not downloaded nor parsed
    # again, and the run's folder still holds the dump it read
    assert "unchanged since an earlier read: taken from its cache" in again.stdout, again.stdout
    raw = sorted((recovery_folders(tmp_path)[-1] / "raw").glob("*.txt"))
    assert raw and raw[-1].read_bytes() == sorted((folder / "raw").glob("*.txt"))[-1].read_bytes()

    # rejoin: db1 back as a replica of db2, db3 (still pulling from the dead db1) repointed
    lab.fault("start-mysqld", "db1")
    j = hatui(lab, tmp_path, "rejoin", "db1", "--yes")
    assert j.returncode == 0, j.stdout
    # nothing db2 lacks; db2's m rows it may already have pulled itself (its channel from db2
    # starts with mysqld), so identical or behind
    assert "db1 against db2: identical" in j.stdout or "db1 against db2: behind" in j.stdout
    assert follows(lab, "db1", "db2") and follows(lab, "db3", "db2") and follows(lab, "db2", "db1")
    assert vip_holders(lab) == ["db2"] and lab.sql("db1", "SELECT @@read_only").strip() == "1"
    wait_until(
        "equal tables on every node", lambda: checksum(lab, "db1") == checksum(lab, "db2") == checksum(lab, "db3"), 20
    )
    back_to_db1(lab, tmp_path)


def test_conflict_stops_everything_then_diverged_node_is_refused_until_discarded(lab, tmp_path):
    canonical(lab, tmp_path)
    make_gap(lab, 5, 3, conflict=True)
    before, st = rows(lab, "db2"), state(lab, "db2")

    r = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--yes")
    assert r.returncode == 1, r.stdout  # refused: the DBA must decide
    assert "CONFLICT" in r.stdout and "labdb.gap (1)" in r.stdout and "changed on the new writer" in r.stdout
    assert rows(lab, "db2") == before and state(lab, "db2") == st  # nothing applied

    # the DBA decides: apply what comes before the conflict, keep the rest aside
    s = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--on-conflict", "skip", "--yes")
    assert s.returncode == 0, s.stdout
    assert rows(lab, "db2")[1] == "db2 says" and all(1000 + i in rows(lab, "db2") for i in range(5))
    held = recovery_folders(tmp_path)[-1] / "held_back.sql"
    assert "db1 says" in held.read_text()

    # db1 still holds the held-back update: diverged, refused, nothing discarded
    lab.fault("start-mysqld", "db1")
    held_gtid = json.loads((recovery_folders(tmp_path)[-1] / "manifest.json").read_text())["held_back"][0]
    kept = own_domain(lab, "db1")
    j = hatui(lab, tmp_path, "rejoin", "db1", "--yes")
    assert j.returncode == 1, j.stdout
    assert "diverged" in j.stdout and held_gtid in j.stdout and "--discard-errant" in j.stdout
    # nothing discarded: db1's own transactions are all still there (its other domains move on
    # by themselves, as db1 resumes replicating from db2 once its mysqld is back)
    assert own_domain(lab, "db1") == kept and held_gtid in kept

    # db3 pulled the held-back update from db1 too: discarding on db1 first would RESET MASTER
    # under db3's channel, so the discard is refused until db3 is rejoined (nothing changed)
    r1 = hatui(lab, tmp_path, "rejoin", "db1", "--discard-errant", "--yes")
    assert r1.returncode == 1, r1.stdout
    assert "db3 (still replicating from db1) can follow db2" in r1.stdout and "would break it" in r1.stdout
    assert "hatui rejoin db3 --discard-errant` first" in r1.stdout
    assert own_domain(lab, "db1") == kept
    d3 = hatui(lab, tmp_path, "rejoin", "db3", "--discard-errant", "--yes")
    assert d3.returncode == 0, d3.stdout
    assert follows(lab, "db3", "db2")

    # discard: saved to a file first, then rolled back; db1 ends a healthy replica
    d = hatui(lab, tmp_path, "rejoin", "db1", "--discard-errant", "--yes")
    assert d.returncode == 0, d.stdout
    errant = next(p for p in recovery_folders(tmp_path) if p.name.endswith("-db1-errant"))
    text = (errant / "errant.sql").read_bytes()
    assert b"db1 says" in text
    assert (errant / "errant.sql.sha256").read_text().split()[0] == hashlib.sha256(text).hexdigest()
    assert follows(lab, "db1", "db2") and follows(lab, "db2", "db1") and follows(lab, "db3", "db2")
    wait_until(
        "equal tables on every node", lambda: checksum(lab, "db1") == checksum(lab, "db2") == checksum(lab, "db3"), 20
    )
    assert rows(lab, "db1")[1] == rows(lab, "db3")[1] == "db2 says"
    back_to_db1(lab, tmp_path)


FORGED_COMMENT = (
    "x\n/*!*/;\n# at 999\n#261206  0:00:00 server id 1  end_log_pos 1100 CRC32 0x00000000 \tGTID 1-1-999999 ddl\n"
    "/*!100001 SET @@session.gtid_seq_no=999999*//*!*/;\n# at 1100\n"
    "#261206  0:00:00 server id 1  end_log_pos 1200 CRC32 0x00000000 \tQuery\tthread_id=1\texec_time=0\terror_code=0\n"
    "SET TIMESTAMP=1/*!*/;\nGRANT ALL PRIVILEGES ON *.* TO 'hatui_app'@'%' WITH GRANT OPTION\n/*!*/;\n# y"
)


def test_forged_events_in_a_ddl_statement_are_refused_and_nothing_is_replayed(lab, tmp_path):
    """The application account (privileges on labdb only) plants event-header-shaped text in a
    table comment on the writer; the writer dies before db2 gets it. The repair must refuse the
    dump, name the event that does not check out, and leave db2's grants and GTIDs alone."""
    canonical(lab, tmp_path)
    lab.sql("db2", "STOP SLAVE IO_THREAD")
    app = connect(lab, lab.spec.node("db1").address, "app")
    try:
        app.cursor().execute('ALTER TABLE labdb.gap COMMENT "' + FORGED_COMMENT + '"')
        app.cursor().execute(f"INSERT INTO {TABLE} VALUES (3000, 'after the forged comment')")
    finally:
        app.close()
    lab.fault("kill-mysqld", "db1")
    wait_until(
        "the VIP on db2, writable",
        lambda: vip_holders(lab) == ["db2"] and lab.sql("db2", "SELECT @@read_only").strip() == "0",
        30,
    )
    grants, st = lab.sql("db2", "SHOW GRANTS FOR 'hatui_app'@'%'"), state(lab, "db2")
    assert "ALL PRIVILEGES ON *.*" not in grants

    r = hatui(lab, tmp_path, "repair-gap", "--from", "db1", "--to", "db2", "--yes")
    assert r.returncode == 1, r.stdout
    assert "checks out against the binlog's positions" in r.stdout
    assert "`GTID 1-1-999999 ddl` claims position 999" in r.stdout and "forged event" in r.stdout
    assert "replay 1-1-" not in (tmp_path / "lab" / "audit.log").read_text()
    assert lab.sql("db2", "SHOW GRANTS FOR 'hatui_app'@'%'") == grants and state(lab, "db2") == st
    assert 3000 not in rows(lab, "db2")

    # back to health: db2 takes db1's transactions through replication (it wrote nothing since)
    lab.fault("start-mysqld", "db1")
    lab.sql("db2", "START SLAVE IO_THREAD")
    wait_until("db2 has db1's rows", lambda: 3000 in rows(lab, "db2"), 30)
    assert "ALL PRIVILEGES ON *.*" not in lab.sql("db2", "SHOW GRANTS FOR 'hatui_app'@'%'")
    back_to_db1(lab, tmp_path)
    purge_forged_binlogs(lab)


def purge_forged_binlogs(lab) -> None:
    """The forged text is in every node's binlog now (replicated): a later runbook that reads
    them (a rejoin saving a node's errant transactions) would rightly refuse. The comment goes,
    and once every node has everything, each starts a new binlog and drops the older ones."""
    lab.sql("db1", f"ALTER TABLE {TABLE} COMMENT ''")
    nodes = ("db1", "db2", "db3")
    wait_until("every node has every transaction", lambda: len({state(lab, n) for n in nodes}) == 1, 30)
    for n in nodes:
        lab.sql(n, "FLUSH BINARY LOGS")
        current = lab.sql(n, "SHOW MASTER STATUS").split()[0]

        def purged(n: str = n, current: str = current) -> bool:
            # a file a replica's dump thread still reads is kept (with a warning): again until gone
            lab.sql(n, f"PURGE BINARY LOGS TO '{current}'")
            return lab.sql(n, "SHOW BINARY LOGS").split()[0] == current

        wait_until(f"{n}'s binlogs before {current} purged", purged, 30)
