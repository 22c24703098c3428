"""The SQL each version wants, at each documented version boundary, and the write statements'
escaping: what a runbook would send must be valid for that server and impossible to inject into."""

from __future__ import annotations

import pymysql.converters
import pytest

from hatui.mysql.dialect import Statement, dialect_for
from hatui.mysql.version import detect_version


def d(version: str, comment: str | None = None):
    return dialect_for(detect_version(version, comment))


def rendered(stmt: Statement) -> str:
    """The statement exactly as pymysql sends it (client-side escaping of the arguments)."""
    if not stmt.args:
        return stmt.sql
    return stmt.sql % tuple(pymysql.converters.escape_item(a, "utf8mb4") for a in stmt.args)


@pytest.mark.parametrize(
    "version, replica_sql, binlog_sql, lag, change_head, stop",
    [
        (
            "5.7.44-log",
            "SHOW SLAVE STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Master",
            "CHANGE MASTER TO",
            "STOP SLAVE",
        ),
        (
            "8.0.21",
            "SHOW SLAVE STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Master",
            "CHANGE MASTER TO",
            "STOP SLAVE",
        ),
        # 8.0.22: REPLICA words and columns, but CHANGE REPLICATION SOURCE only from 8.0.23
        (
            "8.0.22",
            "SHOW REPLICA STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Source",
            "CHANGE MASTER TO",
            "STOP REPLICA",
        ),
        (
            "8.0.23",
            "SHOW REPLICA STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Source",
            "CHANGE REPLICATION SOURCE TO",
            "STOP REPLICA",
        ),
        (
            "8.1.0",
            "SHOW REPLICA STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Source",
            "CHANGE REPLICATION SOURCE TO",
            "STOP REPLICA",
        ),
        (
            "8.2.0",
            "SHOW REPLICA STATUS",
            "SHOW BINARY LOG STATUS",
            "Seconds_Behind_Source",
            "CHANGE REPLICATION SOURCE TO",
            "STOP REPLICA",
        ),
        (
            "8.4.3",
            "SHOW REPLICA STATUS",
            "SHOW BINARY LOG STATUS",
            "Seconds_Behind_Source",
            "CHANGE REPLICATION SOURCE TO",
            "STOP REPLICA",
        ),
        (
            "10.11.19-MariaDB-0+deb12u1-log",
            "SHOW ALL SLAVES STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Master",
            "CHANGE MASTER TO",
            "STOP SLAVE",
        ),
        (
            "11.4.2-MariaDB",
            "SHOW ALL SLAVES STATUS",
            "SHOW MASTER STATUS",
            "Seconds_Behind_Master",
            "CHANGE MASTER TO",
            "STOP SLAVE",
        ),
    ],
)
def test_statements_at_each_version_boundary(version, replica_sql, binlog_sql, lag, change_head, stop):
    x = d(version)
    assert x.replica_status_sql == replica_sql
    assert x.binlog_status_sql == binlog_sql
    assert x.lag_column == lag
    assert x.change_source("10.0.0.1", 3306).sql.startswith(change_head + " ")
    assert x.stop_replica().sql == stop


def test_percona_uses_the_mysql_dialect_of_its_version():
    x = d("8.0.32-24", "Percona Server (GPL), Release 24, Revision e5c6e9d2")
    assert x.replica_status_sql == "SHOW REPLICA STATUS" and x.has_super_read_only and x.gtid_style == "mysql"


@pytest.mark.parametrize(
    "version, has", [("5.7.7", False), ("5.7.8", True), ("8.4.3", True), ("10.11.19-MariaDB", False)]
)
def test_super_read_only_exists_from_mysql_5_7_8_only(version, has):
    x = d(version)
    assert x.has_super_read_only is has
    assert ("super_read_only" in x.variables) is has
    if not has:
        with pytest.raises(ValueError, match="super_read_only"):
            x.set_super_read_only(True)


