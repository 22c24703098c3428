"""Real server output (tests/fixtures/mysql, each file naming its source) read into typed status:
what a DBA reads off SHOW SLAVE/REPLICA STATUS must come out right on every version."""

from __future__ import annotations

import json
from pathlib import Path

from hatui.mysql.cli_output import parse_any, parse_tab_separated, parse_table, parse_vertical
from hatui.mysql.dialect import dialect_for
from hatui.mysql.status import (
    BinlogStatus,
    MysqlStatus,
    ReplicationChannel,
    assemble_status,
    parse_binlog_status,
    parse_global_status,
    parse_replica_rows,
    parse_semi_sync,
    parse_variables,
)
from hatui.mysql.version import Flavor, detect_version

FIXTURES = Path(__file__).parent / "fixtures" / "mysql"
MY57, MY80, MY84 = (dialect_for(detect_version(v)) for v in ("5.7.22-log", "8.0.18", "8.4.3"))


def rows(rel: str) -> list[dict]:
    return parse_any((FIXTURES / rel).read_text())


def channel(rel: str, dialect) -> ReplicationChannel:
    (ch,) = parse_replica_rows(rows(rel), dialect)
    return ch


def test_every_fixture_names_its_source_first():
    files = sorted(FIXTURES.glob("*/*.txt"))
    assert len(files) >= 15
    for f in files:
        first = f.read_text().splitlines()[0]
        # a public page, or (MariaDB) a capture from our own lab, which runs MariaDB 10.11
        assert first.startswith(("# source: https://", "# source: hatui lab")), f"{f.relative_to(FIXTURES)}: {first!r}"


# ----------------------------------------------------------------------------- MySQL 5.7
def test_57_manual_replica_is_healthy_with_auto_position():
    ch = channel("mysql-5.7/show-slave-status.txt", MY57)
    assert (ch.source_host, ch.source_port, ch.source_user) == ("localhost", 13000, "repl")
    assert ch.io_state == "Yes" and ch.io_running and ch.sql_running and ch.healthy
    assert ch.lag_seconds == 0 and ch.last_error == ""
    assert ch.source_server_id == 1 and ch.source_uuid == "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    assert ch.retrieved_gtid_set == ch.executed_gtid_set == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"
    assert ch.auto_position is True and ch.uses_gtid and ch.using_gtid is None
    assert (ch.source_log_file, ch.read_source_log_pos) == ("source-bin.000002", 1307)
    assert (ch.relay_source_log_file, ch.exec_source_log_pos) == ("source-bin.000002", 1307)
    assert ch.sql_running_state == "Reading event from the relay log"
    assert ch.name == ""  # the manual prints "Channel_name:" (empty): still the default channel


def test_57_sql_error_stops_the_applier_and_says_why():
    ch = channel("mysql-5.7/show-slave-status-sql-error.txt", MY57)
    assert ch.io_running and not ch.sql_running and not ch.healthy
    assert ch.lag_seconds is None  # NULL: the server cannot tell while the applier is stopped
    assert ch.last_sql_errno == 1060 and ch.last_io_errno == 0
    assert ch.last_sql_error == (
        "Error 'Duplicate column name 'b'' on query. Default database: 'test_db'. "
        "Query: 'alter table t_20201021 add column b int(11) default null'"
    )
    assert ch.last_error == "SQL thread error 1060: " + ch.last_sql_error
    assert ch.last_sql_error_timestamp == "201022 16:41:59"
    # received transaction 79, applied up to 78: the failing one is 79
    assert ch.retrieved_gtid_set == "9e520b78-013c-11eb-a84c-0800271bf591:79"
    assert ch.executed_gtid_set == "9e520b78-013c-11eb-a84c-0800271bf591:1-78"
    assert ch.relay_source_log_file == "mysql-bin.000011" and ch.source_log_file == "mysql-bin.000012"
    assert (ch.source_host, ch.source_port, ch.source_server_id) == ("192.168.0.201", 3306, 330607)


