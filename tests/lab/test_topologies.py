"""Every deployment of the seeds, built for real: `hatui lab up --topology NAME [options]`.

Each test brings up its own lab (own namespace prefix and folder), checks it is canonical (one
holder per VIP, replication healthy, the right node writable), that a write through the
writer's address reaches every database and a read through the read-only address lands on a
replica, walks every fault kind that applies to its nodes, then tears it down and finds nothing
left. One lab per test keeps them independent; the combinations cover every option."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql
import pytest

from hatui.cluster import load_cluster
from hatui.lab import Lab, canonical, configs
from hatui.lab.spec import ROUTER_PORTS, LabOptions
from hatui.lab.writer import VipWriter, verify_rows

from .support import SLACK, lab_spec, leftovers, own_lab, query, recorded, require_lab, wait_until


@contextmanager
def built(name: str, topology: str, options: LabOptions | None = None) -> Iterator[Lab]:
    require_lab()
    options = options or LabOptions()
    prefix, state = own_lab(name)
    lab = Lab(lab_spec(prefix, f"topo-{state}", topology=topology, options=options))
    pids = []
    try:
        t0 = time.monotonic()
        assert lab.up() is True
        print(f"{topology} ({options.describe()}): up in {time.monotonic() - t0:.1f} s")
        pids = recorded(lab)
        yield lab
    finally:
        lab.down()
    assert leftovers(lab, pids) == []


def holders(lab: Lab, address: str) -> list[str]:
    from hatui.lab import network

    return [n.name for n in lab.spec.nodes if address in network.addresses(lab.spec.node_ns(n.name))]


def write_reaches_every_database(lab: Lab, host: str, port: int) -> str:
    """A row written through host:port shows up on every database; returns who took it."""
    marker = uuid.uuid4().hex[:12]
    query(
        lab,
        host,
        "CREATE TABLE IF NOT EXISTS labdb.topo (v VARCHAR(32) PRIMARY KEY, w VARCHAR(16))",
        account="app",
        port=port,
    )
    query(lab, host, "INSERT INTO labdb.topo VALUES (%s, @@hostname)", account="app", args=(marker,), port=port)
    for n in lab.spec.mysql_nodes:
        wait_until(
            f"the row on {n.name}",
            lambda n=n: lab.sql(n.name, f"SELECT w FROM labdb.topo WHERE v='{marker}'", check=False).strip(),
            20,
        )
    return lab.sql(lab.spec.writer, f"SELECT w FROM labdb.topo WHERE v='{marker}'").strip()


def answers(lab: Lab, host: str, port: int = 3306) -> str:
    return query(lab, host, "SELECT @@hostname AS h", account="app", port=port)[0]["h"]


def reads_from(lab: Lab, host: str, port: int, tries: int = 4) -> set[str]:
    """Who answers `tries` reads; a read that fails (a backend dying under it, until the
    router's check notices) counts as nobody."""
    seen = set()
    for _ in range(tries):
        try:
            seen.add(answers(lab, host, port))
        except pymysql.err.OperationalError:
            seen.add("")
    return seen


def status_of(lab: Lab) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hatui", "status", "--cluster", str(lab.spec.cluster_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def status_json(lab: Lab) -> dict:
    st = subprocess.run(
        [sys.executable, "-m", "hatui", "status", "--json", "--cluster", str(lab.spec.cluster_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in st.stderr, st.stderr
    return json.loads(st.stdout)


def status_until(lab: Lab, what: str, pred, timeout: float = 30.0) -> dict:
    """hatui status, again until pred(its JSON) holds; the last one is in the failure."""
    last: dict = {}

    def check() -> bool:
        nonlocal last
        last = status_json(lab)
        return bool(pred(last))

    try:
        wait_until(what, check, timeout)
    except pytest.fail.Exception:
        raise AssertionError(f"{what}: hatui status said {json.dumps(last, indent=1)[:4000]}") from None
    return last


def node_of(d: dict, name: str) -> dict:
    return next(n for n in d["nodes"] if n["name"] == name)


def alert_set(d: dict) -> set[tuple[str, str | None]]:
    return {(a["code"], a["node"]) for a in d["alerts"]}


def switchover_cli(lab: Lab, to: str, state_dir) -> subprocess.CompletedProcess:
    """`hatui switchover` as a DBA runs it (it enters the lab's operator namespace)."""
    import os

    env = dict(os.environ, HATUI_STATE_DIR=str(state_dir))
    return subprocess.run(
        [sys.executable, "-m", "hatui", "switchover", "--cluster", str(lab.spec.cluster_file), "--to", to, "--yes"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def switchover_there_and_back(lab: Lab, target: str, state_dir, mover: str) -> None:
    """Under a client writing through the writer's address (reconnecting), a switchover to
    `target` and back: nothing lost or duplicated, the mover the issue asks for, and the lab as
    built afterwards (replication healthy)."""
    home = lab.spec.writer
    w = VipWriter(lab, table=f"sw_{lab.spec.topology.replace('-', '_')}_{uuid.uuid4().hex[:6]}")
    w.start()

    def wrote(n: int) -> None:
        base = w.acked
        wait_until(f"{n} more acknowledged writes", lambda: w.acked >= base + n, 30, every=0.05)

    try:
        wrote(100)
        for to in (target, home):
            r = switchover_cli(lab, to, state_dir)
            print(r.stdout[-3000:], r.stderr[-2000:])
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
            assert "mover: how the" in r.stdout and f"{mover}:" in r.stdout
            wrote(100)
    finally:
        report = w.stop()
    print("writer:", report)
    checks = verify_rows(lab, w.table, report.acked)
    assert all(c.ok for c in checks.values()), checks  # none lost, none duplicated, none invented
    assert canonical.problems(lab, settle=20) == []


def common(lab: Lab) -> None:
    """Canonical as built; a valid cluster file; hatui status reads it as healthy: no alert, no
    incident, every node's keepalived running and every VIP on its holder."""
    assert canonical.problems(lab) == []
    load_cluster(lab.spec.cluster_file)
    st = status_of(lab)
    print(st.stdout, st.stderr)
    assert st.returncode in (0, 1, 2, 3) and "Traceback" not in st.stderr
    d = status_until(lab, "a healthy status", lambda d: d["exit_code"] == 0)
    assert d["incidents"] == [] and d["alerts"] == []
    for n in lab.spec.nodes:
        if n.keepalived:
            assert node_of(d, n.name)["keepalived"]["running"] is True, n.name
    for v in lab.spec.vips:
        row = next(x for x in d["vips"] if x["address"] == v.address)
        assert row["holders"] == holders(lab, v.address)


def mysqld_faults(lab: Lab, node: str) -> None:
    for kind, up in (("stop-mysqld", False), ("start-mysqld", True), ("kill-mysqld", False), ("start-mysqld", True)):
        lab.fault(kind, node)
        ok = lab.node_run(node, ["mariadb", "--connect-timeout=1", "-e", "SELECT 1"]).returncode == 0
        assert ok is up, f"{kind} on {node}"


def sshd_and_network_faults(lab: Lab, node: str) -> None:
    address = lab.spec.node(node).address
    probe = ["bash", "-c", f"exec 3<>/dev/tcp/{address}/22"]
    other = next(n.name for n in lab.spec.nodes if n.name != node)
    lab.fault("stop-sshd", node)
    assert lab.node_run(other, probe, timeout=5).returncode != 0
    lab.fault("start-sshd", node)
    assert lab.node_run(other, probe, timeout=5).returncode == 0
    lab.fault("partition", node)
    assert lab.node_run(other, ["timeout", "2", *probe], timeout=5).returncode != 0
    lab.fault("heal", node)
    wait_until(f"{node} reachable again", lambda: lab.node_run(other, probe, timeout=5).returncode == 0, 10)


def keepalived_faults(lab: Lab, address: str) -> None:
    """Stop and kill keepalived on the address's holder: it moves; a kill leaves it behind too."""
    (holder,) = holders(lab, address)
    lab.fault("stop-keepalived", holder)
    wait_until(
        f"{address} to leave {holder}",
        lambda: len(holders(lab, address)) == 1 and holders(lab, address) != [holder],
        10,
    )
    lab.fault("start-keepalived", holder)
    (now,) = holders(lab, address)
    lab.fault("kill-keepalived", now)  # seed 000: kill -9 leaves the VIP behind on it
    wait_until(f"{address} on two nodes", lambda: len(holders(lab, address)) == 2, 10)
    canonical.restore(lab)


def test_dual_master_default_with_every_fault_kind(tmp_path):
    with built("dm", "dual-master") as lab:
        common(lab)
        switchover_there_and_back(lab, "db2", tmp_path, "track-file")
        assert write_reaches_every_database(lab, lab.spec.vip, 3306) == "db1"
        assert answers(lab, lab.spec.node("db3").address) == "db3"  # a replica, read-only
        mysqld_faults(lab, "db3")
        sshd_and_network_faults(lab, "db3")
        keepalived_faults(lab, lab.spec.vip)
        assert canonical.problems(lab) == []


def test_primary_replicas_behind_routers(tmp_path):
    with built("pr", "primary-replicas") as lab:
        common(lab)
        switchover_there_and_back(lab, "db2", tmp_path, "router")
        spec = lab.spec
        assert holders(lab, spec.vip) == ["r1"]
        # the router's read-write port reaches the primary, the read-only port the replicas
        assert write_reaches_every_database(lab, spec.vip, ROUTER_PORTS["writer"]) == "db1"
        seen = {answers(lab, spec.vip, ROUTER_PORTS["reader"]) for _ in range(6)}
        assert seen == {"db2", "db3"}, seen  # balanced over both replicas
        assert lab.sql("db1", "SELECT @@read_only").strip() == "0"
        assert lab.sql("db2", "SELECT @@read_only").strip() == "1"
        stat = lab.node_run(
            "r1", ["sh", "-c", f"echo 'show stat' | socat - UNIX-CONNECT:{configs.NODE_HAPROXY_SOCKET}"]
        )
        assert "rw,db1," in stat.stdout and "ro,db2," in stat.stdout  # the stats socket answers
        # hatui reads both routers: rw -> the primary, ro -> the replicas
        d = status_json(lab)
        for r in ("r1", "r2"):
            routes = {x["name"]: x for x in node_of(d, r)["router"]["routes"]}
            assert routes["rw"]["role"] == "writer" and routes["rw"]["targets"] == ["db1"]
            assert routes["ro"]["role"] == "reader" and sorted(routes["ro"]["targets"]) == ["db2", "db3"]
            assert {s["node"]: s["state"] for s in routes["rw"]["servers"]} == {
                "db1": "up",
                "db2": "maint",
                "db3": "maint",
            }
        vip = next(x for x in d["vips"] if x["address"] == spec.vip)
        assert vip["ports"] == [{"port": 7001, "role": "writer"}, {"port": 7002, "role": "reader"}]
        routers_streamed_and_a_partition_said_at_once(lab)
        # r1 sends writes to a replica (HAProxy's mysql-check passes it): only hatui sees it
        sock = configs.NODE_HAPROXY_SOCKET
        lab.node_run(
            "r1",
            [
                "sh",
                "-c",
                f"echo 'set server rw/db2 state ready; set server rw/db1 state maint' | socat - UNIX-CONNECT:{sock}",
            ],
        )
        d = status_until(
            lab, "r1's rw route to a read-only replica", lambda d: ("router.rw_target_read_only", "r1") in alert_set(d)
        )
        assert ("router.rw_disagree", None) in alert_set(d)  # r2 still writes to db1
        assert "split_brain" in [i["code"] for i in d["incidents"]]
        lab.node_run(
            "r1",
            [
                "sh",
                "-c",
                f"echo 'set server rw/db1 state ready; set server rw/db2 state maint' | socat - UNIX-CONNECT:{sock}",
            ],
        )
        status_until(lab, "the routers healthy again", lambda d: d["exit_code"] == 0)
        # a dead router: keepalived's check sees it and the VIP goes to the other router
        lab.fault("kill-haproxy", "r1")
        wait_until("the VIP on r2", lambda: holders(lab, spec.vip) == ["r2"], 10)
        assert answers(lab, spec.vip, ROUTER_PORTS["writer"]) == "db1"
        lab.fault("start-haproxy", "r1")
        lab.fault("stop-haproxy", "r2")
        wait_until("the VIP back on r1", lambda: holders(lab, spec.vip) == ["r1"], 10)
        lab.fault("start-haproxy", "r2")
        # a dead replica leaves the read-only route
        lab.fault("kill-mysqld", "db3")
        wait_until("reads only from db2", lambda: reads_from(lab, spec.vip, ROUTER_PORTS["reader"]) == {"db2"}, 15)
        lab.fault("start-mysqld", "db3")
        mysqld_faults(lab, "db2")
        sshd_and_network_faults(lab, "db2")
        keepalived_faults(lab, spec.vip)
        with pytest.raises(Exception, match="runs no mysqld"):
            lab.fault("kill-mysqld", "r1")
        assert canonical.restore(lab).rebuilt is False
        assert canonical.problems(lab) == []


def routers_streamed_and_a_partition_said_at_once(lab: Lab) -> None:
    """The console reads each HAProxy on one long-lived channel: no new SSH session a second on
    the router, and a partitioned router is said as soon as its reading is overdue (its SSH
    connection still looks up: nothing else would say it for seconds)."""
    from hatui.collect.monitor import Monitor
    from hatui.lab.operator import OperatorLoop
    from hatui.rules.health import evaluate
    from hatui.state import Kind

    op = OperatorLoop(lab.spec.operator_ns)
    m = Monitor(load_cluster(lab.spec.cluster_file))
    op.run(m.start())
    try:

        def routes(node: str) -> bool:
            obs = m.store.latest(node, Kind.ROUTER)
            return obs is not None and obs.value.error is None and bool(obs.value.routes)

        wait_until("both routers read", lambda: routes("r1") and routes("r2"), 20)
        time.sleep(1.5)  # the channels of the first round are open
        opened = m.collectors["r1"].session.channels_opened
        time.sleep(5)
        # five readings, no session for them (a VRRP dump, every 10 s at most, may open one)
        assert m.collectors["r1"].session.channels_opened - opened <= 1
        lab.fault("partition", "r1")
        t0 = time.monotonic()
        wait_until(
            "the partitioned router said",
            lambda: ("router.unreadable", "r1") in {(a.code, a.node) for a in evaluate(m.store.snapshot())},
            3 + SLACK,
        )
        print(f"partitioned router said after {time.monotonic() - t0:.2f} s")
        assert "no reading for 2 s" in (m.store.latest("r1", Kind.ROUTER).value.error or "")
        # held as long as the soak's longer partitions: the old connection's TCP retransmissions
        # have backed off to seconds by now, and the reading comes back on a new connection
        time.sleep(max(0.0, t0 + 6.5 - time.monotonic()))
        lab.fault("heal", "r1")
        healed = time.monotonic()
        wait_until("r1 read again after the heal", lambda: routes("r1"), 30)
        back = time.monotonic() - healed
        # on a new connection (renewals 1) unless the old one's retransmission came first
        print(f"r1 read again {back:.2f} s after the heal (renewals {m.collectors['r1'].renewals})")
        assert back < 2.0 + SLACK, f"r1 read again {back:.2f} s after the heal"
    finally:
        op.run(m.stop())
        op.close()


def test_mmm_writer_and_reader_vips(tmp_path):
    with built("mm", "mmm") as lab:
        common(lab)
        switchover_there_and_back(lab, "db2", tmp_path, "track-file")
        spec = lab.spec
        writer, r2, r3 = (v.address for v in spec.vips)
        assert holders(lab, writer) == ["db1"] and holders(lab, r2) == ["db2"] and holders(lab, r3) == ["db3"]
        assert write_reaches_every_database(lab, writer, 3306) == "db1"
        assert answers(lab, r2) == "db2" and answers(lab, r3) == "db3"
        d = status_json(lab)
        assert [(m["node"], m["mode"], m["state"], m["roles"]) for m in d["mmm"]] == [
            ("db1", "master", "ONLINE", [["writer", writer]]),
            ("db2", "master", "ONLINE", [["reader", r2]]),
            ("db3", "slave", "ONLINE", [["reader", r3]]),
        ]
        # a broken replica loses its reader VIP to the other replica (MMM's REPLICATION_FAIL)
        lab.sql("db3", "STOP SLAVE SQL_THREAD")
        wait_until("db3's reader VIP on db2", lambda: holders(lab, r3) == ["db2"], 15)
        d = status_until(
            lab,
            "db3 REPLICATION_FAIL without a role",
            lambda d: [(m["state"], m["roles"]) for m in d["mmm"] if m["node"] == "db3"] == [("REPLICATION_FAIL", [])],
        )
        assert next(m for m in d["mmm"] if m["node"] == "db2")["roles"] == [["reader", r2], ["reader", r3]]
        assert holders(lab, writer) == ["db1"]  # the writer is not touched
        lab.sql("db3", "START SLAVE SQL_THREAD")
        wait_until("db3's reader VIP back", lambda: holders(lab, r3) == ["db3"], 15)
        mysqld_faults(lab, "db2")
        wait_until("db2's reader VIP back on db2", lambda: holders(lab, r2) == ["db2"], 20)
        keepalived_faults(lab, writer)
        assert canonical.problems(lab) == []


def test_old_hosts_without_gtids_with_a_flag_file_and_unicast(tmp_path):
    options = LabOptions(gtid=False, vip_mover="flag-file", unicast=True, old_host=True)
    with built("oh", "dual-master", options) as lab:
        common(lab)
        switchover_there_and_back(lab, "db2", tmp_path, "flag-file")
        spec = lab.spec
        # replication by binlog file and position (seed 001)
        for n in ("db1", "db2", "db3"):
            (row,) = lab.rows(n, "SHOW SLAVE STATUS")
            assert row["Using_Gtid"] == "No" and row["Slave_IO_Running"] == "Yes"
        assert write_reaches_every_database(lab, spec.vip, 3306) == "db1"
        # what a login on a CentOS 6/7 host meets (PATH of an SSH session: /usr/local/sbin first)
        old = lab.node_run(
            "db1",
            [
                "sh",
                "-c",
                "PATH=/usr/local/sbin:$PATH; ip -j addr; echo rc=$?; "
                "keepalived --signum=JSON; echo rc=$?; ip -o addr | head -1",
            ],
        )
        assert "rc=255" in old.stdout and "rc=1" in old.stdout and "inet" in old.stdout
        assert lab.node_run("db1", ["test", "-e", "/run/keepalived.pid"]).returncode != 0
        assert lab.node_run("db1", ["test", "-s", configs.NODE_OLD_PID_FILE]).returncode == 0
        # hatui's probes read such a host right (common() saw every keepalived running and the
        # VIP on db1): and a stopped keepalived reads as stopped, not as another node's
        lab.fault("stop-keepalived", "db2")
        d = status_until(lab, "db2's keepalived down", lambda d: ("keepalived.down", "db2") in alert_set(d))
        assert node_of(d, "db1")["keepalived"]["running"] is True
        lab.fault("start-keepalived", "db2")
        conf = (spec.node_dir("db1") / "keepalived" / "keepalived.conf").read_text()
        assert "unicast_peer" in conf and "track_file" not in conf
        # seed 003's way to move the VIP on purpose: the flag file, and back when it goes
        lab.node_run("db1", ["touch", configs.NODE_FLAG_FILE])
        wait_until("the VIP on db2", lambda: holders(lab, spec.vip) == ["db2"], 10)
        lab.node_run("db1", ["rm", "-f", configs.NODE_FLAG_FILE])
        wait_until("the VIP back on db1 (preempted)", lambda: holders(lab, spec.vip) == ["db1"], 10)
        mysqld_faults(lab, "db3")
        sshd_and_network_faults(lab, "db2")
        keepalived_faults(lab, spec.vip)
        assert canonical.problems(lab) == []


def test_dual_vips_without_a_vip_mover(tmp_path):
    with built("dv", "dual-master", LabOptions(dual_vip=True, vip_mover="none")) as lab:
        common(lab)
        switchover_there_and_back(lab, "db2", tmp_path, "restart")
        spec = lab.spec
        writer, second = spec.vips
        assert holders(lab, writer.address) == ["db1"] and holders(lab, second.address) == ["db2"]
        assert answers(lab, second.address) == "db2"  # reads on the second VIP
        assert write_reaches_every_database(lab, writer.address, 3306) == "db1"
        conf = (spec.node_dir("db1") / "keepalived" / "keepalived.conf").read_text()
        assert "track_file" not in conf and "chk_flag" not in conf  # a 1.x host: no way to move it
        lab.fault("stop-keepalived", "db2")
        wait_until("the second VIP on db1", lambda: holders(lab, second.address) == ["db1"], 10)
        lab.fault("start-keepalived", "db2")
        wait_until("the second VIP back on db2", lambda: holders(lab, second.address) == ["db2"], 10)
        with pytest.raises(pymysql.err.OperationalError):
            lab.fault("stop-mysqld", "db2")
            answers(lab, spec.node("db2").address)
        lab.fault("start-mysqld", "db2")
        assert canonical.restore(lab).rebuilt is False
        assert canonical.problems(lab) == []
