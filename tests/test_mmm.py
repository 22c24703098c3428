"""MMM-style states (seed 004) from hatui's own checks, `mmm_control show` lines, and the reader
VIP on a broken or lagging replica."""

from __future__ import annotations

from hatui.cluster import load_cluster_text
from hatui.mysql.status import MysqlStatus
from hatui.rules.health import evaluate
from hatui.rules.mmm import MmmRoles, MmmState, mmm_rows
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from tests.recorded import MARIADB, T0, Clock, chan, mysql

MMM = """
name: m
topology: mmm
thresholds: {lag_warning: 5, lag_critical: 30}
defaults:
  mysql: {monitor: {user: m, password_env: X}}
nodes:
  db1: {host: 10.0.0.11, roles: [mysql, keepalived]}
  db2: {host: 10.0.0.12, roles: [mysql, keepalived]}
  db3: {host: 10.0.0.13, roles: [mysql, keepalived]}
vips:
  - {address: 10.0.0.100, instance: VI_W, role: writer, nodes: [db1, db2]}
  - {address: 10.0.0.111, instance: VI_R2, role: reader, nodes: [db2, db3]}
  - {address: 10.0.0.112, instance: VI_R3, role: reader, nodes: [db3, db2]}
"""


def mmm_store(db2=None, db3=None, db1=None, ssh=None):
    clock = Clock()
    store = Store(load_cluster_text(MMM, "m.yml"), clock=clock)
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up", since=T0 - 10))
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 10))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11", "10.0.0.100"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", "10.0.0.111"})))
    store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.13", "10.0.0.112"})))
    # the writer's channel from db2 is broken: MMM judges replication on readers only
    store.put("db1", Kind.MYSQL, db1 or mysql(1, False, [chan("10.0.0.12", io="No")]))
    store.put("db2", Kind.MYSQL, db2 or mysql(2, True, [chan("10.0.0.11")]))
    store.put("db3", Kind.MYSQL, db3 or mysql(3, True, [chan("10.0.0.11")]))
    if ssh:
        store.put(ssh, Kind.SSH, SshObs("down", "connection refused"))
    return store, clock


def states(rows):
    return {r.node: r.state for r in rows}


def test_healthy_mmm_cluster_reads_like_mmm_control_show():
    store, _ = mmm_store()
    rows = mmm_rows(store.snapshot())
    assert [r.show_line() for r in rows] == [
        "  db1(10.0.0.11) master/ONLINE. Roles: writer(10.0.0.100)",
        "  db2(10.0.0.12) master/ONLINE. Roles: reader(10.0.0.111)",
        "  db3(10.0.0.13) slave/ONLINE. Roles: reader(10.0.0.112)",
    ]


def test_replication_states_and_hard_offline():
    store, _ = mmm_store(
        db2=mysql(2, True, [chan("10.0.0.11", lag=45.0)]),
        db3=mysql(3, True, [chan("10.0.0.11", sql=False, last_error="SQL thread error 1062")]),
    )
    rows = {r.node: r for r in mmm_rows(store.snapshot())}
    assert rows["db2"].state == MmmState.REPLICATION_DELAY and "45 s behind (max 30 s)" in rows["db2"].reason
    assert rows["db3"].state == MmmState.REPLICATION_FAIL and "1062" in rows["db3"].reason
    store, _ = mmm_store(db3=mysql(3, True, up=False))
    assert states(mmm_rows(store.snapshot()))["db3"] == MmmState.HARD_OFFLINE
    store, _ = mmm_store(ssh="db3")
    assert states(mmm_rows(store.snapshot()))["db3"] == MmmState.HARD_OFFLINE


def test_a_host_back_from_hard_offline_awaits_recovery_then_is_online():
    book = MmmRoles(recovery_seconds=60)
    store, clock = mmm_store(db3=mysql(3, True, up=False))
    assert states(book.update(store.snapshot()))["db3"] == MmmState.HARD_OFFLINE
    clock.t += 5
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11")]))
    assert states(book.update(store.snapshot()))["db3"] == MmmState.AWAITING_RECOVERY
    clock.t += 30
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11")]))
    assert states(book.update(store.snapshot()))["db3"] == MmmState.AWAITING_RECOVERY
    clock.t += 31
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11")]))
    assert states(book.update(store.snapshot()))["db3"] == MmmState.ONLINE


def test_without_history_a_freshly_started_mysqld_without_a_vip_awaits_recovery():
    store, _ = mmm_store()
    store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.13"})))
    fresh = MysqlStatus(
        up=True, version=MARIADB, server_id=3, read_only=True, uptime_seconds=12, channels=(chan("10.0.0.11"),)
    )
    store.put("db3", Kind.MYSQL, fresh)
    assert states(mmm_rows(store.snapshot()))["db3"] == MmmState.AWAITING_RECOVERY


def test_reader_vip_on_a_broken_or_lagging_replica():
    store, _ = mmm_store(db3=mysql(3, True, [chan("10.0.0.11", io="No", last_error="IO thread error 2003")]))
    got = [a for a in evaluate(store.snapshot()) if a.code == "vip.reader_on_bad_replica"]
    assert [(a.node, str(a.severity)) for a in got] == [("db3", "critical")]
    assert "reader VIP 10.0.0.112 is on db3, which is REPLICATION_FAIL" in got[0].message
    store, _ = mmm_store(db2=mysql(2, True, [chan("10.0.0.11", lag=40.0)]))
    got = [a for a in evaluate(store.snapshot()) if a.code == "vip.reader_on_bad_replica"]
    assert [(a.node, str(a.severity)) for a in got] == [("db2", "warning")]


def test_healthy_mmm_raises_no_reader_alert_even_with_the_writers_channel_broken():
    store, _ = mmm_store()
    codes = {a.code for a in evaluate(store.snapshot())}
    assert "repl.io_stopped" in codes  # the rules do judge (every node has a complete reading)
    assert "vip.reader_on_bad_replica" not in codes


def test_status_prints_the_mmm_roles():
    from hatui.status import status_dict, status_text

    store, _ = mmm_store(db3=mysql(3, True, [chan("10.0.0.11", lag=45.0)]))
    snap = store.snapshot()
    alerts = evaluate(snap)
    text = status_text(snap, alerts, 1)
    assert "mmm roles (mmm_control show):\n  db1(10.0.0.11) master/ONLINE. Roles: writer(10.0.0.100)\n" in text
    assert "  db3(10.0.0.13) slave/REPLICATION_DELAY. Roles: reader(10.0.0.112)  # rep_backlog: 45 s behind" in text
    assert status_dict(snap, alerts)["mmm"][2]["state"] == "REPLICATION_DELAY"
