"""MysqlProbe against the lab's real MariaDB servers: what a DBA would read off the console.

The probe's worker thread enters the lab's operator namespace (setns is per thread), exactly as
the console's own process lives inside a cluster's namespace in production.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pyroute2 import netns

from hatui.mysql import Flavor, MysqlProbe, MysqlStatus, dialect_for

from .support import SLACK, connect, password, query, vip_holders

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0


def make_probe(lab, node: str, *, pw: str | None = None, **kw) -> MysqlProbe:
    ns = lab.spec.operator_ns
    kw.setdefault("connect_timeout", CONNECT_TIMEOUT)
    kw.setdefault("read_timeout", READ_TIMEOUT)
    return MysqlProbe(
        lab.spec.node(node).address,
        3306,
        "hatui_monitor",
        password(lab, "monitor") if pw is None else pw,
        name=node,
        thread_initializer=lambda: netns.pushns(ns),
        **kw,
    )


async def poll_all(probes: dict[str, MysqlProbe]) -> dict[str, MysqlStatus]:
    results = await asyncio.gather(*(p.poll() for p in probes.values()))
    return dict(zip(probes, results))


async def poll_until(probe: MysqlProbe, what: str, ok, timeout: float) -> MysqlStatus:
    deadline = time.monotonic() + timeout
    st = await probe.poll()
    while not ok(st):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}; last: up={st.up} error={st.error}")
        await asyncio.sleep(0.2)
        st = await probe.poll()
    return st


@pytest.fixture
async def probes(lab):
    ps = {n.name: make_probe(lab, n.name) for n in lab.spec.nodes}
    yield ps
    for p in ps.values():
        await p.close()


def admin_sql(lab, node: str, sql: str, args=None) -> None:
    conn = connect(lab, lab.spec.node(node).address, "admin")
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
    finally:
        conn.close()


async def test_probe_reads_topology_versions_and_gtid_positions(lab, probes):
    st = await poll_all(probes)
    addr = {n.name: n.address for n in lab.spec.nodes}
    for name, s in st.items():
        assert s.up, f"{name}: {s.error}"
        assert s.error is None and s.warnings == ()
        assert s.version.flavor is Flavor.MARIADB and (s.version.major, s.version.minor) == (10, 11)
        assert s.hostname == name
        assert s.log_bin is True and s.log_slave_updates is True and s.binlog_format == "ROW"
        assert s.gtid_mode is None and s.super_read_only is None  # MariaDB has neither
        assert s.gtid_domain_id == s.server_id  # one domain per server in the lab
        assert s.binlog_file and s.binlog_file.startswith("mysql-bin.") and s.binlog_position > 0
        assert s.uptime_seconds > 0 and s.threads_connected >= 1
        assert s.semi_sync is not None and s.semi_sync.source_enabled is False  # built in, off
        json.dumps(s.to_dict())
    assert sorted(s.server_id for s in st.values()) == [1, 2, 3]
    # the lab starts every server read-only; keepalived's notify script makes the VIP holder writable
    (writer,) = await asyncio.to_thread(vip_holders, lab)  # pyroute2 runs its own event loop
    assert {name: s.read_only for name, s in st.items()} == {n: n != writer for n in st}

    expected_source = {"db1": "db2", "db2": "db1", "db3": "db1"}
    for name, s in st.items():
        (ch,) = s.channels
        assert ch.name == ""
        assert (ch.source_host, ch.source_port) == (addr[expected_source[name]], 3306)
        assert ch.source_user == "repl"
        assert ch.io_state == "Yes" and ch.io_running and ch.sql_running and ch.healthy
        assert ch.lag_seconds == 0
        assert ch.last_error == "" and ch.last_io_errno == 0 and ch.last_sql_errno == 0
        assert ch.using_gtid == "Slave_Pos" and ch.uses_gtid and ch.auto_position is None
        assert ch.source_server_id == lab.spec.node(expected_source[name]).server_id

    # a quiet cluster has converged: the same position everywhere, each master in its own domain
    positions = {name: s.gtid_current_pos for name, s in st.items()}
    assert len(set(positions.values())) == 1 and positions["db1"], positions
    assert all(g.split("-")[0] == g.split("-")[1] for g in positions["db1"].split(",")), positions
    assert all(s.gtid_binlog_pos == positions["db1"] for s in st.values())


async def test_a_write_on_the_writer_moves_its_gtid_and_the_replicas_catch_up(lab, probes):
    (w,) = await asyncio.to_thread(vip_holders, lab)
    sid = lab.spec.node(w).server_id

    def own(pos: str) -> int:  # the seq of the writer's own domain (one domain per server)
        return next((int(g.split("-")[2]) for g in pos.split(",") if g.startswith(f"{sid}-{sid}-")), 0)

    seq_before = own((await probes[w].poll()).gtid_binlog_pos)
    admin_sql(lab, w, "CREATE TABLE IF NOT EXISTS labdb.probe_t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
    admin_sql(lab, w, "INSERT INTO labdb.probe_t (v) VALUES (1)")
    after = (await probes[w].poll()).gtid_binlog_pos
    assert own(after) >= seq_before + 1, after

    # the dialect's wait statement, run on a real replica, says the position was reached
    d = dialect_for((await probes["db3"].poll()).version)
    stmt = d.wait_for_gtid(after, 10)
    (row,) = query(lab, lab.spec.node("db3").address, stmt.sql, args=stmt.execute_args())
    assert d.gtid_wait_reached(row["reached"])
    for name in sorted({"db1", "db2", "db3"} - {w}):
        st = await poll_until(
            probes[name], f"{name} to apply {after}", lambda s: s.up and s.gtid_slave_pos == after, 10
        )
        assert st.channels[0].lag_seconds == 0


async def test_stopped_replication_and_a_second_named_connection_show_up(lab, probes):
    d = dialect_for((await probes["db3"].poll()).version)
    admin_sql(lab, "db3", d.stop_replica().sql)
    try:
        st = await poll_until(
            probes["db3"], "db3's replica threads to stop", lambda s: s.up and not s.channels[0].sql_running, 10
        )
        ch = st.channels[0]
        assert ch.io_state == "No" and not ch.io_running and not ch.healthy
        assert ch.lag_seconds is None  # the server cannot tell while stopped

        # a named connection (multi-source), created but not started, is listed beside the default
        stmt = d.change_source(
            lab.spec.node("db2").address,
            3306,
            user="repl",
            password="not-used",
            channel="hatui_test",
            use_gtid="slave_pos",
        )
        admin_sql(lab, "db3", stmt.sql, stmt.execute_args())
        try:
            st = await probes["db3"].poll()
            assert [c.name for c in st.channels] == ["", "hatui_test"]
            extra = st.channel("hatui_test")
            assert extra.source_host == lab.spec.node("db2").address and extra.using_gtid == "Slave_Pos"
            assert not extra.io_running and not extra.sql_running
        finally:
            admin_sql(lab, "db3", "RESET SLAVE 'hatui_test' ALL")
    finally:
        admin_sql(lab, "db3", d.start_replica().sql)
    st = await poll_until(
        probes["db3"],
        "db3's replication to run again",
        lambda s: s.up and len(s.channels) == 1 and s.channels[0].healthy,
        15,
    )
    assert st.channels[0].source_host == lab.spec.node("db1").address


async def test_stopped_mysqld_is_down_fast_and_comes_back(lab, probes):
    assert (await probes["db2"].poll()).up
    await asyncio.to_thread(lab.fault, "stop-mysqld", "db2")
    t0 = time.monotonic()
    st = await probes["db2"].poll()
    took = time.monotonic() - t0
    assert not st.up
    assert st.error in ("connection refused", "connection lost", "server has gone away"), st.error
    assert took < CONNECT_TIMEOUT + READ_TIMEOUT + SLACK, f"poll of a stopped server took {took:.1f} s"
    others = await poll_all({k: v for k, v in probes.items() if k != "db2"})
    assert all(s.up for s in others.values())
    # db1 replicates from db2: its IO thread now retries the connection
    await asyncio.to_thread(lab.fault, "start-mysqld", "db2")
    st = await poll_until(probes["db2"], "db2 to answer again", lambda s: s.up, 30)
    assert st.server_id == 2 and st.hostname == "db2"


async def test_partitioned_node_times_out_without_holding_up_the_others(lab, probes):
    assert (await probes["db2"].poll()).up  # a kept connection, then the network goes away
    await asyncio.to_thread(lab.fault, "partition", "db2")
    t0 = time.monotonic()
    slow = asyncio.ensure_future(probes["db2"].poll())
    others = await poll_all({k: v for k, v in probes.items() if k != "db2"})
    others_took = time.monotonic() - t0
    st = await slow
    took = time.monotonic() - t0
    assert all(s.up for s in others.values()) and others_took < 1.0 + SLACK, others_took
    assert not st.up and st.error.startswith(("timeout after", "no route to host")), st.error
    # the kept connection's read times out, then one fresh connect times out
    assert took < READ_TIMEOUT + CONNECT_TIMEOUT + 1.0 + SLACK, f"poll of a cut-off server took {took:.1f} s"
    await asyncio.to_thread(lab.fault, "heal", "db2")
    await poll_until(probes["db2"], "db2 to answer after heal", lambda s: s.up, 15)


async def test_wrong_password_is_access_denied_and_never_echoed(lab):
    bad = "wrong-" + password(lab, "monitor")[::-1]
    p = make_probe(lab, "db1", pw=bad)
    try:
        st = await p.poll()
    finally:
        await p.close()
    assert not st.up and st.error == "access denied for hatui_monitor"
    assert bad not in repr(p) and bad not in json.dumps(st.to_dict())


async def test_one_read_only_session_is_kept_between_polls(lab):
    seen: list[str] = []
    p = make_probe(lab, "db1", guard=seen.append)
    try:
        first = await p.poll()
        n = len(seen)
        second = await p.poll()
    finally:
        await p.close()
    assert first.up and second.up
    assert seen[0].startswith("SELECT @@version") and seen[1] == "SET SESSION TRANSACTION READ ONLY"
    again = seen[n:]
    assert len(again) == 4 and not any(s.startswith(("SELECT @@version", "SET SESSION")) for s in again)
    assert again[0].startswith("SELECT @@global.") and again[1] == "SHOW ALL SLAVES STATUS"


async def test_retarget_moves_the_probe_to_another_server(lab):
    p = make_probe(lab, "db1")
    try:
        assert (await p.poll()).server_id == 1
        p.retarget(lab.spec.node("db3").address, 3306)
        st = await p.poll()
        assert st.up and st.server_id == 3 and st.read_only is True
    finally:
        await p.close()


async def test_the_lean_batch_reading_equals_pymysqls_statement_by_statement(lab):
    """The console's poll reads a batch's bytes itself (hatui.mysql.wire); on every real server
    it must read what pymysql reads, column for column (a quiet lab: only the uptime and the
    connection count may move between the two)."""
    import dataclasses

    import pymysql
    from pymysql.constants import CLIENT

    from hatui.mysql.reader import read_dialect, read_status
    from hatui.mysql.wire import ColumnCache

    def both(node: str):
        conn = connect(
            lab,
            lab.spec.node(node).address,
            cursorclass=pymysql.cursors.DictCursor,
            client_flag=CLIENT.MULTI_STATEMENTS,
        )
        try:
            d = read_dialect(conn)
            cache = ColumnCache()
            plain = read_status(conn, dialect=d)
            lean = [read_status(conn, dialect=d, batch=True, columns=cache) for _ in range(2)]  # cache cold, warm
            return plain, lean
        finally:
            conn.close()

    for node in ("db1", "db2", "db3"):
        plain, lean = await asyncio.to_thread(both, node)
        assert plain.up and plain.channels, plain.error
        for st in lean:
            same = dataclasses.replace(
                st, uptime_seconds=plain.uptime_seconds, threads_connected=plain.threads_connected
            )
            assert same == plain, node


def test_a_poll_through_an_ssh_forward_is_read_in_the_event_loop_and_still_says_hung_dead_and_back(lab, op):
    """Through the SSH tunnel the kept connection's poll is sent and read by the event loop
    (the forward's tap), not by the probe's worker thread: the same reading, and a frozen or
    killed server is still said as the worker would say it."""
    from hatui.cluster import load_cluster
    from hatui.ssh import NodeSession

    cluster = load_cluster(lab.spec.cluster_file)
    session = NodeSession(cluster.nodes["db3"])
    probe = make_probe(lab, "db3", read_timeout=2.0)
    plain = make_probe(lab, "db3")

    async def setup() -> None:
        port = await session.forward_local(lab.spec.node("db3").address, 3306)
        probe.retarget("127.0.0.1", port)
        probe.tap_with(lambda client: session.forward_tap(lab.spec.node("db3").address, 3306, client))

    worker: list[int] = []
    submit = probe._executor.submit
    probe._executor.submit = lambda *a, **kw: (worker.append(1), submit(*a, **kw))[1]  # type: ignore[method-assign]
    try:
        op.run(setup())
        first = op.run(probe.poll())  # a new connection: the worker's (it logs in)
        assert first.up, first.error
        assert len(worker) == 1
        readings = [op.run(probe.poll()) for _ in range(5)]
        assert len(worker) == 1, "a kept connection's poll went to the worker thread"
        reference = asyncio.run(plain.poll())
        for st in readings:
            assert st.up and st.error is None and st.warnings == ()
            assert (st.hostname, st.server_id, st.read_only) == (reference.hostname, reference.server_id, True)
            assert (
                st.channels
                and st.channels[0].healthy
                and st.channels[0].source_host == reference.channels[0].source_host
            )
            assert st.gtid_current_pos == reference.gtid_current_pos  # a quiet lab

        lab.fault("freeze-mysqld", "db3")
        try:
            t0 = time.monotonic()
            st = op.run(probe.poll())
            took = time.monotonic() - t0
            assert not st.up and st.error == "timeout after 2 s waiting for an answer"
            assert took < 2.0 + SLACK
        finally:
            lab.fault("thaw-mysqld", "db3")
        back = op.run(poll_until(probe, "db3 to answer again", lambda s: s.up, 10))
        assert back.server_id == reference.server_id

        lab.fault("kill-mysqld", "db3")
        try:
            st = op.run(poll_until(probe, "db3 to be down", lambda s: not s.up, 10))
            assert st.error in ("connection refused", "connection lost", "connection closed"), st.error
        finally:
            lab.fault("start-mysqld", "db3")
        op.run(poll_until(probe, "db3 to come back", lambda s: s.up, 30))
        before = len(worker)
        for _ in range(3):
            assert op.run(probe.poll()).up
        assert len(worker) == before  # the new kept connection is tapped too
    finally:
        op.run(probe.close())
        asyncio.run(plain.close())
        op.run(session.close())
