"""hatui.ssh against the lab's real OpenSSH servers: commands, streams, host keys, faults.

The console side runs in the lab's operator namespace: an asyncio loop in a thread that entered
it (see OperatorLoop). The test body stays in the main thread, where it injects faults and looks
at the nodes, and hands coroutines to that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import stat
import subprocess
import time
import uuid

import pymysql
import pytest

from hatui.cluster import JumpHost, Node, load_cluster
from hatui.lab import Lab
from hatui.ssh import (
    CommandFailed,
    ConnState,
    HostKeyError,
    NodeSession,
    SessionPool,
    SshError,
    trust_host_key,
)

from .support import SLACK, in_operator_ns, node_procs, password, wait_until


@pytest.fixture
def cluster(lab):
    return load_cluster(lab.spec.cluster_file)


def with_ssh(node: Node, **changes) -> Node:
    return node.model_copy(update={"ssh": node.ssh.model_copy(update=changes)})


def host_key_fingerprint(lab: Lab, node: str) -> str:
    pub = lab.spec.node_dir(node) / "ssh" / "ssh_host_ed25519_key.pub"
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]


def host_key_text(lab: Lab, node: str) -> str:
    return " ".join((lab.spec.node_dir(node) / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()[:2])


def ssh_clients_of(lab: Lab, node: str) -> int:
    """Established TCP connections from the operator to the node's sshd, seen on the node."""
    res = lab.node_run(node, ["ss", "-Htn", "state", "established", "( sport = :22 )"])
    return sum(1 for line in res.stdout.splitlines() if f"{lab.spec.operator_address}:" in line)


def mysql_hostname_via(lab: Lab, port: int) -> str:
    with in_operator_ns(lab):
        conn = pymysql.connect(
            host="127.0.0.1",
            port=port,
            user="hatui_monitor",
            password=password(lab, "monitor"),
            connect_timeout=5,
            read_timeout=5,
        )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@hostname")
            return cur.fetchone()[0]
    finally:
        conn.close()


async def closing(*sessions: NodeSession | SessionPool) -> None:
    for s in sessions:
        await s.close()


# ----------------------------------------------------------------------------- commands


def test_run_on_every_node_answers_with_its_hostname_from_the_operator_namespace(lab, op, cluster):
    pool = SessionPool.for_cluster(cluster)
    try:
        for name in cluster.nodes:
            res = op.run(pool[name].run('hostname; echo "$SSH_CONNECTION"'))
            hostname, conn_line = res.stdout.splitlines()
            assert (hostname, res.exit_status, res.stderr) == (name, 0, "")
            # the node sees the operator's address: the socket was made in the operator namespace
            assert conn_line.split()[0] == lab.spec.operator_address
            assert pool[name].state is ConnState.UP and pool[name].connected_since is not None
            # AES-GCM, not asyncssh's default chacha20 (six times the console's CPU a packet)
            conn = pool[name]._conn
            assert conn is not None
            assert (conn.get_extra_info("send_cipher"), conn.get_extra_info("recv_cipher")) == (
                "aes128-gcm@openssh.com",
                "aes128-gcm@openssh.com",
            )
    finally:
        op.run(pool.close())
    assert all(pool[n].state is ConnState.DOWN for n in cluster.nodes)
    with pytest.raises(SshError, match="session closed"):
        op.run(pool["db1"].run("hostname"))


def test_many_concurrent_commands_share_one_connection(lab, op, cluster):
    # connections an earlier test closed may still be ESTABLISHED on the node for a moment
    wait_until("no earlier SSH connection to db1", lambda: ssh_clients_of(lab, "db1") == 0, 10)
    s = NodeSession(cluster.nodes["db1"])
    try:

        async def many():
            return await asyncio.gather(*(s.run(f"echo {i}; sleep 0.2", timeout=20) for i in range(30)))

        results = op.run(many())
        assert [r.stdout for r in results] == [f"{i}\n" for i in range(30)]
        assert s.attempts == 1
        assert ssh_clients_of(lab, "db1") == 1
    finally:
        op.run(s.close())
    wait_until("the connection to db1 to close", lambda: ssh_clients_of(lab, "db1") == 0, 5)


