"""The lag plot and lag sparklines: they mount, draw what the history holds, and redraw cleanly."""

from __future__ import annotations

from textual.app import App, ComposeResult

from hatui.cluster.model import Thresholds
from hatui.state import Kind, Store
from hatui.views.lag_history import LagHistory
from screens.widgets.lagplot import LagPlot, LagSparkline, sparkline_for
from tests.recorded import T0, cluster
from tests.recorded import lag_chan as chan
from tests.recorded import lag_up as up

THRESHOLDS = Thresholds(lag_warning=5, lag_critical=30)
BLANK = " "


def history_of(lags: dict[tuple[str, str], list[float | None]], window: float = 60.0):
    """A LagHistory fed one MySQL poll per second, T0+1, T0+2, ...; returns it and `now`."""
    t = T0
    store = Store(cluster("primary-replicas"), clock=lambda: t)
    h = LagHistory(window_seconds=window)
    for i in range(max(len(v) for v in lags.values())):
        t = T0 + i + 1
        by_node: dict[str, list] = {}
        for (node, name), values in lags.items():
            if i < len(values):
                by_node.setdefault(node, []).append(chan(values[i], name))
        for node, channels in by_node.items():
            store.put(node, Kind.MYSQL, up(*channels))
        h.observe(store.snapshot())
    return h, t


class Host(App):
    def __init__(self, history: LagHistory | None = None, now: float = T0, thresholds: Thresholds | None = THRESHOLDS):
        super().__init__()
        self.history, self.now, self.thresholds = history, now, thresholds

    def compose(self) -> ComposeResult:
        yield LagPlot(id="lag")

    def on_mount(self) -> None:
        if self.history is not None:
            self.query_one(LagPlot).update_from(self.history, self.now, self.thresholds)


def text(plot: LagPlot) -> str:
    return plot.render().plain


def lines(plot: LagPlot) -> list[str]:
    return text(plot).splitlines()


def threshold_rows(plot: LagPlot) -> list[str]:
    """Rows crossed from border to border by a horizontal line (data may cross it here and there)."""
    return [
        r
        for r in lines(plot)
        if "├" in r and r.rstrip().endswith("┤") and r.count("─") > (r.rindex("┤") - r.index("├")) * 3 // 4
    ]


async def test_empty_history_mounts_and_says_there_is_no_data():
    app = Host(LagHistory(window_seconds=600), now=T0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LagPlot)
        out = text(plot)
        assert "replication lag (s)" in out
        assert "no replication lag measured yet" in out
        assert "-600" in out and "seconds ago" in out  # the whole window is on the x axis
        assert len(threshold_rows(plot)) == 2 and plot.drawn == ()


async def test_a_plot_never_updated_still_renders():
    app = Host(None)
    async with app.run_test(size=(60, 16)) as pilot:
        await pilot.pause()
        assert "no replication lag measured yet" in text(app.query_one(LagPlot))


async def test_one_series_is_drawn_with_its_legend_and_the_threshold_lines():
    h, now = history_of({("db3", ""): [1.0 + i % 4 for i in range(60)]})
    app = Host(h, now)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LagPlot)
        out = text(plot)
        assert plot.drawn == ("db3",) and "db3" in out
        assert "no replication lag" not in out
        assert len(threshold_rows(plot)) == 2  # lag_warning and lag_critical
        # the y axis reaches above lag_critical so both lines are on screen
        assert "33.0" in out


