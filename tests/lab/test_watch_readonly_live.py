"""A watch-mode session against the lab sends nothing but allowlisted reads, through faults."""

from __future__ import annotations

import time

import pytest

from hatui.cluster import load_cluster
from hatui.collect.monitor import Monitor
from hatui.readonly import ReadOnlyPolicy, ReadOnlyViolation
from hatui.state import Kind

from .support import vip_holders, wait_until


def test_watch_session_records_only_allowlisted_commands_and_statements(lab, op):
    cluster = load_cluster(lab.spec.cluster_file)
    policy = ReadOnlyPolicy(cluster, record=[])
    m = Monitor(cluster, read_only=policy, keepalive_interval=0.5, keepalive_count_max=2)
    op.run(m.start())
    try:
        wait_until(
            "data from every node",
            lambda: all((o := m.store.latest(n, Kind.MYSQL)) and o.value.up for n in cluster.nodes),
            20,
        )
        # exercise the paths that reconnect, re-follow and re-dump
        holder = vip_holders(lab)[0]
        t0 = time.time()
        lab.fault("stop-keepalived", holder)
        wait_until(
            "a VRRP dump after the move",
            lambda: any((o := m.store.latest(n, Kind.VRRP)) and o.at > t0 for n in ("db1", "db2")),
            15,
        )
        lab.fault("start-keepalived", holder)
        lab.fault("stop-mysqld", "db3")
        wait_until("db3 down", lambda: not m.store.latest("db3", Kind.MYSQL).value.up, 10)
        lab.fault("start-mysqld", "db3")
        wait_until("db3 back", lambda: m.store.latest("db3", Kind.MYSQL).value.up, 30)
        lab.fault("partition", "db2")
        wait_until("db2 unreachable", lambda: m.store.latest("db2", Kind.SSH).value.state != "up", 10)
        lab.fault("heal", "db2")
        wait_until("db2 back", lambda: m.store.latest("db2", Kind.SSH).value.state == "up", 20)
        time.sleep(2)

        # a write is refused before it leaves, and nothing happened on the node
        with pytest.raises(ReadOnlyViolation):
            op.run(m.pool["db1"].run("touch /tmp/hatui-watch-write"))
        assert lab.node_run("db1", ["test", "-e", "/tmp/hatui-watch-write"]).returncode == 1
    finally:
        op.run(m.stop())
    kinds = {(k, n) for k, n, _ in policy.record}
    assert {("ssh", n) for n in cluster.nodes} <= kinds and {("sql", n) for n in cluster.nodes} <= kinds
    assert len(policy.record) > 50
    bad = [e for e in policy.violations() if "hatui-watch-write" not in e[2]]
    assert bad == [], bad