def test_variables_read_are_those_the_flavor_has():
    maria, my57, my80 = d("10.11.19-MariaDB"), d("5.7.44"), d("8.0.36")
    assert {
        "gtid_binlog_pos",
        "gtid_current_pos",
        "gtid_slave_pos",
        "gtid_domain_id",
        "gtid_strict_mode",
        "rpl_semi_sync_master_enabled",
    } <= set(maria.variables)
    assert not {"server_uuid", "gtid_mode", "gtid_executed", "super_read_only"} & set(maria.variables)
    assert {"server_uuid", "gtid_mode", "gtid_executed", "gtid_purged", "log_slave_updates"} <= set(my57.variables)
    assert "log_replica_updates" in my80.variables and "log_slave_updates" not in my80.variables  # 8.0.26+
    assert not any(v.startswith("rpl_semi_sync") for v in my80.variables)  # plugin may be absent
    sql = maria.variables_sql()
    assert sql.startswith("SELECT @@global.hostname AS `hostname`, ") and sql.count("@@global.") == len(maria.variables)


def test_mariadb_builtin_semi_sync_from_10_3_3():
    assert d("10.3.3-MariaDB").has_builtin_semi_sync and not d("10.2.40-MariaDB").has_builtin_semi_sync


def test_change_source_mysql_with_auto_position_channel_and_secret_password():
    pw = "p'a\\ss;--"
    s = d("8.0.36").change_source(
        "db1.example.com", 3307, user="repl", password=pw, channel="ch_1", connect_retry=5, get_public_key=True
    )
    assert rendered(s) == (
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db1.example.com', SOURCE_PORT=3307, "
        "SOURCE_USER='repl', SOURCE_PASSWORD='p\\'a\\\\ss;--', SOURCE_CONNECT_RETRY=5, "
        "SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1 FOR CHANNEL 'ch_1'"
    )
    assert pw not in repr(s) and pw not in str(s) and "SOURCE_PASSWORD='***'" in s.redacted()
    old = d("5.7.44").change_source("10.1.2.3", 3306, user="repl", password="x")
    assert rendered(old) == (
        "CHANGE MASTER TO MASTER_HOST='10.1.2.3', MASTER_PORT=3306, MASTER_USER='repl', "
        "MASTER_PASSWORD='x', MASTER_AUTO_POSITION=1"
    )


def test_change_source_keeps_credentials_when_not_given():
    s = d("8.4.3").change_source("10.1.2.3", 3306)
    assert (
        rendered(s) == "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.1.2.3', SOURCE_PORT=3306, SOURCE_AUTO_POSITION=1"
    )


def test_change_master_mariadb_named_connection_and_gtid_mode():
    x = d("10.11.19-MariaDB")
    s = x.change_source(
        "198.18.0.11", 3306, user="repl", password="pw", channel="east", use_gtid="current_pos", demote=True
    )
    assert rendered(s) == (
        "CHANGE MASTER 'east' TO MASTER_HOST='198.18.0.11', MASTER_PORT=3306, MASTER_USER='repl', "
        "MASTER_PASSWORD='pw', MASTER_USE_GTID=current_pos, MASTER_DEMOTE_TO_SLAVE=1"
    )
    assert "'pw'" not in s.redacted()
    assert (
        rendered(x.change_source("h", 3306))
        == "CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=3306, MASTER_USE_GTID=slave_pos"
    )
    with pytest.raises(ValueError, match="10.10"):
        d("10.6.12-MariaDB").change_source("h", 3306, demote=True)
    with pytest.raises(ValueError):
        x.change_source("h", 3306, use_gtid="no")  # we only ever repoint with GTID


