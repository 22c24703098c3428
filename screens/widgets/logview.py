"""The keepalived logs of every node, merged in time order in one scrolling pane.

Why a Line-API `ScrollView` of our own rather than textual's `Log` or `RichLog`:
both keep only append order (no way to slot a late line from another node in by its
time), `Log` holds plain strings with one highlighter for every line (no per-field
colours), and `RichLog` renders every written line to strips up front and cannot re-apply
a filter without clearing and re-writing everything. Here the widget keeps one small record
per event (at most `max_lines`), derives the filtered list in one pass when needed, and
renders only the rows on screen (`render_line`), caching those strips. So memory is bounded
by `max_lines` and a frame costs the same whether 10 or 10,000 events arrived meanwhile.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from operator import attrgetter

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollDown, ScrollTo, ScrollUp
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from hatui.keepalived.events import EventKind

__all__ = ["LogBody", "LogFilter", "LogView", "severity"]

# Kinds hidden unless asked for: each VRRP dump the engine requests makes keepalived log
# a "Printing VRRP ... on signal" line, and every takeover sends a burst of gratuitous ARPs.
NOISE_KINDS = frozenset({EventKind.DUMP.value, EventKind.GARP.value})

# Node colours, by order of first appearance. Green, blue, red and yellow are left out:
# they mean MASTER, BACKUP, FAULT/failure and priority changes in the kind column.
NODE_PALETTE = ("#22b8cf", "#cc5de8", "#ff922b", "#20c997", "#f06595", "#9775fa", "#a9e34b", "#e599f7")

REORDER_WINDOW = 200  # a late line is slotted in among the newest this many lines, no further
STATE_WIDTH = 6  # MASTER / BACKUP
MAX_NODE_WIDTH = 16
MAX_INSTANCE_WIDTH = 16
MAX_DETAIL = 1000  # characters of detail kept per line

_CONTROL = {c: " " for c in range(32)} | {127: " "}
_ORDER = attrgetter("order")
_STATE_SEVERITY = {"MASTER": "master", "BACKUP": "backup", "FAULT": "fault", "STOP": "warn"}


def severity(event) -> str:
    """The colour class of an event's kind column: master, backup, fault, error, warn, dim or ""."""
    kind = event.kind
    if kind == EventKind.STATE:
        return _STATE_SEVERITY.get((event.state or "").upper(), "")
    if kind == EventKind.SCRIPT:
        result = (event.result or "").lower()
        if result in ("failed", "timed out"):
            return "error"
        return "dim" if result else ""
    if kind == EventKind.SCRIPT_RC:
        return "error" if event.rc not in (None, 0) else "dim"
    if kind in (EventKind.PRIORITY, EventKind.PRIORITY_ZERO, EventKind.ADVERT_TIMEOUT):
        return "warn"
    if kind in (EventKind.AUTH_MISMATCH, EventKind.INTERVAL_MISMATCH):
        return "error"
    if kind in (EventKind.RAW, EventKind.DUMP, EventKind.GARP):
        return "dim"
    return ""


@dataclass(frozen=True)
class LogFilter:
    """`node:db1 kind:state text`: node terms (exact, any of), kind terms (prefix, any of), and
    free words that must all occur, case-insensitively, in the line as shown."""

    text: str = ""
    nodes: frozenset[str] = frozenset()
    kinds: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        nodes: set[str] = set()
        kinds: list[str] = []
        words: list[str] = []
        for term in text.split():
            low = term.lower()
            if low.startswith("node:"):
                nodes.update(v for v in low[5:].split(",") if v)
            elif low.startswith("kind:"):
                kinds.extend(v for v in low[5:].split(",") if v)
            else:
                words.append(low)
        return cls(" ".join(text.split()), frozenset(nodes), tuple(kinds), tuple(words))

    @property
    def active(self) -> bool:
        return bool(self.nodes or self.kinds or self.words)

    def matches(self, line: _Line, tz: tzinfo | None = None) -> bool:
        if self.nodes and line.node.lower() not in self.nodes:
            return False
        if self.kinds and not line.kind.startswith(self.kinds):
            return False
        if not self.words:
            return True
        search = line.search(tz)
        return all(w in search for w in self.words)


