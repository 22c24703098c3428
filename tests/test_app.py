"""The console starts on a cluster file and shows its nodes and VIPs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from hatui.cluster import load_cluster
from screens.app import HatuiApp
from tests.recorded import FIXED_NOW, empty_feed, lab_cluster, recorded

SAMPLES = sorted((Path(__file__).parent.parent / "sample_clusters").glob("*.yml"))


async def until_true(pilot, check, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    assert check()


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_console_shows_roles_vip_holder_replication_and_vrrp():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        rows = {r[0]: r for r in cells(app.query_one("#nodes", DataTable))}
        assert list(rows) == ["db1", "db2", "db3"]
        assert rows["db1"][1:3] == ["writer", "198.18.0.100"]
        assert rows["db2"][1] == "standby master" and rows["db3"][1] == "replica"
        assert rows["db3"][6] == "<-db1 lag 0s" and rows["db1"][7] == "MASTER 100"
        vrrp = cells(app.query_one("#vrrp", DataTable))
        assert [(r[0], r[2], r[4]) for r in vrrp] == [("db1", "MASTER", "100"), ("db2", "BACKUP", "90")]
        assert app.query_one("#alerts", DataTable).row_count == 0
        logs = app.query_one("#logs").lines_text()
        assert len(logs) == 5 and "db1" in logs[3] and "MASTER" in logs[3]
        assert "OK" in str(app.query_one("#cluster-header").render())
        assert "lab" in app.title
        assert not app.query("#ro-badge")


async def test_split_brain_and_an_unreachable_node_show_as_critical_alerts():
    app = HatuiApp([lab_cluster()], feed_factory=recorded(split_brain=True, unreachable="db3"))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        rows = cells(app.query_one("#alerts", DataTable))
        codes = [r[1] for r in rows]
        # incidents first, each with the alerts it explains folded under it
        assert codes[0] == "split_brain" and rows[0][0] == "critical" and rows[0][2] == "db1,db2"
        assert codes[1:3] == ["  └ vip.split_brain", "  └ topology.multiple_writers"]
        assert "node_unreachable" in codes and ("  └ ssh.unreachable", "db3") in {(r[1], r[2]) for r in rows}
        rows = {r[0]: r for r in cells(app.query_one("#nodes", DataTable))}
        assert rows["db3"][3:5] == ["down", "?"]  # its MySQL is unknown, not "up"
        assert "CRITICAL" in str(app.query_one("#cluster-header").render())


async def test_watch_mode_shows_a_permanent_read_only_badge():
    app = HatuiApp([lab_cluster()], watch=True, feed_factory=recorded())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        badge = app.query_one("#ro-badge")
        assert "RO" in str(badge.render())
        assert app.sub_title == "read-only wallboard"


async def test_q_quits():
    app = HatuiApp([lab_cluster()], feed_factory=empty_feed)
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
async def test_every_sample_cluster_opens(path):
    cluster = load_cluster(path)
    app = HatuiApp([cluster], feed_factory=empty_feed)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert [r[0] for r in cells(app.query_one("#nodes", DataTable))] == list(cluster.nodes)


async def test_several_clusters_get_a_tab_each():
    clusters = [load_cluster(p) for p in SAMPLES[:2]]
    app = HatuiApp(clusters, feed_factory=empty_feed)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        views = list(app.query("ClusterView"))
        assert len(views) == 2
        # the tab on screen is built and drawn; the other is built when first shown
        await until_true(pilot, lambda: bool(views[0].query("#nodes")))
        assert not views[1].query("#nodes")
        app.query_one("TabbedContent").active = "cluster-1"
        await until_true(pilot, lambda: bool(views[1].query("#nodes")))


async def test_wallboard_is_glanceable_has_nothing_to_focus_and_cycles_clusters():
    clusters = [lab_cluster(), load_cluster(SAMPLES[0])]
    feeds = {"lab": recorded(split_brain=True), clusters[1].name: empty_feed}
    app = HatuiApp(clusters, watch=True, feed_factory=lambda c: feeds[c.name](c))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        boards = list(app.query("ClusterBoard"))
        assert len(boards) == 2
        lab = boards[0].last
        assert lab.health == "critical" and lab.vips == ("198.18.0.100 → db1, db2",)
        assert any("split brain" in msg for _, msg, _ in lab.alerts)
        assert boards[1].last.health == "connecting" and boards[1].last.stale  # no data at all: not judged
        assert not [w for w in app.query("*") if w.focusable]
        wall = app.query_one("Wallboard")
        assert app.query_one("ContentSwitcher").current == "board-0"
        wall.next_board()
        await pilot.pause()
        assert app.query_one("ContentSwitcher").current == "board-1"
        assert app.query_one("#ro-badge")


def test_wallboard_snapshot(snap_compare, fixed_clock):
    assert snap_compare(
        HatuiApp([lab_cluster("/etc/hatui/lab.yml")], watch=True, feed_factory=recorded(split_brain=True)),
        terminal_size=(100, 30),
    )


@pytest.fixture
def fixed_clock(monkeypatch):
    """Snapshots show times and ages: pin the clock and the zone so they never drift."""
    monkeypatch.setattr("time.time", lambda: FIXED_NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_console_snapshot(snap_compare, fixed_clock):
    assert snap_compare(HatuiApp([lab_cluster()], feed_factory=recorded()), terminal_size=(150, 34))


def test_split_brain_snapshot(snap_compare, fixed_clock):
    # the incident's next step names the cluster file: a fixed path, not the checkout's
    app = HatuiApp([lab_cluster("/etc/hatui/lab.yml")], feed_factory=recorded(split_brain=True, unreachable="db3"))
    assert snap_compare(app, terminal_size=(150, 34))


async def test_enter_on_a_node_opens_its_detail_and_esc_goes_back():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(150, 50)) as pilot:
        await pilot.pause()
        app.query_one("#nodes", DataTable).focus()
        await pilot.press("down", "enter")  # db2
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "NodeDetail" and screen.node == "db2"
        text = screen.sections_text()
        for needle in (
            "server_id: 2",
            "read_only: ON",
            "Replication",
            "source_host: 198.18.0.11",
            "VRRP instance VI_1",
            "state: BACKUP",
            "priority: 90 (base 90)",
        ):
            assert needle in text, needle
        assert [ln for ln in screen.query_one("#node-logs").lines_text()] and all(
            " db2 " in ln for ln in screen.query_one("#node-logs").lines_text()
        )
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "NodeDetail"


MARKUP_LOOKALIKE = (
    "Error 'Duplicate entry '[/]' for key 'PRIMARY'' on query. Default database: 'labdb'. "
    "Query: 'INSERT INTO t VALUES ('[bold red]x[/bold red]', '[/]', '[link=file:///etc]')'"
)


async def test_remote_text_is_shown_as_text_never_as_markup():
    """A replica error quoting application data ('[/]') used to exit the console with a
    MarkupError in node detail; it must show verbatim in every pane and toast."""
    app = HatuiApp([lab_cluster()], feed_factory=recorded(replica_error=MARKUP_LOOKALIKE))
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert any("Duplicate entry '[/]'" in " ".join(row) for row in cells(app.query_one("#repl", DataTable)))
        app.query_one("#nodes", DataTable).focus()
        await pilot.press("down", "down", "enter")  # db3
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "NodeDetail"
        assert "'[bold red]x[/bold red]', '[/]', '[link=file:///etc]'" in screen.sections_text()
        app.notify(MARKUP_LOOKALIKE, markup=False)
        await pilot.pause()
        assert app.is_running


def test_node_detail_snapshot(snap_compare, fixed_clock):
    async def open_db1(pilot):
        pilot.app.query_one("#nodes", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(
        HatuiApp([lab_cluster()], feed_factory=recorded()), terminal_size=(130, 60), run_before=open_db1
    )