def test_output_exit_status_and_check(lab, op, cluster):
    s = NodeSession(cluster.nodes["db1"])
    try:
        res = op.run(s.run("printf 'x\\377y\\n'; echo \"it's\" >&2; exit 3"))
        assert (res.exit_status, res.stdout, res.stderr, res.ok) == (3, "x\ufffdy\n", "it's\n", False)
        assert res.command == "printf 'x\\377y\\n'; echo \"it's\" >&2; exit 3" and 0 < res.seconds < 5
        with pytest.raises(
            CommandFailed,
            match=r"^db1 \(198\.18\.0\.11:22\): `ls /nonexistent` exited with "
            r"status 2: ls: cannot access",
        ) as exc:
            op.run(s.run("ls /nonexistent", check=True))
        assert exc.value.result.exit_status == 2
    finally:
        op.run(s.close())


def test_a_timed_out_command_is_stopped_on_the_node(lab, op, cluster):
    secs = f"{40 + random.random():.6f}"
    s = NodeSession(cluster.nodes["db1"])
    try:
        t0 = time.monotonic()
        with pytest.raises(SshError, match=rf"^db1 \(198\.18\.0\.11:22\): `sleep {secs}` timed out after 0\.5 s"):
            op.run(s.run(f"sleep {secs}", timeout=0.5))
        assert time.monotonic() - t0 < 2.0 + SLACK
        wait_until("the timed-out sleep to end on db1", lambda: not node_procs(lab, "db1", secs, "sleep"), 3)
        assert op.run(s.run("echo still fine")).stdout == "still fine\n"  # the connection is intact
    finally:
        op.run(s.close())


# ----------------------------------------------------------------------------- streams


def test_stream_follows_a_log_and_ending_it_ends_tail_on_the_node(lab, op, cluster):
    s = NodeSession(cluster.nodes["db1"])
    # -s with a unique value: tells this test's tail apart (same behaviour as plain tail -F)
    interval = f"{1 + random.random():.6f}"
    command = f"tail -n 0 -F -s {interval} /var/log/keepalived.log"
    marker = uuid.uuid4().hex
    got: list[bytes] = []
    try:
        gen = s.stream_lines(command)

        async def until_marker():
            async for line in gen:
                got.append(line)
                if marker.encode() in line:
                    return  # leaves the generator suspended, open

        reading = op.start(until_marker())
        wait_until("tail to run on db1", lambda: node_procs(lab, "db1", interval, "tail"), 5)

        def marker_seen() -> bool:
            # tail may not have opened and reached the end of the file yet when it shows up as a
            # process: write the marker until one arrives
            res = lab.node_run("db1", ["sh", "-c", f"printf 'hello {marker} \\377\\n' >> /var/log/keepalived.log"])
            assert res.returncode == 0, res.stderr
            return reading.done() or (time.sleep(0.3) or reading.done())

        wait_until("the marker through the stream", marker_seen, 10 + SLACK, every=0.0)
        reading.result(5)
        assert got[-1] == f"hello {marker} ".encode() + b"\xff"  # bytes as written, no newline
        op.run(gen.aclose())
        wait_until("tail to end after aclose()", lambda: not node_procs(lab, "db1", interval, "tail"), 3)

        # unlike tail, most commands never notice that nobody reads them (journalctl -f waiting
        # for an entry, sleep): they end too
        secs = f"{40 + random.random():.6f}"
        quiet = s.stream_lines(f"echo started; sleep {secs}")
        assert op.run(anext(quiet)) == b"started"
        wait_until("sleep to run on db1", lambda: node_procs(lab, "db1", secs, "sleep"), 5)
        op.run(quiet.aclose())
        wait_until("sleep to end after aclose()", lambda: not node_procs(lab, "db1", secs, "sleep"), 3)

        # a consumer cancelled while waiting for a line
        async def read_all():
            async for _ in s.stream_lines(command):
                pass

        task = op.run(_spawn(read_all()))
        wait_until("the second tail to run", lambda: node_procs(lab, "db1", interval, "tail"), 5)
        op.run(_cancel(task))
        wait_until("tail to end after cancel", lambda: not node_procs(lab, "db1", interval, "tail"), 3)

        # the session closing under a consumer: the consumer gets SshError, tail ends
        reading = op.start(read_all())
        wait_until("the third tail to run", lambda: node_procs(lab, "db1", interval, "tail"), 5)
        op.run(s.close())
        with pytest.raises(SshError, match=r"stream `tail -n 0 -F .*`: session closed"):
            reading.result(5)
        wait_until("tail to end after close()", lambda: not node_procs(lab, "db1", interval, "tail"), 3)
    finally:
        op.run(s.close())


