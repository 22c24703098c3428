"""RefreshingTable keeps each cell's rendering until that cell changes: what it draws must still
be what it holds after updates, sorting, clearing and a column growing."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from screens.widgets.table import RefreshingTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RefreshingTable(id="t", cursor_type="row")


def drawn(table: RefreshingTable) -> list[str]:
    lines = table.render_lines(Region(0, 0, table.size.width, table.row_count + 1))
    return [line.text.rstrip() for line in lines]


async def test_a_changed_cell_is_drawn_and_the_others_stay_as_they_were():
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        t = app.query_one(RefreshingTable)
        t.add_column("node", key="node")
        t.add_column("age", key="age")
        t.add_row(Text("db1"), Text("1s"), key="db1")
        t.add_row(Text("db2"), Text("7s"), key="db2")
        await pilot.pause()
        assert [line.split() for line in drawn(t)[1:]] == [["db1", "1s"], ["db2", "7s"]]
        for n in range(2, 6):  # the same cell again and again: never an earlier value
            t.update_cell("db1", "age", Text(f"{n}s"))
            assert [line.split() for line in drawn(t)[1:]] == [["db1", f"{n}s"], ["db2", "7s"]]

        t.sort("age", key=lambda age: age.plain)  # rows move: each cell is drawn where its row now is
        assert [line.split() for line in drawn(t)[1:]] == [["db1", "5s"], ["db2", "7s"]]
        t.update_cell("db2", "age", Text("0s"))
        t.sort("age", key=lambda age: age.plain)
        assert [line.split() for line in drawn(t)[1:]] == [["db2", "0s"], ["db1", "5s"]]

        t.update_cell("db1", "node", Text("a-much-longer-node-name"), update_width=True)
        await pilot.pause()  # the column grows on idle
        assert [line.split() for line in drawn(t)[1:]] == [["db2", "0s"], ["a-much-longer-node-name", "5s"]]

        t.clear()
        t.add_row(Text("db3"), Text("2s"), key="db3")
        await pilot.pause()
        assert [line.split() for line in drawn(t)[1:]] == [["db3", "2s"]]
        t.update_cell("db3", "age", Text("3s"))
        assert [line.split() for line in drawn(t)[1:]] == [["db3", "3s"]]


async def test_a_row_cleared_and_added_again_under_its_key_shows_its_new_cells():
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        t = app.query_one(RefreshingTable)
        t.add_column("node", key="node")
        t.add_column("state", key="state")
        t.add_row(Text("db1"), Text("up"), key="db1")
        await pilot.pause()
        t.update_cell("db1", "state", Text("DOWN"))
        assert drawn(t)[1].split() == ["db1", "DOWN"]
        t.clear()  # the set of rows changed: the dashboard rebuilds the table under the same keys
        t.add_row(Text("db1"), Text("up"), key="db1")
        await pilot.pause()
        assert drawn(t)[1].split() == ["db1", "up"]
        t.update_cell("db1", "state", Text("DOWN"))
        assert drawn(t)[1].split() == ["db1", "DOWN"]
