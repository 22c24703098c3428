"""Pure parts of the sources: probe output, log resume positions, dump framing, status output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hatui.cluster import load_cluster_text
from hatui.collect.logs import BACKLOG_BYTES, LogSource
from hatui.collect.nodeprobe import SEPARATOR, parse_ip_addr, parse_keepalived_check, parse_probe, probe_command
from hatui.collect.vrrpdump import MARK, dump_command, split_dump
from hatui.state import AddressObs, Kind, SshObs, Store
from hatui.status import CRITICAL, OK, UNKNOWN, WARNING, exit_code, render

# `ip -j addr` from the lab's db1 while it holds the VIP (abridged to two interfaces)
IP_J_ADDR = json.dumps(
    [
        {"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
        {
            "ifindex": 2,
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "198.18.0.11", "prefixlen": 24},
                {"family": "inet", "local": "198.18.0.100", "prefixlen": 24},
                {"family": "inet6", "local": "fe80::1", "prefixlen": 64},
            ],
        },
    ]
)

NODE_YAML = """
name: c
topology: dual-master
nodes:
  db1:
    host: 10.0.0.11
    roles: [mysql, keepalived]
    keepalived: {log: {file: /var/log/keepalived.log}}
  db2:
    host: 10.0.0.12
    roles: [mysql, keepalived]
    keepalived: {log: {journald: keepalived}}
vips:
  - {address: 10.0.0.100, instance: VI_1, role: writer}
"""


def test_addresses_and_keepalived_liveness_from_one_probe():
    out = IP_J_ADDR + f"\n{SEPARATOR}\nup 4242\n"
    addrs, ka = parse_probe(out, with_keepalived=True)
    assert "198.18.0.100" in addrs.addresses and "fe80::1" in addrs.addresses
    assert ("eth0", "198.18.0.11") in addrs.by_interface
    assert ka.running and ka.pid == 4242
    _, ka = parse_probe(IP_J_ADDR + f"\n{SEPARATOR}\ndown pid 77 is a zombie (killed)\n", True)
    assert not ka.running and ka.detail == "pid 77 is a zombie (killed)"
    _, ka = parse_probe(IP_J_ADDR, True)
    assert not ka.running and "cut short" in ka.detail
    bad = parse_ip_addr("ip: command not found")
    assert bad.error and not bad.addresses


def test_the_probe_command_checks_keepalived_only_where_it_runs():
    assert "keepalived.pid" in probe_command(True) and "keepalived" not in probe_command(False)


def test_keepalived_check_script_sees_zombies_and_stale_pid_files(tmp_path):
    # the configured pid file comes first: here it names this very process, not keepalived
    pid_file = tmp_path / "k.pid"
    pid_file.write_text(f"{subprocess.os.getpid()}\n")
    cmd = probe_command(True, str(pid_file))
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True).stdout
    _, ka = parse_probe(out, True)
    assert not ka.running and "not keepalived" in ka.detail
    down = parse_keepalived_check(
        "down no pid file (/run/keepalived.pid, /var/run/keepalived.pid) and no keepalived process"
    )
    assert not down.running and down.detail.startswith("no pid file")
    up = parse_keepalived_check("up 4242 /var/run/keepalived/keepalived.pid")
    assert up.running and up.pid == 4242 and up.detail == "pid from /var/run/keepalived/keepalived.pid"


# `ip -o addr` as iproute2 prints it (CentOS 6/7 have no -j): a VIP on eth0, LVS-DR's VIP on lo
IP_O_ADDR = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 10.0.0.200/32 scope global lo:0\\       valid_lft forever preferred_lft forever
1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever
2: eth0    inet 198.18.0.11/24 brd 198.18.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet 198.18.0.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever
3: eth1@if7    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
"""


def test_old_hosts_one_line_addresses_are_read_and_loopback_vips_are_not_held():
    addrs, _ = parse_probe("@@hatui-ip oneline\n" + IP_O_ADDR, with_keepalived=False)
    assert not addrs.error
    assert {"198.18.0.11", "198.18.0.100", "10.0.0.200", "fe80::1"} <= addrs.addresses
    assert ("eth1", "fe80::1") in addrs.by_interface
    # an LVS-DR real server answers for the VIP on lo without holding it (seed 003)
    assert "10.0.0.200" not in addrs.held and "198.18.0.100" in addrs.held
    json_addrs, _ = parse_probe("@@hatui-ip json\n" + IP_J_ADDR, with_keepalived=False)
    assert "198.18.0.100" in json_addrs.held


