"""`hatui timeline`: several nodes' real keepalived logs merged into one ordered timeline."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hatui.keepalived import EventKind as K
from hatui.keepalived import parse_line
from hatui.keepalived.timeline import format_event, merge, read_log_file, timeline_main

FIX = Path(__file__).parent / "fixtures" / "keepalived"
LAB = FIX / "lab-2.2.7"
SEEDS = FIX / "seeds-1.x"
UTC = UTC


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = timeline_main(list(argv), out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def lab_events():
    return (
        read_log_file(LAB / "db1-keepalived.log", "db1", tz=UTC),
        read_log_file(LAB / "db2-keepalived.log", "db2", tz=UTC),
    )


def test_read_log_file_keeps_every_non_blank_line(lab_events):
    db1, _ = lab_events
    text = (LAB / "db1-keepalived.log").read_text()
    assert len(db1) == len([ln for ln in text.splitlines() if ln.strip()]) == 151
    assert all(e.node == "db1" and e.time is not None for e in db1)


def test_merged_lab_timeline_orders_the_failover(lab_events):
    db1, db2 = lab_events
    tl = merge([db1, db2])
    assert len(tl) == len(db1) + len(db2)
    times = [e.time for e in tl]
    assert times == sorted(times)
    # each node's own order is kept
    assert [e for e in tl if e.node == "db1"] == db1 and [e for e in tl if e.node == "db2"] == db2
    st = [
        (e.time.strftime("%H:%M:%S"), e.node, e.state)
        for e in tl
        if e.kind is K.STATE and "15:06:21" <= e.time.strftime("%H:%M:%S") <= "15:06:29"
    ]
    # mysqld stops on db1: db1 FAULT, db2 MASTER a second later, db1 back to BACKUP, then db2's
    # clean stop hands the VIP back to db1 (priority-0 advert), and db2 comes back as BACKUP
    assert st == [
        ("15:06:22", "db1", "FAULT"),
        ("15:06:23", "db2", "MASTER"),
        ("15:06:26", "db1", "BACKUP"),
        ("15:06:28", "db1", "MASTER"),
        ("15:06:29", "db2", "BACKUP"),
    ]


def test_merge_keeps_untimed_events_next_to_their_node_neighbours():
    a = [
        parse_line("Sat Nov 21 10:00:01 2026: (VI_1) Entering BACKUP STATE", node="a", tz=UTC),
        parse_line("(VI_1) bare line after 10:00:01", node="a"),
        parse_line("Sat Nov 21 10:00:05 2026: (VI_1) Entering MASTER STATE", node="a", tz=UTC),
    ]
    b = [
        parse_line("(VI_1) bare line before 10:00:03", node="b"),
        parse_line("Sat Nov 21 10:00:03 2026: (VI_1) Entering FAULT STATE", node="b", tz=UTC),
        parse_line("Sat Nov 21 10:00:01 2026: (VI_1) same time as a's first", node="b", tz=UTC),
    ]
    tl = merge([a, b])
    assert [e.detail for e in tl] == [
        "Entering BACKUP STATE",
        "bare line after 10:00:01",  # a's untimed line follows its neighbour
        "bare line before 10:00:03",
        "Entering FAULT STATE",  # b's leads its neighbour
        "same time as a's first",  # b's own order wins over its clock
        "Entering MASTER STATE",
    ]
    assert merge([]) == [] and merge([[], a]) == a


def test_merge_of_naive_and_aware_times_does_not_fail():
    naive = replace(parse_line("(VI_1) Entering BACKUP STATE"), time=datetime(2026, 1, 1, 0, 0, 0))
    aware = parse_line("Sat Nov 21 10:00:01 2026: (VI_1) Entering MASTER STATE", tz=UTC)
    assert merge([[aware], [naive]]) == [naive, aware]


def test_format_event_is_one_readable_line(lab_events):
    db1, _ = lab_events
    master = next(e for e in db1 if e.kind is K.STATE and e.state == "MASTER")
    assert format_event(master, tz=UTC) == "2026-11-21 15:05:53.000 db1  state     VI_1 MASTER  Entering MASTER STATE"
    prio = next(e for e in db1 if e.kind is K.PRIORITY)
    assert format_event(prio, tz=UTC) == "2026-11-21 15:06:45.000 db1  priority  VI_1  effective priority 100 → 70"
    assert format_event(parse_line("junk"), tz=UTC) == "-                       -    raw       junk"
    # aware times are shown in the zone asked for
    assert format_event(master, tz="Asia/Shanghai").startswith("2026-11-21 23:05:53.000 db1")


def test_cli_human_output(lab_events):
    rc, out, err = run(
        "--tz", "UTC", "--kind", "state", f"db1={LAB / 'db1-keepalived.log'}", f"db2={LAB / 'db2-keepalived.log'}"
    )
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 15
    assert lines[0] == "2026-11-21 15:05:49.000 db1  state     VI_1 BACKUP  Entering BACKUP STATE"
    assert lines[-1] == "2026-11-21 15:06:59.000 db2  state     VI_1 BACKUP  Entering BACKUP STATE"


def test_cli_json_lines_mixing_sources(tmp_path):
    rc, out, err = run(
        "--json",
        "--year",
        "2017",
        "--tz",
        "Asia/Shanghai",
        f"Darren1={SEEDS / 'seed000-Darren1-messages.log'}",
        f"Darren2={SEEDS / 'seed000-Darren2-messages.log'}",
        f"db1={LAB / 'db1-journal.jsonl'}",
    )
    assert rc == 0, err
    rows = [json.loads(ln) for ln in out.splitlines()]
    assert len(rows) == 32 + 6 + 11
    assert all(set(r) == {"time", "node", "kind", "instance", "state", "detail", "raw"} for r in rows)
    # 1.x seed: Darren1 FAULT then Darren2 takes over, in time order across the two nodes
    fault = next(i for i, r in enumerate(rows) if r["state"] == "FAULT")
    take = next(i for i, r in enumerate(rows) if r["node"] == "Darren2" and r["state"] == "MASTER")
    assert fault < take and rows[fault]["time"] == "2017-05-09T14:43:26+08:00"
    assert rows[-1]["node"] == "db1" and rows[-1]["time"] == "2026-11-21T23:07:28.028410+08:00"


def test_cli_never_prints_a_password(tmp_path):
    log = tmp_path / "messages"
    log.write_text(
        "May 9 14:41:05 n1 Keepalived_vrrp[1]:    Password = hatuilab\n"
        "May 9 14:41:05 n1 Keepalived_vrrp[1]: auth_pass hatuilab\n"
    )
    for mode in ([], ["--json"]):
        rc, out, _ = run(*mode, "--year", "2017", f"n1={log}")
        assert rc == 0 and "hatuilab" not in out and out.count("********") == 2 * (2 if mode else 1)


def test_cli_reads_gzip_and_unknown_lines(tmp_path):
    gz = tmp_path / "keepalived.log.gz"
    gz.write_bytes(gzip.compress((LAB / "db2-keepalived.log").read_bytes()[:2000] + b"\n\xff\xfe junk\n\n"))
    rc, out, _ = run("--tz", "UTC", f"db2={gz}")
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("2026-11-21 15:05:53.000 db2  lifecycle Starting Keepalived v2.2.7")
    assert lines[-1] == "-                       db2  raw       \ufffd\ufffd junk"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["db1"], "bad argument 'db1': expected NODE=FILE"),
        (["=x"], "bad argument '=x'"),
        (["db1="], "bad argument 'db1='"),
        (["db1=/nonexistent/keepalived.log"], "cannot read /nonexistent/keepalived.log (node db1): No such file"),
        (["--kind", "bogus", "db1=x"], "unknown kind bogus"),
        (["--tz", "Mars/Olympus", "db1=x"], "unknown time zone 'Mars/Olympus'"),
        (["--year", "soon", "db1=x"], "invalid int value: 'soon'"),
        ([], "give NODE=FILE logs, --record FILE, or both"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_clear_message(argv, message):
    rc, out, err = run(*argv)
    assert rc == 2 and out == ""
    assert message in err


def test_cli_unreadable_file(tmp_path):
    d = tmp_path / "a-directory"
    d.mkdir()
    rc, _, err = run(f"db1={d}")
    assert rc == 2 and f"cannot read {d} (node db1)" in err
