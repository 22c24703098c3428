"""Not collected by the normal run (no test_ prefix): test_lifecycle runs it on purpose to prove
that a lab test which breaks replication and fails does not make the next lab test fail."""

from .support import wait_until


def _sql_thread(lab, node: str) -> str:
    rows = lab.rows(node, "SHOW SLAVE STATUS")
    return rows[0].get("Slave_SQL_Running", "") if rows else ""


def test_breaks_replication_and_fails(lab):
    lab.sql("db1", "CREATE TABLE IF NOT EXISTS labdb.cascade (id INT PRIMARY KEY)")
    wait_until("the table on db3", lambda: "cascade" in lab.sql("db3", "SHOW TABLES FROM labdb"), 20)
    # a row only db3 has (outside its binlog), then the same key from the writer: db3's SQL
    # thread stops on a duplicate key, as in the gap test that once poisoned the whole suite
    lab.sql("db3", "SET SESSION sql_log_bin=0; INSERT INTO labdb.cascade VALUES (1)")
    lab.sql("db1", "INSERT INTO labdb.cascade VALUES (1)")
    wait_until("db3's SQL thread stopped", lambda: _sql_thread(lab, "db3") == "No", 20)
    raise AssertionError("deliberate failure: db3's replication is left broken")


def test_a_healthy_test_after_it_passes(lab):
    lab.sql("db1", "CREATE TABLE IF NOT EXISTS labdb.after (id INT PRIMARY KEY)")
    lab.sql("db1", "INSERT INTO labdb.after VALUES (7)")
    for node in ("db2", "db3"):
        wait_until(
            f"the row on {node}",
            lambda n=node: lab.sql(n, "SELECT id FROM labdb.after", check=False).strip() == "7",
            20,
        )
        assert _sql_thread(lab, node) == "Yes"
