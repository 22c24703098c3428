"""A DataTable whose render caches hold what a refreshing table can use again."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

# Every update_cell bumps the table's update count, which is in every render cache key, so
# after a tick's update nothing cached before it is used again. The stock caches (10 000
# cells, 1 000 rows and lines per table) filled with those dead entries at a tick a second:
# the console's four tables grew RSS by ~100 MB over a 30-minute chaos soak before levelling
# out. A few screenfuls of a 200-row table is what a render between two updates reuses.
CELLS = 4_000
ROWS = 400


class RefreshingTable(DataTable[Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cell_render_cache.maxsize = CELLS
        for cache in (self._row_render_cache, self._row_renderable_cache, self._line_cache):
            cache.maxsize = ROWS
