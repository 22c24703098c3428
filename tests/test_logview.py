"""The merged keepalived log pane: order, bounds, noise, filter, follow/pause, looks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

from hatui.keepalived import EventKind, KeepalivedEvent, parse_line
from hatui.state.store import StoredEvent
from screens.widgets.logview import LogView

T0 = datetime(2026, 11, 21, 15, 5, 0, tzinfo=UTC)

_seq = 0


def stored(node: str, second: float, message: str = "(VI_1) Entering MASTER STATE") -> StoredEvent:
    """A parsed keepalived line from `node`, logged `second` seconds after T0."""
    global _seq
    _seq += 1
    t = T0 + timedelta(seconds=second)
    line = f"{t:%a %b %d %H:%M:%S %Y}: {message}"
    ev = parse_line(line, node=node, tz="UTC")
    # parse_line has whole seconds; set the fraction so sub-second order can be checked
    ev = replace(ev, time=t)
    return StoredEvent(_seq, t.timestamp() + 0.5, node, ev)


class Host(App):
    def __init__(self, events=(), **kw):
        super().__init__()
        self._events = list(events)
        self._kw = kw

    def compose(self) -> ComposeResult:
        yield LogView(id="logs", tz=UTC, **self._kw)
        yield Footer()

    def on_mount(self) -> None:
        if self._events:
            self.query_one(LogView).add(self._events)


def header(app: App) -> str:
    return str(app.query_one("#logview-header", Static).content)


def top_row(view: LogView) -> str:
    """The text of the first row drawn on screen."""
    return view.query_one("#logview-body").render_line(0).text.rstrip()


def bottom_row(view: LogView) -> str:
    """The text of the last non-blank row drawn on screen."""
    body = view.query_one("#logview-body")
    rows = [body.render_line(y).text.rstrip() for y in range(body.size.height)]
    return next((row for row in reversed(rows) if row), "")


async def test_lines_are_merged_by_time_when_nodes_arrive_out_of_order():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        view.add([stored("db1", 1), stored("db1", 3), stored("db1", 5.25)])
        # db2's lines come later but were logged in between db1's
        view.add(
            [
                stored("db2", 2, "(VI_1) Entering BACKUP STATE"),
                stored("db2", 5.125),
                stored("db2", 4, "(VI_1) Entering BACKUP STATE"),
            ]
        )
        await pilot.pause()
        got = [(line[:12], line.split()[1]) for line in view.lines_text()]
        assert got == [
            ("15:05:01.000", "db1"),
            ("15:05:02.000", "db2"),
            ("15:05:03.000", "db1"),
            ("15:05:04.000", "db2"),
            ("15:05:05.125", "db2"),
            ("15:05:05.250", "db1"),
        ]
        assert bottom_row(view).startswith("15:05:05.250 db1")


async def test_event_without_a_time_is_placed_by_when_it_was_received():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        timeless = KeepalivedEvent(time=None, node="db2", kind=EventKind.RAW, detail="no timestamp here")
        view.add([stored("db1", 1), stored("db1", 3)])
        view.add([StoredEvent(999, (T0 + timedelta(seconds=2)).timestamp(), "db2", timeless)])
        await pilot.pause()
        lines = view.lines_text()
        assert [line[:12] for line in lines] == ["15:05:01.000", "15:05:02.000", "15:05:03.000"]
        assert "no timestamp here" in lines[1]


async def test_line_count_stays_bounded_and_keeps_the_newest():
    app = Host(max_lines=1000)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        events = [stored(("db1", "db2", "db3")[i % 3], i * 0.001) for i in range(20_000)]
        for start in range(0, 20_000, 5_000):
            view.add(events[start : start + 5_000])
        await pilot.pause()
        assert view.line_count == 1000
        lines = view.lines_text()
        assert len(lines) == 1000
        assert lines[0].startswith("15:05:19.000")  # event 19,000: the oldest kept
        assert lines[-1].startswith("15:05:19.999")  # event 19,999: the newest
        assert bottom_row(view).startswith("15:05:19.999")
        assert "1,000 lines" in header(app)


async def test_dump_and_garp_are_hidden_until_toggled():
    events = [
        stored("db1", 1),
        stored("db1", 2, "Printing VRRP data for process(123) on signal"),
        stored("db1", 3, "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 10.0.0.5"),
        stored("db2", 4, "(VI_1) Entering BACKUP STATE"),
    ]
    app = Host(events)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        assert len(view.lines_text()) == 2
        assert not any("Printing VRRP" in line or "gratuitous" in line for line in view.lines_text())
        assert "dump/garp hidden" in header(app)
        await pilot.press("d")
        lines = view.lines_text()
        assert len(lines) == 4
        assert "Printing VRRP" in lines[1] and "gratuitous" in lines[2]
        assert "dump/garp shown" in header(app)
        await pilot.press("d")
        assert len(view.lines_text()) == 2


async def test_filter_by_node_kind_and_text_from_the_keyboard():
    events = [
        stored("db1", 1),
        stored("db2", 2, "(VI_1) Entering BACKUP STATE"),
        stored("db1", 3, "VRRP_Script(chk_mysql) failed (exited with status 1)"),
        stored("db2", 4, "VRRP_Script(chk_mysql) succeeded"),
        stored("db1", 5, "(VI_1) Changing effective priority from 100 to 50"),
    ]
    app = Host(events)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        assert len(view.lines_text()) == 5

        await pilot.press("/", *"node:db1", "enter")
        lines = view.lines_text()
        assert len(lines) == 3 and all(line.split()[1] == "db1" for line in lines)
        assert "filter: node:db1" in header(app)
        assert app.focused is view  # back on the log: keys scroll again

        await pilot.press("/", *"kind:state", "enter")  # the old filter is selected: typing replaces it
        assert [line.split()[2] for line in view.lines_text()] == ["state", "state"]

        await pilot.press("/", *"FAILED", "enter")  # free text, any case
        lines = view.lines_text()
        assert len(lines) == 1 and "chk_mysql failed" in lines[0]

        await pilot.press("/", *"node:db2 kind:script", "enter")
        lines = view.lines_text()
        assert len(lines) == 1 and "chk_mysql succeeded" in lines[0]

        await pilot.press("escape")
        assert len(view.lines_text()) == 5
        assert "filter:" not in header(app)

        # Esc while typing clears and closes too
        await pilot.press("/", *"db2")
        assert app.focused is not view
        await pilot.press("escape")
        assert app.focused is view
        assert len(view.lines_text()) == 5


async def test_scrolling_up_pauses_and_counts_new_lines_until_end():
    app = Host([stored(("db1", "db2")[i % 2], i) for i in range(100)])
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        assert view.following
        assert bottom_row(view).startswith("15:06:39.000")  # event 99
        assert "following" in header(app)

        await pilot.press("up", "up", "up")
        assert not view.following
        top = top_row(view)
        view.add([stored("db1", 100 + i) for i in range(7)])
        await pilot.pause()
        assert view.pending_count == 7
        assert "paused · 7 new · End to follow" in header(app)
        assert top_row(view) == top  # the view stays where the user left it
        assert not bottom_row(view).startswith("15:06:4")

        await pilot.press("end")
        assert view.following and view.pending_count == 0
        assert bottom_row(view).startswith("15:06:46.000")  # the newest
        assert "following" in header(app) and "paused" not in header(app)

        view.add([stored("db2", 200)])
        await pilot.pause()
        assert bottom_row(view).startswith("15:08:20.000")  # follows the tail again


async def test_home_and_pageup_pause_and_f_resumes():
    app = Host([stored("db1", i) for i in range(100)])
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        await pilot.press("home")
        assert not view.following
        assert top_row(view).startswith("15:05:00.000")
        await pilot.press("f")
        assert view.following
        await pilot.press("pageup")
        assert not view.following
        view.add([stored("db1", 300)])
        await pilot.pause()
        assert view.pending_count == 1
        await pilot.press("f")
        assert view.following and view.pending_count == 0
        assert bottom_row(view).startswith("15:10:00.000")


async def test_mouse_wheel_up_pauses_and_wheeling_back_to_the_bottom_follows():
    app = Host([stored("db1", i) for i in range(100)])
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        body = view.query_one("#logview-body")
        await pilot.pause()

        def wheel(kind):
            body.post_message(kind(body, 10, 5, 0, 0, 0, False, False, False))

        wheel(events.MouseScrollUp)
        await pilot.pause()
        assert not view.following
        top = top_row(view)
        view.add([stored("db2", 500)])
        await pilot.pause()
        assert view.pending_count == 1 and top_row(view) == top
        for _ in range(5):
            wheel(events.MouseScrollDown)
        await pilot.pause()
        assert view.following and view.pending_count == 0
        assert bottom_row(view).startswith("15:13:20.000")


async def test_paused_view_does_not_jump_when_a_late_line_lands_above_it():
    app = Host([stored("db1", i) for i in range(100)])
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        await pilot.press("pageup", "pageup")
        top = top_row(view)
        view.add([stored("db2", 80.5), stored("db2", 10.5)])  # both belong above the bottom
        await pilot.pause()
        assert top_row(view) == top
        assert any(line.startswith("15:06:20.500 db2") for line in view.lines_text())


async def test_pending_counts_only_lines_the_filter_lets_through():
    app = Host([stored(("db1", "db2")[i % 2], i) for i in range(100)])
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(LogView)
        await pilot.pause()
        await pilot.press("/", *"node:db2", "enter", "up")
        view.add(
            [
                stored("db1", 200),
                stored("db2", 201),
                stored("db1", 202),
                stored("db2", 203, "Printing VRRP data for process(1) on signal"),
            ]
        )  # hidden noise
        await pilot.pause()
        assert view.pending_count == 1


def test_log_snapshot(snap_compare):
    messages = [
        "(VI_1) Entering BACKUP STATE",
        "VRRP_Script(chk_mysql) succeeded",
        "VRRP_Script(chk_mysql) failed (exited with status 1)",
        "(VI_1) Changing effective priority from 100 to 50",
        "(VI_1) Received advert from 10.0.0.2 with higher priority 110, ours 50",
        "(VI_1) Entering FAULT STATE",
        "(VI_1) Entering MASTER STATE",
        "Starting VRRP child process, pid=1234",
        "something keepalived says",
    ]
    events = [stored(("db1", "db2")[i % 2], i * 1.25, messages[i % len(messages)]) for i in range(30)]
    assert snap_compare(Host(events), terminal_size=(100, 30))