async def _spawn(coro) -> asyncio.Task:
    return asyncio.ensure_future(coro)


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_stream_of_a_command_that_ends(lab, op, cluster):
    s = NodeSession(cluster.nodes["db1"])

    async def collect(command):
        lines = []
        try:
            async for line in s.stream_lines(command):
                lines.append(line)
        except SshError as exc:
            return lines, exc
        return lines, None

    try:
        assert op.run(collect("printf 'a\\377b\\r\\nsecond\\n\\nlast'")) == ([b"a\xffb", b"second", b"", b"last"], None)
        lines, exc = op.run(collect("echo partial; echo 'no such unit' >&2; exit 2"))
        assert lines == [b"partial"]
        assert (
            str(exc) == "db1 (198.18.0.11:22): stream `echo partial; echo 'no such unit' >&2; exit 2` "
            "exited with status 2: no such unit"
        )
    finally:
        op.run(s.close())


# ----------------------------------------------------------------------------- host keys


def test_an_unknown_host_key_refuses_the_node_and_nothing_runs(lab, op, cluster, tmp_path):
    known = tmp_path / "known_hosts"  # does not exist yet: every host is unknown
    db1 = with_ssh(cluster.nodes["db1"], known_hosts=known)
    fp = host_key_fingerprint(lab, "db1")
    marker = f"/tmp/hatui-ssh-test-{uuid.uuid4().hex}"
    s = NodeSession(db1, cluster_file=lab.spec.cluster_file)
    try:
        with pytest.raises(HostKeyError) as exc:
            op.run(s.run(f"touch {marker}"))
        e = exc.value
        assert (e.kind, e.host, e.port, e.fingerprint, e.key_type) == ("unknown", "198.18.0.11", 22, fp, "ssh-ed25519")
        assert str(e).startswith(f"db1 (198.18.0.11:22): host key unknown: ssh-ed25519 key {fp}")
        assert str(e).endswith(f"hatui trust-host --cluster {lab.spec.cluster_file} db1")
        assert s.state is ConnState.REFUSED and s.last_error == str(e)
        with pytest.raises(HostKeyError):  # no retry on its own, however often it is called
            op.run(s.run(f"touch {marker}"))
        assert s.attempts == 1
        assert lab.node_run("db1", ["test", "-e", marker]).returncode == 1  # nothing ran
        assert not known.exists()  # and nothing was trusted behind the operator's back

        # the explicit opt-in, checked against the fingerprint the server's owner gave us
        assert op.run(trust_host_key(db1, expected_fingerprint=fp)) == fp
        assert known.read_text() == f"198.18.0.11 {host_key_text(lab, 'db1')}\n"
        assert stat.S_IMODE(known.stat().st_mode) == 0o600
        op.run(s.connect(force=True))
        assert s.state is ConnState.UP
        assert op.run(s.run("hostname")).stdout == "db1\n"
        assert op.run(trust_host_key(db1)) == fp and known.read_text().count("\n") == 1  # not twice
    finally:
        op.run(s.close())


def test_a_changed_host_key_is_refused_loudly_and_never_replaced(lab, op, cluster, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"198.18.0.11 {host_key_text(lab, 'db2')}\n")  # db2's key claimed for db1
    before = known.read_bytes()
    db1 = with_ssh(cluster.nodes["db1"], known_hosts=known)
    s = NodeSession(db1)
    try:
        with pytest.raises(HostKeyError) as exc:
            op.run(s.run("hostname"))
        e = exc.value
        assert (e.kind, e.lines, e.fingerprint) == ("changed", (1,), host_key_fingerprint(lab, "db1"))
        assert "HOST KEY HAS CHANGED -- possible man-in-the-middle attack!" in str(e)
        assert f"remove line 1 (ssh-keygen -R '198.18.0.11' -f {known})" in str(e)
        assert s.state is ConnState.REFUSED
        with pytest.raises(HostKeyError, match="HOST KEY HAS CHANGED"):
            op.run(trust_host_key(db1))
        assert known.read_bytes() == before
    finally:
        op.run(s.close())


