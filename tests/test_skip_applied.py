"""`hatui skip-applied`: the pure parts (what a transaction leaves, where it ends in the binlog,
the position to continue from, when the console suggests it) and its plan equals what it sends
on every dialect. The lab test (tests/lab/test_skip_applied_live.py) runs it for real."""

from __future__ import annotations

import pytest

from hatui.binlog.dump import RowChange, Transaction, final_states, row_based
from hatui.binlog.gap import already_applied
from hatui.mysql.dialect import Statement, dialect_for
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.rules.alerts import Alert, Severity
from hatui.rules.incidents import _replication_suggestion
from hatui.runbook.ops import StopReplica
from hatui.runbook.skip_applied import (
    RemoveRow,
    SkipTransaction,
    StartPast,
    commit_end,
    skip_position,
    stopped_on_row,
)

from .fake_access import VERSIONS, Ctx, FakeAccess

PK = {("app", "t"): [1]}


def trx(gtid: str, *changes: RowChange) -> Transaction:
    return Transaction(gtid, 2, None, "mysql-bin.000003", 100, 200, "", [], list(changes), False, "", [])


def ins(k: int, v: str) -> RowChange:
    return RowChange("insert", "app", "t", None, {1: str(k), 2: f"'{v}'"})


def test_final_states_are_each_rows_last_image_or_its_absence():
    t = trx(
        "2-2-5",
        ins(1, "a"),
        RowChange("update", "app", "t", {1: "1", 2: "'a'"}, {1: "1", 2: "'b'"}),
        ins(2, "x"),
        RowChange("delete", "app", "t", {1: "2", 2: "'x'"}, None),
        RowChange("update", "app", "t", {1: "3", 2: "'m'"}, {1: "4", 2: "'m'"}),  # moves its key
    )
    got = {(p.key, None if p.expect is None else p.expect[2]) for p in final_states([t], PK)}
    assert got == {(("1",), "'b'"), (("2",), None), (("3",), None), (("4",), "'m'")}


def test_a_row_is_already_applied_only_when_it_is_exactly_there():
    [p] = final_states([trx("2-2-5", ins(7, "retried insert"))], PK)
    assert already_applied(p, {1: 7, 2: "retried insert"}) is None
    c = already_applied(p, {1: 7, 2: "something else"})
    assert c is not None and "column 2 is 'something else'; the transaction writes 'retried insert'" in str(c)
    assert "the row is not there" in str(already_applied(p, None))
    [gone] = final_states([trx("2-2-6", RowChange("delete", "app", "t", {1: "7", 2: "'z'"}, None))], PK)
    assert already_applied(gone, None) is None and "the row is there" in str(already_applied(gone, {1: 7}))


def test_row_based_means_row_events_only():
    t = trx("2-2-5", ins(1, "a"))
    t.replay = ["/*M!100001 SET @@session.gtid_seq_no=5*/", "START TRANSACTION", "BINLOG '\nAAAA\n'", "COMMIT"]
    assert row_based(t)
    t.replay = [*t.replay[:2], "UPDATE app.t SET v=1", "COMMIT"]
    assert not row_based(t)
    assert not row_based(trx("2-2-6"))  # no rows at all (a DDL)


MARIADB_EVENTS = [
    {"Pos": 1389, "Event_type": "Gtid", "End_log_pos": 1431, "Info": "BEGIN GTID 2-2-5"},
    {"Pos": 1431, "Event_type": "Annotate_rows", "End_log_pos": 1490, "Info": "INSERT INTO t VALUES (7,'x')"},
    {"Pos": 1490, "Event_type": "Table_map", "End_log_pos": 1540, "Info": "table_id: 21 (app.t)"},
    {"Pos": 1540, "Event_type": "Write_rows_v1", "End_log_pos": 1590, "Info": "table_id: 21 flags: STMT_END_F"},
    {"Pos": 1590, "Event_type": "Xid", "End_log_pos": 1621, "Info": "COMMIT /* xid=88 */"},
    {"Pos": 1621, "Event_type": "Gtid", "End_log_pos": 1663, "Info": "BEGIN GTID 2-2-6"},
]
UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
MYSQL_EVENTS = [
    {"Pos": 700, "Event_type": "Gtid", "End_log_pos": 779, "Info": f"SET @@SESSION.GTID_NEXT= '{UUID}:42'"},
    {"Pos": 779, "Event_type": "Query", "End_log_pos": 850, "Info": "BEGIN"},
    {"Pos": 850, "Event_type": "Table_map", "End_log_pos": 900, "Info": "table_id: 90 (app.t)"},
    {"Pos": 900, "Event_type": "Write_rows", "End_log_pos": 950, "Info": "table_id: 90 flags: STMT_END_F"},
    {"Pos": 950, "Event_type": "Xid", "End_log_pos": 981, "Info": "COMMIT /* xid=12 */"},
]


