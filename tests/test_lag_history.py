"""LagHistory: rolling per-channel lag series built from store snapshots."""

from __future__ import annotations

import pytest

from hatui.mysql.status import MysqlStatus
from hatui.state import Kind, Store
from hatui.views.lag_history import LagHistory
from tests.recorded import T0, Clock, cluster
from tests.recorded import lag_chan as chan
from tests.recorded import lag_up as up


@pytest.fixture
def env():
    clock = Clock()
    store = Store(cluster("primary-replicas"), clock=clock)
    store.put("db1", Kind.MYSQL, up())  # the writer: no channels, so no series
    return store, clock


def tick(store, clock, seconds=1.0, **lags):
    """Advance the clock and put db2/db3 with the given default-channel lags (node=lag)."""
    clock.t += seconds
    for node, lag in lags.items():
        store.put(node, Kind.MYSQL, up(chan(lag)))
    return store.snapshot()


def test_one_point_per_channel_of_every_up_replica(env):
    store, clock = env
    h = LagHistory()
    assert h.observe(tick(store, clock, db2=0.0, db3=4.0))
    assert h.series() == {("db2", ""): [(T0 + 1, 0.0)], ("db3", ""): [(T0 + 1, 4.0)]}
    assert ("db1", "") not in h  # a writer without channels has no lag series
    assert h.latest(("db3", "")) == 4.0 and h.latest(("db2", "")) == 0.0


def test_the_same_observation_seen_in_many_snapshots_is_recorded_once(env):
    store, clock = env
    h = LagHistory()
    h.observe(tick(store, clock, db3=2.0))
    clock.t += 0.25
    assert not h.observe(store.snapshot())  # MySQL not polled again: nothing new
    clock.t += 0.25
    assert not h.observe(store.snapshot())
    h.observe(tick(store, clock, db3=3.0))
    assert h.series()[("db3", "")] == [(T0 + 1, 2.0), (T0 + 2.5, 3.0)]


def test_an_observation_older_than_the_last_point_is_not_added(env):
    store, clock = env
    h = LagHistory()
    h.observe(tick(store, clock, db3=2.0))
    store.put("db3", Kind.MYSQL, up(chan(9.0)), at=clock.t - 0.5)  # a late, older poll
    assert not h.observe(store.snapshot())
    assert h.series()[("db3", "")] == [(T0 + 1, 2.0)]


def test_points_are_stamped_with_when_mysql_was_polled_and_kept_in_order(env):
    store, clock = env
    h = LagHistory()
    for lag in (1.0, 5.0, 2.0):
        clock.t += 1
        store.put("db3", Kind.MYSQL, up(chan(lag)), at=clock.t - 0.3)
        clock.t += 0.2
        h.observe(store.snapshot())
    points = h.series()[("db3", "")]
    assert [lag for _, lag in points] == [1.0, 5.0, 2.0]
    assert [t - T0 for t, _ in points] == pytest.approx([0.7, 1.9, 3.1])


def test_unknown_lag_is_a_gap_not_zero(env):
    store, clock = env
    h = LagHistory()
    for lag in (3.0, None, None, 7.0):
        h.observe(tick(store, clock, db3=lag))
    key = ("db3", "")
    assert [lag for _, lag in h.series()[key]] == [3.0, None, None, 7.0]
    assert h.segments(key) == [[(T0 + 1, 3.0)], [(T0 + 4, 7.0)]]
    h.observe(tick(store, clock, db3=None))
    assert h.latest(key) is None  # unknown right now, not "0 s behind"
    assert h.worst() is None
    # the sparkline cannot show holes: gaps are drawn as 0
    assert h.sparkline_values(key) == [3.0, 0.0, 0.0, 7.0, 0.0]


def test_window_drops_old_points_and_then_the_whole_series(env):
    store, clock = env
    h = LagHistory(window_seconds=10)
    for _ in range(15):
        h.observe(tick(store, clock, db2=1.0, db3=2.0))
    times = [t for t, _ in h.series()[("db3", "")]]
    assert times[0] >= clock.t - 10 and times[-1] == clock.t
    assert len(times) == 11
    # db2 stops being polled: its old points age out and the series disappears
    for _ in range(11):
        h.observe(tick(store, clock, db3=2.0))
    assert ("db2", "") not in h and list(h.series()) == [("db3", "")]


