"""`hatui replay FILE`: the console fed from a recording, with its time controls; read-only."""

from __future__ import annotations

from textual.widgets import DataTable

from hatui.record.file import Recording
from screens.replay import ReplayApp
from tests.recorded import T0, record_a_failover, until


def incidents(app) -> list[str]:
    t = app.query_one("#alerts", DataTable)
    rows = [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]
    return [r[1] for r in rows if not r[1].startswith("  └") and r[0] != "cleared"]


async def test_the_replay_console_goes_to_a_moment_steps_plays_and_refuses_to_act(tmp_path):
    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=300)
    app = ReplayApp(Recording(path))
    async with app.run_test(size=(180, 50), notifications=True) as pilot:
        await pilot.pause(0.5)
        assert app.player.now == T0 and "REPLAY" in app.sub_title and "❚❚" in app.sub_title
        assert incidents(app) == []
        await pilot.press("g")
        await pilot.press(*"+250", "enter")
        await until(pilot, lambda: incidents(app) == ["dead_writer_vip_moved"])
        assert app.player.now == T0 + 250
        await pilot.press("comma")  # one second back: still after the failover
        assert app.player.now == T0 + 249 and app.player.playing is False
        logs = app.query_one("#logs")
        await until(pilot, lambda: any("FAULT" in line for line in logs.lines_text()))
        await pilot.press("g")
        await pilot.press(*"+100", "enter")
        await until(pilot, lambda: incidents(app) == [])
        # back before the failover: the log pane holds what had arrived by then, not after
        await until(pilot, lambda: not any("FAULT" in line for line in logs.lines_text()))
        await pilot.press("n")  # the next thing that happened: the failover, at +200
        assert app.player.now == T0 + 200
        await until(pilot, lambda: incidents(app) == ["dead_writer_vip_moved"])
        await pilot.press("right_square_bracket", "space")  # x10, play
        await until(pilot, lambda: app.player.now > T0 + 203)  # 0.3 s of playing at x10
        assert app.player.playing and app.player.speed == 10
        assert "▶ ×10" in app.sub_title
        await pilot.press("space")
        # the palette offers no runbook (each would only refuse), and one asked for refuses
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles and not [t for t in titles if t.startswith("Runbook")]
        app.open_runbook(app.clusters[0], "x", "db1", lambda planned: None)
        await pilot.pause(0.2)
        assert any("nothing can run" in str(n.message) for n in app._notifications)
        await pilot.press("q")


async def test_the_wallboard_replays_too(tmp_path):
    from screens.wallboard import ClusterBoard

    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=300)
    app = ReplayApp(Recording(path), watch=True, at=T0 + 100)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.query_one(ClusterBoard)
        await until(pilot, lambda: board.last is not None and board.last.health == "ok")
        await pilot.press("g")
        await pilot.press(*"+250", "enter")
        await until(pilot, lambda: board.last.health == "critical")
        assert any("dead_writer_vip_moved" in msg or "db1" in msg for _, msg, _ in board.last.alerts)
        await pilot.press("q")


def test_replay_at_a_moment_prints_what_status_json_prints(tmp_path, capsys):
    import json

    from hatui.cli import main

    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=300)
    assert main(["replay", str(path), "--at", "+250", "--json"]) == 2  # critical, as status says
    d = json.loads(capsys.readouterr().out)
    assert set(d) >= {"cluster", "topology", "taken_at", "writer", "nodes", "vips", "incidents", "alerts"}
    assert d["exit_code"] == 2 and "replayed_at" in d
    assert [i["code"] for i in d["incidents"]] == ["dead_writer_vip_moved"]
    assert main(["replay", str(path), "--at", "+10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["incidents"] == []
    assert main(["replay", str(path), "--at", "yesterday"]) == 3  # bad input: UNKNOWN, as for a bad file
    assert "expected a moment as" in capsys.readouterr().err
    assert main(["replay", str(path), "--json"]) == 3
    assert "--json needs --at" in capsys.readouterr().err
