"""The continuous monitor against the lab: log streams that resume exactly, clean shutdown,
and faults reaching the store and the rules while it runs."""

from __future__ import annotations

import time
import uuid

import pytest

from hatui.cluster import load_cluster
from hatui.collect.monitor import Intervals, Monitor
from hatui.rules.health import evaluate
from hatui.state import Kind

from .support import SLACK, node_procs, vip_holders, wait_until

LOG = "/var/log/keepalived.log"


def append(lab, node: str, text: str) -> None:
    res = lab.node_run(node, ["sh", "-c", f"echo '{text}' >> {LOG}"])
    assert res.returncode == 0, res.stderr


@pytest.fixture
def monitor(lab, op):
    cluster = load_cluster(lab.spec.cluster_file)
    # small keepalives so a partition is noticed in about a second, as a test can afford
    m = Monitor(cluster, keepalive_interval=0.5, keepalive_count_max=2)
    op.run(m.start())
    try:
        wait_until(
            "first observations of every node", lambda: all(m.store.latest(n, Kind.MYSQL) for n in cluster.nodes), 20
        )
        yield m
    finally:
        op.run(m.stop())


def marker_counts(m: Monitor, node: str, tag: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in m.store.snapshot(max_events=None).events:
        if e.node == node and tag in e.event.raw:
            key = e.event.raw[e.event.raw.index(tag) :].strip()
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_log_stream_resumes_after_sshd_restart_and_partition_without_duplicates(lab, monitor):
    tag = f"hatui-marker-{uuid.uuid4().hex[:8]}"
    node = "db2"
    probe = f"hatui-probe-{uuid.uuid4().hex[:8]}"

    def attached() -> bool:  # a line written now is streamed: the follower reads past the backlog
        append(lab, node, probe)
        return bool(marker_counts(monitor, node, probe))

    wait_until("the follower attached", attached, 10, every=0.3)
    for i in range(3):
        append(lab, node, f"{tag} before {i}")
    wait_until("markers streamed", lambda: len(marker_counts(monitor, node, tag)) == 3, 5)

    lab.fault("stop-sshd", node)
    append(lab, node, f"{tag} sshd-stopped")
    lab.fault("start-sshd", node)
    append(lab, node, f"{tag} sshd-started")
    wait_until("markers across an sshd restart", lambda: len(marker_counts(monitor, node, tag)) == 5, 10)

    lab.fault("partition", node)
    wait_until("the partition noticed", lambda: monitor.store.latest(node, Kind.SSH).value.state != "up", 10)
    for i in range(3):
        append(lab, node, f"{tag} partitioned {i}")  # written while nobody can read them
    lab.fault("heal", node)
    wait_until("markers written during the partition", lambda: len(marker_counts(monitor, node, tag)) == 8, 20)
    time.sleep(1.0)  # anything duplicated by the resume would have arrived by now
    counts = marker_counts(monitor, node, tag)
    assert counts == {k: 1 for k in counts}, counts
    assert [k.split(" ", 1)[1] for k in counts] == [
        "before 0",
        "before 1",
        "before 2",
        "sshd-stopped",
        "sshd-started",
        "partitioned 0",
        "partitioned 1",
        "partitioned 2",
    ]


def test_no_tail_is_left_on_any_node_after_the_monitor_stops(lab, op):
    cluster = load_cluster(lab.spec.cluster_file)
    m = Monitor(cluster)
    op.run(m.start())
    wait_until("tail running on db1", lambda: node_procs(lab, "db1", LOG, "tail"), 10)
    op.run(m.stop())
    for n in ("db1", "db2"):
        wait_until(f"no tail left on {n}", lambda n=n: not node_procs(lab, n, LOG, "tail"), 5)


def test_a_keepalived_whose_log_says_stopping_is_read_again_at_once(lab, op):
    """The probe reads once a minute here (its first reading, then 60 s later): only the re-read
    the "Stopping" line asks for can see keepalived gone within seconds."""
    cluster = load_cluster(lab.spec.cluster_file)
    node = next(n for n in ("db1", "db2") if n not in vip_holders(lab))  # no VIP moves
    m = Monitor(cluster, intervals=Intervals(probe=60.0))
    op.run(m.start())
    try:

        def running() -> bool | None:
            obs = m.store.latest(node, Kind.KEEPALIVED)
            return None if obs is None else obs.value.running

        wait_until(f"{node}'s keepalived read running", lambda: running() is True, 20)
        wait_until("its log followed", lambda: m.collectors[node]._log_flowing or m.collectors[node].logs.started, 10)
        time.sleep(1.0)
        lab.fault("stop-keepalived", node)
        _, took = wait_until(f"{node}'s keepalived read stopped", lambda: running() is False, 2.0 + SLACK)
        print(f"keepalived stopped seen after {took:.2f} s (the probe reads once a minute)")
        stopping = [e for e in m.store.snapshot().events if e.node == node and e.event.state == "STOP"]
        assert stopping, "the log's Stopping line"
    finally:
        lab.fault("start-keepalived", node)
        op.run(m.stop())


def test_vip_move_and_dead_mysqld_reach_the_store_and_rules(lab, monitor):
    holder = vip_holders(lab)[0]
    other = "db2" if holder == "db1" else "db1"
    t0 = time.time()
    lab.fault("stop-keepalived", holder)

    def master_event():
        return [
            e
            for e in monitor.store.snapshot().events
            if e.node == other and e.received_at >= t0 and e.event.state == "MASTER"
        ]

    wait_until(f"{other}'s MASTER transition in the store", master_event, 10)
    wait_until(
        f"{other}'s VRRP snapshot saying MASTER",
        lambda: (v := monitor.store.latest(other, Kind.VRRP)) and v.at >= t0 and v.value.instances[0].state == "MASTER",
        10,
    )
    wait_until(
        "addresses: the VIP on the other master",
        lambda: lab.spec.vip in monitor.store.latest(other, Kind.ADDRESSES).value.addresses,
        5,
    )

    t1 = time.monotonic()
    lab.fault("kill-mysqld", "db3")
    _, took = wait_until(
        "mysql.down for db3",
        lambda: any(a.code == "mysql.down" and a.node == "db3" for a in evaluate(monitor.store.snapshot())),
        10,
    )
    assert took < 3.0 + SLACK, f"dead mysqld seen after {took:.1f} s"
    lab.fault("start-mysqld", "db3")
    # (db3 still pulls from db1, not the new writer: that warning rightly stays)
    wait_until(
        "db3's mysqld and replication healthy again",
        lambda: (
            not [
                a
                for a in evaluate(monitor.store.snapshot())
                if a.node == "db3" and a.code in ("mysql.down", "repl.io_stopped", "repl.sql_stopped")
            ]
        ),
        30,
    )
    assert time.monotonic() - t1 < 40


def test_the_monitors_mysql_polls_are_read_in_the_event_loop_after_the_first(lab, monitor):
    """Through the SSH tunnel each node's kept MySQL connection is polled from the event loop
    (the forward's tap): its worker thread only logs in. A fleet's console paid a thread
    hand-off, a local socket and a relay per node per second before."""
    probes = {name: c._probe for name, c in monitor.collectors.items() if c._probe is not None}
    assert set(probes) == {"db1", "db2", "db3"}
    sent: dict[str, list[int]] = {name: [] for name in probes}
    for name, p in probes.items():
        submit = p._executor.submit
        p._executor.submit = lambda *a, _n=name, _s=submit, **kw: (sent[_n].append(1), _s(*a, **kw))[1]
    before = {n: monitor.store.latest(n, Kind.MYSQL) for n in probes}
    wait_until(
        "three more readings of every node",
        lambda: all(monitor.store.latest(n, Kind.MYSQL).at >= before[n].at + 2.5 for n in probes),
        10,
    )
    for n in probes:
        st = monitor.store.latest(n, Kind.MYSQL).value
        assert st.up and st.error is None and st.channels, (n, st.error)
    # a poll that timed out on a busy machine drops its connection, and the worker logs in again
    # (one hand-off); without the tap every poll of the three would have gone to the worker
    assert all(len(s) <= 1 for s in sent.values()), f"kept connections were polled by worker threads: {sent}"
    # and no TLS inside the tunnel: a TLS context per node (the system CA store) was most of
    # what a node cost the console's memory
    assert all(p.tls is False and (p._conn is None or p._conn.ssl is False) for p in probes.values())