def test_points_per_series_are_bounded(env):
    store, clock = env
    h = LagHistory(window_seconds=3600, max_points=50)
    for i in range(500):
        h.observe(tick(store, clock, db3=float(i)))
    points = h.series()[("db3", "")]
    assert len(points) == 50
    assert [lag for _, lag in points] == [float(i) for i in range(450, 500)]  # the newest kept


def test_named_channels_are_separate_series_with_their_own_labels(env):
    store, clock = env
    clock.t += 1
    store.put("db3", Kind.MYSQL, up(chan(1.0, "east"), chan(12.0, "west", "10.0.0.12")))
    store.put("db2", Kind.MYSQL, up(chan(3.0)))
    h = LagHistory()
    h.observe(store.snapshot())
    assert list(h.series()) == [("db2", ""), ("db3", "east"), ("db3", "west")]
    assert [h.label(k) for k in h.series()] == ["db2", "db3/east", "db3/west"]
    assert h.worst() == (("db3", "west"), 12.0)


def test_worst_follows_the_newest_lag_not_the_peak(env):
    store, clock = env
    h = LagHistory()
    h.observe(tick(store, clock, db2=40.0, db3=1.0))
    assert h.worst() == (("db2", ""), 40.0)
    h.observe(tick(store, clock, db2=0.0, db3=6.0))
    assert h.worst() == (("db3", ""), 6.0)


def test_a_down_node_breaks_its_line_once_and_then_ages_out(env):
    store, clock = env
    h = LagHistory(window_seconds=10)
    h.observe(tick(store, clock, db3=2.0))
    for _ in range(3):
        clock.t += 1
        store.put("db3", Kind.MYSQL, MysqlStatus(up=False, error="connection refused"))
        h.observe(store.snapshot())
    assert h.series()[("db3", "")] == [(T0 + 1, 2.0), (T0 + 2, None)]  # one gap, not one per poll
    assert h.latest(("db3", "")) is None
    h.observe(tick(store, clock, db3=1.0))  # back up: a new stretch starts after the gap
    assert h.segments(("db3", "")) == [[(T0 + 1, 2.0)], [(T0 + 5, 1.0)]]


def test_a_removed_channel_stops_growing(env):
    store, clock = env
    h = LagHistory(window_seconds=10)
    clock.t += 1
    store.put("db3", Kind.MYSQL, up(chan(1.0, "a"), chan(2.0, "b")))
    h.observe(store.snapshot())
    for _ in range(3):
        clock.t += 1
        store.put("db3", Kind.MYSQL, up(chan(1.0, "a")))  # RESET REPLICA ALL FOR CHANNEL 'b'
        h.observe(store.snapshot())
    assert h.series()[("db3", "b")] == [(T0 + 1, 2.0), (T0 + 2, None)]
    assert len(h.series()[("db3", "a")]) == 4
    for _ in range(10):
        clock.t += 1
        store.put("db3", Kind.MYSQL, up(chan(1.0, "a")))
        h.observe(store.snapshot())
    assert ("db3", "b") not in h


def test_sparkline_takes_the_last_n_values(env):
    store, clock = env
    h = LagHistory()
    for i in range(30):
        h.observe(tick(store, clock, db3=float(i)))
    assert h.sparkline_values(("db3", ""), n=5) == [25.0, 26.0, 27.0, 28.0, 29.0]
    assert len(h.sparkline_values(("db3", ""))) == 20
    assert h.sparkline_values(("db9", "")) == []


def test_empty_history():
    h = LagHistory()
    assert h.series() == {} and h.worst() is None and h.latest(("db3", "")) is None
    assert h.segments(("db3", "")) == []
    with pytest.raises(ValueError):
        LagHistory(window_seconds=0)
    with pytest.raises(ValueError):
        LagHistory(max_points=0)
