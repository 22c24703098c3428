"""Incidents: one root cause per incident, every alert under exactly one, the runbook that fits,
and the book that says raised / changed / cleared once each."""

from __future__ import annotations

import datetime as dt

from hatui.keepalived import parse_line
from hatui.mysql.status import MysqlStatus
from hatui.rules.health import evaluate
from hatui.rules.incidents import Code, IncidentBook, correlate
from hatui.state import AddressObs, KeepalivedProcObs, Kind
from tests.recorded import RULES_VIP, chan, healthy, mysql, vrrp


def incidents(store):
    snap = store.snapshot()
    alerts = evaluate(snap)
    got = correlate(snap, alerts)
    # every alert is explained exactly once
    explained = [id(a) for i in got for a in i.alerts]
    assert sorted(explained) == sorted(id(a) for a in alerts)
    return got, alerts


def log(store, node, text):
    store.add_event(node, parse_line(f"Sat Nov 21 15:05:49 2026: {text}", node=node, tz=dt.UTC))


def writer_died(store, *, vip_moved: bool):
    """db1 (the writer) loses its mysqld; keepalived's check fails there; with vip_moved db2 took
    the VIP and its notify script made it writable."""
    store.put("db1", Kind.MYSQL, MysqlStatus(up=False, error="(2013) Lost connection"))
    store.put("db2", Kind.MYSQL, mysql(2, not vip_moved, [chan("10.0.0.11", io="Connecting")]))
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11", io="Connecting")]))
    log(store, "db1", "(VI_1) Entering MASTER STATE")
    log(store, "db1", "Script `chk_mysql` now returning 1")
    if vip_moved:
        log(store, "db1", "(VI_1) Entering FAULT STATE")
        log(store, "db2", "(VI_1) Entering MASTER STATE")
        store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
        store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
        store.put("db1", Kind.VRRP, vrrp("FAULT", 100))
        store.put("db2", Kind.VRRP, vrrp("MASTER", 90))


def test_a_healthy_cluster_has_no_incident():
    store, _ = healthy()
    got, alerts = incidents(store)
    assert got == [] and alerts == []


def test_dead_writer_with_the_vip_moved_is_one_incident_with_every_symptom_and_the_next_steps():
    store, _ = healthy()
    writer_died(store, vip_moved=True)
    got, alerts = incidents(store)
    assert len(alerts) >= 4  # mysql.down, the channels from db1, keepalived's failing check...
    [inc] = got
    assert inc.code == Code.DEAD_WRITER_VIP_MOVED
    assert inc.title.startswith("the writer db1 is down (mysqld does not answer ((2013) Lost connection))")
    assert "the VIP 10.0.0.100 moved to db2, the writer now" in inc.title
    assert inc.alerts[0].code == "mysql.down"  # the root first
    assert {a.code for a in inc.alerts} >= {"mysql.down", "repl.io_stopped", "repl.source_down"}
    assert inc.nodes[:2] == ("db1", "db2") and "db3" in inc.nodes
    assert [s.command("prod.yml") for s in inc.suggestions[:2]] == [
        "hatui repair-gap --cluster prod.yml --from db1 --to db2",
        "hatui rejoin --cluster prod.yml db1",
    ]
    assert "db3 still pull from db1: point them at db2" in inc.suggestions[2].text
    assert inc.suggestions[2].command("prod.yml") == "hatui repoint --cluster prod.yml db3"  # the runbook for it
    assert inc.to_dict()["code"] == "dead_writer_vip_moved" and "mysql.down@db1" in inc.to_dict()["alerts"]


def test_a_writer_waiting_for_disk_space_is_a_full_volume_not_a_dead_writer():
    from dataclasses import replace

    store, _ = healthy()
    db1 = store.latest("db1", Kind.MYSQL).value
    store.put("db1", Kind.MYSQL, replace(db1, disk_waits=3))
    got, alerts = incidents(store)
    [inc] = got
    assert inc.code == Code.DISK_FULL and inc.nodes == ("db1",)
    assert "3 thread(s) wait for free disk space" in inc.title and "retries within 60 s" in inc.title
    assert [a.code for a in alerts] == ["mysql.disk_full"]
    assert inc.suggestions[0].runbook is None  # no failover offered: the writer is alive
    assert "binlogs" in inc.suggestions[0].text
    store.put("db1", Kind.MYSQL, replace(db1, disk_waits=0))
    assert incidents(store)[0] == []


def test_dead_writer_still_holding_the_vip():
    store, _ = healthy()
    writer_died(store, vip_moved=False)
    got, _ = incidents(store)
    [inc] = got
    assert inc.code == Code.DEAD_WRITER and "is still on it: every write fails" in inc.title
    # nothing took over: the failover runbook, which stops keepalived there to move the VIP
    assert inc.suggestions[0].command("F") == "hatui failover --cluster F"
    assert "stops keepalived on db1" in inc.suggestions[0].text


