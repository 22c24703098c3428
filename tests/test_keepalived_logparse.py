"""keepalived log lines -> events, on real lines: the lab's keepalived 2.2.7 and the seeds' 1.x."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hatui.keepalived import EventKind as K
from hatui.keepalived import KeepalivedEvent, parse_journal_entry, parse_line
from hatui.keepalived.redact import redact

FIX = Path(__file__).parent / "fixtures" / "keepalived"
LAB = FIX / "lab-2.2.7"
SEEDS = FIX / "seeds-1.x"
UTC = UTC
PASSWORD = "hatuilab"


def lines(path: Path) -> list[bytes]:
    return [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]


def parse_file(path: Path, node: str | None = None, **kw) -> list[KeepalivedEvent]:
    return [parse_line(ln, node=node, **kw) for ln in lines(path)]


def at(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


# ------------------------------------------------------------------ the lab (2.2.7 console form)


@pytest.fixture(scope="module")
def db1():
    return parse_file(LAB / "db1-keepalived.log", "db1", tz=UTC)


@pytest.fixture(scope="module")
def db2():
    return parse_file(LAB / "db2-keepalived.log", "db2", tz=UTC)


def test_lab_log_gives_db1_becoming_master_at_the_logged_time(db1):
    first = next(e for e in db1 if e.kind is K.STATE and e.state == "MASTER")
    assert first.time == at(2026, 11, 21, 15, 5, 53)
    assert (first.node, first.instance, first.detail) == ("db1", "VI_1", "Entering MASTER STATE")
    assert first.raw == "(VI_1) Entering MASTER STATE"
    # just before: the backup's advert timeout that made it master
    i = db1.index(first)
    assert db1[i - 1].kind is K.ADVERT_TIMEOUT and db1[i - 1].instance == "VI_1"


def test_lab_logs_give_each_nodes_state_history(db1, db2):
    def states(evs):
        return [(e.time.strftime("%H:%M:%S"), e.state) for e in evs if e.kind is K.STATE]

    assert states(db1) == [
        ("15:05:49", "BACKUP"),
        ("15:05:53", "MASTER"),
        ("15:06:22", "FAULT"),
        ("15:06:26", "BACKUP"),
        ("15:06:28", "MASTER"),
        ("15:06:40", "BACKUP"),
        ("15:06:59", "MASTER"),
    ]
    assert states(db2) == [
        ("15:05:53", "BACKUP"),
        ("15:06:23", "MASTER"),
        ("15:06:29", "BACKUP"),
        ("15:06:34", "MASTER"),
        ("15:06:36", "BACKUP"),
        ("15:06:39", "MASTER"),
        ("15:06:56", "FAULT"),
        ("15:06:59", "BACKUP"),
    ]


def test_lab_mysqld_stop_shows_as_script_then_fault_then_priority_zero(db1):
    seq = [
        e for e in db1 if at(2026, 11, 21, 15, 6, 21) <= e.time <= at(2026, 11, 21, 15, 6, 22) and e.kind is not K.DUMP
    ]
    assert [e.kind for e in seq] == [K.SCRIPT_RC, K.SCRIPT, K.STATE, K.PRIORITY_ZERO, K.VIP_REMOVED]
    rc, script, fault = seq[0], seq[1], seq[2]
    assert (rc.script, rc.rc, rc.detail) == ("chk_mysql", 1, "chk_mysql now returning 1")
    assert (script.script, script.result, script.rc) == ("chk_mysql", "failed", 1)
    assert script.detail == "chk_mysql failed (exited with status 1)"
    assert (fault.instance, fault.state) == ("VI_1", "FAULT")
    assert seq[3].priority == 0 and seq[3].detail == "sent 0 priority"


def test_lab_weighted_check_changes_effective_priority(db1):
    prio = [
        (e.time.strftime("%H:%M:%S"), e.instance, e.old_priority, e.priority, e.detail)
        for e in db1
        if e.kind is K.PRIORITY
    ]
    assert prio == [
        ("15:06:45", "VI_1", 100, 70, "effective priority 100 → 70"),
        ("15:06:48", "VI_1", 70, 100, "effective priority 70 → 100"),
    ]


def test_lab_split_brain_heal_gives_higher_and_lower_adverts(db1, db2):
    (higher,) = [e for e in db2 if e.kind is K.ADVERT_HIGHER]
    assert (higher.instance, higher.address, higher.priority) == ("VI_1", "198.18.0.11", 100)
    assert higher.time == at(2026, 11, 21, 15, 6, 36)
    (lower,) = [e for e in db1 if e.kind is K.ADVERT_LOWER]
    assert (lower.address, lower.priority) == ("198.18.0.12", 90)
    assert "ours 100" in lower.detail


def test_lab_clean_stop_and_link_down(db1, db2):
    zero = [e for e in db2 if e.kind is K.PRIORITY_ZERO]
    assert [z.detail for z in zero] == ["Backup received priority 0 advertisement"] * 2 + ["sent 0 priority"] * 2
    stops = [e for e in db2 if e.kind is K.LIFECYCLE and e.state == "STOP"]
    assert [e.raw for e in stops] == ["Stopping", "Stopped Keepalived v2.2.7 (01/16,2022)"]
    down = next(e for e in db2 if e.kind is K.NETLINK and e.detail == "eth0 down")
    assert down.time == at(2026, 11, 21, 15, 6, 56)
    assert any(e.kind is K.NETLINK and e.detail == "address fe80::f86a:ecff:fe97:64ec deassigned on eth0" for e in db2)


def test_lab_log_lines_are_all_classified(db1, db2):
    """Every line of the real logs lands in a kind (keepalived's tuning NOTICE too)."""
    raws = {e.raw for e in db1 + db2 if e.kind is K.RAW}
    assert raws == set()
    notice = "NOTICE: setting config option max_auto_priority should result in better keepalived performance"
    assert any(e.kind is K.LIFECYCLE and e.raw == notice for e in db1 + db2)
    garp = [e for e in db1 if e.kind is K.GARP]
    assert garp and {e.address for e in garp} == {"198.18.0.100"}
    assert any(e.instance == "VI_1" and e.detail == "gratuitous ARPs on eth0 for 198.18.0.100" for e in garp)
    dumps = [e for e in db1 if e.kind is K.DUMP]
    assert dumps[0].raw == "Printing VRRP as json for process(22643) on signal"
    lc = [e.raw for e in db1 if e.kind is K.LIFECYCLE]
    assert "Reloading ..." in lc and "Reload complete" in lc and "Starting Keepalived v2.2.7 (01/16,2022)" in lc


# ------------------------------------------------------------------ seeds (1.x syslog)


def test_seed_1x_syslog_lines_give_state_events_with_the_instance():
    evs = parse_file(SEEDS / "seed000-Darren1-messages.log", year=2017, tz=ZoneInfo("Asia/Shanghai"))
    st_ = [(e.time.strftime("%H:%M:%S"), e.instance, e.state, e.detail) for e in evs if e.kind is K.STATE]
    assert st_ == [
        ("14:41:05", "VI_23", "BACKUP", "Entering BACKUP STATE"),
        ("14:41:21", "VI_23", "MASTER", "Transition to MASTER STATE"),
        ("14:41:26", "VI_23", "MASTER", "Entering MASTER STATE"),
        ("14:43:26", "VI_23", "FAULT", "Entering FAULT STATE"),
        ("14:43:26", "VI_23", "FAULT", "Now in FAULT state"),
    ]
    master = next(e for e in evs if e.kind is K.STATE and e.detail == "Entering MASTER STATE")
    assert master.time == datetime(2017, 5, 9, 14, 41, 26, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert master.time.utcoffset() == timedelta(hours=8)
    assert (master.node, master.program, master.pid) == ("Darren1", "Keepalived_vrrp", 28176)
    assert master.raw == "VRRP_Instance(VI_23) Entering MASTER STATE"


def test_seed_1x_script_vip_garp_netlink_and_lifecycle():
    evs = parse_file(SEEDS / "seed000-Darren1-messages.log", year=2017)
    kinds = [e.kind for e in evs]
    assert kinds.count(K.RAW) == 0
    scripts = [(e.script, e.result) for e in evs if e.kind is K.SCRIPT]
    assert scripts == [("vs_mysql_23", "succeeded"), ("vs_mysql_23", "failed")]
    assert [e.instance for e in evs if e.kind is K.VIP_SET] == ["VI_23"]
    assert [e.instance for e in evs if e.kind is K.VIP_REMOVED] == ["VI_23"]
    garp = [e for e in evs if e.kind is K.GARP]
    assert [(g.instance, g.address) for g in garp] == [("VI_23", "192.168.91.100")] * 2
    nl = [(e.program, e.address, e.detail) for e in evs if e.kind is K.NETLINK and e.address == "192.168.91.100"]
    assert nl == [
        ("Keepalived_healthcheckers", "192.168.91.100", "IP 192.168.91.100 added"),
        ("Keepalived_healthcheckers", "192.168.91.100", "IP 192.168.91.100 removed"),
    ]
    start = evs[0]
    assert (start.kind, start.program, start.pid) == (K.LIFECYCLE, "Keepalived", 28172)


def test_seed_1x_takeover_on_the_other_node():
    evs = parse_file(SEEDS / "seed000-Darren2-messages.log", year=2017, tz=UTC)
    assert [(e.kind, e.instance, e.state) for e in evs[:3]] == [
        (K.STATE, "VI_22", "MASTER"),
        (K.STATE, "VI_22", "MASTER"),
        (K.VIP_SET, "VI_22", None),
    ]
    assert evs[1].time - evs[0].time == timedelta(seconds=5)  # advert_int 5 in that seed


def test_seed_1x_lines_without_pid_and_with_indentation():
    evs = parse_file(SEEDS / "seed001-bank7-messages.log", year=2012, tz=UTC)
    assert all(e.time is not None and e.node == "bank7" and e.pid is None for e in evs)
    stop = evs[1]
    assert (stop.kind, stop.state, stop.program) == (K.LIFECYCLE, "STOP", "Keepalived")
    assert stop.raw == "Stopping Keepalived v1.1.20 (02/22,2012)"
    assert (evs[4].kind, evs[4].instance) == (K.VIP_REMOVED, "VI_1")
    backup = [e for e in evs if e.kind is K.STATE]
    assert [(e.instance, e.state, e.time) for e in backup] == [("VI_1", "BACKUP", at(2012, 3, 19, 12, 20, 0))]
    assert [e.raw for e in evs if e.kind is K.RAW] == ["Activating healtchecker for service [`192.168.1.202`:3306]"]


# ------------------------------------------------------------------ other line forms


@pytest.mark.parametrize(
    "line, when",
    [
        # RFC 3164 with a PID (the brief's example)
        (
            "Nov 21 14:32:55 host Keepalived_vrrp[123]: VRRP_Instance(VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 14, 32, 55, tzinfo=UTC),
        ),
        # rsyslog's ISO form, zone in the line
        (
            "2026-11-21T14:32:55.123456+08:00 host Keepalived_vrrp[123]: (VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 6, 32, 55, 123456, tzinfo=UTC),
        ),
        # journalctl -o short-iso: offset without a colon
        (
            "2026-11-21T14:32:55+0800 host Keepalived_vrrp[123]: (VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 6, 32, 55, tzinfo=UTC),
        ),
        # RFC 5424 with PRI, procid and no structured data
        (
            "<30>1 2026-11-21T14:32:55.5Z host Keepalived_vrrp 123 - - (VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 14, 32, 55, 500000, tzinfo=UTC),
        ),
        # a PRI in front of an RFC 3164 line (what a syslog socket receives)
        (
            "<30>Nov 21 14:32:55 host Keepalived_vrrp[123]: (VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 14, 32, 55, tzinfo=UTC),
        ),
        # keepalived's console form, and its -g log-file form with nanoseconds
        ("Sat Nov 21 14:32:55 2026: (VI_1) Entering MASTER STATE", datetime(2026, 11, 21, 14, 32, 55, tzinfo=UTC)),
        (
            "Sat Nov 21 14:32:55.123456789 2026: (VI_1) Entering MASTER STATE",
            datetime(2026, 11, 21, 14, 32, 55, 123456, tzinfo=UTC),
        ),
        ("Sun Nov  1 04:02:03 2026: (VI_1) Entering MASTER STATE", datetime(2026, 11, 1, 4, 2, 3, tzinfo=UTC)),
    ],
)
def test_every_line_form_gives_the_same_event_and_its_time(line, when):
    e = parse_line(line, year=2026, tz=UTC)
    assert (e.kind, e.instance, e.state) == (K.STATE, "VI_1", "MASTER")
    assert e.time == when and e.time.utcoffset() is not None
    if "host" in line:
        assert e.node == "host" and e.program == "Keepalived_vrrp" and e.pid == 123


def test_bare_message_has_no_time_and_takes_the_callers_node():
    e = parse_line("(VI_1) Entering BACKUP STATE (init)", node="db9")
    assert (e.time, e.node, e.kind, e.instance, e.state) == (None, "db9", K.STATE, "VI_1", "BACKUP")
    assert e.detail == "Entering BACKUP STATE (init)"


@pytest.mark.parametrize(
    "msg, kind, fields",
    [
        # message formats from keepalived's sources (1.2.13, 1.3/1.4, 2.0, 2.2.7)
        ("(VI_1): entering FAULT state (interface eth0 down)", K.STATE, {"state": "FAULT", "address": "eth0"}),
        ("(VI_1) entering FAULT state (no IPv4 address for interface)", K.STATE, {"state": "FAULT"}),
        ("(VI_1): entering FAULT state due to script chk_mysql", K.STATE, {"state": "FAULT", "script": "chk_mysql"}),
        ("VRRP_Instance(VI_1): Entering BACKUP STATE", K.STATE, {"instance": "VI_1", "state": "BACKUP"}),
        ("VRRP_Group(G1) Syncing instances to MASTER state", K.STATE, {"instance": "G1", "state": "MASTER"}),
        ("VRRP_Script(chk) timed out", K.SCRIPT, {"script": "chk", "result": "timed out"}),
        ("VRRP_Script(chk) timed_out", K.SCRIPT, {"script": "chk", "result": "timed out"}),
        ("VRRP_Script(chk) failed (due to signal 9)", K.SCRIPT, {"result": "failed", "rc": 9}),
        ("VRRP_Script(chk) considered successful on reload", K.SCRIPT, {"result": "considered successful"}),
        ("Script `chk` now returning 0", K.SCRIPT_RC, {"script": "chk", "rc": 0}),
        (
            "VRRP_Instance(VI_1) Changing effective priority from 100 to 60",
            K.PRIORITY,
            {"priority": 60, "old_priority": 100, "detail": "effective priority 100 → 60"},
        ),
        ("(VI_1) Setting effective priority to 80", K.PRIORITY, {"priority": 80}),
        ("VRRP_Instance(VI_1) Received higher prio advert", K.ADVERT_HIGHER, {"instance": "VI_1"}),
        ("VRRP_Instance(VI_1) Received advert with lower priority 90, ours 100", K.ADVERT_LOWER, {"priority": 90}),
        (
            "(VI_1) Master received advert from 10.0.0.2 with same priority 100 but higher IP address than ours",
            K.ADVERT_HIGHER,
            {"address": "10.0.0.2", "priority": 100},
        ),
        (
            "(VI_1) received lower priority (50) advert from 10.0.0.3 - discarding",
            K.ADVERT_LOWER,
            {"priority": 50, "address": "10.0.0.3"},
        ),
        ("VRRP_Instance(VI_1) sent 0 priority", K.PRIORITY_ZERO, {"priority": 0}),
        ("(VI_1) Master received priority 0 message", K.PRIORITY_ZERO, {}),
        ("(VI_1) setting E-VIPs.", K.VIP_SET, {}),
        ("VRRP_Instance(VI_1) removing protocol E-VIPs.", K.VIP_REMOVED, {}),
        ("(VI_1) Sending/queueing Unsolicited Neighbour Adverts on eth0 for fe80::1", K.GARP, {"address": "fe80::1"}),
        ("Kernel is reporting: interface eth0 DOWN", K.NETLINK, {}),
        ("VRRP_Instance(VI_1) received an invalid passwd!", K.AUTH_MISMATCH, {"instance": "VI_1"}),
        ("(VI_1): received a 2 auth, expecting 1!", K.AUTH_MISMATCH, {}),
        ("receive an invalid passwd!", K.AUTH_MISMATCH, {}),
        ("(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec", K.INTERVAL_MISMATCH, {}),
        ("advertissement interval mismatch mine=1 rcved=3", K.INTERVAL_MISMATCH, {}),
        ("Stopped - used (self/children) 0.004868/0.167482 user time", K.LIFECYCLE, {}),
        ("Printing VRRP data for process(23716) on signal", K.DUMP, {}),
        ("something keepalived never said", K.RAW, {"instance": None}),
    ],
)
def test_message_forms_of_every_version(msg, kind, fields):
    e = parse_line(msg)
    assert e.kind is kind, e
    for k, v in fields.items():
        assert getattr(e, k) == v, (k, e)


# ------------------------------------------------------------------ journald


def test_real_journal_json_lines():
    evs = parse_file(LAB / "db1-journal.jsonl", tz=UTC)
    assert len(evs) == 11
    first = evs[0]
    assert (first.kind, first.node, first.program, first.pid) == (K.LIFECYCLE, "db1", "Keepalived", 26333)
    assert first.time == datetime(2026, 11, 21, 15, 7, 28, 3818, tzinfo=UTC)
    assert first.cursor.startswith("s=535765c33a0747e08d516e5951b886a6;i=9fc;")
    prio = next(e for e in evs if e.kind is K.PRIORITY)
    assert (prio.instance, prio.old_priority, prio.priority) == ("VI_1", 100, 70)
    master = next(e for e in evs if e.kind is K.STATE and e.state == "MASTER")
    assert master.raw == "(VI_1) Entering MASTER STATE" and master.program == "Keepalived_vrrp"
    # MESSAGE that is not UTF-8 comes as a list of byte values: decoded with replacement
    binary = evs[-1]
    assert (binary.kind, binary.script, binary.result, binary.rc) == (K.SCRIPT, "chk_\ufffdmysql", "failed", 1)
    assert binary.program == "Keepalived_vrrp" and binary.pid == 26344


def test_journal_entry_dict_and_odd_values():
    obj = {
        "MESSAGE": "(VI_1) Entering FAULT STATE",
        "__REALTIME_TIMESTAMP": "1795273648003818",
        "_HOSTNAME": "db1",
        "SYSLOG_IDENTIFIER": "Keepalived_vrrp",
        "_PID": "42",
    }
    e = parse_journal_entry(obj, node="n1", tz="UTC")
    assert (e.node, e.kind, e.state, e.pid) == ("n1", K.STATE, "FAULT", 42)
    assert e.time == datetime(2026, 11, 21, 15, 7, 28, 3818, tzinfo=UTC)
    # missing or mistyped fields never raise
    for odd in (
        {},
        {"MESSAGE": None},
        {"MESSAGE": [1, 2, "x"]},
        {"MESSAGE": 5, "__REALTIME_TIMESTAMP": "x"},
        {"MESSAGE": ["(VI_1) Entering MASTER STATE", "dup"], "__REALTIME_TIMESTAMP": "-9" * 30},
    ):
        assert isinstance(parse_journal_entry(odd), KeepalivedEvent)


# ------------------------------------------------------------------ time zones and years


def test_zone_less_lines_use_the_given_zone_or_the_local_one():
    line = "Nov 21 14:32:55 h Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE"
    sh = parse_line(line, year=2026, tz="Asia/Shanghai").time
    assert sh.utcoffset() == timedelta(hours=8) and sh.hour == 14
    local = parse_line(line, year=2026).time
    assert local.tzinfo is not None
    assert local.replace(tzinfo=None) == datetime(2026, 11, 21, 14, 32, 55)
    assert local.utcoffset() == datetime(2026, 11, 21, 14, 32, 55).astimezone().utcoffset()


def test_syslog_year_defaults_to_this_year_unless_that_is_in_the_future():
    now = datetime.now()
    past = now - timedelta(days=3)
    future = now + timedelta(days=40)
    fmt = "%b %d %H:%M:%S"
    e_past = parse_line(f"{past.strftime(fmt)} h k: (VI_1) Entering MASTER STATE")
    assert e_past.time.year == past.year
    e_future = parse_line(f"{future.strftime(fmt)} h k: (VI_1) Entering MASTER STATE")
    assert e_future.time.year == future.year - 1
    assert parse_line(f"{future.strftime(fmt)} h k: x", year=2031).time.year == 2031


def test_impossible_dates_keep_the_event_without_a_time():
    e = parse_line("Feb 30 10:00:00 h Keepalived_vrrp[1]: (VI_1) Entering MASTER STATE", year=2026)
    assert e.time is None and e.kind is K.STATE and e.node == "h"


# ------------------------------------------------------------------ redaction


def test_passwords_are_redacted_from_every_line_form():
    dumped = "Nov 21 14:32:55 db1 Keepalived_vrrp[9]:    Password = hatuilab"  # 1.x -d dump to syslog
    e = parse_line(dumped, year=2026)
    assert PASSWORD not in repr(e) and PASSWORD not in json.dumps(e.to_dict())
    assert e.raw == "Password = ********"
    conf = parse_line(b"Sat Nov 21 14:32:55 2026: auth_pass hatuilab")
    assert conf.raw == "auth_pass ********"
    j = parse_line(json.dumps({"MESSAGE": '{"auth_data":"hatuilab"} Password = hatuilab'}))
    assert PASSWORD not in repr(j)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("auth_pass hatuilab", "auth_pass ********"),
        ("    auth_pass 1111 # 认证密码", "    auth_pass ******** # 认证密码"),
        (
            "authentication {auth_type PASSauth_pass 1111}virtual_ipaddress {",
            "authentication {auth_type PASSauth_pass ********}virtual_ipaddress {",
        ),
        ('auth_pass "with space"', 'auth_pass "********"'),
        ('{"auth_type":1,"auth_data":"hatuilab"},"stats"', '{"auth_type":1,"auth_data":"********"},"stats"'),
        ('"auth_data": "ha\\"tui"', '"auth_data": "********"'),
        ("{'auth_data': 'hatuilab'}", "{'auth_data': '********'}"),
        ("   Password = hatuilab\n   Virtual IP (1):", "   Password = ********\n   Virtual IP (1):"),
        ("   Auth data = hatuilab", "   Auth data = ********"),
        ("   Authentication type = SIMPLE_PASSWORD", "   Authentication type = SIMPLE_PASSWORD"),
        ("(VI_1) received an invalid passwd!", "(VI_1) received an invalid passwd!"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_seed_configs_lose_their_passwords():
    seeds = sorted(Path("/work/shared/seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("the seeds are not on this machine")
    text = "\n".join(s.read_text(errors="replace") for s in seeds)
    assert text.count("auth_pass") >= 10 and "auth_pass 1111" in text
    red = redact(text)
    assert red.count("auth_pass ********") == text.count("auth_pass")
    assert not any(f"auth_pass {p}" in red for p in ("1111", "4321", "123456"))


# ------------------------------------------------------------------ robustness

PREFIXES = [
    "",
    "Nov 21 14:32:55 h Keepalived_vrrp[1]: ",
    "Sat Nov 21 14:32:55 2026: ",
    "<30>1 ",
    "2026-11-21T14:32:55+08:00 h k: ",
    "{",
    '{"MESSAGE": ',
    "VRRP_Instance(",
    "(",
    "VRRP_Script(",
    "Feb 29 10:00:00 ",
    "Sat Nov 99 99:99:99 9999: ",
    "<999>",
]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.tuples(st.sampled_from(PREFIXES), st.text(max_size=120)).map(lambda t: t[0] + t[1]),
        st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=120)).map(lambda t: t[0].encode() + t[1]),
    )
)
def test_parse_line_never_raises(line):
    e = parse_line(line, node="n")
    assert isinstance(e, KeepalivedEvent)
    json.dumps(e.to_dict())  # always JSON-safe
    assert e.kind in set(K)


@pytest.mark.parametrize(
    "junk",
    [
        b"",
        b"\x00\xff\xfe",
        b"Nov 21",
        b"Sat Nov 21 14:32:55 20",
        b'{"MESSAGE":',
        b"(VI_1",
        b"VRRP_Instance(VI_1) Entering",
        "\udcff lone surrogate",
        b"\n\r",
    ],
)
def test_junk_becomes_a_raw_event(junk):
    e = parse_line(junk)
    assert e.kind is K.RAW
    assert "\udcff" not in e.raw


def test_to_dict_is_json_safe_and_complete(db1):
    e = next(e for e in db1 if e.kind is K.STATE)
    d = e.to_dict()
    assert d["time"] == "2026-11-21T15:05:49+00:00" and d["kind"] == "state"
    assert {
        "time",
        "node",
        "kind",
        "instance",
        "state",
        "detail",
        "raw",
        "script",
        "priority",
        "old_priority",
        "program",
        "pid",
    } <= set(d)
    assert json.loads(json.dumps(d)) == d


# ---------------------------------------------------------------- real-world forms (issue 20)
@pytest.mark.parametrize(
    ("line", "when", "program", "pid", "state"),
    [
        # syslog with the date left out: today (yesterday if today's would be in the future)
        ("13:03:21 host Keepalived[1657]: (VI_1) Entering MASTER STATE", None, "Keepalived", 1657, "MASTER"),
        # a zh_CN locale's syslog
        (
            "3月 23 09:33:06 db1 Keepalived_vrrp[2210]: VRRP_Instance(VI_1) Entering BACKUP STATE",
            (3, 23, 9, 33, 6),
            "Keepalived_vrrp",
            2210,
            "BACKUP",
        ),
        # keepalived's console output through docker into journald/syslog: the year is the inner one
        (
            "Jan 24 11:21:23 node1 docker[20329]: Wed Jan 24 11:21:23 2018: VRRP_Instance(VI_1) Transition to "
            "MASTER STATE",
            (2018, 1, 24, 11, 21, 23),
            "docker",
            20329,
            "MASTER",
        ),
        # Rancher's export: US date, 12-hour clock, the tag glued to AM/PM
        (
            "12/20/2016 9:57:43 PMKeepalived_vrrp[21]: VRRP_Instance(VI_1) Entering BACKUP STATE",
            (2016, 12, 20, 21, 57, 43),
            "Keepalived_vrrp",
            21,
            "BACKUP",
        ),
        (
            "Mär 23 09:33:06 db1 Keepalived_vrrp[2210]: (VI_1) Entering MASTER STATE",
            (3, 23, 9, 33, 6),
            "Keepalived_vrrp",
            2210,
            "MASTER",
        ),
    ],
)
def test_log_forms_seen_in_the_wild_are_parsed_not_raw(line, when, program, pid, state):
    ev = parse_line(line, tz="UTC", year=2025)
    assert ev.kind == K.STATE and ev.state == state and ev.instance == "VI_1"
    assert (ev.program, ev.pid) == (program, pid) and ev.time is not None
    got = (ev.time.month, ev.time.day, ev.time.hour, ev.time.minute, ev.time.second)
    if when is None:
        assert got[2:] == (13, 3, 21) and ev.time <= datetime.now(UTC) + timedelta(minutes=5)
    elif len(when) == 6:
        assert (ev.time.year, *got) == when
    else:
        assert got == when and ev.time.year == 2025  # the year the caller gave


def test_keepalived_saying_it_truncates_the_password_is_not_masked():
    ev = parse_line("Sat Nov 21 14:32:55 2026: (VI_1) Truncating auth_pass to 8 characters")
    assert ev.raw == "(VI_1) Truncating auth_pass to 8 characters"
