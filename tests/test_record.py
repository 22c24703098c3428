"""Recordings without a lab (hatui.record): what a console saw, written as it happened, read back
as the very same typed readings at any moment; refused clearly when it is not one we can read;
never holding a secret."""

from __future__ import annotations

import sqlite3

import pytest
import zstandard

from hatui.cluster import load_cluster_text
from hatui.record.file import KEYFRAME_SECONDS, Recording, RecordingError, RecordingWriter
from hatui.record.replay import parse_moment, status_at, store_at
from tests.recorded import T0, record_a_failover


def test_the_state_at_any_recorded_second_is_what_the_store_held_then(tmp_path):
    path = tmp_path / "r.hrec"
    seen = record_a_failover(path)
    r = Recording(path)
    assert r.span() == (T0, T0 + 300)
    for t in (T0 + 1, T0 + 59, T0 + 61, T0 + 199, T0 + 200, T0 + 201, T0 + 254.5, T0 + 300):
        want = seen[float(int(t))]
        got = r.state_at(t)
        assert got == want, t  # the same typed readings, with the times they were taken
    assert len(r.events(float("-inf"), T0 + 300)) == 2 and r.events(float("-inf"), T0 + 199) == []
    [(t, what, data)] = r.notes(float("-inf"), T0 + 300)
    assert (t, what, data["code"]) == (T0 + 200, "incident_raised", "dead_writer_vip_moved")


def test_status_at_a_moment_is_what_status_json_says_of_that_store(tmp_path):
    from hatui.rules.health import evaluate
    from hatui.rules.incidents import correlate
    from hatui.status import status_dict

    path = tmp_path / "r.hrec"
    record_a_failover(path)
    r = Recording(path)
    before, after = status_at(r, T0 + 150), status_at(r, T0 + 250)
    assert before["incidents"] == [] and before["exit_code"] == 0
    assert [i["code"] for i in after["incidents"]] == ["dead_writer_vip_moved"]
    snap = store_at(r, T0 + 250).snapshot(max_events=None)
    alerts = evaluate(snap)
    want = status_dict(snap, alerts, correlate(snap, alerts))
    assert {k: v for k, v in after.items() if k not in ("exit_code", "replayed_at")} == want


def test_a_day_of_readings_is_mostly_repeats_and_a_seek_reads_one_keyframe_and_a_minute(tmp_path):
    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=600)
    db = sqlite3.connect(path)
    n_lines = sum(n for (n,) in db.execute("SELECT n FROM batches"))
    keyframes = db.execute("SELECT COUNT(*) FROM keyframes").fetchone()[0]
    assert n_lines >= 600 * 4 and keyframes >= 600 // KEYFRAME_SECONDS - 1
    repeats = 0
    d = zstandard.ZstdDecompressor()
    for (blob,) in db.execute("SELECT blob FROM batches"):
        repeats += d.decompress(blob).count(b",null]")
    assert repeats > n_lines * 0.7  # an unchanged reading is written as "the same, taken at t"


def test_moments_are_read_in_the_forms_a_dba_types(tmp_path):
    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=20)
    r = Recording(path)
    assert parse_moment("+5", r) == T0 + 5 and parse_moment(str(T0 + 7), r) == T0 + 7
    from datetime import datetime

    local = datetime.fromtimestamp(T0 + 3).astimezone()
    assert parse_moment(local.strftime("%H:%M:%S"), r) == T0 + 3
    assert parse_moment(local.replace(tzinfo=None).isoformat(), r) == T0 + 3
    with pytest.raises(RecordingError, match="expected a moment as"):
        parse_moment("yesterday", r)


def test_a_file_that_is_not_a_recording_or_is_from_a_newer_hatui_is_refused_with_its_name(tmp_path):
    other = tmp_path / "x.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(RecordingError, match=r"x\.db: not a hatui recording"):
        Recording(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(RecordingError, match=r"notes\.txt: not a hatui recording"):
        Recording(text)
    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=5)
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    db.commit()
    with pytest.raises(
        RecordingError, match="recorded by a newer hatui .recording format 99.; this hatui reads format 1"
    ):
        Recording(path)


def test_the_recorded_cluster_holds_no_password_and_no_hook(tmp_path):
    text = """
name: s
topology: dual-master
notify:
  hooks:
    - {command: "curl -s https://hooks.example/T0KEN-sekrit"}
nodes:
  db1: {host: 10.0.0.11, roles: [mysql, keepalived], mysql: {monitor: {user: m, password: Inline-S3cret}}}
  db2: {host: 10.0.0.12, roles: [mysql, keepalived], mysql: {monitor: {user: m, password_env: X}}}
vips:
  - {address: 10.0.0.100, instance: VI_1, role: writer, nodes: [db1, db2]}
"""
    c = load_cluster_text(text, "s.yml")
    path = tmp_path / "r.hrec"
    RecordingWriter(path, c).close()
    raw = path.read_bytes()
    assert b"Inline-S3cret" not in raw and b"sekrit" not in raw and b"hooks.example" not in raw
    back = Recording(path).cluster()
    assert list(back.nodes) == ["db1", "db2"] and back.nodes["db2"].mysql.monitor.password_env == "X"


def test_timeline_merges_a_recordings_events_and_conclusions_with_saved_logs(tmp_path, capsys):
    from hatui.cli import main

    path = tmp_path / "r.hrec"
    record_a_failover(path, seconds=210)
    log_file = tmp_path / "db3.log"
    log_file.write_text("Sat Nov 21 15:05:50 2026: (VI_2) Entering BACKUP STATE\n")
    code = main(["timeline", "--record", str(path), f"db3={log_file}"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert any("db1" in line and "Entering FAULT STATE" in line for line in out)
    assert any("incident raised" in line and "dead_writer_vip_moved" in line for line in out)
    assert any("db3" in line and "VI_2 BACKUP" in line for line in out)
    assert main(["timeline", "--record", str(tmp_path / "nope.hrec")]) == 2
    assert "nope.hrec: no such file" in capsys.readouterr().err