def test_the_probe_falls_back_to_one_line_addresses_where_ip_refuses_json(tmp_path):
    # an `ip` like iproute2 4.x: -j is an unknown option
    fake = tmp_path / "ip"
    fake.write_text(
        '#!/bin/sh\ncase "$1" in -j) echo \'Option "-j" is unknown\' >&2; exit 255;; esac\n'
        f"cat <<'EOF'\n{IP_O_ADDR}EOF\n"
    )
    fake.chmod(0o755)
    out = subprocess.run(
        ["sh", "-c", probe_command(False)], capture_output=True, text=True, env={"PATH": f"{tmp_path}:/usr/bin:/bin"}
    ).stdout
    addrs, _ = parse_probe(out, with_keepalived=False)
    assert out.startswith("@@hatui-ip oneline") and "198.18.0.100" in addrs.held


def test_file_log_resumes_at_the_byte_after_the_last_line_seen():
    c = load_cluster_text(NODE_YAML, "c.yml")
    src = LogSource(c.nodes["db1"])
    lines = src.take_backlog(b"18 777\nline one\nline two\n")
    assert lines == [b"line one", b"line two"] and src.pos.offset == 18 and src.pos.inode == "777"
    assert "-ge 18" in src.follow_command() and "s=18" in src.follow_command()
    assert src.take_line(b"@@hatui-log 18 777") is None
    assert src.take_line(b"abc") == b"abc" and src.pos.offset == 22
    # a resumed follow that found the file rotated starts again from 0 of the new inode
    assert src.take_line(b"@@hatui-log 0 999") is None
    assert src.pos.offset == 0 and src.pos.inode == "999"


def test_a_full_backlog_drops_its_cut_first_line():
    c = load_cluster_text(NODE_YAML, "c.yml")
    src = LogSource(c.nodes["db1"])
    body = b"tail of a cut line\n" + b"x" * (BACKLOG_BYTES - 40) + b"\nlast\n"
    lines = src.take_backlog(b"99999 5\n" + body)
    assert lines[0].startswith(b"xxx") and lines[-1] == b"last"
    whole = src.take_backlog(b"11 5\nfirst\nlast\n")  # the whole file fits: keep its first line
    assert whole == [b"first", b"last"]


def test_journald_resumes_after_the_last_cursor():
    c = load_cluster_text(NODE_YAML, "c.yml")
    src = LogSource(c.nodes["db2"])
    assert "-n 0" in src.follow_command()
    src.take_backlog(b'{"__CURSOR": "s=1;i=1", "MESSAGE": "a"}\n{"__CURSOR": "s=1;i=2", "MESSAGE": "b"}\n')
    assert "--after-cursor=s=1;i=2" in src.follow_command().replace("'", "")
    src.take_line(b'{"__CURSOR": "s=1;i=3", "MESSAGE": "c"}')
    assert "i=3" in src.follow_command()


def test_dump_output_framing():
    assert "--signum=JSON" in dump_command("json") and "keepalived.data" in dump_command("data")
    assert split_dump(f"noise\n{MARK}json\n[{{}}]\n") == ("json", "[{}]\n")
    assert split_dump("keepalived has no json dump") is None


def _store():
    return Store(load_cluster_text(NODE_YAML, "c.yml"), clock=lambda: 1000.0)


def test_exit_codes_follow_nagios():
    s = _store()
    assert exit_code(s.snapshot(), []) == UNKNOWN  # nothing observed at all
    s.put("db1", Kind.SSH, SshObs("down", "connection refused"))
    s.put("db2", Kind.SSH, SshObs("up"))
    s.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    text, code = render(s.snapshot(), as_json=False)
    assert code == CRITICAL and "ssh.unreachable" in text and "db1" in text
    d = json.loads(render(s.snapshot(), as_json=True)[0])
    assert d["exit_code"] == CRITICAL
    assert {n["name"]: n["reachable"] for n in d["nodes"]} == {"db1": False, "db2": True}
    assert d["vips"][0]["unknown"] == ["db1"]
    assert OK == 0 and WARNING == 1


