"""Dashboard rows from snapshots: roles, VIP holder, replication and health as a DBA reads them."""

from __future__ import annotations

from hatui.rules.alerts import AlertBook
from hatui.rules.context import last_script_results
from hatui.rules.health import evaluate
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs
from hatui.views.dashboard import alert_rows, header, node_rows, repl_rows, vrrp_rows
from tests.recorded import RULES_VIP as VIP
from tests.recorded import chan, healthy, mysql


def rows(store):
    snap = store.snapshot()
    alerts = evaluate(snap)
    return snap, alerts, {r.node: r for r in node_rows(snap, alerts)}


def test_healthy_cluster_rows():
    store, _ = healthy()
    snap, alerts, r = rows(store)
    assert (r["db1"].role, r["db2"].role, r["db3"].role) == ("writer", "standby master", "replica")
    assert r["db1"].vips == VIP and r["db2"].vips == "-"
    assert (r["db1"].rw, r["db2"].rw) == ("RW", "RO")
    assert r["db3"].replication == "<-db1 lag 0s" and r["db1"].vrrp == "MASTER 100"
    assert {x.health for x in r.values()} == {"ok"}
    h = header(snap, alerts)
    assert h.health == "ok" and h.writer == "db1" and dict(h.connections)["db2"] == "up"


def test_faults_colour_the_right_rows():
    store, _ = healthy()
    store.put("db2", Kind.SSH, SshObs("down", "timeout"))
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(sql=False, last_sql_errno=1062, last_sql_error="dup")]))
    store.put("db1", Kind.KEEPALIVED, KeepalivedProcObs(False, None, "pid 9 is gone"))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({VIP})))
    snap, alerts, r = rows(store)
    assert r["db2"].ssh == "down" and r["db2"].health == "critical"
    assert r["db3"].replication == "<-db1 SQL stopped" and r["db3"].health == "critical"
    assert r["db1"].vrrp == "NOT RUNNING"
    (rr,) = [x for x in repl_rows(snap, alerts) if x.node == "db3"]
    assert rr.sql == "No" and rr.health == "critical" and "dup" in rr.last_error
    v = {x.node: x for x in vrrp_rows(snap, alerts, {n: last_script_results(snap, n) for n in ("db1", "db2")})}
    assert v["db1"].state == "NOT RUNNING" and v["db1"].health == "critical"
    assert header(snap, alerts).health == "critical"


def test_alert_rows_show_how_long_each_is_active():
    store, _ = healthy()
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=12)]))
    book = AlertBook()
    book.update(evaluate(store.snapshot()), now=100.0)
    (row,) = alert_rows(book.active, now=175.0)
    assert (row.severity, row.code, row.node, row.active_for) == ("warning", "repl.lag", "db3", "1m15s")


def test_cluster_state_keeps_alert_start_and_redraws_lag_only_on_new_data():
    from hatui.views.feed import RecordedFeed
    from hatui.views.frame import ClusterState

    store, clock = healthy()
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan(lag=12)]))
    state = ClusterState(RecordedFeed(store))
    first = state.tick()
    assert [a.code for a in first.alerts] == ["repl.lag"] and first.lag_changed
    second = state.tick()  # nothing new in the store
    assert not second.lag_changed and second.active[0].since == first.active[0].since


def test_cleared_alerts_show_how_long_they_lasted_newest_first_and_fade_out():
    from hatui.rules.alerts import Alert, ClearedAlert, Severity
    from hatui.views.dashboard import cleared_rows

    def gone(code, since, at):
        return ClearedAlert(Alert(code, Severity.CRITICAL, "db2", f"{code} happened", {}), since, at)

    now = 10_000.0
    cleared = [gone("mysql.down", now - 100, now - 30), gone("repl.lag", now - 4000, now - 3000)]
    rows = cleared_rows(cleared, now)
    assert [(r.severity, r.code, r.active_for) for r in rows] == [("cleared", "mysql.down", "1m10s")]
    assert rows[0].message == "cleared 30s ago: mysql.down happened"
    assert len(cleared_rows([gone("x", now - 2, now - 1)] * 20, now)) == 8


def test_the_data_age_is_the_oldest_polled_reading_not_a_vrrp_state_that_did_not_change():
    """A quiet wallboard (no keepalived dumps: VRRP state comes from the log, on change) said
    "data 48s old" with every polled reading a second old."""
    from hatui.keepalived.dump import VrrpSnapshot
    from hatui.state import AddressObs, Kind, Store
    from tests.recorded import lab_cluster

    t = [1000.0]
    store = Store(lab_cluster(), clock=lambda: t[0])
    store.put("db1", Kind.VRRP, VrrpSnapshot((), "json", None), at=952.0)
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.11"})), at=999.0)
    assert store.snapshot().oldest_age() == 1.0
