"""A console session recorded on the real lab and replayed: a VIP move, a killed mysqld and a
runbook run from the console. At three moments `hatui status --json` said, live, how the cluster
was; the replay at those moments must say the same. And no secret of the lab (the VRRP password,
any MySQL password) is anywhere in the file, compressed or not."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime

import zstandard
from textual.widgets import DataTable, Input

from hatui.cluster import load_cluster
from hatui.record.file import Recording
from hatui.record.replay import status_at
from screens.app import HatuiApp

from .support import hatui, vip_holders, vip_to, wait_until


def settled(d: dict) -> dict:
    """What must be the same in a replay and live: who writes, who holds each VIP, each node's
    MySQL (up, read-only, its channels' source and threads), keepalived's states, the incidents.
    Not the ages or lag seconds of two readings taken a moment apart."""
    nodes = {}
    for n in d["nodes"]:
        m = n["mysql"]
        k = n["keepalived"]
        nodes[n["name"]] = {
            "reachable": n["reachable"],
            "mysql": None
            if m is None
            else (
                m["up"],
                m["read_only"],
                m["server_id"],
                tuple((c["source_host"], c["io_running"], c["sql_running"]) for c in m["replication"]),
            ),
            "keepalived": None if k is None else (k["running"], tuple((i["name"], i["state"]) for i in k["instances"])),
            "vips": n["vips"],
        }
    return {
        "writer": d["writer"],
        "vips": sorted((v["address"], tuple(sorted(v["holders"]))) for v in d["vips"]),
        "nodes": nodes,
        "incidents": sorted((i["code"], tuple(i["nodes"])) for i in d["incidents"]),
    }


def incident_codes(app) -> list[str]:
    t = app.query_one("#alerts", DataTable)
    rows = [[str(c) for c in t.get_row_at(i)] for i in range(t.row_count)]
    return [r[1] for r in rows if not r[1].startswith("  └") and r[0] != "cleared"]


def test_a_recorded_session_replays_to_what_status_said_live_and_holds_no_secret(lab, op, tmp_path, monkeypatch):
    monkeypatch.setenv("HATUI_STATE_DIR", str(tmp_path / "state"))
    vip_to(lab, "db1")
    cluster = load_cluster(lab.spec.cluster_file)
    path = tmp_path / "session.hrec"
    live: list[dict] = []

    def status_now() -> None:
        r = hatui(lab, tmp_path / "state", "status", "--json")
        live.append(json.loads(r.stdout))

    async def until(pilot, what, check, timeout):
        for _ in range(int(timeout / 0.1)):
            if check():
                return
            await pilot.pause(0.1)
        raise AssertionError(f"the console did not show {what} within {timeout} s")

    async def scenario():
        app = HatuiApp([cluster], record=path)
        async with app.run_test(size=(200, 60)) as pilot:
            began = asyncio.get_running_loop().time()
            await until(pilot, "a healthy cluster", lambda: app.query_one("#alerts", DataTable).row_count == 0, 30)
            await pilot.pause(3.0)
            await asyncio.to_thread(status_now)  # 1: healthy, db1 writes
            await asyncio.to_thread(lab.fault, "stop-keepalived", "db1")
            await asyncio.to_thread(wait_until, "the VIP on db2", lambda: vip_holders(lab) == ["db2"], 20)
            await pilot.pause(4.0)
            await asyncio.to_thread(status_now)  # 2: the VIP moved to db2, keepalived down on db1
            await asyncio.to_thread(lab.fault, "start-keepalived", "db1")
            await asyncio.to_thread(lab.fault, "kill-mysqld", "db3")
            await until(pilot, "db3 down", lambda: "dead_node" in incident_codes(app), 20)
            await pilot.pause(3.0)
            await asyncio.to_thread(status_now)  # 3: db3's mysqld killed
            await asyncio.to_thread(lab.fault, "start-mysqld", "db3")
            await until(pilot, "db3 back", lambda: "dead_node" not in incident_codes(app), 30)
            # a runbook from the console: rejoin db3 (a healthy replica: checks, then verifies)
            app.open_rejoin(cluster, "db3")
            await until(pilot, "the rejoin's confirmation", lambda: app.screen.query("#rb-name"), 20)
            await until(pilot, "the plan", lambda: app.screen.phase in ("confirm", "refused"), 60)
            assert app.screen.phase == "confirm", app.screen.lines
            app.screen.query_one("#rb-name", Input).value = "db3"
            await pilot.press("enter")
            await until(pilot, "the rejoin done", lambda: app.screen.phase == "finished", 60)
            await pilot.press("escape")
            # two minutes in all: more than one keyframe (every 60 s), so the replays below seek
            # through keyframes and batches, not one picture
            left = 125.0 - (asyncio.get_running_loop().time() - began)
            await pilot.pause(max(0.5, left))
            await pilot.press("q")

    op.run(scenario(), timeout=360)
    assert len(live) == 3
    rec = Recording(path)
    span = rec.span()
    assert span is not None and span[1] - span[0] >= 115
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM keyframes").fetchone()[0] >= 2
    for i, d in enumerate(live):
        t = datetime.fromisoformat(d["taken_at"]).timestamp()
        replayed = status_at(rec, t)
        assert settled(replayed) == settled(d), f"moment {i + 1} ({d['taken_at']})"
    # the moments are the ones the scenario made
    assert settled(live[1])["vips"][0][1] == ("db2",) and live[0]["writer"] == "db1"
    assert any(c == "dead_node" for c, _ in settled(live[2])["incidents"])
    notes = rec.notes(float("-inf"), float("inf"))
    assert any(what == "incident_raised" and dd["code"] == "dead_node" for _, what, dd in notes)
    steps = [dd for _, what, dd in notes if what == "runbook" and not dd["dry_run"]]
    assert any(s["kind"] == "done" for s in steps), steps

    # no secret anywhere: the file's bytes, and every compressed batch and keyframe opened
    secrets = [lab.spec.vrrp_pass] + [p.read_text().strip() for p in lab.spec.secrets_dir.glob("*.pw")]
    assert all(len(s) >= 8 for s in secrets)
    blobs = [path.read_bytes()]
    db = sqlite3.connect(path)
    d = zstandard.ZstdDecompressor()
    blobs += [d.decompress(b) for (b,) in db.execute("SELECT blob FROM batches UNION ALL SELECT blob FROM keyframes")]
    blobs += [x.encode() for (x,) in db.execute("SELECT data FROM events UNION ALL SELECT data FROM notes")]
    blobs += [x.encode() for (x,) in db.execute("SELECT value FROM meta")]
    assert len(blobs) > 10
    for s in secrets:
        assert not any(s.encode() in b for b in blobs), "a secret is in the recording"
    vip_to(lab, "db1")