def test_trust_refuses_a_fingerprint_that_is_not_the_expected_one(lab, op, cluster, tmp_path):
    known = tmp_path / "known_hosts"
    db1 = with_ssh(cluster.nodes["db1"], known_hosts=known)
    wrong = host_key_fingerprint(lab, "db2")
    text = f"presents ssh-ed25519 key {host_key_fingerprint(lab, 'db1')}, not the expected {wrong}; nothing was written"
    with pytest.raises(SshError, match=re.escape(text)):
        op.run(trust_host_key(db1, expected_fingerprint=wrong))
    assert not known.exists()


def test_trust_can_write_hashed_entries(lab, op, cluster, tmp_path):
    known = tmp_path / "known_hosts"
    db3 = with_ssh(cluster.nodes["db3"], known_hosts=known)
    op.run(trust_host_key(db3, hashed=True))
    assert known.read_text().startswith("|1|") and "198.18.0.13" not in known.read_text()
    s = NodeSession(db3)
    try:
        assert op.run(s.run("hostname")).stdout == "db3\n"
    finally:
        op.run(s.close())


def test_a_jump_host_is_used_and_its_key_verified(lab, op, cluster, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"198.18.0.12 {host_key_text(lab, 'db2')}\n")  # only db2 is known
    db2 = with_ssh(cluster.nodes["db2"], known_hosts=known, jump_host=JumpHost(host="198.18.0.11"))
    s = NodeSession(db2, cluster_file=lab.spec.cluster_file)
    try:
        with pytest.raises(HostKeyError) as exc:
            op.run(s.run("hostname"))
        e = exc.value
        assert (e.kind, e.host, e.jump_host, e.fingerprint) == (
            "unknown",
            "198.18.0.11",
            True,
            host_key_fingerprint(lab, "db1"),
        )
        assert str(e).startswith("db2 (jump host 198.18.0.11:22): jump host key unknown")
        assert str(e).endswith(f"hatui trust-host --cluster {lab.spec.cluster_file} --jump-host db2")
        op.run(trust_host_key(db2, jump_host=True))
        op.run(s.connect(force=True))
        hostname, conn_line = op.run(s.run('hostname; echo "$SSH_CONNECTION"')).stdout.splitlines()
        assert hostname == "db2" and conn_line.split()[0] == "198.18.0.11"  # it came from db1
    finally:
        op.run(s.close())


# ----------------------------------------------------------------------------- faults


class LongJitter(random.Random):
    """Always draws 90% of the ceiling: the backoff is long enough to observe."""

    def random(self) -> float:
        return 0.9


def test_stopped_sshd_fails_fast_other_nodes_work_and_it_comes_back(lab, op, cluster):
    kw = dict(backoff_initial=2.0, backoff_max=2.0, rng=LongJitter())
    before = NodeSession(cluster.nodes["db2"], **kw)
    fresh = NodeSession(cluster.nodes["db2"], **kw)
    db1 = NodeSession(cluster.nodes["db1"])
    try:
        assert op.run(before.run("hostname")).stdout == "db2\n"
        lab.fault("stop-sshd", "db2")
        # OpenSSH's per-connection processes outlive the listener: a live connection keeps working
        assert op.run(before.run("hostname")).stdout == "db2\n"
        t0 = time.monotonic()
        with pytest.raises(SshError, match=r"^db2 \(198\.18\.0\.12:22\): connection refused$"):
            op.run(fresh.run("hostname"))
        assert time.monotonic() - t0 < 1.0 + SLACK and fresh.state is ConnState.DOWN
        with pytest.raises(SshError, match=r"connection refused; reconnecting in \d\.\d s"):
            op.run(fresh.run("hostname"))
        assert fresh.attempts == 1  # the second call did not knock again
        assert op.run(db1.run("hostname")).stdout == "db1\n"
        lab.fault("start-sshd", "db2")
        time.sleep(fresh.retry_in)
        assert op.run(fresh.run("hostname")).stdout == "db2\n"
        assert fresh.state is ConnState.UP and fresh.failures == 0
    finally:
        op.run(closing(before, fresh, db1))