def test_57_io_thread_connecting_to_a_source_it_never_reached():
    ch = channel("mysql-5.7/show-slave-status-io-connecting.txt", MY57)
    assert ch.io_state == "Connecting" and ch.connecting and not ch.io_running
    assert ch.sql_running and not ch.healthy
    assert ch.io_thread_state == "Connecting to master"
    assert ch.source_server_id == 0 and ch.source_uuid is None  # never connected
    assert ch.source_host == "192.168.1.29" and ch.source_user == "repl"
    assert ch.executed_gtid_set == "f7323d17-6442-11ea-8a77-080027758761:1-110680"
    assert ch.retrieved_gtid_set == "" and ch.auto_position is True
    assert ch.last_error == ""  # connecting, no error recorded (yet)


def test_57_errant_transaction_is_visible_in_the_executed_set():
    ch = channel("mysql-5.7/show-slave-status-errant-gtid.txt", MY57)
    assert ch.healthy and ch.lag_seconds == 0
    # printed over two lines; kept as one set string with no whitespace
    assert ch.executed_gtid_set == (
        "599b2dfe-822e-11ea-a428-5254008afee6:1,878286cb-822c-11ea-99c2-5254008afee6:1:3-37:39-81"
    )
    uuids = {part.split(":")[0] for part in ch.executed_gtid_set.split(",")}
    assert ch.source_uuid == "878286cb-822c-11ea-99c2-5254008afee6"
    assert uuids - {ch.source_uuid} == {"599b2dfe-822e-11ea-a428-5254008afee6"}
    assert ch.retrieved_gtid_set == "878286cb-822c-11ea-99c2-5254008afee6:2:38-81"