async def test_without_thresholds_there_are_no_threshold_lines():
    h, now = history_of({("db3", ""): [1.0] * 10})
    app = Host(h, now, thresholds=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert threshold_rows(app.query_one(LagPlot)) == []


async def test_several_series_with_gaps_get_one_legend_entry_each_and_a_broken_line():
    h, now = history_of(
        {
            ("db2", ""): [0.0] * 60,
            ("db3", "east"): [3.0] * 20 + [None] * 20 + [3.0] * 19 + [10.0],
            ("db3", "west"): [None] * 60,  # SQL thread stopped all along
        }
    )
    app = Host(h, now, thresholds=None)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        plot = app.query_one(LagPlot)
        out = text(plot)
        assert plot.drawn == ("db2", "db3/east")  # db3/west has no known lag to draw
        assert out.count("db3/east") == 1  # one legend entry although drawn in two stretches

        # db3/east's line at 3 s is there before and after the gap but not across it,
        # while db2's line at 0 s runs unbroken
        def thirds(row: str) -> tuple[bool, bool, bool]:
            left, right = min(row.index(c) for c in "│┤" if c in row) + 1, row.rindex("│")
            w = right - left
            parts = (
                row[left : left + w // 4],
                row[left + w * 4 // 10 : left + w * 6 // 10],
                row[right - w // 4 : right],
            )
            return tuple(bool(set(part) - {BLANK}) for part in parts)

        plotted = [thirds(r) for r in lines(plot)[2:] if "│" in r and "└" not in r]
        assert (True, False, True) in plotted  # broken
        assert (True, True, True) in plotted  # unbroken


async def test_only_unknown_lag_is_said_so_on_the_plot():
    h, now = history_of({("db3", ""): [None] * 5})
    app = Host(h, now)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "lag unknown: db3" in text(app.query_one(LagPlot))


async def test_updating_twice_redraws_the_same_picture_without_piling_up():
    h, now = history_of({("db2", ""): [1.0] * 30, ("db3", ""): [2.0] * 10 + [None] * 5 + [4.0] * 15})
    app = Host(h, now)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LagPlot)
        first = text(plot)
        monitor = plot.plt.monitor
        signals, hlines = monitor.signals, len(monitor.hcoord[0])
        assert (signals, hlines) == (3, 2)  # db2, db3's two stretches; warning and critical
        for _ in range(3):
            plot.update_from(h, now, THRESHOLDS)
        await pilot.pause()
        assert text(plot) == first
        assert (monitor.signals, len(monitor.hcoord[0]), len(monitor.text)) == (signals, hlines, 0)
        assert text(plot).count("db2") == 1


async def test_update_moves_the_data_left_as_time_passes():
    h, now = history_of({("db3", ""): [20.0] * 5}, window=60)
    app = Host(h, now, thresholds=None)
    async with app.run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        plot = app.query_one(LagPlot)

        def columns() -> set[int]:
            row = max(lines(plot), key=lambda r: r.count("▄") + r.count("▀"))
            return {i for i, c in enumerate(row) if c in "▄▀▖▗▘▝▌▐▞▚▟▙▛▜"}

        recent = columns()
        plot.update_from(h, now + 30, None)  # nothing new for 30 s
        await pilot.pause()
        later = columns()
        assert recent and later and max(later) < min(recent)


# ----------------------------------------------------------------------------- sparklines
class SparkHost(App):
    def __init__(self, sparks):
        super().__init__()
        self.sparks = sparks

    def compose(self) -> ComposeResult:
        yield from self.sparks


async def test_sparkline_shows_the_last_values_and_colours_by_threshold():
    h, _ = history_of(
        {
            ("db1", ""): [0.5] * 30,
            ("db2", ""): [1.0] * 25 + [8.0] * 5,
            ("db3", ""): [2.0] * 29 + [45.0],
            ("db3", "x"): [None] * 3,
        }
    )
    sparks = [
        sparkline_for(h, (n, c), THRESHOLDS, id=f"s-{n}{c}")
        for n, c in (("db1", ""), ("db2", ""), ("db3", ""), ("db3", "x"), ("db9", ""))
    ]
    app = SparkHost(sparks)
    async with app.run_test(size=(40, 8)) as pilot:
        await pilot.pause()
        by_id = {s.id: s for s in app.query(LagSparkline)}
        assert by_id["s-db2"].data == [1.0] * 15 + [8.0] * 5
        assert [by_id[i].level for i in ("s-db1", "s-db2", "s-db3", "s-db3x", "s-db9")] == [
            "ok",
            "warning",
            "critical",
            "ok",
            "",
        ]
        colours = {i: by_id[i].get_component_styles("sparkline--max-color").color for i in ("s-db1", "s-db2", "s-db3")}
        assert len(set(colours.values())) == 3  # green, warning, error: a glance tells them apart
        # the lag recovers: the sparkline follows on the next update
        h2, _ = history_of({("db3", ""): [0.0] * 30})
        by_id["s-db3"].update_from(h2, THRESHOLDS)
        await pilot.pause()
        assert by_id["s-db3"].level == "ok" and not by_id["s-db3"].has_class("-critical")


# ----------------------------------------------------------------------------- snapshot
def snapshot_history():
    # fixed, synthetic: two replicas over two minutes, one losing its SQL thread for a while
    db2 = [0.0 if i % 10 else 1.0 for i in range(120)]
    db3 = [min(40.0, i * 0.6) for i in range(60)] + [None] * 20 + [max(0.0, 12.0 - i) for i in range(40)]
    return history_of({("db2", ""): db2, ("db3", ""): db3}, window=120)


def test_lag_plot_snapshot(snap_compare):
    h, now = snapshot_history()
    assert snap_compare(Host(h, now), terminal_size=(90, 24))


async def test_a_plot_kept_up_to_date_each_second_shows_what_a_fresh_plot_would():
    # update_from skips drawing when the picture is the same to a column (a flat lag moving a
    # second on a 600 s window): what is on screen must still be what a new plot draws
    lags = [0.0] * 40 + [0.0, 3.0, 8.0, 8.0, 2.0] + [0.0] * 15
    app = Host(None)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        kept = app.query_one(LagPlot)
        fresh = LagPlot()
        await app.mount(fresh)
        await pilot.pause()
        skipped = 0
        for n in range(30, len(lags) + 1):
            h, now = history_of({("db3", ""): lags[:n]}, window=600.0)
            before = kept._drawn_version
            kept.update_from(h, now, THRESHOLDS)
            skipped += kept._drawn_version == before
            fresh._shown = None  # never skips: draws every time
            fresh.update_from(h, now, THRESHOLDS)
            assert text(kept) == text(fresh), f"after {n} s"
        assert skipped > 0  # the flat stretches were not drawn again
