"""Replication lag over time: a plot of every replica channel, and a one-line sparkline per row.

Both draw from a `hatui.views.lag_history.LagHistory`; the app feeds the history snapshots and
calls `update_from` (at most about once a second: a plotext redraw is not free).
"""

from __future__ import annotations

from typing import Protocol

from textual.app import RenderResult
from textual.widgets import Sparkline
from textual_plotext import PlotextPlot

from hatui.views.lag_history import LagHistory, SeriesKey

__all__ = ["LagPlot", "LagSparkline", "sparkline_for", "SERIES_COLOURS"]

TITLE = "replication lag (s)"
WARNING_COLOUR = (255, 175, 0)
CRITICAL_COLOUR = (255, 60, 60)
# One colour per series, in key order; no orange or red: those mean the thresholds.
SERIES_COLOURS: tuple[tuple[int, int, int], ...] = (
    (0, 170, 255),  # blue
    (80, 220, 100),  # green
    (200, 120, 255),  # violet
    (0, 220, 220),  # cyan
    (255, 110, 200),  # pink
    (190, 190, 80),  # olive
    (150, 150, 255),  # lavender
    (220, 220, 220),  # grey
)


# each series' label and its stretches of (x: seconds from now, lag) points
Series = tuple[tuple[str, tuple[tuple[tuple[float, float], ...], ...]], ...]


class LagThresholds(Protocol):
    lag_warning: float
    lag_critical: float


