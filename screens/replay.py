"""`hatui replay FILE`: the console (or the wallboard) fed from a recording. Read-only by
construction: the feed connects to nothing, the recorded cluster has no hooks, runbooks refuse."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from hatui.record.file import Recording
from hatui.record.player import ReplayFeed
from hatui.record.replay import parse_moment
from screens.app import HatuiApp


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S")


class GoTo(ModalScreen[str | None]):
    """Asks for a moment: 03:12, 2026-12-06T03:12:00, +SECONDS."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="replay.goto.cancel")]
    DEFAULT_CSS = """
    GoTo { align: center middle; }
    GoTo > Horizontal { width: 70; height: 3; border: round $primary; background: $surface; }
    GoTo Static { width: auto; padding: 0 1; }
    GoTo Input { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("go to:")
            yield Input(placeholder="03:12:07, 2026-12-06T03:12:00 or +SECONDS", id="goto")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class ReplayApp(HatuiApp):
    RUNS_RUNBOOKS = False  # a recording: the palette offers no runbook (each would only refuse)
    BINDINGS = [
        *HatuiApp.BINDINGS,
        Binding("space", "toggle", "Play/pause", priority=True, id="replay.toggle"),
        Binding("full_stop", "step(1)", "Step +1 s", priority=True, id="replay.forward"),
        Binding("comma", "step(-1)", "Step -1 s", priority=True, id="replay.back"),
        Binding("n", "next_mark", "Next event", priority=True, id="replay.next"),
        Binding("right_square_bracket", "speed(1)", "Faster", priority=True, id="replay.faster"),
        Binding("left_square_bracket", "speed(-1)", "Slower", priority=True, id="replay.slower"),
        Binding("g", "goto", "Go to time", priority=True, id="replay.goto"),
    ]

    def __init__(self, rec: Recording, *, watch: bool = False, at: float | None = None):
        self.rec = rec
        self.player = ReplayFeed(rec, at=at)
        super().__init__([self.player.store.cluster], watch=watch, feed_factory=lambda c: self.player)

    def on_mount(self) -> None:
        super().on_mount()
        self.title = f"hatui REPLAY · {self.player.store.cluster.name}"
        self._show_time()
        self.set_interval(0.25, self._show_time)

    def _show_time(self) -> None:
        p = self.player.state()
        mark = "▶" if p.playing else "❚❚"
        self.sub_title = f"REPLAY {_when(p.at)}  {mark} ×{p.speed:g}  ({_when(p.start)} – {_when(p.end)})"

    def _moved(self) -> None:
        self._show_time()
        self.refresh_views()

    def refresh_views(self) -> None:
        """Redraw at once after a jump (the views tick on their own while playing)."""
        for view in self.query("ClusterView, ClusterBoard"):
            view.refresh_state()  # type: ignore[attr-defined]

    def action_toggle(self) -> None:
        self.player.toggle()
        self._show_time()

    def action_step(self, direction: int) -> None:
        self.player.step(direction)
        self._moved()

    def action_next_mark(self) -> None:
        if self.player.next_mark() is None:
            self.notify("nothing happens after this moment in the recording")
        self._moved()

    def action_speed(self, direction: int) -> None:
        self.player.faster(direction)
        self._show_time()

    def action_goto(self) -> None:
        def go(text: str | None) -> None:
            if not text:
                return
            try:
                self.player.seek(parse_moment(text, self.rec))
            except Exception as exc:  # the parser says what it expected
                self.notify(str(exc), severity="error")
                return
            self._moved()

        self.push_screen(GoTo(), go)

    def open_runbook(self, cluster, title, target, build) -> None:
        self.notify("a replay: nothing can run from it", severity="error")


def run(rec: Recording, *, watch: bool = False, at: float | None = None) -> int:
    ReplayApp(rec, watch=watch, at=at).run()
    return 0