def test_renew_replaces_a_connection_a_healed_partition_left_quiet(lab, op, cluster):
    """After a partition shorter than the keepalive's limit the connection still counts as up,
    but its TCP retransmissions have backed off: data flows again only seconds after the heal.
    renew() gets a new connection at once; while the node is cut off it only times out."""
    s = NodeSession(cluster.nodes["db2"])  # keepalive 5 s x 4: the partition below does not trip it
    ticks: list[float] = []

    async def ticker():
        async for _ in s.stream_lines("while :; do echo tick; sleep 0.2; done"):
            ticks.append(time.monotonic())

    try:
        assert op.run(s.run("hostname")).stdout == "db2\n"
        stream = op.start(ticker())
        wait_until("the ticker to tick", lambda: len(ticks) > 3, 5)
        lab.fault("partition", "db2")
        cut = time.monotonic()
        time.sleep(1.0)
        t0 = time.monotonic()
        assert op.run(s.renew(1.0)) is False  # cut off: the attempt times out, nothing changes
        assert time.monotonic() - t0 < 1.0 + SLACK
        assert s.state is ConnState.UP and s.generation == 1
        time.sleep(max(0.0, cut + 6.0 - time.monotonic()))  # the old connection's RTO backs off
        lab.fault("heal", "db2")
        healed = time.monotonic()
        assert op.run(s.renew(1.0)) is True
        renewed = time.monotonic() - healed
        assert s.generation == 2 and s.state is ConnState.UP
        with pytest.raises(SshError):
            stream.result(5)  # the old connection's stream ended with it: its owner reopens it
        assert op.run(s.run("hostname")).stdout == "db2\n"
        assert renewed < 1.0 + SLACK, f"renewed {renewed:.2f} s after the heal"
        # the old connection is gone on the node too, not left behind
        wait_until("one connection from the console on db2", lambda: ssh_clients_of(lab, "db2") == 1, 20)
        print(f"renewed {renewed:.2f} s after the heal")
    finally:
        op.run(closing(s))
        lab.fault("heal", "db2")


def test_a_partition_is_noticed_by_keepalive_and_healing_reconnects(lab, op, cluster):
    db2 = with_ssh(cluster.nodes["db2"], connect_timeout=1.5)
    s = NodeSession(db2, keepalive_interval=0.5, keepalive_count_max=2, backoff_initial=0.2, backoff_max=1.0)
    db1 = NodeSession(cluster.nodes["db1"])
    changes: list[tuple[float, ConnState]] = []
    s.on_state_change.append(lambda sess: changes.append((time.monotonic(), sess.state)))

    async def follow():
        async for _ in s.stream_lines("tail -n 0 -F /var/log/keepalived.log"):
            pass

    try:
        assert op.run(s.run("hostname")).stdout == "db2\n"
        port = op.run(s.forward_local("127.0.0.1", 3306))
        assert mysql_hostname_via(lab, port) == "db2"
        stream = op.start(follow())
        wait_until("tail to run on db2", lambda: node_procs(lab, "db2", "keepalived.log", "tail"), 5)

        t0 = time.monotonic()
        lab.fault("partition", "db2")
        wait_until("db2's session to go down", lambda: s.state is ConnState.DOWN, 6)
        noticed = changes[-1][0] - t0
        assert noticed < 0.5 * (2 + 1) + 1.0, f"took {noticed:.1f} s"
        assert s.last_error == "db2 (198.18.0.12:22): connection lost (Server not responding to keepalive)"
        with pytest.raises(SshError, match="connection lost"):
            stream.result(5)  # the follower learns, and can resume by streaming again
        assert op.run(db1.run("hostname")).stdout == "db1\n"  # the rest of the cluster is fine
        t1 = time.monotonic()
        with pytest.raises(SshError, match=r"^db2 \(198\.18\.0\.12:22\): no answer within 1\.5 s$"):
            op.run(s.run("hostname"))
        assert time.monotonic() - t1 < 2.5 + SLACK

        lab.fault("heal", "db2")
        time.sleep(s.retry_in)
        assert op.run(s.run("hostname")).stdout == "db2\n"
        assert s.state is ConnState.UP and s.attempts == 3
        # the forwarded port is the same one, now through the new connection
        assert op.run(s.forward_local("127.0.0.1", 3306)) == port
        assert mysql_hostname_via(lab, port) == "db2"
        assert [st for _, st in changes] == [
            ConnState.CONNECTING,
            ConnState.UP,
            ConnState.DOWN,
            ConnState.CONNECTING,
            ConnState.DOWN,
            ConnState.CONNECTING,
            ConnState.UP,
        ]
    finally:
        op.run(closing(s, db1))
    with pytest.raises(OSError), in_operator_ns(lab):  # close() took the listener away
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
