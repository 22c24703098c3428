"""Health rules on recorded-style snapshots: each alert fires on its fault and only then."""

from __future__ import annotations

import pytest

from hatui.keepalived import parse_line
from hatui.mysql.status import MysqlStatus
from hatui.mysql.version import detect_version
from hatui.rules.alerts import AlertBook, Severity
from hatui.rules.health import evaluate
from hatui.rules.topology import writer
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs
from tests.recorded import RULES_VIP, chan, healthy, mysql, vrrp

VIP = RULES_VIP


def alerts(store):
    return {(a.code, a.node): a for a in evaluate(store.snapshot())}


def test_healthy_cluster_has_no_alerts_and_db1_is_the_writer():
    store, _ = healthy()
    assert alerts(store) == {}
    w = writer(store.snapshot())
    assert w.node == "db1" and VIP in w.how


def test_split_brain_and_unheld_vip():
    store, _ = healthy()
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", VIP})))
    a = alerts(store)
    sb = a[("vip.split_brain", None)]
    assert sb.severity == Severity.CRITICAL and "db1, db2" in sb.message
    assert sb.evidence["holders"] == ["db1", "db2"]
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    a = alerts(store)
    assert a[("vip.unheld", None)].severity == Severity.CRITICAL


def test_vip_unheld_is_only_a_warning_when_a_candidate_cannot_be_seen():
    store, _ = healthy()
    store.put("db1", Kind.SSH, SshObs("down", "connection refused"))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    a = alerts(store)
    assert a[("vip.unheld", None)].severity == Severity.WARNING
    assert "db1" in a[("vip.unheld", None)].message
    assert a[("ssh.unreachable", "db1")].severity == Severity.CRITICAL
    assert "connection refused" in a[("ssh.unreachable", "db1")].message


def test_vip_on_dead_or_read_only_database():
    store, _ = healthy()
    store.put("db1", Kind.MYSQL, mysql(1, False, up=False, error="connection refused"))
    a = alerts(store)
    assert ("vip.holder_mysql_down", "db1") in a and ("mysql.down", "db1") in a
    assert "connection refused" in a[("vip.holder_mysql_down", "db1")].message
    # replicas of the dead writer are flagged too
    assert ("repl.source_down", "db3") in a and ("repl.source_down", "db2") in a
    store.put("db1", Kind.MYSQL, mysql(1, True, [chan("10.0.0.12")]))
    a = alerts(store)
    assert a[("vip.holder_read_only", "db1")].severity == Severity.CRITICAL
    assert "read_only" in a[("vip.holder_read_only", "db1")].message


def test_mysql_state_is_unknown_not_down_when_the_ssh_tunnel_is_down():
    store, _ = healthy()
    store.put("db2", Kind.SSH, SshObs("down", "timeout"))
    store.put("db2", Kind.MYSQL, MysqlStatus(up=False, error="no SSH tunnel"))
    a = alerts(store)
    assert ("ssh.unreachable", "db2") in a
    assert ("mysql.down", "db2") not in a and ("repl.source_down", "db1") not in a


@pytest.mark.parametrize(
    "topology,severity", [("primary-replicas", Severity.CRITICAL), ("dual-master", Severity.WARNING)]
)
def test_more_than_one_writable_node(topology, severity):
    store, _ = healthy(topology)
    store.put("db3", Kind.MYSQL, mysql(3, False, [chan("10.0.0.11")]))
    a = alerts(store)[("topology.multiple_writers", None)]
    assert a.severity == severity and "db3" in a.message


def test_replication_threads_lag_and_errors():
    store, _ = healthy()
    store.put(
        "db3",
        Kind.MYSQL,
        mysql(3, True, [chan(sql=False, last_sql_errno=1062, last_sql_error="Duplicate entry '4' for key 'PRIMARY'")]),
    )
    a = alerts(store)
    assert "1062 Duplicate entry" in a[("repl.sql_stopped", "db3")].message
    store.put(
        "db3",
        Kind.MYSQL,
        mysql(3, True, [chan(io="Connecting", last_io_errno=2003, last_io_error="Can't connect to MySQL server")]),
    )
    msg = alerts(store)[("repl.io_stopped", "db3")].message
    assert "connecting" in msg and "2003" in msg
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=12)]))
    lag = alerts(store)[("repl.lag", "db3")]
    assert lag.severity == Severity.WARNING and "12 s behind" in lag.message
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=45)]))
    assert alerts(store)[("repl.lag", "db3")].severity == Severity.CRITICAL
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=4)]))
    assert ("repl.lag", "db3") not in alerts(store)


