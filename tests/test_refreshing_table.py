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


def cells(table: RefreshingTable) -> list[list[str]]:
    """Each drawn row's cells, under the header."""
    return [line.split() for line in drawn(table)[1:]]


async def two_column_table(pilot, app, columns: tuple[str, str], rows: dict[str, tuple[str, str]]) -> RefreshingTable:
    t = app.query_one(RefreshingTable)
    for c in columns:
        t.add_column(c, key=c)
    for key, (a, b) in rows.items():
        t.add_row(Text(a), Text(b), key=key)
    await pilot.pause()
    return t


async def test_a_changed_cell_is_drawn_and_the_others_stay_as_they_were():
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        t = await two_column_table(pilot, app, ("node", "age"), {"db1": ("db1", "1s"), "db2": ("db2", "7s")})
        assert cells(t) == [["db1", "1s"], ["db2", "7s"]]
        for n in range(2, 6):  # the same cell again and again: never an earlier value
            t.update_cell("db1", "age", Text(f"{n}s"))
            assert cells(t) == [["db1", f"{n}s"], ["db2", "7s"]]

        t.sort("age", key=lambda age: age.plain)  # rows move: each cell is drawn where its row now is
        assert cells(t) == [["db1", "5s"], ["db2", "7s"]]
        t.update_cell("db2", "age", Text("0s"))
        t.sort("age", key=lambda age: age.plain)
        assert cells(t) == [["db2", "0s"], ["db1", "5s"]]

        t.update_cell("db1", "node", Text("a-much-longer-node-name"), update_width=True)
        await pilot.pause()  # the column grows on idle
        assert cells(t) == [["db2", "0s"], ["a-much-longer-node-name", "5s"]]

        t.clear()
        t.add_row(Text("db3"), Text("2s"), key="db3")
        await pilot.pause()
        assert cells(t) == [["db3", "2s"]]
        t.update_cell("db3", "age", Text("3s"))
        assert cells(t) == [["db3", "3s"]]


async def test_a_row_cleared_and_added_again_under_its_key_shows_its_new_cells():
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        t = await two_column_table(pilot, app, ("node", "state"), {"db1": ("db1", "up")})
        t.update_cell("db1", "state", Text("DOWN"))
        assert drawn(t)[1].split() == ["db1", "DOWN"]
        t.clear()  # the set of rows changed: the dashboard rebuilds the table under the same keys
        t.add_row(Text("db1"), Text("up"), key="db1")
        await pilot.pause()
        assert drawn(t)[1].split() == ["db1", "up"]
        t.update_cell("db1", "state", Text("DOWN"))
        assert drawn(t)[1].split() == ["db1", "DOWN"]