class LagPlot(PlotextPlot):
    """Lag of every series over the history's window: x = seconds ago (-window..0), y = lag (s).

    Each replica channel has its own colour and legend entry; an unknown lag breaks the line.
    Horizontal lines mark the cluster's lag_warning (orange) and lag_critical (red).
    """

    DEFAULT_CSS = """
    LagPlot {
        min-height: 8;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None, disabled: bool = False
    ):
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.drawn: tuple[str, ...] = ()  # legend labels drawn last time, in order
        self._drawn_version = 0  # bumped by every _draw; with the size and theme, the built plot's key
        self._built: tuple[tuple[object, ...], RenderResult] | None = None
        self._shown: tuple[object, ...] | None = None  # the picture last drawn (update_from)
        self._draw(LagHistory(), (), None)

    def render(self) -> RenderResult:
        # plotext builds the whole plot on every render, and a widget renders again whenever its
        # part of the screen is redrawn (a table above it updating): ~4 ms a time, several times
        # a second with a fleet open (bench/fleet.py). Built again only when what it shows changed.
        key = (self._drawn_version, self.size, self.app.theme, self.theme)
        if self._built is None or self._built[0] != key:
            self._built = (key, super().render())
        return self._built[1]

    def _axes(self, *, window: float, top: float) -> None:
        plt = self.plt
        plt.title(TITLE)
        plt.xlabel("seconds ago")
        plt.xlim(-window, 0)
        plt.ylim(0, top)
        ticks = [-window * i / 4 for i in range(4, -1, -1)]
        plt.xticks(ticks, [f"{t + 0.0:g}" for t in ticks])  # + 0.0: no "-0"

    def update_from(self, history: LagHistory, now: float, thresholds: LagThresholds | None = None) -> None:
        """Redraw from scratch: every series in `history`, relative to `now`. Nothing is redrawn
        when the picture is the same (a flat lag a second later, on a 600 s axis: most seconds
        once the window is full); a redraw costs ~20 ms."""
        series = self._series(history, now)
        limits = (thresholds.lag_warning, thresholds.lag_critical) if thresholds is not None else None
        picture = (self.size, history.window_seconds, limits, series)
        if picture == self._shown:
            return
        self._shown = picture
        self._draw(history, series, thresholds)
        self.refresh()

    def _series(self, history: LagHistory, now: float) -> Series:
        """What the plot shows: each series' stretches, their times snapped to a grid of half a
        character (plotext draws two points a character across: finer does not show), so the
        same picture a second later is the same data, drawn the same."""
        # not laid out yet (no width): the times as they are
        step = history.window_seconds / (2 * self.size.width) if self.size.width else 0.0
        series = []
        for key in history.series():
            runs = []
            for run in history.segments(key):
                snapped: list[tuple[float, float]] = []
                for at, lag in run:
                    x = round((at - now) / step) * step if step else at - now
                    if snapped and snapped[-1][0] == x:
                        snapped[-1] = (x, max(lag, snapped[-1][1]))  # one point a cell: the higher lag
                    else:
                        snapped.append((x, lag))
                runs.append(tuple(snapped))
            series.append((history.label(key), tuple(runs)))
        return tuple(series)

    def _draw(self, history: LagHistory, series: Series, thresholds: LagThresholds | None) -> None:
        plt = self.plt
        self._drawn_version += 1
        plt.clear_data()  # drops the previous signals, threshold lines and limits
        window = history.window_seconds
        top = 0.0
        drawn: list[str] = []
        for i, (label, runs) in enumerate(series):
            colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            shown: str | None = label
            for run in runs:
                xs = [x for x, _ in run]
                ys = [lag for _, lag in run]
                plt.plot(xs, ys, color=colour, label=shown)
                if shown is not None:
                    drawn.append(shown)
                shown = None  # one legend entry per series, however many stretches it has
                top = max(top, max(ys))
        if thresholds is not None:
            plt.hline(thresholds.lag_warning, WARNING_COLOUR)
            plt.hline(thresholds.lag_critical, CRITICAL_COLOUR)
            top = max(top, thresholds.lag_critical)
        top = top * 1.1 if top > 0 else 1.0
        if not drawn:
            unknown = [label for label, _ in series]
            message = f"lag unknown: {', '.join(unknown)}" if unknown else "no replication lag measured yet"
            plt.text(message, -window / 2, top / 2, alignment="center")
        self._axes(window=window, top=top)
        self.drawn = tuple(drawn)


class LagSparkline(Sparkline):
    """A compact lag trend for one replica row: the last `points` values of its series.

    Unknown lag shows as 0 (a sparkline has no holes). The colour tells the highest lag shown:
    green below lag_warning, the warning colour from lag_warning, the error colour from
    lag_critical; `level` holds which ("ok", "warning", "critical", or "" when nothing is known).
    """

    DEFAULT_CSS = """
    LagSparkline {
        width: 20;
        height: 1;
    }
    LagSparkline > .sparkline--max-color { color: $success; }
    LagSparkline > .sparkline--min-color { color: $success 40%; }
    LagSparkline.-warning > .sparkline--max-color { color: $warning; }
    LagSparkline.-warning > .sparkline--min-color { color: $warning 40%; }
    LagSparkline.-critical > .sparkline--max-color { color: $error; }
    LagSparkline.-critical > .sparkline--min-color { color: $error 40%; }
    """

    def __init__(
        self,
        key: SeriesKey,
        *,
        points: int = 20,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ):
        super().__init__([], name=name, id=id, classes=classes, disabled=disabled)
        self.key = key
        self.points = points
        self.level = ""

    def update_from(self, history: LagHistory, thresholds: LagThresholds | None = None) -> None:
        values = history.sparkline_values(self.key, self.points)
        self.data = values
        peak = max(values) if values else None
        if peak is None:
            level = ""
        elif thresholds is not None and peak >= thresholds.lag_critical:
            level = "critical"
        elif thresholds is not None and peak >= thresholds.lag_warning:
            level = "warning"
        else:
            level = "ok"
        self.level = level
        self.set_class(level == "warning", "-warning")
        self.set_class(level == "critical", "-critical")


def sparkline_for(history: LagHistory, key: SeriesKey, thresholds: LagThresholds | None = None, **kw) -> LagSparkline:
    """A LagSparkline for `key`, already filled from `history`."""
    spark = LagSparkline(key, **kw)
    spark.update_from(history, thresholds)
    return spark