def test_the_transaction_a_channel_stopped_on_ends_at_its_commit():
    assert commit_end(MARIADB_EVENTS, 1389, True) == ("2-2-5", 1621)
    assert commit_end(MYSQL_EVENTS, 700, False) == (f"{UUID}:42", 981)
    assert "no event starts at 1400" in str(commit_end(MARIADB_EVENTS, 1400, True))
    ddl = [{"Pos": 4, "Event_type": "Gtid", "End_log_pos": 40, "Info": "GTID 2-2-7"}]
    assert "no row transaction" in str(commit_end(ddl, 4, True))
    assert "no commit" in str(commit_end(MARIADB_EVENTS[:3], 1389, True))
    # the next transaction's GTID before a commit: this one never ends here
    assert "no commit" in str(commit_end([MARIADB_EVENTS[0], MARIADB_EVENTS[5]], 1389, True))


def test_the_position_moves_only_the_skipped_domain():
    assert skip_position("1-1-4,2-2-7", "2-2-8") == "1-1-4,2-2-8"
    assert skip_position("1-1-4", "0-2-3") == "0-2-3,1-1-4"
    assert skip_position("", "2-2-1") == "2-2-1"


def channel(**kw) -> ReplicationChannel:
    return ReplicationChannel(source_host="10.0.0.12", io_running=True, io_state="Yes", **kw)


def test_only_a_row_conflict_is_a_case_for_a_skip():
    dup = channel(sql_running=False, last_sql_errno=1062, last_sql_error="Duplicate entry '7'")
    assert stopped_on_row(MysqlStatus(up=True, channels=(dup,))) is dup
    other = channel(sql_running=False, last_sql_errno=1146, last_sql_error="Table doesn't exist")
    assert stopped_on_row(MysqlStatus(up=True, channels=(other,))) is None
    assert stopped_on_row(MysqlStatus(up=True, channels=(channel(sql_running=True),))) is None


def sql_stopped(errno: int) -> Alert:
    return Alert("repl.sql_stopped", Severity.CRITICAL, "db1", "stopped", {"last_sql_errno": errno}, subject="")


def test_the_console_suggests_it_for_a_duplicate_key_or_a_missing_row_only():
    for errno in (1062, 1032):
        [s] = _replication_suggestion("db1", [sql_stopped(errno)])
        assert s.command("f.yml") == "hatui skip-applied --cluster f.yml db1"
    assert _replication_suggestion("db1", [sql_stopped(1146)]) == ()


@pytest.mark.parametrize("take_source", [False, True], ids=["skip", "take-source"])
@pytest.mark.parametrize("flavor", list(VERSIONS))
async def test_the_skips_plan_is_what_it_sends(flavor, take_source):
    version = VERSIONS[flavor]
    d = dialect_for(detect_version(version))
    mariadb = detect_version(version).is_mariadb
    gtid = "2-2-8" if mariadb else f"{UUID}:42"
    middle = (
        RemoveRow("db1", "app", "t", ["id"], ("7",))
        if take_source
        else SkipTransaction("db1", d, gtid, mariadb, "", "1-1-4,2-2-8" if mariadb else "")
    )
    ops = [StopReplica("db1", d, "", "10.0.0.12"), middle, StartPast("db1", d, "10.0.0.12", "", gtid=gtid)]
    ctx = Ctx(FakeAccess(version))
    sql = ctx.access.sql("db1")

    async def past(*, timeout: float = 10.0) -> MysqlStatus:  # the server, once it got past the GTID
        ch = channel(sql_running=True)
        return MysqlStatus(
            up=True,
            version=detect_version(version),
            channels=(ch,),
            gtid_binlog_state="1-1-4,2-2-8",
            gtid_executed=f"{UUID}:1-42",
        )

    sql.status = past  # type: ignore[method-assign]
    for op in ops:
        await op.run(ctx.access)  # type: ignore[arg-type]
    planned = [a for op in ops for a in op.actions() if not a.text.startswith("SELECT")]  # reads are not sent as writes
    assert [(a.node, a.text) for a in planned] == [(a.node, a.text) for a in ctx.access.sent]
    texts = " | ".join(a.text for a in planned)
    if take_source:
        assert (
            "SET SESSION sql_log_bin = 0 | DELETE FROM `app`.`t` WHERE `id` = '7' | SET SESSION sql_log_bin = 1"
            in texts
        )
    elif mariadb:
        assert "SET GLOBAL gtid_slave_pos = '1-1-4,2-2-8'" in texts and "STOP SLAVE" in texts
    else:
        assert f"SET GTID_NEXT = '{gtid}' | BEGIN | COMMIT | SET GTID_NEXT = 'AUTOMATIC'" in texts
        assert ("STOP REPLICA" in texts) == (flavor in ("mysql-8.0.30", "mysql-8.4"))  # the 8.0.22+ words


def test_a_row_removed_from_a_table_with_a_percent_in_its_name_is_sent_and_shown_as_named():
    # the DELETE goes with %s arguments: pymysql %-formats the whole text, so a `%` in a
    # schema, table or column name must reach the server (and the plan) as one `%`
    op = RemoveRow("db1", "app%1", "t%", ["id%x"], ("7",))
    (delete,) = [s for s in op.statements() if isinstance(s, Statement)]
    assert delete.sql % tuple("%s" for _ in delete.args) == "DELETE FROM `app%1`.`t%` WHERE `id%x` = %s"
    assert delete.redacted() == "DELETE FROM `app%1`.`t%` WHERE `id%x` = '7'"
