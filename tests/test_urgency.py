"""A change that a pane must show at once is drawn at once, not at the next tick."""

from __future__ import annotations

import screens.dashboard
from hatui.mysql.status import MysqlStatus
from hatui.state import AddressObs, Kind, Observation, SshObs
from hatui.views.feed import RecordedFeed
from hatui.views.urgency import ChangeWatch
from screens.app import HatuiApp
from tests.recorded import lab_cluster, lab_state, mysql


def obs(node, kind, value):
    return Observation(node, kind, value, 0.0)


def test_only_readings_whose_meaning_changed_are_urgent():
    w = ChangeWatch()
    a = obs("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11", "10.0.0.100"})))
    assert w.urgent("observation", a) is True  # a first reading is news
    assert w.urgent("observation", a) is False  # the same again is not
    assert w.urgent("observation", obs("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))) is True
    assert w.urgent("observation", obs("db1", Kind.MYSQL, mysql(1, False))) is True
    assert w.urgent("observation", obs("db1", Kind.MYSQL, mysql(1, False, state="0-1-999"))) is False  # same meaning
    assert w.urgent("observation", obs("db1", Kind.MYSQL, MysqlStatus(up=False, error="gone"))) is True
    assert w.urgent("observation", obs("db2", Kind.SSH, SshObs("up"))) is True
    assert w.urgent("observation", obs("db2", Kind.SSH, SshObs("down"))) is True


async def test_the_vrrp_pane_shows_a_transition_without_waiting_for_the_tick(monkeypatch):
    monkeypatch.setattr(screens.dashboard, "TICK", 3600.0)  # only an urgent redraw can show it
    cluster = lab_cluster()
    store = lab_state(cluster)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.2)
        table = app.query_one("#vrrp")
        states = lambda: {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}  # noqa: E731
        assert states() == {"db1": "MASTER", "db2": "BACKUP"}
        from hatui.keepalived.dump import VrrpInstance, VrrpSnapshot

        def snap(state, prio):
            return VrrpSnapshot(
                (
                    VrrpInstance(
                        name="VI_1", state=state, vrid=51, interface="eth0", base_priority=prio, effective_priority=prio
                    ),
                ),
                "json",
                None,
            )

        store.put("db1", Kind.VRRP, snap("BACKUP", 100))
        store.put("db2", Kind.VRRP, snap("MASTER", 90))
        await pilot.pause(0.1)
        assert states() == {"db1": "BACKUP", "db2": "MASTER"}