def test_the_same_incident_changes_when_the_vip_moves_and_clears_once():
    book = IncidentBook()
    store, clock = healthy()
    writer_died(store, vip_moved=False)
    [first] = book.update(incidents(store)[0], clock.t)
    assert first.kind == "raised" and first.incident.code == Code.DEAD_WRITER
    clock.t += 2
    assert book.update(incidents(store)[0], clock.t) == []  # nothing new: nothing to say
    writer_died(store, vip_moved=True)
    [changed] = book.update(incidents(store)[0], clock.t)
    assert changed.kind == "changed" and changed.previous.code == Code.DEAD_WRITER
    assert changed.incident.code == Code.DEAD_WRITER_VIP_MOVED and changed.since == first.since
    fresh, _ = healthy()
    [cleared] = book.update(incidents(fresh)[0], clock.t + 60)
    assert cleared.kind == "cleared" and book.active == []


def test_a_dead_standby_is_not_called_the_writer():
    store, _ = healthy()
    store.put("db2", Kind.MYSQL, MysqlStatus(up=False, error="(2003) Can't connect"))
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12", io="Connecting")]))
    got, _ = incidents(store)
    codes = [i.code for i in got]
    assert Code.DEAD_NODE in codes and Code.DEAD_WRITER_VIP_MOVED not in codes and Code.DEAD_WRITER not in codes
    dead = next(i for i in got if i.code == Code.DEAD_NODE)
    assert dead.anchor == "db2" and "db1 pull from it" in dead.title
    assert dead.suggestions[0].command("p.yml") == "hatui rejoin --cluster p.yml db2"


def test_a_standby_that_handed_the_vip_back_earlier_is_not_the_writer_when_its_mysqld_hangs():
    """Found by the chaos soak: db2 was MASTER after an earlier failover, handed the VIP back
    (BACKUP), and much later its mysqld hung. Its log holds a MASTER it left, but not when its
    trouble began: a dead standby, and no gap repair from it."""
    # the check without a weight (FAULT), with one (stays BACKUP), or its failure not logged yet
    for fault_state, logged in ((True, True), (False, True), (False, False)):
        store, clock = healthy()
        log(store, "db2", "(VI_1) Entering MASTER STATE")
        clock.t += 5
        log(store, "db2", "(VI_1) Entering BACKUP STATE")
        log(store, "db1", "(VI_1) Entering MASTER STATE")
        clock.t += 600
        store.put("db2", Kind.MYSQL, MysqlStatus(up=False, error="timeout after 2 s waiting for an answer"))
        store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12", io="Connecting")]))
        if logged:
            log(store, "db2", "Script `chk_mysql` now returning 1")
        if fault_state:
            log(store, "db2", "(VI_1) Entering FAULT STATE")
        got, _ = incidents(store)
        codes = [i.code for i in got]
        assert Code.DEAD_NODE in codes, got
        assert not {Code.DEAD_WRITER, Code.DEAD_WRITER_VIP_MOVED, Code.DEAD_WRITER_NO_VIP} & set(codes), got
        assert all(s.runbook != "repair-gap" for i in got for s in i.suggestions)


def test_a_writer_whose_check_failed_as_it_left_master_is_still_the_dead_writer():
    store, clock = healthy()
    clock.t += 600
    store.put("db1", Kind.MYSQL, MysqlStatus(up=False, error="(2013) Lost connection"))
    log(store, "db1", "(VI_1) Entering MASTER STATE")
    clock.t += 1
    log(store, "db1", "Script `chk_mysql` now returning 1")
    clock.t += 2
    log(store, "db1", "(VI_1) Entering BACKUP STATE")  # a weighted check: its priority fell
    log(store, "db2", "(VI_1) Entering MASTER STATE")
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11", io="Connecting")]))
    store.put("db1", Kind.VRRP, vrrp("BACKUP", 100))
    store.put("db2", Kind.VRRP, vrrp("MASTER", 90))
    got, _ = incidents(store)
    assert Code.DEAD_WRITER_VIP_MOVED in [i.code for i in got], got


def test_split_brain_groups_the_vip_and_the_second_writer():
    store, _ = healthy()
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11")]))
    got, _ = incidents(store)
    split = [i for i in got if i.code == Code.SPLIT_BRAIN]
    assert len(split) == 1 and split[0].nodes == ("db1", "db2")
    assert {a.code for a in split[0].alerts} >= {"vip.split_brain"}


def test_an_unreachable_keepalived_node_is_one_incident_not_one_per_symptom():
    store, clock = healthy()
    from hatui.state import SshObs

    store.put("db3", Kind.SSH, SshObs("down", "connection refused"))
    got, _ = incidents(store)
    [inc] = got
    assert inc.code == Code.NODE_UNREACHABLE and inc.anchor == "db3"


