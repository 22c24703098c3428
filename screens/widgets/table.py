"""A DataTable for tables refreshed in place: a changed cell re-renders that cell only, and the
render caches hold what a refreshing table can use again."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

# Every update_cell bumps the table's update count, which is in every render cache key, so
# after a tick's update nothing cached before it is used again. The stock caches (10 000
# cells, 1 000 rows and lines per table) filled with those dead entries at a tick a second:
# the console's four tables grew RSS by ~100 MB over a 30-minute chaos soak before levelling
# out. A few screenfuls of a 200-row table is what a render between two updates reuses.
CELLS = 4_000
ROWS = 400


class RefreshingTable(DataTable[Any]):
    """DataTable keys a cell's rendering on the table-wide update count, so one changed cell (a
    node's age ticking) re-rendered every cell through Rich: ~0.3 ms a cell, 36 cells for a
    3-node cluster's nodes table, several times a second, was the largest part of the console's
    CPU with a fleet open (bench/fleet.py). Here a cell's rendering is keyed on that cell's own
    last update, and on the count of every other change (rows added, cleared, sorted, resized,
    which change where cells are or their width)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cell_render_cache.maxsize = CELLS
        for cache in (self._row_render_cache, self._row_renderable_cache, self._line_cache):
            cache.maxsize = ROWS
        self._cell_updated: dict[tuple[RowKey, ColumnKey], int] = {}
        self._after_cells = 0  # the update count right after the last update_cell
        self._layout_count = 0  # the update count of the last change that was not an update_cell

    def _since_layout(self) -> int:
        if self._update_count != self._after_cells:  # something else changed the table since
            self._layout_count = self._update_count
        return self._layout_count

    def clear(self, columns: bool = False) -> RefreshingTable:
        self._cell_updated.clear()  # the rows go, and their cells' versions with them (alert rows come and go)
        super().clear(columns)
        return self

    def update_cell(
        self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *, update_width: bool = False
    ) -> None:
        self._since_layout()
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._after_cells = self._update_count
        row = RowKey(row_key) if isinstance(row_key, str) else row_key
        column = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        self._cell_updated[(row, column)] = self._update_count

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        layout = self._since_layout()
        row_key = self._header_row_key if row_index == -1 else self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        own = self._cell_updated.get((row_key, column_key), 0)
        # the stock method reads the count for its cache key: it reads this cell's version instead
        count = self._update_count
        self._update_count = (layout, own if own > layout else 0, width)  # type: ignore[assignment]
        try:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        finally:
            self._update_count = count
