"""`?`: every key of the screen underneath, what the colours mean, and where to look next.

The key lists are read from the widgets' own BINDINGS, so help cannot drift from the keys."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

COLOURS = (
    ("green", "healthy: no alert on it"),
    ("yellow", "warning: lag over the warning threshold, a check failing, data out of date"),
    ("bold red", "critical: split brain, VIP on a dead or read-only database, replication stopped"),
    ("dim", "unknown: not read yet, or the node cannot be reached (never shown as healthy)"),
)

CONVENTIONS = (
    "Data older than its refresh interval allows is marked STALE in the panel title, with its age.",
    "MySQL behind a dead SSH tunnel shows '?': unknown, not down.",
    "The log pane follows new lines; scrolling up pauses it and counts what arrives; End resumes.",
    "Log filter: node:db1 kind:state words (node and kind accept comma lists).",
    "ctrl+p opens the command palette: node detail, log filters, panels, theme.",
)


def _keys_table(title: str, bindings: list[Binding], describe) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 2, 0, 0))
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    seen = set()
    for b in bindings:
        if b.description and (b.key, b.description) not in seen:
            seen.add((b.key, b.description))
            t.add_row(describe(b), b.description)
    return t


class HelpScreen(ModalScreen[None]):
    """Keys and conventions; Esc, q or ? closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("q", "dismiss", "Close", show=False, id="help.close_q"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help.close_help"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list[Binding]]], watch: bool):
        super().__init__()
        self.sections = sections
        self.watch = watch

    def renderables(self) -> list[RenderableType]:
        describe = self.app.get_key_display
        parts: list[RenderableType] = []
        if self.watch:
            parts.append(Text("Read-only wallboard: nothing here can change a node.", style="bold"))
        parts += [_keys_table(title, bindings, describe) for title, bindings in self.sections]
        legend = Table(
            title="Colours", title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 2, 0, 0)
        )
        legend.add_column(no_wrap=True)
        legend.add_column()
        for style, meaning in COLOURS:
            legend.add_row(Text("■ " + style.split()[-1], style=style), meaning)
        parts += [legend, Text("\n".join(f"• {c}" for c in CONVENTIONS)), Text("Esc closes this help.", style="dim")]
        return parts

    def plain_text(self, width: int = 100) -> str:
        """The help as plain text (tests, and anyone piping it)."""
        console = Console(width=width, file=io.StringIO(), color_system=None)
        for part in self.renderables():
            console.print(part)
        return console.file.getvalue()

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for part in self.renderables():
                yield Static(part)