def test_57_binlog_and_gtid_variables():
    b = parse_binlog_status(rows("mysql-5.7/show-master-status.txt"))
    assert b == BinlogStatus("source-bin.000002", 1307, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")
    v = parse_variables(rows("mysql-5.7/variables-gtid.txt"), MY57)
    assert v["gtid_mode"] == "ON"
    assert v["gtid_executed"] == "f7323d17-6442-11ea-8a77-080027758761:1-1005"
    assert v["gtid_purged"] == "f7323d17-6442-11ea-8a77-080027758761:1-1004"
    assert v["gtid_owned"] == ""


# ----------------------------------------------------------------------------- MySQL 8.0
def test_80_manual_show_replica_status_with_source_columns():
    ch = channel("mysql-8.0/show-replica-status.txt", MY80)
    assert (ch.source_host, ch.source_port, ch.source_user) == ("127.0.0.1", 13000, "root")
    assert ch.healthy and ch.lag_seconds == 0
    assert ch.io_thread_state == "Waiting for source to send event"
    assert ch.source_uuid == "73f86016-978b-11ee-ade5-8d2a2a562feb"
    assert ch.executed_gtid_set == "73f86016-978b-11ee-ade5-8d2a2a562feb:1-3" and ch.auto_position is True
    assert (ch.source_log_file, ch.read_source_log_pos, ch.exec_source_log_pos) == ("master-bin.000001", 927, 927)


def test_80_show_slave_status_keeps_old_names_and_shows_lag():
    # SHOW SLAVE STATUS on 8.0 answers with Master_*/Slave_* names; the 8.0.22+ dialect still reads them
    ch = channel("mysql-8.0/show-slave-status-lagging.txt", MY84)
    assert ch.lag_seconds == 214 and ch.healthy
    assert ch.sql_running_state == "waiting for handler commit"
    assert (ch.read_source_log_pos, ch.exec_source_log_pos) == (39541085, 24649067)  # applier behind
    assert ch.executed_gtid_set.count(",") == 2 and "\n" not in ch.executed_gtid_set
    assert ch.executed_gtid_set.startswith("48c3fa1e-06a6-11ea-a25d-0800275219f4:1-86246,")
    assert ch.source_uuid == "48c3fa1e-06a6-11ea-a25d-0800275219f4" and ch.source_server_id == 330691


def test_80_master_status_with_a_set_over_three_lines():
    b = parse_binlog_status(rows("mysql-8.0/show-master-status-multiline-gtid.txt"))
    assert (b.file, b.position) == ("mysql-bin.000002", 261687382)
    assert b.executed_gtid_set == (
        "48c3fa1e-06a6-11ea-a25d-0800275219f4:1-102821,"
        "bebc6d54-fc75-11e9-8ea8-080027e2e489:1-13,e136faa2-eeab-11e9-9494-080027cb3816:1-14"
    )


def test_percona_variables_give_flavor_version_and_fencing_state():
    v = parse_variables(rows("mysql-8.0/variables-percona-8.0.32.txt"))
    version = detect_version(v["version"], v["version_comment"])
    assert version.flavor is Flavor.PERCONA and version.number == (8, 0, 32)
    st = assemble_status(version, v)
    assert st.up and st.server_id == 12345 and st.hostname == "s76"
    assert st.read_only is False and st.super_read_only is False
    assert st.log_bin is True and st.log_slave_updates is True and st.binlog_format == "STATEMENT"
    assert st.gtid_mode == "OFF" and st.gtid_executed == "" and st.server_uuid == "034c9da9-20c0-11ee-a7f4-7404f1a10a4a"
    assert st.semi_sync is None and not st.is_replica


# ----------------------------------------------------------------------------- MySQL 8.4
def test_84_replica_and_binary_log_status():
    ch = channel("mysql-8.4/show-replica-status.txt", MY84)
    assert ch.healthy and ch.source_host == "127.0.0.1" and ch.lag_seconds == 0
    b = parse_binlog_status(rows("mysql-8.4/show-binary-log-status.txt"))
    assert b == BinlogStatus("source-bin.000002", 1307, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")
    st = assemble_status(MY84.version, {"server_id": 2}, (ch,), b)
    assert st.binlog_file == "source-bin.000002" and st.binlog_position == 1307
    assert st.gtid_executed == b.executed_gtid_set  # taken from the binlog row when not read as a variable


# ----------------------------------------------------------------------------- MariaDB (lab capture)
def test_mariadb_all_slaves_status_from_the_lab():
    maria = dialect_for(detect_version("10.11.19-MariaDB-0+deb12u1-log"))
    (ch,) = parse_replica_rows(rows("mariadb-10.11/show-all-slaves-status.txt"), maria)
    assert ch.name == "" and ch.healthy and ch.lag_seconds == 0
    assert (ch.source_host, ch.source_port, ch.source_user, ch.source_server_id) == ("198.18.0.11", 3306, "repl", 1)
    assert ch.using_gtid == "Slave_Pos" and ch.uses_gtid and ch.auto_position is None
    assert ch.gtid_io_pos == "0-1-1"
    assert ch.executed_gtid_set is None and ch.source_uuid is None  # MySQL-only columns
    assert ch.sql_running_state == "Slave has read all relay log; waiting for more updates"
    b = parse_binlog_status(rows("mariadb-10.11/show-master-status.txt"))
    assert b == BinlogStatus("mysql-bin.000001", 480, None)  # no Executed_Gtid_Set column on MariaDB


# ----------------------------------------------------------------------------- robustness
def test_missing_columns_and_driver_types_are_tolerated():
    (ch,) = parse_replica_rows(
        [
            {
                "Master_Host": b"db1",
                "Slave_IO_Running": b"Yes",
                "Slave_SQL_Running": "No",
                "Seconds_Behind_Master": None,
                "Last_SQL_Errno": 1032,
                "Last_SQL_Error": b"Could not execute Delete_rows event",
            }
        ],
        MY57,
    )
    assert ch.source_host == "db1" and ch.io_running and not ch.sql_running and ch.lag_seconds is None
    assert ch.last_error == "SQL thread error 1032: Could not execute Delete_rows event"
    assert ch.source_port is None and ch.executed_gtid_set is None and ch.sql_delay == 0
    assert parse_replica_rows([], MY57) == ()


def test_both_threads_failing_show_both_errors():
    (ch,) = parse_replica_rows(
        [
            {
                "Slave_IO_Running": "No",
                "Slave_SQL_Running": "No",
                "Last_IO_Errno": 1236,
                "Last_IO_Error": "Got fatal error 1236 from master",
                "Last_SQL_Errno": 1062,
                "Last_SQL_Error": "Duplicate entry '4'",
            }
        ]
    )
    assert (
        ch.last_error
        == "SQL thread error 1062: Duplicate entry '4' | IO thread error 1236: Got fatal error 1236 from master"
    )


def test_channels_are_ordered_by_name_whatever_the_server_order():
    chans = parse_replica_rows([{"Channel_Name": "z"}, {"Channel_Name": ""}, {"Channel_Name": "a"}], MY80)
    assert [c.name for c in chans] == ["", "a", "z"]


def test_semi_sync_old_new_and_absent():
    old = parse_semi_sync(
        {"rpl_semi_sync_master_enabled": "ON", "rpl_semi_sync_slave_enabled": "OFF"},
        parse_global_status(
            [
                {"Variable_name": "Rpl_semi_sync_master_clients", "Value": "1"},
                {"Variable_name": "Rpl_semi_sync_master_status", "Value": "ON"},
            ]
        ),
    )
    assert (old.naming, old.source_enabled, old.replica_enabled, old.source_active, old.clients) == (
        "master",
        True,
        False,
        True,
        1,
    )
    new = parse_semi_sync(
        {"rpl_semi_sync_source_enabled": 1}, {"Rpl_semi_sync_source_status": "OFF", "Rpl_semi_sync_source_clients": "0"}
    )
    assert (new.naming, new.source_enabled, new.source_active, new.clients) == ("source", True, False, 0)
    assert parse_semi_sync({"read_only": "ON"}, {"Uptime": "5"}) is None


def test_to_dict_is_plain_json():
    ch = channel("mysql-5.7/show-slave-status-sql-error.txt", MY57)
    st = assemble_status(
        MY57.version,
        parse_variables({"@@global.server_id": 7, "read_only": "1"}),
        (ch,),
        global_status={"Uptime": "100", "Threads_connected": "3"},
        warnings=["x"],
    )
    d = json.loads(json.dumps(st.to_dict()))
    assert d["up"] is True and d["server_id"] == 7 and d["read_only"] is True and d["uptime_seconds"] == 100
    assert d["version"] == {"flavor": "mysql", "major": 5, "minor": 7, "patch": 22, "raw": "5.7.22-log"}
    assert d["channels"][0]["last_sql_errno"] == 1060 and d["channels"][0]["lag_seconds"] is None
    assert d["warnings"] == ["x"]
    down = MysqlStatus.down("connection refused")
    assert down.to_dict()["up"] is False and down.to_dict()["error"] == "connection refused"


# ----------------------------------------------------------------------------- the text parsers
def test_vertical_parser_nulls_continuations_and_several_rows():
    text = (
        "mysql> SHOW X\\G\n*************************** 1. row ***************************\n"
        "   A: 1\n   B: NULL\n   C: x:1-2,\ny:3\n   D: \n"
        "*************************** 2. row ***************************\n   A: 2\n2 rows in set (0.00 sec)\n"
    )
    assert parse_vertical(text) == [{"A": "1", "B": None, "C": "x:1-2,\ny:3", "D": ""}, {"A": "2"}]


def test_table_and_tab_separated_parsers():
    assert parse_table("+---+----+\n| a | b  |\n+---+----+\n| 1 | NULL |\n+---+----+\n") == [{"a": "1", "b": None}]
    assert parse_tab_separated("read_only\tON\nserver_id\t3\n") == [
        {"Variable_name": "read_only", "Value": "ON"},
        {"Variable_name": "server_id", "Value": "3"},
    ]
