"""Keys and conventions: help, the command palette, panel keys, mouse, resizing, stale panels."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from screens.app import HatuiApp
from screens.widgets.bigtext import big_text
from tests.recorded import empty_feed, lab_cluster, recorded

# Everything a wallboard's palette may offer: looking and leaving, never changing a node.
WATCH_PALETTE = {"Theme", "Quit", "Keys", "Screenshot", "Help", "Next cluster", "Maximize", "Minimize"}


def titles(app) -> list[str]:
    return [c.title for c in app.get_system_commands(app.screen)]


async def test_question_mark_opens_help_listing_the_real_keys_and_esc_closes_it():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        text = app.screen.plain_text()
        for needle in ("Filter", "Follow", "Quit", "Command palette", "Nodes", "critical", "STALE"):
            assert needle in text, needle
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "HelpScreen"
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.press("q")  # q closes help; it does not quit the console from there
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ != "HelpScreen"


async def test_palette_offers_what_is_on_screen():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        t = titles(app)
        for needle in (
            "Node detail: db1",
            "Node detail: db3",
            "Logs: only db2",
            "Logs: only state changes",
            "Logs: pause",
            "Go to: Alerts",
            "Help",
            "Theme",
        ):
            assert needle in t, needle
        assert "Logs: clear filter" not in t  # nothing to clear yet
        app.current_view().filter_logs("node:db1")
        await pilot.pause()
        assert "Logs: clear filter" in titles(app)
        assert all(" db1 " in ln for ln in app.query_one("#logs").lines_text())


async def test_palette_typed_command_opens_a_node_and_then_offers_other_nodes():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"detail", "space", *"db3")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "NodeDetail" and app.screen.node == "db3"
        t = titles(app)
        assert "Back to the dashboard" in t and "Node detail: db1" in t and "Node detail: db3" not in t


async def test_watch_palette_offers_nothing_that_acts_on_the_cluster():
    app = HatuiApp([lab_cluster(), lab_cluster()], watch=True, feed_factory=recorded())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        offered = set(titles(app))
        assert offered <= WATCH_PALETTE, offered - WATCH_PALETTE
        assert "Next cluster" in offered
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Read-only wallboard" in app.screen.plain_text()


async def test_number_keys_and_slash_reach_the_panels():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key, panel in (("2", "vrrp"), ("3", "repl"), ("4", "alerts"), ("5", "logs"), ("1", "nodes")):
            await pilot.press(key)
            await pilot.pause()
            assert app.focused.id == panel or app.focused.parent.id == panel, (key, app.focused)
        await pilot.press("slash")
        await pilot.pause()
        assert app.focused.id == "logview-filter"
        await pilot.press(*"node:db2", "enter")
        await pilot.pause()
        lines = app.query_one("#logs").lines_text()
        assert lines and all(" db2 " in ln for ln in lines)


async def test_clicking_a_node_row_opens_its_detail():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one("#nodes", DataTable)
        region = table.region
        await pilot.click(offset=(region.x + 2, region.y + 2))  # header row, db1, db2
        await pilot.pause()
        assert table.cursor_row == 1 and type(app.screen).__name__ != "NodeDetail"  # a click highlights
        await pilot.click(offset=(region.x + 2, region.y + 2))  # a click on the highlighted row opens it
        await pilot.pause()
        assert type(app.screen).__name__ == "NodeDetail" and app.screen.node == "db2"


@pytest.mark.parametrize("watch", [False, True], ids=["console", "wallboard"])
async def test_layout_survives_resizing_from_80x24_up_and_down(watch):
    app = HatuiApp([lab_cluster()], watch=watch, feed_factory=recorded(split_brain=True, unreachable="db3"))
    async with app.run_test(size=(80, 24)) as pilot:
        for size in ((80, 24), (200, 60), (100, 30), (80, 24), (240, 70), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            screen = app.screen
            assert screen.size == size
            if watch:
                board = app.query_one("ClusterBoard")
                assert board.region.height >= 10 and board.region.width == size[0]
                shown = "\n".join(ln.text for ln in board.render_lines(board.region.reset_offset))
                assert "198.18.0.100" in shown and "split brain" in shown
            else:
                header = app.query_one("#cluster-header")
                assert "CRITICAL" in str(header.render()) and header.region.width > 0
                nodes = app.query_one("#nodes", DataTable)
                assert nodes.region.height >= 4 and nodes.region.right <= size[0]
            footer = app.query_one("Footer")
            assert footer.region.y == size[1] - 1  # the footer stays on the last line


async def test_stale_panels_say_so_with_the_data_age():
    app = HatuiApp([lab_cluster()], feed_factory=recorded(unreachable="db3"))
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        nodes_title = str(app.query_one("#nodes-title").render())
        assert "STALE" in nodes_title and "db3" in nodes_title and "45s old" in nodes_title
        assert "STALE" in str(app.query_one("#repl-title").render())
        assert "STALE" not in str(app.query_one("#vrrp-title").render())  # db3 runs no keepalived

    fresh = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with fresh.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert "STALE" not in str(fresh.query_one("#nodes-title").render())


async def test_empty_cluster_palette_and_help_do_not_crash():
    app = HatuiApp([lab_cluster()], feed_factory=empty_feed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Node detail: db1" in titles(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


def test_big_status_words_are_three_rows_and_refuse_unknown_letters():
    for word in ("OK", "WARN", "CRIT", "UNKNOWN"):
        rows = big_text(word)
        assert len(rows) == 3 and len({len(r) for r in rows}) == 1 and len(rows[0]) >= 5 * len(word)
    assert big_text("OK") != big_text("KO")
    with pytest.raises(ValueError, match="'Z'"):
        big_text("ZZ")


async def test_a_cleared_alert_fades_into_history_under_the_active_ones():
    from hatui.mysql.status import MysqlStatus
    from hatui.state import Kind
    from hatui.views.feed import RecordedFeed
    from tests.recorded import lab_state

    cluster = lab_cluster()
    store = lab_state(cluster)
    healthy = store.latest("db3", Kind.MYSQL).value
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        store.put("db3", Kind.MYSQL, MysqlStatus(up=False, error="(2003) Can't connect"))
        await pilot.pause(0.6)
        rows = [
            [str(c) for c in r]
            for r in (
                app.query_one("#alerts", DataTable).get_row_at(i)
                for i in range(app.query_one("#alerts", DataTable).row_count)
            )
        ]
        assert rows[0][:3] == ["critical", "dead_node", "db3"]  # the incident, its alert under it
        assert rows[1][:3] == ["critical", "  └ mysql.down", "db3"]
        store.put("db3", Kind.MYSQL, healthy)
        await pilot.pause(0.6)
        table = app.query_one("#alerts", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows and rows[0][:3] == ["cleared", "mysql.down", "db3"]
        assert rows[0][4].startswith("cleared ") and "does not answer" in rows[0][4]
        assert table.get_row_at(0)[4].style == "dim"  # the whole row is faded