class _Line:
    """One kept event. Only what ordering and the node/kind filter need is worked out on
    arrival; the text (time stamp, cleaned detail, colour class) is made the first time the
    line is drawn or searched: at thousands of lines a second most are dropped unseen."""

    __slots__ = ("order", "event", "node", "kind", "shown", "_fields", "_search")

    def __init__(self, order: tuple[float, int], event, node: str, kind: str):
        self.order = order  # (timestamp, seq): time order, arrival order among equal times
        self.event = event
        self.node = node
        self.kind = kind
        self.shown = True
        self._fields: tuple[str, str, str, str, str] | None = None
        self._search: str | None = None

    def fields(self, tz: tzinfo | None) -> tuple[str, str, str, str, str]:
        """(time stamp, instance, state, detail, colour class)."""
        f = self._fields
        if f is None:
            ev = self.event
            t = getattr(ev, "time", None)
            if t is None:
                t = datetime.fromtimestamp(self.order[0], tz)
            elif t.tzinfo is not None:
                t = t.astimezone(tz)
            stamp = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond // 1000:03d}"
            detail = (getattr(ev, "detail", "") or getattr(ev, "raw", "") or "")[:MAX_DETAIL]
            f = self._fields = (
                stamp,
                getattr(ev, "instance", None) or "",
                getattr(ev, "state", None) or "",
                detail.translate(_CONTROL),
                severity(ev),
            )
        return f

    def search(self, tz: tzinfo | None) -> str:
        """The line as shown, lower-cased, for free-text filtering."""
        s = self._search
        if s is None:
            stamp, instance, state, detail, _ = self.fields(tz)
            s = self._search = f"{stamp} {self.node} {self.kind} {instance} {state} {detail}".lower()
        return s


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


class LogBody(ScrollView, can_focus=False, inherit_bindings=False):
    """The scrolling rows of a LogView. Keys are bound on the LogView (which holds focus);
    the body turns mouse-wheel and scrollbar scrolling into follow/pause."""

    COMPONENT_CLASSES = {
        "logview--time",
        "logview--master",
        "logview--backup",
        "logview--fault",
        "logview--error",
        "logview--warn",
        "logview--dim",
    }

    DEFAULT_CSS = """
    LogBody {
        height: 1fr;
        overflow-x: hidden;  /* long lines: left/right keys; a scrollbar would cost a row */
        background: $surface;
        & > .logview--time { color: $text-muted; }
        & > .logview--master { color: $text-success; text-style: bold; }
        & > .logview--backup { color: dodgerblue; text-style: bold; }
        & > .logview--fault { color: $text-error; text-style: bold; }
        & > .logview--error { color: $text-error; text-style: bold; }
        & > .logview--warn { color: $text-warning; }
        & > .logview--dim { text-style: dim; }
    }
    """

    def __init__(self, owner: LogView, **kw):
        super().__init__(**kw)
        self._owner = owner
        self._base: Style | None = None
        self._width = 0

    def render_lines(self, crop: Region) -> list[Strip]:
        # looked up once per update rather than per row: both walk the CSS
        self._base = self.rich_style
        self._width = self.size.width
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._base is None:
            self._base, self._width = self.rich_style, self.size.width
        base, width = self._base, self._width
        scroll_x, scroll_y = self.scroll_offset
        rows = self._owner._visible
        index = scroll_y + y
        if index >= len(rows):
            return Strip.blank(width, base)
        return self._owner._strip(rows[index], base).crop_extend(scroll_x, scroll_x + width, base)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._owner._invalidate()

    def on_resize(self, event: events.Resize) -> None:
        if self._owner.following:
            self._owner._scroll_to_end()

    # The widget's own mouse and scrollbar handlers run after these (textual walks the MRO).
    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if not (event.ctrl or event.shift) and self.scroll_y > 0:
            self._owner._pause()

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if not (event.ctrl or event.shift):
            event.prevent_default()  # we scroll: reaching the bottom resumes following
            event.stop()
            self._owner._scroll_by(max(1, round(self.app.scroll_sensitivity_y)))

    def _on_scroll_to(self, message: ScrollTo) -> None:  # scrollbar drag
        if message.y is not None:
            if message.y < self.max_scroll_y:
                self._owner._pause()
            else:
                self._owner.action_follow()
                message.prevent_default()
                message.stop()

    def _on_scroll_up(self, message: ScrollUp) -> None:  # click on the scrollbar track
        if self.scroll_y > 0:
            self._owner._pause()

    def _on_scroll_down(self, message: ScrollDown) -> None:
        if self.scroll_y + self.scrollable_content_region.height >= self.max_scroll_y:
            self._owner.action_follow()
            message.prevent_default()
            message.stop()


