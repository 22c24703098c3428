"""A runbook on screen: checklist and plan first (a dry run: reads only), then the confirmation
(type the target's name), then every action as it is sent, and the final report.

The screen only renders the engine's events; the Runner does everything else."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, RichLog, Static

from hatui.runbook.model import Event, Outcome
from hatui.runbook.report import event_lines
from hatui.runbook.runner import Report, Runner

# (dry_run, on_event) -> Runner; the console builds real ones, tests pass their own
RunnerFactory = Callable[[bool, Callable[[Event], None]], Runner]

STYLE = {
    "check": "",
    "refused": "bold red",
    "failed": "bold red",
    "rolled_back": "bold yellow",
    "done": "bold green",
    "step_failed": "red",
    "undo_failed": "bold red",
    "step_start": "bold",
}
OUTCOME_STYLE = {
    Outcome.DONE: "bold white on green",
    Outcome.DRY_RUN: "bold white on blue",
    Outcome.REFUSED: "bold white on red",
    Outcome.ROLLED_BACK: "bold black on yellow",
    Outcome.FAILED: "bold white on red",
}


class RunbookScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "Back", id="runbook.back"),
        Binding("ctrl+a", "abort", "Abort", id="runbook.abort"),
    ]
    DEFAULT_CSS = """
    RunbookScreen #rb-title { padding: 1 1 0 1; text-style: bold; }
    RunbookScreen #rb-status { padding: 0 1; }
    RunbookScreen RichLog { height: 1fr; border: round $primary; }
    RunbookScreen #rb-confirm { height: 3; padding: 0 1; display: none; }
    RunbookScreen #rb-confirm.-shown { display: block; }
    RunbookScreen #rb-confirm Static { width: auto; padding: 1 1 0 0; }
    RunbookScreen #rb-confirm Input { width: 30; }
    """

    def __init__(self, title: str, target: str, factory: RunnerFactory):
        super().__init__()
        self.title_text = title
        self.target = target
        self.factory = factory
        self.runner: Runner | None = None
        self.phase = "checking"  # checking, refused, confirm, running, finished
        self.report: Report | None = None
        self.lines: list[str] = []  # everything shown, as plain text (tests, copy/paste)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(Text(self.title_text), id="rb-title")
            yield Static("running the checks (reads only)…", id="rb-status")
            yield RichLog(id="rb-log", wrap=False, markup=False, auto_scroll=True)
            with Horizontal(id="rb-confirm"):
                yield Static(Text(f"Type {self.target} to go ahead: "))
                yield Input(id="rb-name", placeholder=self.target)
                yield Button("Cancel", id="rb-cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._plan(), exclusive=True)

    # ------------------------------------------------------------------ events
    def _show(self, ev: Event) -> None:
        log = self.query_one("#rb-log", RichLog)
        for line in event_lines(ev):
            self.lines.append(line)
            style = STYLE.get(ev.kind, "")
            if ev.kind == "check":
                style = {"pass": "green", "warn": "yellow", "fail": "bold red"}.get(ev.data.get("verdict", ""), "")
            log.write(Text(line, style=style))

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#rb-status", Static).update(Text(text, style=style))

    # ------------------------------------------------------------------ phases
    async def _plan(self) -> None:
        runner = self.factory(True, self._show)
        self.report = report = await runner.plan()
        if report.outcome == Outcome.REFUSED:
            self.phase = "refused"
            failed = sum(c.failed for c in report.checks)
            self._status(
                f" REFUSED: {failed} check(s) failed; nothing was changed. Esc to go back ",
                OUTCOME_STYLE[Outcome.REFUSED],
            )
            return
        self.phase = "confirm"
        self._status("All checks passed. Read the plan above, then confirm below.", "bold")
        self.query_one("#rb-confirm").add_class("-shown")
        self.query_one("#rb-name", Input).focus()

    @on(Input.Submitted, "#rb-name")
    def _typed(self, event: Input.Submitted) -> None:
        if self.phase != "confirm":
            return
        if event.value.strip() != self.target:
            self._status(f"That is not {self.target}: nothing was done. Type it exactly, or Cancel.", "bold red")
            return
        self.query_one("#rb-confirm").remove_class("-shown")
        self.phase = "running"
        self._status(
            " RUNNING: ctrl+a aborts (everything done so far is undone, before the VIP moves) ",
            "bold white on dark_orange",
        )
        self.run_worker(self._execute(), exclusive=True)

    @on(Button.Pressed, "#rb-cancel")
    def _cancel(self) -> None:
        self.action_close()

    async def _execute(self) -> None:
        self.query_one("#rb-log", RichLog).write(Text("── executing ──", style="bold"))
        self.runner = self.factory(False, self._show)

        async def confirmed(checks, steps) -> bool:  # the DBA typed the name on this screen
            return True

        self.report = report = await self.runner.execute(confirmed)
        self.phase = "finished"
        words = {
            Outcome.DONE: "DONE",
            Outcome.REFUSED: "REFUSED: nothing was changed",
            Outcome.ROLLED_BACK: "ROLLED BACK: the cluster is as it was",
            Outcome.FAILED: "FAILED: needs you (see above; `hatui runbook status`)",
        }
        self._status(
            f" {words.get(report.outcome, report.outcome)} in {report.seconds:.2f} s. "
            f"Audit log: {self.runner.audit.path}. Esc to go back ",
            OUTCOME_STYLE[report.outcome],
        )

    # ------------------------------------------------------------------ keys
    def action_abort(self) -> None:
        if self.phase == "running" and self.runner is not None:
            self.runner.abort()
            self._status(" ABORTING: undoing what was done… ", "bold white on red")

    def action_close(self) -> None:
        if self.phase == "running":
            self.notify("A runbook is running: ctrl+a aborts it; the screen closes when it ends.", severity="warning")
            return
        self.app.pop_screen()
