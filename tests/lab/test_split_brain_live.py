"""A split brain as seed 000 makes one, for real: the masters stop replicating from each other,
keepalived is killed with SIGKILL on db1 (the VIP stays there), db2 takes the VIP too, and both
take writes. `hatui split-brain` shows both sides' writes, keeps the side with more, saves the
loser's writes as SQL with their sha256, fences the loser and takes the VIP off it; the rejoins
then bring every node back on the survivor's data: checksums equal everywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path

from .support import hatui, vip_holders, wait_until

TABLE = "labdb.sb"


def checksum(lab, node: str) -> str:
    return lab.sql(node, f"CHECKSUM TABLE {TABLE}").split()[-1]


def test_a_split_brain_keeps_one_side_saves_the_other_and_rejoins_it(lab, tmp_path):
    lab.sql("db1", f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, side VARCHAR(8))")
    wait_until(
        "the table everywhere",
        lambda: all(lab.sql(n, "SHOW TABLES FROM labdb LIKE 'sb'").strip() for n in ("db2", "db3")),
        20,
    )
    for n in ("db1", "db2"):
        lab.sql(n, "STOP SLAVE")  # the masters no longer see each other's writes
    lab.fault("kill-keepalived", "db1")  # SIGKILL: no goodbye advert, the VIP stays on db1
    wait_until("the VIP on both masters", lambda: vip_holders(lab) == ["db1", "db2"], 20)
    wait_until("db2 writable", lambda: lab.sql("db2", "SELECT @@read_only").strip() == "0", 20)
    # one transaction a row: db1 takes 5 while db2 takes 10
    lab.sql("db1", "; ".join(f"INSERT INTO {TABLE} VALUES ({i}, 'db1')" for i in range(1, 6)))
    lab.sql("db2", "; ".join(f"INSERT INTO {TABLE} VALUES ({i}, 'db2')" for i in range(101, 111)))

    dry = hatui(lab, tmp_path, "split-brain", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "db2 (more writes the other lacks)" in dry.stdout and "--keep db1" in dry.stdout
    assert lab.sql("db1", "SELECT @@read_only").strip() == "0"  # the dry run changed nothing

    r = hatui(lab, tmp_path, "split-brain", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert lab.sql("db1", "SELECT @@read_only").strip() == "1"
    wait_until("the VIP on db2 alone", lambda: vip_holders(lab) == ["db2"], 20)
    # db1's writes were saved before anything else, replayable, with their sha256
    saved = sorted(Path(tmp_path).glob("lab/recovery/*-db1-errant/errant.sql"))[-1]  # the dry run saved too
    script = saved.read_text()
    assert "'db1'" in script and "'db2'" not in script
    sha = (saved.parent / "errant.sql.sha256").read_text().split()[0]
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha
    assert "hatui rejoin db1 --discard-errant" in r.stdout  # the hand-over

    lab.fault("start-keepalived", "db1")  # back as BACKUP: nopreempt, the VIP stays on db2
    # db3 replicated db1's side of the split too: it goes first (db1's discard resets the binlogs
    # db3 reads from, so rejoin refuses db1 while db3 still pulls from it diverged)
    refused = hatui(lab, tmp_path, "rejoin", "db1", "--discard-errant", "--yes")
    assert refused.returncode == 1 and "would break it" in refused.stdout, refused.stdout
    for node in ("db3", "db1"):
        j = hatui(lab, tmp_path, "rejoin", node, "--discard-errant", "--yes")
        assert j.returncode == 0, j.stdout + j.stderr
    assert vip_holders(lab) == ["db2"]
    want = checksum(lab, "db2")
    wait_until("equal checksums everywhere", lambda: all(checksum(lab, n) == want for n in ("db1", "db3")), 30)
    rows = lab.sql("db1", f"SELECT COUNT(*), SUM(side = 'db2') FROM {TABLE}").split()
    assert rows == ["10", "10"]  # the survivor's rows only; db1's five are in the saved script