def test_replica_still_on_the_old_writer_after_failover():
    store, _ = healthy()
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", VIP})))
    store.put("db1", Kind.MYSQL, mysql(1, True, [chan("10.0.0.12")]))
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11")]))
    a = alerts(store)
    assert writer(store.snapshot()).node == "db2"
    assert "not from the writer db2" in a[("repl.source_not_writer", "db3")].message
    assert ("repl.source_not_writer", "db1") not in a  # db1 pulls from the writer: fine


def test_replication_through_the_vip_is_flagged():
    store, _ = healthy()
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(VIP)]))
    assert ("repl.source_is_vip", "db3") in alerts(store)


def test_errant_gtid_on_a_replica_but_not_polling_skew():
    store, _ = healthy()
    # db3 is ahead in the writer's own server_id: only polling skew, not errant
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan()], state="0-1-105"))
    assert ("gtid.errant", "db3") not in alerts(store)
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan()], state="0-1-100,0-3-101"))
    a = alerts(store)[("gtid.errant", "db3")]
    assert "0-3-101" in a.message and a.evidence["writer"] == "db1"
    # once the writer has it too (e.g. it was replicated back), it is no longer errant
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12")], state="0-1-102,0-3-101"))
    assert ("gtid.errant", "db3") not in alerts(store)


def test_a_standbys_own_writes_are_not_errant_while_the_writer_replicates_from_it():
    """The chaos soak: db2 held the VIP while db1 was cut off, took writes (0-2-...), and the
    VIP went back to db1 before db1's channel from db2 had fetched them. They are on their way,
    not errant: the console suggested discarding them and the discard dropped 313 of them."""
    store, _ = healthy()
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12")], state="0-1-100"))
    store.put("db2", Kind.MYSQL, mysql(2, True, [chan()], state="0-1-100,0-2-413"))
    assert ("gtid.errant", "db2") not in alerts(store)
    # db3 does not feed the writer: its own writes are errant
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan()], state="0-1-100,0-3-7"))
    assert ("gtid.errant", "db3") in alerts(store)
    # the writer's channel from db2 stopped (a split brain's runbook, a held-back conflict): errant
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12", io="No", sql=False)], state="0-1-100"))
    assert ("gtid.errant", "db2") in alerts(store)
    # reconnecting after the partition healed counts as running
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12", io="Connecting")], state="0-1-100"))
    a = alerts(store)
    assert ("gtid.errant", "db2") not in a
    # but the writer is said to lack them until its channel brings them (the soak counted 1778 rows
    # "lost" 4 s after a heal: db1's channel sat on the dead connection)
    missing = a[("gtid.writer_missing", "db1")]
    assert "lacks 0-2-413, written on db2" in missing.message and "IO Connecting" in missing.message
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12")], state="0-1-100,0-2-413"))
    assert ("gtid.writer_missing", "db1") not in alerts(store)


def test_mysql_errant_gtid_set():
    store, _ = healthy("primary-replicas")
    w_uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
    r_uuid = "2174b383-5441-11e8-b90a-c80aa9429562"
    mysql8 = detect_version("8.0.36")

    def st(sid, uuid, ro, executed):
        return MysqlStatus(
            up=True,
            version=mysql8,
            server_id=sid,
            server_uuid=uuid,
            read_only=ro,
            gtid_mode="ON",
            gtid_executed=executed,
            channels=() if not ro else (chan(),),
        )

    store.put("db1", Kind.MYSQL, st(1, w_uuid, False, f"{w_uuid}:1-100"))
    store.put("db2", Kind.MYSQL, st(2, "a" * 8 + w_uuid[8:], True, f"{w_uuid}:1-101"))
    store.put("db3", Kind.MYSQL, st(3, r_uuid, True, f"{w_uuid}:1-100,{r_uuid}:1-2"))
    a = alerts(store)
    assert ("gtid.errant", "db2") not in a
    assert f"{r_uuid}:1-2" in a[("gtid.errant", "db3")].message


def test_duplicate_server_id_and_gtid_mode_mismatch():
    store, _ = healthy()
    store.put("db3", Kind.MYSQL, mysql(2, True, [chan()]))
    a = alerts(store)[("mysql.duplicate_server_id", None)]
    assert "db2, db3" in a.message
    mysql8 = detect_version("8.0.36")
    for n, mode in (("db1", "ON"), ("db2", "ON"), ("db3", "OFF_PERMISSIVE")):
        store.put(
            n,
            Kind.MYSQL,
            MysqlStatus(up=True, version=mysql8, server_id=int(n[-1]), read_only=n != "db1", gtid_mode=mode),
        )
    assert "OFF_PERMISSIVE on db3" in alerts(store)[("gtid.mode_mismatch", None)].message