def test_timeline_command_merges_saved_logs(tmp_path):
    fx = "tests/fixtures/keepalived/lab-2.2.7"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "hatui",
            "timeline",
            "--json",
            f"db1={fx}/db1-keepalived.log",
            f"db2={fx}/db2-keepalived.log",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
    events = [json.loads(x) for x in res.stdout.splitlines()]
    times = [e["time"] for e in events]
    assert times == sorted(times) and {e["node"] for e in events} == {"db1", "db2"}
    states = [(e["node"], e["state"]) for e in events if e["kind"] == "state"]
    assert ("db1", "MASTER") in states and ("db2", "MASTER") in states
    assert "hatuilab" not in res.stdout  # the VRRP password never shows
    res = subprocess.run([sys.executable, "-m", "hatui", "timeline", "db1"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "NODE=FILE" in res.stderr


def test_backlog_and_follow_commands_really_resume_on_a_file(tmp_path):
    """Run the generated shell locally: what a node would run, with a file we control."""
    log = tmp_path / "k.log"
    log.write_bytes(b"one\ntwo\n")
    node = load_cluster_text(NODE_YAML.replace("/var/log/keepalived.log", str(log)), "c.yml").nodes["db1"]
    src = LogSource(node)
    out = subprocess.run(["sh", "-c", src.backlog_command()], capture_output=True, timeout=10).stdout
    assert src.take_backlog(out) == [b"one", b"two"]
    with log.open("ab") as f:
        f.write(b"three\n")  # written while "disconnected"

    def follow_once() -> list[bytes]:
        p = subprocess.Popen(["sh", "-c", src.follow_command()], stdout=subprocess.PIPE)
        try:
            out, _ = p.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:
            p.kill()  # our own child
            out, _ = p.communicate()
        return [x for ln in out.splitlines() if (x := src.take_line(ln)) is not None]

    assert follow_once() == [b"three"]
    with log.open("ab") as f:
        f.write(b"four\n")
    assert follow_once() == [b"four"]  # no repeat of "three"
    log.unlink()
    log.write_bytes(b"new file\n")  # rotated while away
    assert follow_once() == [b"new file"]


def test_the_streamed_probe_gives_a_reading_each_interval_and_dies_with_its_channel():
    import os
    import time

    from hatui.collect.nodeprobe import BEGIN, END, SAME, probe_stream_command

    cmd = probe_stream_command(True, None, 0.1)
    # the command as sshd would run it: `exec sh -c '...'` through a shell
    p = subprocess.Popen(  # a session of its own, as under sshd: its process group is its pid
        ["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    readings, lines, same = [], [], 0
    t0 = time.monotonic()
    try:
        assert p.stdout is not None
        while len(readings) < 5 and time.monotonic() - t0 < 10:
            line = p.stdout.readline().rstrip("\n")
            if line == BEGIN:
                lines = []
            elif line == END:
                readings.append(parse_probe("\n".join(lines), True))
            elif line == SAME:  # the reading before, taken again: never the first
                assert readings
                readings.append(readings[-1])
                same += 1
            else:
                lines.append(line)
        assert len(readings) == 5
        assert same > 0  # this machine's addresses and keepalived stayed as they were
        for addresses, ka in readings:
            assert "127.0.0.1" in addresses.addresses  # this machine's own addresses
            assert ka is not None and not ka.running  # no keepalived runs here
        # the reader goes away (the SSH channel closed): the loop ends on its next line, and the
        # sleep it was in ends by itself within an interval: nothing is left running
        p.stdout.close()
        p.wait(5)  # raises if the loop outlived its reader
        time.sleep(0.5)
        children = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # its process group: a child re-parented to init keeps it
                if int(stat[2]) == p.pid and stat[0] != "Z":
                    children.append(d)
        assert children == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_streams_that_keep_failing_on_a_live_connection_are_reopened_ever_less_often():
    import random

    from hatui.collect.monitor import _backoff

    rng = random.Random(1)
    first = [_backoff(1.0, 0, rng) for _ in range(50)]
    assert all(0.5 <= w <= 1.5 for w in first)  # after a stream that worked: about a second
    # the shortest wait grows with each failure in a row, until the cap
    shortest = [min(_backoff(1.0, n, rng) for _ in range(50)) for n in range(1, 6)]
    assert shortest == sorted(shortest) and shortest[-1] > 3 * shortest[0]
    assert min(_backoff(1.0, 8, rng) for _ in range(50)) >= 15.0  # a storm is slowed to ~30 s
    assert max(_backoff(1.0, 50, rng) for _ in range(50)) <= 45.0  # and never slower


class _RenewSession:
    """A session that is "up" and records each renew(); the ones listed in `succeed` (by call
    number, from 1) bring a new connection."""

    def __init__(self, succeed=()):
        self.state = "up"
        self.on_state_change = []
        self.generation = 1
        self.replacements = 0
        self.calls: list[float] = []
        self.succeed = set(succeed)

    async def renew(self, timeout):
        import asyncio
        import time

        self.calls.append(time.monotonic())
        if len(self.calls) in self.succeed:
            self.generation += 1
            self.replacements += 1
            return True
        await asyncio.sleep(timeout)  # cut off: the attempt times out
        return False


def _renewals(session, heard_ago: float | None, seconds: float, *, block: float = 0.0):
    """Run the quiet watch for `seconds` with the last line heard `heard_ago` seconds before
    (None: no stream gave a line yet); block: the loop is held up that long at the start."""
    import asyncio
    import time

    from hatui.collect import monitor
    from hatui.collect.monitor import Intervals, NodeCollector

    c = load_cluster_text(NODE_YAML, "c.yml")
    col = NodeCollector(c, c.nodes["db1"], session, Store(c), Intervals())

    async def run():
        t0 = time.monotonic()
        col._heard = None if heard_ago is None else t0 - heard_ago
        task = asyncio.create_task(col._renew_when_quiet())
        await asyncio.sleep(0.01)
        time.sleep(block)  # noqa: ASYNC251 -- on purpose: a console whose loop is busy elsewhere
        await asyncio.sleep(seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return t0

    t0 = asyncio.run(run())
    return [round(t - t0, 2) for t in session.calls], col.renewals, monitor.QUIET_AFTER


def test_a_connection_whose_streams_went_quiet_is_renewed_once_a_second_until_one_comes_up():
    # quiet for 5 s (a partition): an attempt about every second, the third one connects
    s = _RenewSession(succeed={3})
    calls, renewals, _ = _renewals(s, 5.0, 3.6)
    assert len(calls) == 3 and renewals == 1
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert all(1.0 <= g <= 1.5 for g in gaps), gaps
    # after the new connection its streams get their time: no attempt for QUIET_AFTER
    assert calls[-1] < 3.6 - 0.5


def test_a_connection_that_is_heard_or_never_was_is_left_alone():
    assert _renewals(_RenewSession(), 0.2, 1.5)[:2] == ([], 0)  # a line 0.2 s ago: all is well
    assert _renewals(_RenewSession(), None, 1.5)[:2] == ([], 0)  # no stream gave a line yet
    s = _RenewSession()
    s.state = "down"  # a dropped connection reconnects on its own schedule
    assert _renewals(s, 9.0, 1.5)[:2] == ([], 0)


def test_a_late_console_is_not_taken_for_a_quiet_connection():
    # the loop was blocked 1 s with a line heard 2 s before: the lines may be waiting unread,
    # so the round that wakes late does nothing; the next one (quiet for real) may renew
    calls, _, _ = _renewals(_RenewSession(succeed={1}), 2.0, 0.1, block=1.0)
    assert calls == []


def test_a_stream_reopens_at_once_after_a_renewal_and_after_a_reconnect_keeps_its_backoff():
    from hatui.collect.monitor import Intervals, NodeCollector

    c = load_cluster_text(NODE_YAML, "c.yml")
    s = _RenewSession()
    col = NodeCollector(c, c.nodes["db1"], s, Store(c), Intervals())
    s.replacements = 1  # renewed while the stream ran on the old connection
    assert col._reopen_in(False, 3, 0) == (0.0, 0)
    s.generation += 1  # an ordinary reconnect since: the stream that failed on it waits
    wait, failed = col._reopen_in(False, 3, 1)
    assert failed == 4 and wait >= 1.0
