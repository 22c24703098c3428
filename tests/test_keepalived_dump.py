"""VRRP snapshots from keepalived 2.2.7's real JSON and text dumps, and from log events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hatui.keepalived import (
    DumpParseError,
    TrackedScript,
    VrrpSnapshot,
    infer_from_events,
    parse_data_dump,
    parse_json_dump,
    parse_line,
)

FIX = Path(__file__).parent / "fixtures" / "keepalived"
LAB = FIX / "lab-2.2.7"
SEEDS = FIX / "seeds-1.x"
UTC = UTC
PASSWORD = "hatuilab"
STEMS = ["db1", "db2", "db1-mysqld-stopped", "db2-master", "db2-partitioned", "db1-weighted-mysqld-stopped"]


def read(name: str) -> str:
    return (LAB / name).read_text()


def snap(stem: str, kind: str) -> VrrpSnapshot:
    text = read(f"{stem}.{kind}")
    return parse_json_dump(text) if kind == "json" else parse_data_dump(text)


def events(path: Path, node: str, year: int | None = None, until: datetime | None = None):
    out = [parse_line(ln, node=node, year=year, tz=UTC) for ln in path.read_bytes().split(b"\n") if ln.strip()]
    return [e for e in out if until is None or e.time is None or e.time <= until]


# ------------------------------------------------------------------ the lab's dumps


@pytest.mark.parametrize("kind", ["json", "data"])
def test_db1_is_master_with_priority_100_and_the_vip(kind):
    s = snap("db1", kind)
    assert s.source == kind
    (vi,) = s.instances
    assert (vi.name, vi.state, vi.vrid, vi.interface) == ("VI_1", "MASTER", 51, "eth0")
    assert (vi.base_priority, vi.effective_priority) == (100, 100)
    assert vi.vips == ("198.18.0.100",)
    assert (vi.advert_int, vi.nopreempt, vi.auth_type) == (1.0, True, "PASS")
    # the same instant the log shows "(VI_1) Entering MASTER STATE" (15:05:53)
    assert vi.last_transition == datetime(2026, 11, 21, 15, 5, 53, 583767, tzinfo=UTC)
    assert vi.wantstate == "MASTER" and vi.master_router is None


@pytest.mark.parametrize("kind", ["json", "data"])
def test_db2_is_backup_with_priority_90(kind):
    (vi,) = snap("db2", kind).instances
    assert (vi.state, vi.base_priority, vi.effective_priority, vi.vips) == ("BACKUP", 90, 90, ("198.18.0.100",))
    assert vi.master_priority == 100  # the master it hears: db1


def test_data_dump_names_the_master_a_backup_hears():
    (vi,) = snap("db2", "data").instances
    assert vi.master_router == "198.18.0.11"
    (w,) = snap("db1-weighted-mysqld-stopped", "data").instances
    assert (w.master_router, w.master_priority) == ("198.18.0.12", 90)


@pytest.mark.parametrize("kind", ["json", "data"])
def test_stopped_mysqld_puts_db1_in_fault_without_changing_its_priority(kind):
    """chk_mysql has weight 0 in the lab: a failing check means FAULT, the priority stays 100."""
    (vi,) = snap("db1-mysqld-stopped", kind).instances
    assert (vi.state, vi.effective_priority, vi.base_priority) == ("FAULT", 100, 100)
    assert vi.last_transition == datetime(2026, 11, 21, 15, 6, 22, 976152, tzinfo=UTC)
    assert vi.vips == ("198.18.0.100",)  # configured VIPs are listed even when not set


def test_the_data_dump_gives_tracked_scripts_with_weight_and_status():
    assert snap("db1", "data").instances[0].track_scripts == (TrackedScript("chk_mysql", 0, "GOOD"),)
    assert snap("db1-mysqld-stopped", "data").instances[0].track_scripts == (TrackedScript("chk_mysql", 0, "BAD"),)
    # the JSON dump only names the script's command
    assert snap("db1", "json").instances[0].track_scripts == (
        TrackedScript("/etc/keepalived/check_mysql.sh", None, None),
    )


@pytest.mark.parametrize("kind", ["json", "data"])
def test_weighted_check_lowers_the_effective_priority(kind):
    (vi,) = snap("db1-weighted-mysqld-stopped", kind).instances
    assert (vi.state, vi.base_priority, vi.effective_priority) == ("BACKUP", 100, 70)
    if kind == "data":
        assert vi.track_scripts == (TrackedScript("chk_mysql", -30, "BAD"),)


def test_partitioned_backup_claims_master():
    for kind in ("json", "data"):
        (vi,) = snap("db2-partitioned", kind).instances
        assert (vi.state, vi.effective_priority) == ("MASTER", 90)
        assert vi.last_transition == datetime(2026, 11, 21, 15, 6, 34, 128009, tzinfo=UTC)


@pytest.mark.parametrize("stem", STEMS)
def test_json_and_data_dumps_agree(stem):
    j, d = snap(stem, "json").instances[0], snap(stem, "data").instances[0]
    for f in (
        "name",
        "state",
        "vrid",
        "interface",
        "base_priority",
        "effective_priority",
        "vips",
        "last_transition",
        "advert_int",
        "nopreempt",
        "auth_type",
        "wantstate",
    ):
        assert getattr(j, f) == getattr(d, f), f


@pytest.mark.parametrize("stem", STEMS)
def test_the_password_is_in_the_dumps_but_never_in_what_is_parsed(stem):
    for kind in ("json", "data"):
        text = read(f"{stem}.{kind}")
        assert PASSWORD in text  # real keepalived output holds it in clear
        s = snap(stem, kind)
        assert PASSWORD not in repr(s) and PASSWORD not in str(s.instances)


def test_json_version_2_wrapper_is_accepted():
    doc = {"vrrp": json.loads(read("db1.json")), "track_process": []}
    s = parse_json_dump(json.dumps(doc))
    assert s.instances == parse_json_dump(read("db1.json")).instances


def test_taken_at_is_kept():
    t = datetime(2026, 11, 21, 15, 6, 20, tzinfo=UTC)
    assert parse_json_dump(read("db1.json"), taken_at=t).taken_at == t
    assert parse_data_dump(read("db1.data").encode(), taken_at=t).taken_at == t


# ------------------------------------------------------------------ bad dumps


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "keepalived.json: the file is empty"),
        ("   \n", "the file is empty"),
        ('{"data": 1}', "keepalived.json: expected a JSON list of instances, found a JSON object"),
        ('"x"', "expected a JSON list of instances, found the string 'x'"),
        ("[1]", 'keepalived.json: instance #1: expected an object with a "data" object, found int 1'),
        ('[{"data": {"state": 2}}]', "no instance name"),
        ('[{"data": {"iname": "VI_1", "state": "MASTER"}}]', r'VI_1\): "state" should be a number'),
        ('[{"data": {"iname": "VI_1", "state": 2, "vrid": "x"}}]', '"vrid" should be a number'),
        ('[{"data": {"iname": "VI_1", "state": 2, "vips": "1.2.3.4"}}]', '"vips" should be a list'),
        ('[{"data": {"iname": "VI_1", "state": 2, "vrid": Infinity}}]', '"vrid" should be a finite number'),
    ],
)
def test_bad_json_dumps_say_what_is_wrong(text, match):
    with pytest.raises(DumpParseError, match=match):
        parse_json_dump(text)


def test_truncated_json_dump():
    text = read("db1.json")
    with pytest.raises(DumpParseError, match=r"keepalived.json: not valid JSON at line 1 column \d+") as ei:
        parse_json_dump(text[: text.index("auth_data") + 14])
    assert PASSWORD not in str(ei.value)


def test_truncated_data_dump():
    text = read("db1.data")
    cut = text[: text.index("   State = MASTER")]
    with pytest.raises(DumpParseError, match=r"keepalived.data: instance VI_1 has no 'State = ' line"):
        parse_data_dump(cut)
    with pytest.raises(DumpParseError, match="no '------< VRRP Topology >------' section"):
        parse_data_dump(text[: text.index("------< VRRP Topology")])


def test_wrong_file_for_the_data_parser_never_echoes_a_password():
    with pytest.raises(DumpParseError, match="not a keepalived data dump") as ei:
        parse_data_dump(read("db1.json"))
    assert PASSWORD not in str(ei.value)
    with pytest.raises(DumpParseError) as ei:
        parse_data_dump("   Password = hatuilab\n")
    assert PASSWORD not in str(ei.value)
    with pytest.raises(DumpParseError, match="empty"):
        parse_data_dump("")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_dump_parsers_raise_only_dump_parse_errors(data):
    """Truncations, corruptions and garbage give a DumpParseError or a snapshot: never another error."""
    stem = data.draw(st.sampled_from(STEMS))
    kind = data.draw(st.sampled_from(["json", "data"]))
    text = read(f"{stem}.{kind}")
    choice = data.draw(st.sampled_from(["cut", "flip", "junk"]))
    if choice == "cut":
        text = text[: data.draw(st.integers(0, len(text)))]
    elif choice == "flip":
        i = data.draw(st.integers(0, len(text) - 1))
        text = text[:i] + data.draw(st.text(min_size=1, max_size=3)) + text[i + 1 :]
    else:
        text = data.draw(st.text(max_size=200))
    for parse in (parse_json_dump, parse_data_dump):
        try:
            s = parse(text)
        except DumpParseError as exc:
            assert PASSWORD not in str(exc)
        else:
            assert isinstance(s, VrrpSnapshot) and PASSWORD not in repr(s)


# ------------------------------------------------------------------ from events


def test_infer_from_the_lab_logs_matches_what_happened():
    s1 = infer_from_events(events(LAB / "db1-keepalived.log", "db1"))
    (vi,) = s1.instances
    assert s1.source == "events"
    assert (vi.name, vi.state, vi.effective_priority, vi.vips, vi.interface) == (
        "VI_1",
        "MASTER",
        100,
        ("198.18.0.100",),
        "eth0",
    )
    assert vi.last_transition == datetime(2026, 11, 21, 15, 6, 59, tzinfo=UTC)
    assert s1.taken_at == datetime(2026, 11, 21, 15, 7, 4, tzinfo=UTC)  # the log's last line
    (v2,) = infer_from_events(events(LAB / "db2-keepalived.log", "db2")).instances
    assert (v2.state, v2.last_transition) == ("BACKUP", datetime(2026, 11, 21, 15, 6, 59, tzinfo=UTC))


def test_infer_at_earlier_moments_of_the_lab_log():
    until = datetime(2026, 11, 21, 15, 6, 46, tzinfo=UTC)  # the weighted check has failed
    (vi,) = infer_from_events(events(LAB / "db1-keepalived.log", "db1", until=until)).instances
    assert (vi.state, vi.effective_priority) == ("BACKUP", 70)
    # agrees with keepalived's own dump taken a second later
    (dumped,) = snap("db1-weighted-mysqld-stopped", "json").instances
    assert (vi.state, vi.effective_priority) == (dumped.state, dumped.effective_priority)
    # db2's clean stop: every instance is STOP until it starts again
    stopped = datetime(2026, 11, 21, 15, 6, 28, tzinfo=UTC)
    (v2,) = infer_from_events(events(LAB / "db2-keepalived.log", "db2", until=stopped)).instances
    assert (v2.state, v2.last_transition) == ("STOP", stopped)


def test_infer_from_seed_1x_syslog():
    (vi,) = infer_from_events(events(SEEDS / "seed000-Darren1-messages.log", "Darren1", year=2017)).instances
    assert (vi.name, vi.state, vi.vips) == ("VI_23", "FAULT", ("192.168.91.100",))
    assert vi.last_transition == datetime(2017, 5, 9, 14, 43, 26, tzinfo=UTC)
    # "Transition to MASTER" announces; the entry 5 s later is the transition time
    upto = datetime(2017, 5, 9, 14, 41, 30, tzinfo=UTC)
    (m,) = infer_from_events(events(SEEDS / "seed000-Darren1-messages.log", "Darren1", 2017, upto)).instances
    assert (m.state, m.last_transition) == ("MASTER", datetime(2017, 5, 9, 14, 41, 26, tzinfo=UTC))
    (b,) = infer_from_events(events(SEEDS / "seed001-bank7-messages.log", "bank7", year=2012)).instances
    assert (b.name, b.state, b.vips) == ("VI_1", "BACKUP", ())


def test_infer_from_nothing():
    s = infer_from_events([])
    assert s.instances == () and s.taken_at is None