def test_keepalived_down_fault_and_failing_check():
    store, _ = healthy()
    store.put("db2", Kind.KEEPALIVED, KeepalivedProcObs(False, None, "no pid file /run/keepalived.pid"))
    a = alerts(store)
    assert "no pid file" in a[("keepalived.down", "db2")].message
    store.put("db2", Kind.KEEPALIVED, KeepalivedProcObs(True, 11))
    store.put("db2", Kind.VRRP, vrrp("FAULT", 90))
    store.add_event(
        "db2", parse_line("Sat Nov 21 15:06:22 2026: VRRP_Script(chk_mysql) failed (exited with status 1)", node="db2")
    )
    a = alerts(store)
    assert ("keepalived.fault", "db2") in a
    assert "chk_mysql failed" in a[("keepalived.check_failing", "db2")].message
    store.add_event("db2", parse_line("Sat Nov 21 15:06:30 2026: VRRP_Script(chk_mysql) succeeded", node="db2"))
    store.put("db2", Kind.VRRP, vrrp("BACKUP", 90))
    assert not {k for k in alerts(store) if k[1] == "db2"}


def test_stale_data_is_reported_and_fresh_data_clears_it():
    store, clock = healthy()
    clock.t += 3.0
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.ADDRESSES, store.latest(n, Kind.ADDRESSES).value)
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 10)) if n != "db3" else None
    store.put("db1", Kind.MYSQL, store.latest("db1", Kind.MYSQL).value)
    store.put("db2", Kind.MYSQL, store.latest("db2", Kind.MYSQL).value)
    clock.t += 3.0  # db3's MySQL data is now 6 s old: more than 3 polls of 1 s plus 2 s slack
    stale = alerts(store)[("data.stale", "db3")]
    assert stale.severity == Severity.WARNING and "mysql data is 6 s old" in stale.message
    # and stale MySQL data is not reasoned on: no replication alerts from it
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan()]))
    assert ("data.stale", "db3") not in alerts(store)


def refresh(store, skip: tuple[Kind, ...] = ()) -> None:
    """Every node's latest readings again, as of now (but the kinds in skip)."""
    for n in ("db1", "db2", "db3"):
        for kind in Kind:
            if kind not in skip and (obs := store.latest(n, kind)) is not None:
                store.put(n, kind, obs.value)


def test_vrrp_data_of_a_quiet_node_is_not_stale_between_its_minute_dumps():
    """While a node's log is followed its VRRP dump comes every 60 s (and at every transition):
    a minute-old dump is current, three missed ones are not."""
    store, clock = healthy()
    clock.t += 61.0
    refresh(store, skip=(Kind.VRRP,))
    assert not [k for k in alerts(store) if k[0] == "data.stale"]
    clock.t += 130.0
    refresh(store, skip=(Kind.VRRP,))
    stale = alerts(store)[("data.stale", "db1")]
    assert "vrrp data is 191 s old" in stale.message


def test_a_check_that_overran_its_interval_once_is_not_a_failing_check_for_ever():
    """keepalived logs "already running ... skipping run" when a check overruns its interval, and
    no "succeeded" after it (only changes of outcome): said while it repeats, gone 10 s after."""
    store, clock = healthy()
    busy = "Track script chk_mysql is already running, expect idle - skipping run"
    store.add_event("db2", parse_line(f"Sat Nov 21 15:05:49 2026: {busy}", node="db2"))
    clock.t += 1.0
    refresh(store)
    assert "still running" in alerts(store)[("keepalived.check_failing", "db2")].message
    clock.t += 10.0
    refresh(store)
    assert ("keepalived.check_failing", "db2") not in alerts(store)
    failed = "VRRP_Script(chk_mysql) failed (exited with status 1)"
    store.add_event("db2", parse_line(f"Sat Nov 21 15:06:49 2026: {failed}", node="db2"))
    clock.t += 30.0
    refresh(store)
    assert "failed" in alerts(store)[("keepalived.check_failing", "db2")].message  # a real failure stays


