"""The runbook screen: checklist and plan, confirmation by typing the target, live progress,
abort, final report. Driven by the real Runner with a recording runbook (no cluster needed);
the lab tests run the real switchover."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Input, RichLog

from hatui.runbook.model import Check, Verdict
from hatui.runbook.runner import Runner
from hatui.ssh.pool import SessionPool
from screens.app import HatuiApp
from screens.runbook import RunbookScreen
from tests.recorded import Fake, lab_cluster, recorded


def screen_for(tmp_path, rb: Fake) -> RunbookScreen:
    def make(dry_run, on_event):
        return Runner(
            lab_cluster(),
            rb,
            pool=SessionPool([]),
            on_event=on_event,
            base_dir=tmp_path,
            dry_run=dry_run,
            who="dba@test",
        )

    return RunbookScreen("Switchover of lab to db2", "db2", make)


class Host(App):
    def __init__(self, screen):
        super().__init__()
        self.rb_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.rb_screen)


async def settle(pilot, screen, phase, timeout=5.0):
    for _ in range(int(timeout / 0.05)):
        if screen.phase == phase:
            return
        await pilot.pause(0.05)
    raise AssertionError(f"phase {screen.phase}, expected {phase}")


async def test_checks_and_plan_first_then_typing_the_target_runs_it(tmp_path):
    rb = Fake()
    screen = screen_for(tmp_path, rb)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, "confirm")
        text = "\n".join(screen.lines)
        assert "✔ all good: yes" in text and "1. step a" in text and "undo: undo a" in text
        assert rb.did == []  # nothing ran before the confirmation
        await pilot.press(*"db3", "enter")  # the wrong name does nothing
        await pilot.pause(0.2)
        assert screen.phase == "confirm" and rb.did == []
        screen.query_one("#rb-name").value = ""
        await pilot.press(*"db2", "enter")
        await settle(pilot, screen, "finished")
        assert rb.did == ["a", "b", "c", "d"]
        assert "DONE" in str(screen.query_one("#rb-status").render())
        assert any(ln.startswith("▶ step c") for ln in screen.lines)


async def test_failed_checks_refuse_without_a_confirmation(tmp_path):
    rb = Fake(checks=[Check("db2 lag under 5 s", Verdict.FAIL, "12 s behind", "wait until it catches up")])
    screen = screen_for(tmp_path, rb)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, "refused")
        assert "REFUSED" in str(screen.query_one("#rb-status").render())
        assert "→ wait until it catches up" in "\n".join(screen.lines)
        assert not screen.query_one("#rb-confirm").has_class("-shown")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, RunbookScreen)


async def test_ctrl_a_aborts_and_everything_is_undone(tmp_path):
    rb = Fake(hang_at="b", commit_at="d")
    screen = screen_for(tmp_path, rb)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, "confirm")
        await pilot.press(*"db2", "enter")
        await settle(pilot, screen, "running")
        for _ in range(400):  # until the hanging step b runs
            if "b" in rb.did:
                break
            await pilot.pause(0.05)
        await pilot.press("escape")  # cannot leave while it runs
        await pilot.pause()
        assert pilot.app.screen is screen
        await pilot.press("ctrl+a")
        await settle(pilot, screen, "finished")
        assert rb.did == ["a", "b", "undo b", "undo a"]
        assert "ROLLED BACK" in str(screen.query_one("#rb-status").render())


async def test_console_palette_offers_switchovers_and_the_wallboard_does_not():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Runbook: switch over to db2" in titles and "Runbook: switch over to db3" not in titles
        # gap repair from the other master into the writer (db1 holds the VIP in the recording),
        # and rejoin of any node but the writer
        assert "Runbook: repair binlog gap db2 → db1" in titles
        assert {"Runbook: rejoin db2", "Runbook: rejoin db3"} <= set(titles) and "Runbook: rejoin db1" not in titles
        assert "Runbook: repoint replicas to db1" in titles  # the writer every replica follows
        assert not [t for t in titles if "fail over" in t]  # the writer answers: nothing to fail over
        assert not [t for t in titles if "stopped on" in t]  # every channel runs: nothing to skip
    dup = HatuiApp(
        [lab_cluster()],
        feed_factory=recorded(replica_error="Duplicate entry '7' for key 'PRIMARY'", replica_errno=1062),
    )
    async with dup.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in dup.get_system_commands(dup.screen)]
        # every channel stopped on a duplicate key: skip it where the rows match, or pick a side
        for n in ("db1", "db2", "db3"):
            assert {
                f"Runbook: skip the transaction {n} stopped on",
                f"Runbook: skip the transaction {n} stopped on, keeping {n}'s version",
                f"Runbook: apply the transaction {n} stopped on over {n}'s own row",
            } <= set(titles)
    dead = HatuiApp([lab_cluster()], feed_factory=recorded(writer_down=True))
    async with dead.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        titles = [c.title for c in dead.get_system_commands(dead.screen)]
        # db1 died and nothing took over: any server that answers can be promoted
        assert {"Runbook: fail over to db2", "Runbook: fail over to db3"} <= set(titles)
        assert "Runbook: fail over to db1" not in titles and not [t for t in titles if "repoint" in t]
    wall = HatuiApp([lab_cluster()], watch=True, feed_factory=recorded())
    async with wall.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not [c for c in wall.get_system_commands(wall.screen) if "Runbook" in c.title]
        wall.open_switchover(lab_cluster(), "db2")  # even called directly, it refuses
        wall.open_repair_gap(lab_cluster(), "db2", "db1")
        wall.open_rejoin(lab_cluster(), "db2")
        wall.open_repoint(lab_cluster(), "db1")
        wall.open_failover(lab_cluster(), "db2")
        wall.open_skip_applied(lab_cluster(), "db2", "take-source")
        await pilot.pause()
        assert not isinstance(wall.screen, RunbookScreen)


def test_runbook_screen_snapshot(snap_compare, tmp_path):
    rb = Fake()

    async def wait_for_plan(pilot):
        screen = pilot.app.rb_screen
        await settle(pilot, screen, "confirm")
        # the input's cursor blinks every 0.5 s: on a busy machine the picture caught it off
        screen.query_one("#rb-name", Input).cursor_blink = False
        log = screen.query_one("#rb-log", RichLog)
        for _ in range(100):  # every line shown is drawn (RichLog draws once it has a size)
            if log.size.height and len(log.lines) >= len(screen.lines):
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(Host(screen_for(tmp_path, rb)), terminal_size=(110, 36), run_before=wait_for_plan)


class Previewing(Fake):
    """A runbook whose preflight shows what it would apply, as gap repair does."""

    async def preflight(self, ctx):
        ctx.note("2 transaction(s) to recover: 1-1-4 … 1-1-5")
        ctx.note("    INSERT labdb.t (id=10, v='old10')")
        return await super().preflight(ctx)


async def test_the_preview_is_on_screen_before_the_confirmation(tmp_path):
    rb = Previewing()
    screen = screen_for(tmp_path, rb)
    async with Host(screen).run_test(size=(120, 40)) as pilot:
        await settle(pilot, screen, "confirm")
        text = "\n".join(screen.lines)
        assert "2 transaction(s) to recover: 1-1-4 … 1-1-5" in text
        assert "INSERT labdb.t (id=10, v='old10')" in text
        assert rb.did == []