@pytest.mark.parametrize(
    "bad",
    [
        dict(host="db1'; DROP TABLE t; --"),
        dict(host=""),
        dict(host="a b"),
        dict(port=0),
        dict(port=70000),
        dict(port="3306"),
        dict(channel="x'; STOP SLAVE; --"),
        dict(channel="a" * 65),
        dict(user="re\npl"),
        dict(connect_retry=0),
        dict(password="a\0b"),
    ],
)
@pytest.mark.parametrize("version", ["5.7.44", "8.4.3", "10.11.19-MariaDB"])
def test_hostile_or_broken_parameters_are_refused(version, bad):
    args = dict(host="10.0.0.1", port=3306) | bad
    with pytest.raises(ValueError):
        d(version).change_source(args.pop("host"), args.pop("port"), **args)


@pytest.mark.parametrize(
    "version, channel, threads, stop, start",
    [
        ("5.7.44", "", "both", "STOP SLAVE", "START SLAVE"),
        ("5.7.44", "c1", "io", "STOP SLAVE IO_THREAD FOR CHANNEL 'c1'", "START SLAVE IO_THREAD FOR CHANNEL 'c1'"),
        ("8.4.3", "c1", "sql", "STOP REPLICA SQL_THREAD FOR CHANNEL 'c1'", "START REPLICA SQL_THREAD FOR CHANNEL 'c1'"),
        ("10.11.19-MariaDB", "", "both", "STOP SLAVE", "START SLAVE"),
        ("10.11.19-MariaDB", "east", "io", "STOP SLAVE 'east' IO_THREAD", "START SLAVE 'east' IO_THREAD"),
    ],
)
def test_stop_and_start_per_channel(version, channel, threads, stop, start):
    x = d(version)
    assert rendered(x.stop_replica(channel, threads)) == stop
    assert rendered(x.start_replica(channel, threads)) == start
    with pytest.raises(ValueError):
        x.stop_replica("bad name")
    with pytest.raises(ValueError):
        x.stop_replica("", "relay")  # type: ignore[arg-type]


def test_wait_for_gtid_mysql():
    x = d("8.0.36")
    s = x.wait_for_gtid("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n878286cb-822c-11ea-99c2-5254008afee6:1:3-37", 2.5)
    assert rendered(s) == (
        "SELECT WAIT_FOR_EXECUTED_GTID_SET('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,"
        "878286cb-822c-11ea-99c2-5254008afee6:1:3-37', 2.5e0) AS reached"
    )
    x.wait_for_gtid("3e11fa47-71ca-11e1-9e33-c80aa9429562:tag_1:1-5", 1)  # MySQL 8.3 tagged GTIDs
    assert x.gtid_wait_reached(0) and not x.gtid_wait_reached(1) and not x.gtid_wait_reached(None)
    with pytest.raises(ValueError, match="MySQL GTID set"):
        x.wait_for_gtid("0-1-42", 1)
    with pytest.raises(ValueError):
        x.wait_for_gtid("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5') OR SLEEP(9) -- ", 1)


def test_wait_for_gtid_mariadb():
    x = d("10.11.19-MariaDB")
    assert rendered(x.wait_for_gtid("0-1-42,1-2-7", 10)) == "SELECT MASTER_GTID_WAIT('0-1-42,1-2-7', 10) AS reached"
    assert x.gtid_wait_reached(0) and not x.gtid_wait_reached(-1)
    with pytest.raises(ValueError, match="MariaDB GTID position"):
        x.wait_for_gtid("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", 1)
    for bad_timeout in (-1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            x.wait_for_gtid("0-1-42", bad_timeout)


def test_fencing_order():
    my = d("8.0.36")
    assert [s.sql for s in my.fence(True)] == ["SET GLOBAL read_only = ON", "SET GLOBAL super_read_only = ON"]
    assert [s.sql for s in my.fence(False)] == ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]
    assert [s.sql for s in d("10.11.19-MariaDB").fence(True)] == ["SET GLOBAL read_only = ON"]


def test_session_is_opened_read_only_on_both_flavors():
    assert (
        d("5.7.44").session_read_only_sql
        == d("10.11.2-MariaDB").session_read_only_sql
        == "SET SESSION TRANSACTION READ ONLY"
    )