def test_errant_transactions_seen_for_a_poll_while_the_vip_moves_are_not_raised_lasting_ones_are():
    from hatui.rules.alerts import SETTLE_SECONDS, Alert

    book = AlertBook(settle=SETTLE_SECONDS)
    errant = Alert("gtid.errant", Severity.WARNING, "db1", "db1 has transactions the writer db2 does not: 1-1-5")
    assert book.update([errant], 100.0, moving=True) == ([], [])
    assert book.update([], 100.5, moving=True) == ([], [])  # db2's next reading had them
    assert book.active == []
    book.update([errant], 200.0, moving=True)
    book.update([errant], 201.0, moving=True)
    raised, _ = book.update([errant], 202.1, moving=True)
    assert [(r.alert.code, r.since) for r in raised] == [("gtid.errant", 200.0)]


def test_alert_book_keeps_start_time_and_history():
    book = AlertBook()
    store, _ = healthy()
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=12)]))
    raised, cleared = book.update(evaluate(store.snapshot()), now=10.0)
    assert [r.alert.code for r in raised] == ["repl.lag"] and not cleared
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=40)]))
    raised, _ = book.update(evaluate(store.snapshot()), now=12.0)
    assert raised == [] and book.active[0].since == 10.0 and "40 s" in book.active[0].alert.message
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan()]))
    _, cleared = book.update(evaluate(store.snapshot()), now=15.0)
    assert [(c.alert.code, c.since, c.cleared_at) for c in cleared] == [("repl.lag", 10.0, 15.0)]
    assert book.active == [] and book.cleared[0].alert.code == "repl.lag"


def test_a_step_of_a_vip_move_is_not_raised_but_a_vip_left_unheld_is():
    # stop keepalived on the writer (measured in the lab): the VIP is on no node for a moment,
    # then on db2 while its notify script has not lifted read_only yet. Each used to be a
    # CRITICAL incident "resolved after 0 s"; while the VIP moves they must outlast the move.
    from hatui.views.feed import RecordedFeed
    from hatui.views.frame import ClusterState

    store, clock = healthy()
    state = ClusterState(RecordedFeed(store), clock=clock)

    def tick(dt):
        clock.t += dt
        for (node, kind), obs in store.snapshot().observations.items():
            store.put(node, kind, obs.value)  # every poll answered: only the picture changes
        return state.tick()

    assert tick(0).incidents == ()
    store.put("db1", Kind.KEEPALIVED, KeepalivedProcObs(False, None))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    f = tick(0.5)
    assert not any(a.code == "vip.unheld" for a in f.alerts)  # the pane agrees with the book
    assert ("vip.unheld", None, VIP) in state.book.settling
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", VIP})))
    store.put("db2", Kind.VRRP, vrrp("MASTER", 90))
    f = tick(0.5)
    assert not any(a.code in ("vip.unheld", "vip.holder_read_only") for a in f.alerts)
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11")]))
    store.put("db1", Kind.MYSQL, mysql(1, True, [chan("10.0.0.12")]))
    seen = [f]
    for _ in range(6):
        seen.append(tick(1.0))
    codes = {ch.incident.code for fr in seen for ch in fr.incident_changes}
    assert "vip_unheld" not in codes and "vip_on_bad_node" not in codes
    # what is really wrong afterwards: db1 cannot take the VIP back, db3 still pulls from db1
    assert {i.incident.code for i in seen[-1].incidents} == {"keepalived_down", "replication_broken"}

    # the same VIP left on no node: raised once it outlasts the move, since when it began
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    began = clock.t + 1.0
    assert [a.code for a in tick(1.0).raised] == []
    f = tick(1.0)
    assert [a.code for a in f.raised] == []
    f = tick(1.0)
    (r,) = [a for a in f.raised if a.alert.code == "vip.unheld"]
    assert r.since == began and r.alert.severity == Severity.CRITICAL


def test_a_vip_unheld_when_nothing_moves_is_raised_at_once():
    from hatui.views.feed import RecordedFeed
    from hatui.views.frame import ClusterState

    store, clock = healthy()
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    state = ClusterState(RecordedFeed(store), clock=clock)
    f = state.tick()
    assert [a.alert.code for a in f.raised if a.alert.code == "vip.unheld"] == ["vip.unheld"]
    assert any(a.code == "vip.unheld" for a in f.alerts)


def test_the_new_writer_is_never_told_to_repoint_to_itself():
    # seed 002 / a dual master after failover: db2 holds the VIP, its own channel still pulls from
    # the dead db1 (used to say "repoint it to the writer db2", i.e. to itself)
    store, _ = healthy()
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", VIP})))
    store.put("db1", Kind.MYSQL, mysql(1, False, up=False, error="connection refused"))
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11", io="Connecting")]))
    a = alerts(store)
    own = a[("repl.source_down", "db2")]
    assert "repoint it to the writer db2" not in own.message and "is the writer now" in own.message
    assert own.severity == Severity.WARNING
    assert "repoint it to the writer db2" in a[("repl.source_down", "db3")].message


