"""hatui.ssh without a network: backoff schedule, reconnect rules, sudo and quoting, the
stop-on-close wrapper (run in a local sh), host-key messages and known_hosts lines."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import shlex
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import asyncssh
import pytest

from hatui.cluster.model import Node
from hatui.ssh import (
    Backoff,
    ConnState,
    HostKeyError,
    NodeSession,
    SshError,
    hostkeys,
    known_hosts_line,
)
from hatui.ssh import session as session_mod
from hatui.ssh.commands import WRAPPER_NAME, needs_sudo_wrap, remote_command, stop_on_close

TRICKY = [
    "hostname",
    "printf '%s|' \"it's\" 'a \"b\"' '$HOME' '`id`'",
    "echo \"$(printf 'x\\ny')\"; echo 'semi;colon' && echo 'pipe|' | cat",
    "awk -F: '$3 == 0 {print $1}' /etc/passwd",
    "echo '\\'' \"\\\"\" $'tab\\t'",
    "line1\nline2",
]


def node(name="db1", host="198.18.0.11", **ssh) -> Node:
    return Node(name=name, host=host, roles=["mysql"], ssh=ssh)


# ----------------------------------------------------------------------------- backoff


def test_backoff_ceiling_doubles_to_the_cap_and_every_delay_stays_under_it():
    b = Backoff(0.5, 15.0, random.Random(1))
    ceilings, delays = [], []
    for _ in range(9):
        ceilings.append(b.ceiling)
        delays.append(b.failure())
    assert ceilings == [0.5, 1, 2, 4, 8, 15, 15, 15, 15]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings))
    assert b.failures == 9


def test_backoff_is_reproducible_with_a_seed_and_jittered_across_seeds():
    def run(seed):
        b = Backoff(0.5, 15.0, random.Random(seed))
        return [b.failure() for _ in range(8)]

    assert run(42) == run(42)
    assert run(42) != run(43)
    assert len(set(run(42))) == 8  # full jitter: no two equal steps


def test_backoff_delays_grow_on_average_and_are_capped():
    rng = random.Random(7)
    sums = [0.0] * 8
    n = 2000
    for _ in range(n):
        b = Backoff(0.5, 15.0, rng)
        for i in range(8):
            sums[i] += b.failure()
    means = [s / n for s in sums]
    assert all(a < b for a, b in zip(means[:5], means[1:6])), means  # grows while under the cap
    for i, ceiling in enumerate([0.5, 1, 2, 4, 8, 15, 15, 15]):
        assert means[i] == pytest.approx(ceiling / 2, rel=0.08)  # uniform in [0, ceiling]


def test_backoff_success_starts_over():
    b = Backoff(0.5, 15.0, random.Random(3))
    for _ in range(6):
        b.failure()
    assert b.ceiling == 15
    b.success()
    assert b.failures == 0 and b.ceiling == 0.5
    assert b.failure() <= 0.5


# ----------------------------------------------------------------------------- reconnect rules


class FakeConn:
    def __init__(self):
        self.closed = False

    def is_closed(self):
        return self.closed

    def close(self):
        self.closed = True

    async def wait_closed(self):
        pass


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake_connect(monkeypatch):
    """connect_node replaced: each call pops the next outcome (an exception or 'ok')."""
    calls = []
    outcomes = []

    async def fake(node, **kw):
        calls.append(node.name)
        what = outcomes.pop(0)
        what, delay = what if isinstance(what, tuple) else (what, 0.01)
        await asyncio.sleep(delay)
        if isinstance(what, BaseException):
            raise what
        return FakeConn(), None

    monkeypatch.setattr(session_mod, "connect_node", fake)
    return calls, outcomes


async def test_renew_replaces_a_quiet_connection_only_when_a_new_one_comes_up(fake_connect):
    calls, outcomes = fake_connect
    n = node()
    s = NodeSession(n)
    outcomes += ["ok"]
    await s.connect()
    first = s._conn
    assert s.generation == 1
    outcomes += [refused(n)]
    assert await s.renew(1.0) is False  # the node still cut off: nothing changes
    assert s._conn is first and not first.closed and s.generation == 1 and s.state is ConnState.UP
    assert s.failures == 0  # a failed renewal is not a failed connection
    outcomes += ["ok"]
    notified = []
    s.on_state_change.append(lambda sess: notified.append(sess.generation))
    assert await s.renew(1.0) is True
    assert s._conn is not first and first.closed and s.generation == 2 and notified == [2]
    assert s.replacements == 1  # a renewal, which streams reopen after at once
    await s.close()
    assert await s.renew(1.0) is False  # a closed session stays closed
    assert len(calls) == 3


async def test_renew_gives_way_to_a_reconnect_made_meanwhile(fake_connect):
    calls, outcomes = fake_connect
    n = node()
    s = NodeSession(n)
    outcomes += ["ok"]
    await s.connect()
    outcomes += [("ok", 0.2), "ok"]  # the renewal's connection is slow to come up
    renewing = asyncio.create_task(s.renew(1.0))
    await asyncio.sleep(0)  # renew is connecting
    s._lost(s._conn, OSError("reset"))  # the old connection drops ...
    await s.connect()  # ... and a caller reconnects first
    reconnected = s._conn
    assert await renewing is False
    assert s._conn is reconnected and not reconnected.closed and s.generation == 2
    assert s.replacements == 0  # an ordinary reconnect: streams keep their backoff
    await s.close()


def refused(n: Node) -> SshError:
    return SshError("connection refused", node=n.name, host=n.host, port=n.ssh.port)


async def test_a_failed_attempt_starts_a_backoff_during_which_calls_fail_at_once(fake_connect):
    calls, outcomes = fake_connect
    n = node()
    clock = Clock()
    s = NodeSession(n, backoff_initial=2.0, backoff_max=8.0, rng=random.Random(5), clock=clock)
    states = []
    s.on_state_change.append(lambda sess: states.append(sess.state))
    outcomes += [refused(n), refused(n), "ok"]

    with pytest.raises(SshError, match=r"^db1 \(198\.18\.0\.11:22\): connection refused$"):
        await s.connect()
    assert s.state is ConnState.DOWN and s.failures == 1 and 0 < s.retry_in <= 2.0
    assert s.last_error == "db1 (198.18.0.11:22): connection refused"

    # while waiting: no attempt, an immediate error that says when the next one is
    t0 = time.monotonic()
    with pytest.raises(SshError, match=r"connection refused; reconnecting in \d+\.\d s") as exc:
        await s.run("hostname")
    assert time.monotonic() - t0 < 0.05 and exc.value.retry_in == pytest.approx(s.retry_in)
    assert calls == ["db1"]

    clock.now += 2.01  # the first delay was at most 2.0
    with pytest.raises(SshError, match="connection refused$"):
        await s.connect()
    assert calls == ["db1", "db1"] and s.failures == 2 and s.retry_in <= 4.0

    clock.now += 4.01
    await s.connect()
    assert s.state is ConnState.UP and s.failures == 0 and s.retry_in == 0 and s.last_error is None
    assert s.connected_since is not None and s.attempts == 3
    assert states == [ConnState.CONNECTING, ConnState.DOWN] * 2 + [ConnState.CONNECTING, ConnState.UP]
    await s.close()
    assert s.state is ConnState.DOWN


async def test_concurrent_callers_share_one_attempt(fake_connect):
    calls, outcomes = fake_connect
    outcomes += ["ok"]
    s = NodeSession(node())
    await asyncio.gather(*(s.connect() for _ in range(20)))
    assert calls == ["db1"] and s.attempts == 1 and s.state is ConnState.UP
    await s.connect()  # idempotent
    assert calls == ["db1"]
    await s.close()


async def test_a_dropped_connection_goes_down_and_the_next_call_reconnects_at_once(fake_connect):
    calls, outcomes = fake_connect
    outcomes += ["ok", "ok"]
    s = NodeSession(node(), clock=Clock())
    await s.connect()
    conn = s._conn
    s._lost(conn, asyncssh.ConnectionLost("Server not responding to keepalive"))
    assert s.state is ConnState.DOWN
    assert s.last_error == "db1 (198.18.0.11:22): connection lost (Server not responding to keepalive)"
    await s.connect()  # no backoff: the previous attempt had succeeded
    assert s.state is ConnState.UP and calls == ["db1", "db1"]
    s._lost(conn, None)  # a stale connection ending changes nothing
    assert s.state is ConnState.UP
    await s.close()


async def test_an_untrusted_host_key_refuses_the_node_until_forced(fake_connect, tmp_path):
    calls, outcomes = fake_connect
    n = node()
    err = HostKeyError(
        node="db1",
        host=n.host,
        port=22,
        fingerprint="SHA256:abc",
        key_type="ssh-ed25519",
        kind="unknown",
        known_hosts=tmp_path / "known_hosts",
    )
    outcomes += [err, "ok"]
    clock = Clock()
    s = NodeSession(n, clock=clock)
    with pytest.raises(HostKeyError):
        await s.run("hostname")
    assert s.state is ConnState.REFUSED
    clock.now += 3600  # no backoff expiry ever brings it back by itself
    for _ in range(3):
        with pytest.raises(HostKeyError) as again:
            await s.run("hostname")
        assert again.value is err
    assert calls == ["db1"]
    await s.connect(force=True)  # after `hatui trust-host`
    assert s.state is ConnState.UP and calls == ["db1", "db1"]
    await s.close()


async def test_close_during_an_attempt_gives_callers_an_ssh_error(monkeypatch):
    started = asyncio.Event()

    async def slow(node, **kw):
        started.set()
        await asyncio.sleep(30)

    monkeypatch.setattr(session_mod, "connect_node", slow)
    s = NodeSession(node())
    task = asyncio.ensure_future(s.run("hostname"))
    await started.wait()
    await s.close()
    with pytest.raises(SshError, match="session closed"):
        await task
    with pytest.raises(SshError, match="session closed"):
        await s.run("hostname")


# ----------------------------------------------------------------------------- sudo and guard


def test_sudo_rule():
    assert needs_sudo_wrap(sudo=False, user="dba", sudo_allowed=False) is False
    assert needs_sudo_wrap(sudo=True, user="root", sudo_allowed=False) is False
    assert needs_sudo_wrap(sudo=True, user="dba", sudo_allowed=True) is True
    assert needs_sudo_wrap(sudo=True, user="dba", sudo_allowed=False) is None


@pytest.mark.parametrize("cmd", TRICKY)
def test_sudo_wrapping_survives_shell_quoting(cmd):
    plain = shlex.split(remote_command(cmd, sudo_wrapped=False))
    assert plain[:3] == ["exec", "sh", "-c"] and plain[4:] == [WRAPPER_NAME, cmd]
    # under sudo the same wrapper runs as root (so it can stop a root command), same command
    assert shlex.split(remote_command(cmd, sudo_wrapped=True)) == ["exec", "sudo", "-n", "--", *plain[1:]]


async def test_sudo_needed_but_not_configured_is_refused_before_connecting(fake_connect):
    calls, _ = fake_connect
    s = NodeSession(node(user="dba"))
    with pytest.raises(SshError, match=r"needs root, and dba is not root: set ssh.sudo: true for node db1"):
        await s.run("cat /etc/shadow", sudo=True)
    with pytest.raises(SshError, match="set ssh.sudo: true for node db1"):
        await anext(s.stream_lines("journalctl -f", sudo=True))
    assert calls == [] and s.attempts == 0


async def test_command_guard_runs_first_and_its_error_propagates(fake_connect):
    calls, _ = fake_connect
    seen = []

    class NotAllowed(Exception):
        pass

    def guard(command):
        seen.append(command)
        raise NotAllowed(command)

    s = NodeSession(node(), command_guard=guard)
    with pytest.raises(NotAllowed):
        await s.run("rm -rf /var/lib/mysql", sudo=True)
    with pytest.raises(NotAllowed):
        await anext(s.stream_lines("tail -F /x"))
    assert seen == ["rm -rf /var/lib/mysql", "tail -F /x"] and calls == []


# ----------------------------------------------------------------------------- the wrapper, in a local sh


def local(remote: str, **kw) -> subprocess.Popen:
    """Run an exec request the way sshd does: the login shell gets it as `sh -c REQUEST`, its
    stdin a pipe that stays open while the channel is open."""
    return subprocess.Popen(
        ["sh", "-c", remote], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw
    )


def finish(p: subprocess.Popen) -> tuple[bytes, bytes, int]:
    """Output and status of a command that ends by itself, its stdin kept open meanwhile
    (communicate() would close it first, which is how a command is *stopped*)."""
    out, err = p.stdout.read(), p.stderr.read()
    status = p.wait(timeout=10)
    p.stdin.close()
    return out, err, status


@pytest.mark.parametrize("cmd", TRICKY[1:5])
def test_the_wrapper_runs_the_command_exactly_as_sh_would(cmd):
    want = subprocess.run(["sh", "-c", cmd], capture_output=True, stdin=subprocess.DEVNULL)
    assert finish(local(stop_on_close(cmd))) == (want.stdout, want.stderr, want.returncode)


@pytest.mark.parametrize("cmd", TRICKY[1:5])
def test_the_sudo_form_runs_the_same_command(tmp_path, cmd):
    # a stand-in sudo that checks its options and runs the rest, as sudo -n -- does for root
    fake = tmp_path / "sudo"
    fake.write_text('#!/bin/sh\n[ "$1" = -n ] && [ "$2" = -- ] || exit 99\nshift 2\nexec "$@"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    want = subprocess.run(["sh", "-c", cmd], capture_output=True, stdin=subprocess.DEVNULL)
    assert finish(local(remote_command(cmd, sudo_wrapped=True), env=env)) == (want.stdout, want.stderr, want.returncode)


def test_the_wrapper_keeps_stdout_stderr_and_exit_status_apart():
    p = local(stop_on_close("echo out; echo err >&2; printf 'x\\377y\\n'; exit 7"))
    assert finish(p) == (b"out\nx\xffy\n", b"err\n", 7)


def _running(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (
                marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
                and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
            ):
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.mark.skipif(not shutil.which("setsid"), reason="needs setsid (util-linux)")
def test_closing_the_channel_stops_the_command_and_its_children():
    # what sshd does when the client closes the channel: the command's stdin reaches EOF
    secs = f"{30 + random.random():.6f}"
    p = local(stop_on_close(f"sleep {secs} | cat; echo not reached"))
    deadline = time.monotonic() + 5
    while len(_running(f"sleep\0{secs}")) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _running(f"sleep\0{secs}"), "the command did not start"
    p.stdin.close()
    out = p.stdout.read()
    assert p.wait(timeout=5) == 128 + signal.SIGTERM and out == b""
    deadline = time.monotonic() + 3
    while _running(f"sleep\0{secs}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _running(f"sleep\0{secs}") == []


def test_a_command_that_reads_stdin_gets_eof_not_the_channel():
    p = local(stop_on_close("cat; echo done"))
    assert finish(p) == (b"done\n", b"", 0)  # cat must not wait for the channel's stdin


# ----------------------------------------------------------------------------- host keys


@pytest.fixture(scope="module")
def keys():
    return [asyncssh.generate_private_key("ssh-ed25519").convert_to_public() for _ in range(2)]


def test_known_hosts_line_for_port_22_and_others(keys):
    key = keys[0]
    alg, b64 = key.export_public_key("openssh").decode().split()[:2]
    assert known_hosts_line("198.18.0.11", 22, key) == f"198.18.0.11 {alg} {b64}"
    assert known_hosts_line("198.18.0.11", 2222, key) == f"[198.18.0.11]:2222 {alg} {b64}"
    assert known_hosts_line("db1.example.org", 22, key).startswith("db1.example.org ssh-ed25519 AAAA")


@pytest.mark.parametrize("port", [22, 2222])
@pytest.mark.parametrize("hashed", [False, True])
def test_known_hosts_lines_are_found_by_openssh_and_asyncssh(tmp_path, keys, port, hashed):
    f = tmp_path / "known_hosts"
    hostkeys.append_line(f, known_hosts_line("198.18.0.11", port, keys[0], hashed=hashed))
    text = f.read_text()
    assert text.startswith("|1|") == hashed and text.endswith("\n") and text.count("\n") == 1
    want = port if port != 22 else None
    found = asyncssh.import_known_hosts(text).match("198.18.0.11", "198.18.0.11", want)[0]
    assert found and all(k == keys[0] for k in found)
    other_port = asyncssh.import_known_hosts(text).match("198.18.0.11", "198.18.0.11", 2200)[0]
    assert bool(other_port) == (port == 22)  # asyncssh falls back to the bare host
    if shutil.which("ssh-keygen"):
        name = "198.18.0.11" if port == 22 else f"[198.18.0.11]:{port}"
        res = subprocess.run(["ssh-keygen", "-F", name, "-f", str(f)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr  # real OpenSSH finds it too
        wrong = "198.18.0.12" if port == 22 else "198.18.0.11"  # port 22 when we wrote 2222
        assert subprocess.run(["ssh-keygen", "-F", wrong, "-f", str(f)], capture_output=True).returncode == 1


@pytest.mark.skipif(not shutil.which("ssh-keygen"), reason="needs OpenSSH's ssh-keygen")
@pytest.mark.parametrize("name", ["198.18.0.11", "[198.18.0.11]:2222"])
def test_hashed_names_are_those_ssh_keygen_writes(tmp_path, keys, name):
    f = tmp_path / "known_hosts"
    f.write_text(f"{name} {hostkeys.key_text(keys[0])}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(f)], check=True, capture_output=True)
    theirs = f.read_text().split()[0]
    salt = base64.b64decode(theirs.split("|")[2])
    assert hostkeys.hash_host(name, salt) == theirs


def test_known_hosts_is_read_afresh_but_parsed_once_per_text(tmp_path, keys):
    """Every connection keeps its known_hosts entries for its life, and a fleet's nodes share
    one file: the parse is shared while the file says the same, and an edit (a key revoked or
    replaced) is what the very next connection checks against."""
    f = tmp_path / "known_hosts"
    hostkeys.append_line(f, known_hosts_line("198.18.0.11", 22, keys[0]))
    first, again = hostkeys.load(f), hostkeys.load(f)
    assert first is again
    assert {k.public_data for k in first.match("198.18.0.11", "198.18.0.11", None)[0]} == {keys[0].public_data}
    f.write_text(known_hosts_line("198.18.0.11", 22, keys[1]) + "\n")  # the host's key replaced
    edited = hostkeys.load(f)
    assert edited is not first
    assert {k.public_data for k in edited.match("198.18.0.11", "198.18.0.11", None)[0]} == {keys[1].public_data}
    f.unlink()
    assert not hostkeys.load(f).match("198.18.0.11", "198.18.0.11", None)[0]  # gone: nothing trusted


def test_append_creates_a_private_file_and_completes_a_last_line(tmp_path, keys):
    f = tmp_path / "sub" / "known_hosts"
    hostkeys.append_line(f, known_hosts_line("h1", 22, keys[0]))
    assert stat.S_IMODE(f.stat().st_mode) == 0o600 and stat.S_IMODE(f.parent.stat().st_mode) == 0o700
    f.write_text(f.read_text().rstrip("\n"))  # a hand-edited file without a final newline
    hostkeys.append_line(f, known_hosts_line("h2", 22, keys[1]))
    assert [line.split()[0] for line in f.read_text().splitlines()] == ["h1", "h2"]


def test_classify_unknown_changed_trusted_and_ports(tmp_path, keys):
    f = tmp_path / "known_hosts"
    assert hostkeys.classify(f, "198.18.0.11", 22, keys[0]) == ("unknown", ())  # no file at all
    f.write_text(
        "# comment\n"
        f"198.18.0.12 {hostkeys.key_text(keys[0])}\n"
        f"[198.18.0.11]:2222 {hostkeys.key_text(keys[0])}\n"
        f"{known_hosts_line('198.18.0.11', 22, keys[1], hashed=True)}\n"
    )
    assert hostkeys.classify(f, "198.18.0.11", 22, keys[0]) == ("changed", (4,))
    assert hostkeys.classify(f, "198.18.0.11", 22, keys[1]) == ("trusted", (4,))
    assert hostkeys.classify(f, "198.18.0.11", 2222, keys[0]) == ("trusted", (3,))
    assert hostkeys.classify(f, "198.18.0.13", 22, keys[0]) == ("unknown", ())


def test_unknown_host_key_message_names_host_fingerprint_and_the_way_to_trust_it(tmp_path):
    e = HostKeyError(
        node="db1",
        host="198.18.0.11",
        port=22,
        fingerprint="SHA256:AbC123",
        key_type="ssh-ed25519",
        kind="unknown",
        known_hosts=tmp_path / "kh",
        cluster_file="/etc/hatui/prod.yml",
    )
    text = str(e)
    assert text.startswith("db1 (198.18.0.11:22): host key unknown: ssh-ed25519 key SHA256:AbC123")
    assert f"not in {tmp_path / 'kh'}" in text
    assert text.endswith("hatui trust-host --cluster /etc/hatui/prod.yml db1")
    assert isinstance(e, SshError) and (e.node, e.host, e.port, e.kind) == ("db1", "198.18.0.11", 22, "unknown")


def test_changed_host_key_message_warns_and_says_which_line_to_remove(tmp_path):
    e = HostKeyError(
        node="db2",
        host="10.0.0.5",
        port=2222,
        fingerprint="SHA256:Zz9",
        key_type="ssh-rsa",
        kind="changed",
        known_hosts=tmp_path / "kh",
        lines=(3,),
    )
    text = str(e)
    assert text.startswith("db2 (10.0.0.5:2222): WARNING: HOST KEY HAS CHANGED")
    assert "HOST KEY HAS CHANGED" in text and "possible man-in-the-middle" in text
    assert "SHA256:Zz9" in text and "10.0.0.5" in text
    assert f"remove line 3 (ssh-keygen -R '[10.0.0.5]:2222' -f {tmp_path / 'kh'})" in text
    assert "--cluster FILE db2" in text  # no cluster file known: a placeholder, never a wrong path


def test_jump_host_key_message_names_the_jump_host(tmp_path):
    e = HostKeyError(
        node="db2",
        host="198.18.0.11",
        port=22,
        fingerprint="SHA256:j",
        key_type="ssh-ed25519",
        kind="unknown",
        known_hosts=tmp_path / "kh",
        jump_host=True,
        cluster_file="c.yml",
    )
    assert str(e).startswith("db2 (jump host 198.18.0.11:22): jump host key unknown: ssh-ed25519 key SHA256:j")
    assert str(e).endswith("hatui trust-host --cluster c.yml --jump-host db2")


def test_ssh_error_names_node_and_address():
    assert (
        str(SshError("connection refused", node="db1", host="198.18.0.11", port=22))
        == "db1 (198.18.0.11:22): connection refused"
    )
    assert (
        str(SshError("timed out", node="db9", host="2001:db8::9", port=2222)) == "db9 ([2001:db8::9]:2222): timed out"
    )


def test_fingerprints_are_normalized_for_comparison(keys):
    fp = hostkeys.fingerprint(keys[0])
    assert fp.startswith("SHA256:") and not fp.endswith("=")
    for given in (fp, fp[7:], "sha256:" + fp[7:], fp + "=", f"  {fp}\n"):
        assert hostkeys.normalize_fingerprint(given) == fp


def test_node_known_hosts_default(tmp_path):
    assert hostkeys.known_hosts_path(node()) == Path("~/.ssh/known_hosts").expanduser()
    assert hostkeys.known_hosts_path(node(known_hosts=str(tmp_path / "k"))) == tmp_path / "k"


async def test_closing_a_forward_while_a_client_waits_for_its_channel_prints_nothing():
    """A refused runbook ended with a CancelledError traceback on the DBA's screen: its MySQL
    forward was closed while a client's channel was still being opened (asyncio's stream callback
    reports a cancelled client task as an error)."""
    from hatui.ssh.session import _Forward

    class Waiting:  # a session whose connection never comes
        node = node()

        async def _ensure(self):
            await asyncio.Event().wait()

    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
    try:
        fwd = _Forward(Waiting(), "127.0.0.1", 3306)
        await fwd.start(0)
        reader, writer = await asyncio.open_connection("127.0.0.1", fwd.port)
        for _ in range(100):  # the client's task is waiting for the channel
            if fwd._tasks:
                break
            await asyncio.sleep(0.01)
        assert fwd._tasks
        await fwd.close()
        await asyncio.sleep(0.1)  # the stream callback runs after the task ends
        assert await reader.read() == b""  # the client was let go
        writer.close()
        assert reported == []
    finally:
        loop.set_exception_handler(None)


def test_aes_gcm_is_offered_first_unless_the_users_ssh_config_chooses_ciphers(monkeypatch, tmp_path):
    from hatui.ssh.connect import ENCRYPTION_ALGS, encryption_algs

    monkeypatch.setenv("HOME", str(tmp_path))
    assert encryption_algs() == ENCRYPTION_ALGS and ENCRYPTION_ALGS[0] == "aes128-gcm@openssh.com"
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host *\n  ServerAliveInterval 10\n")
    assert encryption_algs() == ENCRYPTION_ALGS
    (tmp_path / ".ssh" / "config").write_text("Host db*\n    Ciphers aes256-ctr\n")
    assert encryption_algs() == ()  # asyncssh then takes the config's, as ssh would
