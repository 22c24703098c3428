"""Unit tests of the rejoin runbook's pure parts (hatui.runbook.rejoin): where an old writer stands
against the current writer, the GTID state it is left with once its errant transactions are rolled
back, where it continues replicating from, and the statements that undo its row changes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hatui.binlog.dump import RowChange
from hatui.binlog.gap import format_state, maria_state
from hatui.gtid import GtidSet, MariaGtid
from hatui.mysql.status import MysqlStatus
from hatui.mysql.version import detect_version
from hatui.runbook.ops import continue_from
from hatui.runbook.rejoin import Standing, classify, inverse, without_errant

MARIADB = detect_version("10.11.6-MariaDB-0+deb12u1-log")
MYSQL = detect_version("8.0.36")
OLD = "3e11fa47-71ca-11e1-9e33-c80aa9429562"  # server_uuid of the old writer (the node rejoining)
NEW = "7f4be0b0-09b9-11ef-9bc6-0242ac130002"  # server_uuid of the current writer


def maria(binlog_state: str, slave_pos: str = "", server_id: int = 1) -> MysqlStatus:
    return MysqlStatus(
        up=True,
        version=MARIADB,
        server_id=server_id,
        gtid_binlog_state=binlog_state,
        gtid_binlog_pos=binlog_state,
        gtid_slave_pos=slave_pos,
    )


def mysql(executed: str, purged: str = "") -> MysqlStatus:
    return MysqlStatus(up=True, version=MYSQL, gtid_executed=executed, gtid_purged=purged)


# ====================================================================== classify: MariaDB
def test_mariadb_node_with_exactly_the_writers_transactions_is_identical():
    node = maria("1-1-1500,1-2-1620", server_id=1)
    w = maria("1-1-1500,1-2-1620", "1-1-1500", server_id=2)
    c = classify(node, w, "1-1-1200")
    assert (c.standing, c.errant, c.needs_purged) == (Standing.IDENTICAL, "", "")


def test_mariadb_node_behind_the_writer_is_recoverable_by_replication():
    node = maria("1-1-1500")  # the old writer, stopped at its own 1-1-1500
    w = maria("1-1-1500,1-2-1533", server_id=2)  # the new writer has written since the failover
    c = classify(node, w, "1-1-1400")
    assert c.standing == Standing.BEHIND
    assert (c.errant, c.needs_purged) == ("", "")
    assert "replication will bring them" in c.reason


def test_mariadb_node_with_transactions_the_writer_never_had_is_diverged_with_the_range():
    node = maria("1-1-9")  # it committed 1-1-5 .. 1-1-9 after the new writer took over at 1-1-4
    w = maria("1-1-4,1-2-30", server_id=2)
    c = classify(node, w, None)
    assert c.standing == Standing.DIVERGED
    assert c.errant == "1-1-5..9"
    assert "1-1-5..9" in c.reason


def test_mariadb_errant_ranges_per_server_and_a_single_errant_transaction():
    node = maria("0-1-101,1-1-9,2-7-3")
    w = maria("0-1-100,1-1-4,0-2-40", server_id=2)
    c = classify(node, w, None)
    assert c.standing == Standing.DIVERGED
    # 0-1-101 alone; 2-7-* never reached the writer at all
    assert c.errant == "0-1-101,1-1-5..9,2-7-1..3"


def test_mariadb_node_needing_what_the_writer_purged_is_irrecoverable():
    node = maria("1-1-1500")
    w = maria("1-1-1500,1-2-9000", server_id=2)
    # the writer's oldest binlog starts after 1-2-5000: 1-2-1 .. 1-2-5000 are gone
    c = classify(node, w, "1-1-1500,1-2-5000")
    assert c.standing == Standing.IRRECOVERABLE
    assert c.needs_purged == "1-2-5000"
    assert "1-2-5000" in c.reason and "no longer has" in c.reason


def test_mariadb_writer_binlogs_starting_within_what_the_node_has_are_fine():
    c = classify(maria("1-1-1500,1-2-6000"), maria("1-1-1500,1-2-9000", server_id=2), "1-1-1500,1-2-5000")
    assert c.standing == Standing.BEHIND


def test_mariadb_divergence_is_reported_before_what_is_purged():
    node = maria("1-1-1510")
    w = maria("1-1-1500,1-2-9000", server_id=2)
    c = classify(node, w, "1-1-1500,1-2-5000")
    assert c.standing == Standing.DIVERGED  # the errant transactions must be dealt with first
    assert c.errant == "1-1-1501..1510"
    assert c.needs_purged == "1-2-5000"  # and still said: a rejoin would need a re-clone anyway


def test_mariadb_replica_position_counts_as_held():
    # a replica without log_slave_updates has the writer's transactions in gtid_slave_pos only
    node = maria("", "0-2-1933", server_id=3)
    c = classify(node, maria("0-2-1933", server_id=2), "0-2-1700")
    assert (c.standing, c.errant, c.needs_purged) == (Standing.IDENTICAL, "", "")
    assert (
        classify(maria("", "0-2-1900", server_id=3), maria("0-2-1933", server_id=2), None).standing == Standing.BEHIND
    )


def test_mariadb_replica_position_covers_the_earlier_servers_of_its_domain():
    # domain 0: db1 (server 1) wrote 0-1-1..1500, then db2 (server 2) took over: 0-2-1501..1933
    replica = maria("", "0-2-1933", server_id=3)
    w = maria("0-1-1500,0-2-1933", server_id=2)
    assert classify(replica, w, None).standing == Standing.IDENTICAL
    assert classify(replica, w, "0-1-1500,0-2-1700").standing == Standing.IDENTICAL


# ====================================================================== classify: MySQL
def test_mysql_identical_and_behind():
    w = mysql(f"{OLD}:1-1500,{NEW}:1-433", purged=f"{OLD}:1-1000")
    assert classify(mysql(f"{OLD}:1-1500,{NEW}:1-433"), w, w.gtid_purged).standing == Standing.IDENTICAL
    c = classify(mysql(f"{OLD}:1-1500"), w, w.gtid_purged)
    assert (c.standing, c.errant, c.needs_purged) == (Standing.BEHIND, "", "")


def test_mysql_diverged_lists_the_errant_gtids():
    w = mysql(f"{OLD}:1-1500,{NEW}:1-433")
    c = classify(mysql(f"{OLD}:1-1507,{NEW}:1-400"), w, "")
    assert c.standing == Standing.DIVERGED
    assert GtidSet.parse(c.errant) == GtidSet.parse(f"{OLD}:1501-1507")
    assert f"{OLD}:1501-1507" in c.reason


def test_mysql_node_needing_what_the_writer_purged_is_irrecoverable():
    w = mysql(f"{OLD}:1-1500,{NEW}:1-9000", purged=f"{OLD}:1-1500,{NEW}:1-5000")
    c = classify(mysql(f"{OLD}:1-1500,{NEW}:1-100"), w, w.gtid_purged)
    assert c.standing == Standing.IRRECOVERABLE
    assert GtidSet.parse(c.needs_purged) == GtidSet.parse(f"{NEW}:101-5000")


# ====================================================================== classify: properties
states = st.dictionaries(st.tuples(st.integers(0, 2), st.integers(1, 4)), st.integers(1, 10_000), max_size=5)


@given(states, states)
def test_mariadb_classification_follows_the_per_server_positions(node_state, writer_state):
    c = classify(maria(format_state(node_state)), maria(format_state(writer_state), server_id=2), None)
    errant = {k for k, n in node_state.items() if n > writer_state.get(k, 0)}
    if errant:
        assert c.standing == Standing.DIVERGED
        listed = {
            (MariaGtid.parse(e.split("..")[0]).domain, MariaGtid.parse(e.split("..")[0]).server_id)
            for e in c.errant.split(",")
        }
        assert listed == errant
        for e in c.errant.split(","):
            first = MariaGtid.parse(e.split("..")[0])
            last = int(e.split("..")[1]) if ".." in e else first.seq
            k = (first.domain, first.server_id)
            assert (first.seq, last) == (writer_state.get(k, 0) + 1, node_state[k])
    elif node_state == writer_state:
        assert c.standing == Standing.IDENTICAL
    else:
        assert c.standing == Standing.BEHIND


@given(states, st.data())
def test_mariadb_behind_node_is_irrecoverable_exactly_when_the_writer_purged_what_it_lacks(writer_state, data):
    # a node behind the writer, built as such (filtering random pairs discards most of them)
    node_state = {k: data.draw(st.integers(1, n)) for k, n in writer_state.items() if data.draw(st.booleans())}
    head = {k: data.draw(st.integers(0, n)) for k, n in writer_state.items()}
    head = {k: n for k, n in head.items() if n}
    c = classify(maria(format_state(node_state)), maria(format_state(writer_state), server_id=2), format_state(head))
    lacks = {k: n for k, n in head.items() if node_state.get(k, 0) < n}
    assert (c.standing == Standing.IRRECOVERABLE) == bool(lacks)
    assert maria_state(c.needs_purged) == lacks


# ====================================================================== without_errant
def test_without_errant_is_the_node_state_cut_back_to_what_the_writer_has():
    node = maria("0-1-105,0-2-50,1-1-9,3-5-2")
    w = maria("0-1-100,0-2-60,1-1-4", "1-1-4", server_id=2)
    # 0-1-101..105 and 1-1-5..9 rolled back; 3-5-* the writer never had at all
    assert without_errant(node, w) == "0-1-100,0-2-50,1-1-4"


def test_without_errant_of_a_node_without_errant_transactions_is_its_state():
    node = maria("0-1-100,0-2-50")
    assert without_errant(node, maria("0-1-100,0-2-60", server_id=2)) == "0-1-100,0-2-50"


@given(states, states)
def test_without_errant_leaves_nothing_errant(node_state, writer_state):
    node = maria(format_state(node_state))
    w = maria(format_state(writer_state), server_id=2)
    kept = without_errant(node, w)
    after = maria(kept)
    assert classify(after, w, None).standing in (Standing.IDENTICAL, Standing.BEHIND)
    assert all(maria_state(kept).get(k, 0) <= n for k, n in node_state.items())  # never invents GTIDs


# ====================================================================== continue_from
def test_continue_from_takes_per_domain_the_latest_gtid_logged_or_applied():
    # after a gap repair the writer logged the old writer's 0-1-1502 itself; it replicated 1-3-77
    assert continue_from("0-1-1502,2-2-9", "0-2-433,1-3-77") == "0-1-1502,1-3-77,2-2-9"
    assert continue_from("0-2-433", "0-1-1502") == "0-1-1502"
    assert continue_from(None, "") == ""
    assert continue_from("0-1-5", None) == "0-1-5"


positions = st.dictionaries(st.integers(0, 4), st.tuples(st.integers(1, 5), st.integers(1, 10_000)), max_size=4)


def _pos(p: dict[int, tuple[int, int]]) -> str:
    return ",".join(f"{d}-{s}-{n}" for d, (s, n) in sorted(p.items()))


@given(positions, positions)
def test_continue_from_never_goes_backwards(binlog_pos, slave_pos):
    got = {
        g.domain: g
        for g in map(MariaGtid.parse, filter(None, continue_from(_pos(binlog_pos), _pos(slave_pos)).split(",")))
    }
    assert set(got) == set(binlog_pos) | set(slave_pos)
    for d, g in got.items():
        for p in (binlog_pos, slave_pos):
            if d in p:
                assert g.seq >= p[d][1]
        # the GTID is one the server holds, not a made-up one
        assert (g.server_id, g.seq) in (binlog_pos.get(d), slave_pos.get(d))


# ====================================================================== inverse
COLUMNS = ["id", "status", "total", "note", "updated"]


def test_the_undo_of_an_insert_deletes_that_row_by_primary_key():
    ins = RowChange(
        "insert", "shop", "orders", None, {1: "7", 2: "'new'", 3: "19.90", 4: "NULL", 5: "'2026-11-21 10:00:00'"}
    )
    sql, args = inverse(ins, [1], COLUMNS)
    assert sql == "DELETE FROM `shop`.`orders` WHERE `id` <=> %s LIMIT 1"
    assert args == ["7"]


def test_the_undo_of_an_insert_without_primary_key_matches_the_whole_row_null_safe():
    ins = RowChange("insert", "labdb", "bl_log", None, {1: "'dup'", 2: "NULL"})
    sql, args = inverse(ins, [], ["msg", "n"])
    # one of possibly several identical rows, NULL matched with <=>, not =
    assert sql == "DELETE FROM `labdb`.`bl_log` WHERE `msg` <=> %s AND `n` <=> %s LIMIT 1"
    assert args == ["dup", None]


def test_the_undo_of_a_delete_inserts_the_row_back():
    dele = RowChange(
        "delete", "shop", "orders", {1: "7", 2: "'O'Brien'", 3: "19.90", 4: "NULL", 5: "'2026-11-21 10:00:00'"}, None
    )
    sql, args = inverse(dele, [1], COLUMNS)
    assert sql == (
        "INSERT INTO `shop`.`orders` (`id`, `status`, `total`, `note`, `updated`) VALUES (%s, %s, %s, %s, %s)"
    )
    assert args == ["7", "O'Brien", "19.90", None, "2026-11-21 10:00:00"]


def test_the_undo_of_an_update_restores_the_before_image_of_the_row_as_it_is_now():
    upd = RowChange(
        "update",
        "shop",
        "orders",
        {1: "7", 2: "'new'", 3: "19.90", 4: "NULL", 5: "'2026-11-21 10:00:00'"},
        {1: "8", 2: "'paid'", 3: "19.90", 4: "'card'", 5: "'2026-11-21 10:05:00'"},
    )
    sql, args = inverse(upd, [1], COLUMNS)
    assert sql == (
        "UPDATE `shop`.`orders` SET `id` = %s, `status` = %s, `total` = %s, `note` = %s, "
        "`updated` = %s WHERE `id` <=> %s LIMIT 1"
    )
    # the row is found under its new key (8) and gets its old key (7) back
    assert args == ["7", "new", "19.90", None, "2026-11-21 10:00:00", "8"]


def test_the_undo_of_an_update_without_primary_key_matches_the_after_image():
    upd = RowChange("update", "labdb", "bl_log", {1: "'dup'", 2: "7"}, {1: "'dup'", 2: "70"})
    sql, args = inverse(upd, [], ["msg", "n"])
    assert sql == "UPDATE `labdb`.`bl_log` SET `msg` = %s, `n` = %s WHERE `msg` <=> %s AND `n` <=> %s LIMIT 1"
    assert args == ["dup", "7", "dup", "70"]


def test_the_undo_uses_a_composite_key_and_unsigned_values():
    ins = RowChange("insert", "labdb", "bl_pair", None, {1: "-1 (4294967295)", 2: "'a'", 3: "5"})
    sql, args = inverse(ins, [1, 2], ["a", "b", "qty"])
    assert sql == "DELETE FROM `labdb`.`bl_pair` WHERE `a` <=> %s AND `b` <=> %s LIMIT 1"
    assert args == ["4294967295", "a"]  # the unsigned value, not -1


@pytest.mark.parametrize("value", ["x'); DROP TABLE orders; --", "it's", "%s", "`id`", "a\x00b", "中文"])
def test_values_are_passed_as_parameters_never_spliced_into_the_statement(value):
    printed = "'" + value.replace("\x00", "\\x00") + "'"
    for change in (
        RowChange("insert", "shop", "orders", None, {1: "7", 2: printed}),
        RowChange("delete", "shop", "orders", {1: "7", 2: printed}, None),
        RowChange("update", "shop", "orders", {1: "7", 2: printed}, {1: "7", 2: "'x'"}),
    ):
        sql, args = inverse(change, [], COLUMNS)
        assert sql.count("%s") == len(args)
        assert value in args
        assert value not in sql.replace("%s", "") or value in ("`id`",)  # only as a quoted column name


def test_odd_identifiers_are_backquoted():
    ins = RowChange("insert", "my`db", "order items", None, {1: "1"})
    sql, _ = inverse(ins, [1], ["weird`col"])
    assert sql == "DELETE FROM `my``db`.`order items` WHERE `weird``col` <=> %s LIMIT 1"


def test_the_undo_of_a_delete_restores_a_value_with_backslashes_exactly():
    dele = RowChange("delete", "shop", "files", {1: "7", 2: r"'C:\temp\new'"}, None)
    _, args = inverse(dele, [1], ["id", "path"])
    assert args == ["7", "C:\\temp\\new"]


def test_the_undo_of_a_timestamp_value_converts_the_epoch_seconds_the_tools_print():
    # mysqlbinlog prints TIMESTAMP columns as epoch seconds; writing them back must convert
    change = RowChange("update", "labdb", "t", before={1: "7", 2: "1795283509"}, after={1: "7", 2: "1795283600"})
    sql, args = inverse(change, [1], ["id", "changed_at"], {2})
    assert sql == ("UPDATE `labdb`.`t` SET `id` = %s, `changed_at` = FROM_UNIXTIME(%s) WHERE `id` <=> %s LIMIT 1")
    assert args == ["7", "1795283509", "7"]


def test_identifiers_with_percent_survive_pymysql_formatting():
    # pymysql formats the text with `%` when arguments are given: a table `we%ird` with a column
    # `p%s` used to raise "unsupported format character" or take an argument's place
    from pymysql.converters import escape_item

    change = RowChange("update", "lab%db", "we%ird", before={1: "1", 2: "'a'"}, after={1: "1", 2: "'b'"})
    sql, args = inverse(change, [1], ["i%d", "p%s"])
    sent = sql % tuple(escape_item(a, "utf8mb4") for a in args)
    assert sent == ("UPDATE `lab%db`.`we%ird` SET `i%d` = '1', `p%s` = 'a' WHERE `i%d` <=> '1' LIMIT 1")


def test_a_standbys_own_writes_the_writer_replicates_from_it_are_not_errant():
    """The chaos soak: a dual master's standby held the VIP through a partition of the writer,
    took its clients' writes (its own server_id), and the VIP went back. The writer's running
    channel from it brings them: they are the cluster's data, not errant (a discard would drop
    them). Stopped (a split brain), the channel brings nothing: classify is called without."""
    standby = maria("1-1-8131,2-2-10242", "1-1-8131", server_id=2)
    writer = maria("1-1-8131,2-2-9906", "2-2-9906", server_id=1)
    assert classify(standby, writer, None).standing == Standing.DIVERGED  # nobody pulls them
    c = classify(standby, writer, None, writer_pulls=True)
    assert c.standing == Standing.IDENTICAL and c.errant == ""  # nothing of the writer's is missing
    # a third server's transactions the writer never had stay errant even then
    third = maria("1-1-8131,2-2-9906,3-3-7", server_id=2)
    assert classify(third, writer, None, writer_pulls=True).errant == "3-3-1..7"


def test_mysql_standbys_own_writes_are_not_errant_when_the_writer_pulls_from_it():
    standby = MysqlStatus(up=True, version=MYSQL, server_uuid=OLD, gtid_executed=f"{NEW}:1-100,{OLD}:1-40")
    writer = mysql(f"{NEW}:1-100,{OLD}:1-30")
    assert classify(standby, writer, None).errant == f"{OLD}:31-40"
    assert classify(standby, writer, None, writer_pulls=True).errant == ""


def test_a_transaction_the_writer_was_moved_past_is_not_errant_on_a_replica_that_holds_it():
    """The chaos soak: id 31 committed on the dying writer db1 as 1-1-22618 and, retried, on db2
    as 2-2-6914. `skip-applied --keep-local` on db2 (the writer now) moved its slave position
    past 1-1-22618 (MariaDB logs no empty transaction, so its binlog never shows it); db3 had
    1-1-22618 from db1. The console called it errant on db3 while rejoin and repoint (binlog
    state + slave position) did not; now they agree."""
    from hatui.rules.errant import errant_transactions

    writer = maria("1-1-22617,2-2-6914", "1-1-22618", server_id=2)
    replica = maria("1-1-22618,2-2-6914", server_id=3)
    assert errant_transactions(replica, writer) == ""
    assert classify(replica, writer, None).errant == ""
    # another server's transaction under the same seq in that domain is still errant
    other = maria("1-1-22617,1-3-22618,2-2-6914", server_id=3)
    assert errant_transactions(other, writer) == "1-3-22618"