def test_keepalived_down_on_the_standby_is_its_own_incident():
    store, _ = healthy()
    store.put("db2", Kind.KEEPALIVED, KeepalivedProcObs(False, None, "pid 10 is gone"))
    got, _ = incidents(store)
    assert [i.code for i in got] == [Code.KEEPALIVED_DOWN]


def test_status_lists_incidents_with_their_next_step_and_json_has_them():
    from hatui.status import status_dict, status_text

    store, _ = healthy()
    writer_died(store, vip_moved=True)
    snap = store.snapshot()
    alerts = evaluate(snap)
    text = status_text(snap, alerts, 2)
    assert "incidents:\n  CRIT dead_writer_vip_moved" in text
    assert "next: hatui repair-gap --cluster t.yml --from db1 --to db2" in text.replace(
        str(snap.cluster.source), "t.yml"
    )
    d = status_dict(snap, alerts)
    [inc] = d["incidents"]
    assert inc["code"] == "dead_writer_vip_moved" and inc["nodes"][:2] == ["db1", "db2"]
    assert inc["suggested"][0] == {
        "text": inc["suggested"][0]["text"],
        "runbook": "repair-gap",
        "args": ["--from", "db1", "--to", "db2"],
    }
    assert set(inc["alerts"]) == {f"{a.code}@{a.node or '-'}" + (f"/{a.subject}" if a.subject else "") for a in alerts}


def test_the_writer_vip_in_transit_or_on_a_still_read_only_standby_belongs_to_the_dead_writer():
    store, _ = healthy()
    writer_died(store, vip_moved=True)
    store.put("db2", Kind.MYSQL, mysql(2, True, [chan("10.0.0.11", io="Connecting")]))  # notify not run yet
    got, alerts = incidents(store)
    assert "vip.holder_read_only" in {a.code for a in alerts}
    assert [i.code for i in got] == [Code.DEAD_WRITER_VIP_MOVED]
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))  # the VIP between nodes
    got, alerts = incidents(store)
    assert "vip.unheld" in {a.code for a in alerts}
    assert [i.code for i in got] == [Code.DEAD_WRITER_NO_VIP]


def test_a_vip_in_flight_is_where_keepalived_last_said_not_on_both_nodes():
    # db1's address list was read before it let the VIP go, db2's before it took it: the log
    # lines that came after each list decide (no false split brain, no false "unheld")
    store, clock = healthy()
    writer_died(store, vip_moved=False)
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
    clock.t += 0.5
    log(store, "db1", "(VI_1) Entering FAULT STATE")
    log(store, "db1", "(VI_1) removing VIPs.")
    got, alerts = incidents(store)
    assert "vip.split_brain" not in {a.code for a in alerts}
    store, clock = healthy()
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))  # db1 let it go...
    clock.t += 0.5
    log(store, "db2", "(VI_1) Entering MASTER STATE")  # ...db2 took it after its list was read
    snap = store.snapshot()
    assert {a.code for a in evaluate(snap)} & {"vip.unheld", "vip.split_brain"} == set()


def test_an_incident_whose_alerts_another_explains_now_is_merged_not_resolved():
    book = IncidentBook()
    store, clock = healthy()
    # db3's channel broke a moment before db1's death was seen
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11", io="Connecting")]))
    [first] = book.update(incidents(store)[0], clock.t)
    assert first.kind == "raised" and first.incident.code == Code.REPLICATION_BROKEN
    writer_died(store, vip_moved=True)
    changes = {c.kind: c for c in book.update(incidents(store)[0], clock.t + 1)}
    assert set(changes) == {"raised", "merged"}
    assert changes["merged"].into.code == Code.DEAD_WRITER_VIP_MOVED


def test_a_replica_left_on_the_old_writer_is_offered_a_repoint_to_the_new_one():
    # keepalived died on db1: the VIP and the writes went to db2, db1 lives on, db3 still pulls
    # from it. What the console offers must name db3 and the writer it would follow.
    store, _ = healthy()
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
    store.put("db1", Kind.MYSQL, mysql(1, True, [chan("10.0.0.12")]))
    store.put("db2", Kind.MYSQL, mysql(2, False, [chan("10.0.0.11")]))
    got, _ = incidents(store)
    [inc] = [i for i in got if i.anchor == "db3"]
    assert inc.code == Code.REPLICATION_BROKEN and "not from the writer db2" in inc.title
    assert [s.command("p.yml") for s in inc.suggestions] == ["hatui repoint --cluster p.yml db3"]
    # a replica whose SQL thread also stopped is not simply repointed
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11", sql=False)]))
    got, _ = incidents(store)
    [inc] = [i for i in got if i.anchor == "db3"]
    assert not any(s.runbook == "repoint" for s in inc.suggestions)