def test_a_vip_on_loopback_is_not_held_and_is_no_split_brain():
    # seed 003's LVS-DR real servers carry the VIP on lo: they answer for it, they do not hold it
    store, _ = healthy()
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", VIP}), (("eth0", "10.0.0.12"), ("lo", VIP))))
    a = alerts(store)
    assert ("vip.split_brain", None) not in a
    assert writer(store.snapshot()).node == "db1"


def test_masters_handing_out_the_same_auto_increment_values_are_flagged():
    from dataclasses import replace

    store, _ = healthy()  # db1 <-> db2 replicate from each other (the writer VIP's nodes)
    base = {n: store.latest(n, Kind.MYSQL).value for n in ("db1", "db2", "db3")}
    for n, (inc, off) in {"db1": (2, 1), "db2": (2, 2), "db3": (1, 1)}.items():
        store.put(n, Kind.MYSQL, replace(base[n], auto_increment_increment=inc, auto_increment_offset=off))
    assert not [k for k in alerts(store) if k[0] == "mysql.auto_increment_clash"]  # seed 000's 2 and 1/2
    # both left at the default: both insert 1, 2, 3...
    store.put("db2", Kind.MYSQL, replace(base["db2"], auto_increment_increment=1, auto_increment_offset=1))
    store.put("db1", Kind.MYSQL, replace(base["db1"], auto_increment_increment=1, auto_increment_offset=1))
    a = alerts(store)[("mysql.auto_increment_clash", None)]
    assert "db1 and db2" in a.message and "1/1 and 1/1" in a.message
    # different increments whose sequences still meet (2/1 and 3/1: both hand out 1, 7, 13...)
    store.put("db1", Kind.MYSQL, replace(base["db1"], auto_increment_increment=2, auto_increment_offset=1))
    store.put("db2", Kind.MYSQL, replace(base["db2"], auto_increment_increment=3, auto_increment_offset=1))
    assert ("mysql.auto_increment_clash", None) in alerts(store)


def test_semi_sync_fallen_back_to_async_on_the_writer_is_flagged():
    from dataclasses import replace

    from hatui.mysql.status import SemiSync

    store, _ = healthy()
    w = store.latest("db1", Kind.MYSQL).value
    store.put("db1", Kind.MYSQL, replace(w, semi_sync=SemiSync("master", True, False, True, None, 1)))
    assert not [k for k in alerts(store) if k[0] == "repl.semi_sync_async"]
    store.put("db1", Kind.MYSQL, replace(w, semi_sync=SemiSync("master", True, False, False, None, 0)))
    a = alerts(store)[("repl.semi_sync_async", "db1")]
    assert "fallen back to async" in a.message and "0 replica(s)" in a.message


def test_a_node_mute_since_its_session_came_up_stops_holding_the_cluster_after_ready_wait():
    """A router whose commands timed out (SSH up) kept the wallboard CONNECTING for ever, and
    held every cluster-wide alert: a split brain would not have been said."""
    from hatui.rules.readiness import READY_WAIT, pending_nodes

    store, clock = healthy()
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up", since=clock.t))
    refresh(store, skip=(Kind.SSH,))
    # db3 answers nothing after its session came up: its readings are from before it
    store.put("db3", Kind.SSH, SshObs("up", since=clock.t + 0.5))
    clock.t += 1.0
    refresh(store, skip=(Kind.SSH, Kind.ADDRESSES, Kind.MYSQL))  # db1/db2 refreshed below
    for n in ("db1", "db2"):
        store.put(n, Kind.ADDRESSES, store.latest(n, Kind.ADDRESSES).value)
        store.put(n, Kind.MYSQL, store.latest(n, Kind.MYSQL).value)
    # a split brain shows up meanwhile
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
    assert pending_nodes(store.snapshot()) == {"db3"}
    assert ("vip.split_brain", None) not in alerts(store)  # held: db3 is not read yet
    clock.t += READY_WAIT
    for n in ("db1", "db2"):
        for k in (Kind.ADDRESSES, Kind.MYSQL, Kind.KEEPALIVED, Kind.VRRP):
            store.put(n, k, store.latest(n, k).value)
    assert pending_nodes(store.snapshot()) == frozenset()
    a = alerts(store)
    assert ("vip.split_brain", None) in a
    missing = a[("data.missing", "db3")]
    assert "no addresses, mysql reading" in missing.message and missing.severity == Severity.WARNING