class LogView(Widget, can_focus=True):
    """Merged keepalived log lines of all nodes, oldest at the top, following the tail.

    The app feeds it `add(store.events_since(last_seq))`. Keys: `/` filter, Esc clear it,
    up/pgup/home or the mouse wheel pause following, End or `f` resume, `d` shows dump/garp.
    """

    BINDINGS = [
        Binding("slash", "open_filter", "Filter", id="logview.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="logview.clear_filter"),
        Binding("f", "follow", "Follow", id="logview.follow"),
        Binding("p", "pause", "Pause", show=False, id="logview.pause"),
        Binding("end", "follow", "Follow", show=False, id="logview.end"),
        Binding("d", "toggle_noise", "dump/garp", id="logview.noise"),
        Binding("up", "scroll_lines(-1)", "Up", show=False, id="logview.up"),
        Binding("down", "scroll_lines(1)", "Down", show=False, id="logview.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="logview.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="logview.pagedown"),
        Binding("home", "home", "Oldest", show=False, id="logview.home"),
        Binding("left", "scroll_columns(-8)", "Left", show=False, id="logview.left"),
        Binding("right", "scroll_columns(8)", "Right", show=False, id="logview.right"),
    ]

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        layout: vertical;
        & > #logview-header {
            dock: top;
            height: 1;
            padding: 0 1;
            background: $panel;
            color: $text-muted;
        }
        &:focus-within > #logview-header { color: $text; }
        &.-paused > #logview-header { background: $warning-muted; color: $text; }
        & > #logview-filter { dock: bottom; display: none; }
        &.-filtering > #logview-filter { display: block; }
    }
    """

    def __init__(
        self,
        max_lines: int = 5000,
        *,
        tz: tzinfo | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ):
        """max_lines: lines kept (the oldest go first); tz: zone the times are shown in
        (default this machine's)."""
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max(1, int(max_lines))
        self._tz = tz
        self._lines: list[_Line] = []  # every kept line, time order
        self._visible: list[_Line] = []  # the ones shown: filter and noise toggle applied
        self._filter = LogFilter()
        self._show_noise = False
        self._following = True
        self._pending = 0
        self._node_styles: dict[str, Style] = {}
        self._node_w = 4
        self._kind_w = 5
        self._inst_w = 4
        self._detail_w = 0
        self._cache: LRUCache[_Line, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        self._cache_base: Style | None = None
        self._header_text: str | None = None
        self._body = LogBody(self, id="logview-body")

    # ------------------------------------------------------------------ public
    @property
    def following(self) -> bool:
        """True while the view sticks to the newest line."""
        return self._following

    @property
    def pending_count(self) -> int:
        """Lines (passing the filter) that arrived since following paused."""
        return self._pending

    @property
    def filter_text(self) -> str:
        return self._filter.text

    @property
    def show_noise(self) -> bool:
        """Whether dump and garp lines are shown."""
        return self._show_noise

    @property
    def line_count(self) -> int:
        """Lines kept (before the filter)."""
        return len(self._lines)

    def lines_text(self) -> list[str]:
        """The lines the filter lets through, as plain text, oldest first."""
        return [self._plain(line).rstrip() for line in self._visible]

    def add(self, events: Iterable) -> None:
        """Append a batch of `StoredEvent`s (any number; out-of-order ones are slotted in by time)."""
        batch = events if isinstance(events, Sequence) else list(events)
        if not batch:
            return
        keep = self.max_lines + REORDER_WINDOW  # older ones would be dropped straight away
        if len(batch) > keep:
            batch = batch[-keep:]
        new = [self._make_line(stored) for stored in batch]
        new.sort(key=_ORDER)  # nearly sorted already: linear
        lines = self._lines
        if lines and new[0].order < lines[-1].order:
            tail_order = lines[-1].order
            split = bisect_left(new, tail_order, key=_ORDER)
            for line in new[:split]:
                lo = max(0, len(lines) - REORDER_WINDOW)
                lines.insert(bisect_right(lines, line.order, lo, key=_ORDER), line)
            lines.extend(new[split:])
        else:
            lines.extend(new)
        excess = len(lines) - self.max_lines
        if excess > 0:
            del lines[:excess]
        arrived = sum(1 for line in new if line.shown)
        if not self._following:
            self._pending += arrived
        self._rebuild()

    def clear(self) -> None:
        """Forget every line (a replay jumped: what it shows is refilled from the store)."""
        self._lines.clear()
        self._pending = 0
        self._rebuild()

    def set_filter(self, text: str) -> None:
        """Apply a filter (`node:db1 kind:state words`); empty shows everything."""
        self._filter = LogFilter.parse(text)
        self._reclassify()
        self._rebuild()
        self.refresh_bindings()

    # ------------------------------------------------------------------ compose / lifecycle
    def compose(self) -> ComposeResult:
        yield Static(id="logview-header")
        yield self._body
        yield Input(
            placeholder="node:db1 kind:state text · Enter applies · Esc clears", id="logview-filter", compact=True
        )

    def on_mount(self) -> None:
        self._rebuild()

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self._filter.active or self.has_class("-filtering")
        if action == "open_filter":
            return not self.has_class("-filtering")
        return True

    def action_open_filter(self) -> None:
        field = self.query_one("#logview-filter", Input)
        field.value = self._filter.text
        self.add_class("-filtering")
        field.focus()
        self.refresh_bindings()
        self._update_header()

    def action_clear_filter(self) -> None:
        if not (self._filter.active or self.has_class("-filtering")):
            raise SkipAction()
        self._close_filter()
        if self._filter.active:
            self.set_filter("")

    @on(Input.Submitted, "#logview-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_filter()
        self.set_filter(event.value)

    def action_follow(self) -> None:
        self._following = True
        self._pending = 0
        self.remove_class("-paused")
        self._scroll_to_end()
        self._update_header()

    def action_pause(self) -> None:
        self._pause()

    def action_toggle_noise(self) -> None:
        self._show_noise = not self._show_noise
        self._reclassify()
        self._rebuild()

    def action_scroll_lines(self, delta: int) -> None:
        self._scroll_by(delta)

    def action_page(self, pages: int) -> None:
        self._scroll_by(pages * max(1, self._body.scrollable_content_region.height - 1))

    def action_home(self) -> None:
        self._scroll_by(-len(self._visible) - 1)

    def action_scroll_columns(self, delta: int) -> None:
        self._body.scroll_to(x=max(0, self._body.scroll_x + delta), animate=False, force=True)

    # ------------------------------------------------------------------ follow / pause
    def _pause(self) -> None:
        if self._following:
            self._following = False
            self._pending = 0
            self.add_class("-paused")
            self._update_header()

    def _scroll_by(self, delta: int) -> None:
        body = self._body
        y = body.scroll_offset.y
        if delta < 0:
            if y <= 0:
                return  # nothing above: stay as we are
            self._pause()
            body.scroll_to(y=max(0, y + delta), animate=False, force=True)
        elif y + delta >= body.max_scroll_y:
            self.action_follow()
        else:
            body.scroll_to(y=y + delta, animate=False, force=True)

    def _scroll_to_end(self) -> None:
        body = self._body
        body.scroll_to(y=body.max_scroll_y, animate=False, force=True)

    def _close_filter(self) -> None:
        if self.has_class("-filtering"):
            self.remove_class("-filtering")
            self.focus()
            self.refresh_bindings()
            self._update_header()

    # ------------------------------------------------------------------ model
    def _make_line(self, stored) -> _Line:
        ev = stored.event
        t = getattr(ev, "time", None)
        ts = stored.received_at if t is None else t.timestamp()
        node = stored.node or getattr(ev, "node", None) or "?"
        kind = getattr(ev, "kind", "raw")
        kind = kind.value if isinstance(kind, EventKind) else str(kind)
        line = _Line((ts, stored.seq), ev, node, kind)
        line.shown = self._wanted(line)
        if node not in self._node_styles:
            colour = NODE_PALETTE[len(self._node_styles) % len(NODE_PALETTE)]
            self._node_styles[node] = Style(color=colour, bold=True)
            if len(node) > self._node_w and self._node_w < MAX_NODE_WIDTH:
                self._node_w = min(MAX_NODE_WIDTH, len(node))
                self._cache.clear()
        if len(kind) > self._kind_w:
            self._kind_w = len(kind)
            self._cache.clear()
        instance = getattr(ev, "instance", None)
        if instance and len(instance) > self._inst_w and self._inst_w < MAX_INSTANCE_WIDTH:
            self._inst_w = min(MAX_INSTANCE_WIDTH, len(instance))
            self._cache.clear()
        detail_len = len(getattr(ev, "detail", "") or "")
        if detail_len > self._detail_w:
            self._detail_w = min(MAX_DETAIL, detail_len)
        return line

    def _wanted(self, line: _Line) -> bool:
        f = self._filter
        if line.kind in NOISE_KINDS and not (self._show_noise or f.kinds):
            return False  # naming kind:dump in the filter shows them too
        return f.matches(line, self._tz)

    def _reclassify(self) -> None:
        for line in self._lines:
            line.shown = self._wanted(line)

    def _rebuild(self) -> None:
        """Recompute the shown lines, keep the view where the user left it, redraw."""
        body = self._body
        anchor = None
        if not self._following and self._visible:
            anchor = self._visible[min(len(self._visible) - 1, body.scroll_offset.y)]
        self._visible = [line for line in self._lines if line.shown]
        if not self.is_mounted:
            return
        body.virtual_size = Size(self._prefix_width() + self._detail_w, len(self._visible))
        if self._following:
            self._scroll_to_end()
        elif anchor is not None:
            try:
                top = self._visible.index(anchor)
            except ValueError:  # dropped or filtered out: the nearest line in time
                top = bisect_left(self._visible, anchor.order, key=_ORDER)
            body.scroll_to(y=top, animate=False, force=True)
        body.refresh()
        self._update_header()

    # ------------------------------------------------------------------ rendering
    def _prefix_width(self) -> int:
        return 12 + 1 + self._node_w + 1 + self._kind_w + 1 + self._inst_w + 1 + STATE_WIDTH + 1

    def _plain(self, line: _Line) -> str:
        stamp, instance, state, detail, _ = line.fields(self._tz)
        return (
            f"{stamp} {_fit(line.node, self._node_w)} {line.kind.ljust(self._kind_w)} "
            f"{_fit(instance, self._inst_w)} {state.ljust(STATE_WIDTH)} {detail}"
        )

    def _invalidate(self) -> None:
        self._cache.clear()
        self._styles.clear()

    def _style(self, base: Style, name: str) -> Style:
        """The widget's base style with a colour class (or a node's colour) on top, made once."""
        style = self._styles.get(name)
        if style is None:
            if name.startswith("node:"):
                extra = self._node_styles.get(name[5:])
            elif name:
                extra = self._body.get_component_rich_style(f"logview--{name}")
            else:
                extra = None
            style = self._styles[name] = base + extra if extra is not None else base
        return style

    def _strip(self, line: _Line, base: Style) -> Strip:
        if base != self._cache_base:  # theme or CSS changed under us
            self._invalidate()
            self._cache_base = base
        strip = self._cache.get(line)
        if strip is not None:
            return strip
        stamp, instance, state, detail, sev_name = line.fields(self._tz)
        sev = self._style(base, sev_name)
        loud = sev_name in ("dim", "error")  # the detail too: faint noise, or a failure in red
        gap = Segment(" ", base)
        strip = Strip(
            [
                Segment(stamp, self._style(base, "time")),
                gap,
                Segment(_fit(line.node, self._node_w), self._style(base, f"node:{line.node}")),
                gap,
                Segment(line.kind.ljust(self._kind_w), sev),
                gap,
                Segment(_fit(instance, self._inst_w), sev if sev_name == "dim" else base),
                gap,
                Segment(state.ljust(STATE_WIDTH), sev if line.kind == "state" else base),
                gap,
                Segment(detail, sev if loud else base),
            ]
        )
        self._cache[line] = strip
        return strip

    def _update_header(self) -> None:
        if not self.is_mounted:
            return
        shown, kept = len(self._visible), len(self._lines)
        status = "following" if self._following else f"paused · {self._pending:,} new · End to follow"
        parts = [f"{shown:,} lines" if shown == kept else f"{shown:,} of {kept:,} lines"]
        if self._filter.active:
            parts.append(f"filter: {self._filter.text}")
        parts.append("dump/garp shown" if self._show_noise else "dump/garp hidden")
        if self.has_class("-filtering"):
            parts.append("editing filter: Enter applies, Esc clears")
        rest = " · ".join(parts)
        key = f"{status}\0{rest}"
        if key == self._header_text:
            return
        self._header_text = key
        # the follow state first: it is what a narrow pane must not cut off
        text = Text(status, style="bold" if not self._following else "")
        text.append(" │ " + rest)
        self.query_one("#logview-header", Static).update(text)
