"""The lab is a real cluster: VIP, SSH, replication and every fault behave as on real machines."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pymysql
import pytest

from hatui.cluster import load_cluster

from .support import connect, query, ssh, vip_holders, wait_until


def test_up_is_quick_and_idempotent(lab):
    assert lab.up_seconds < 60, f"lab up took {lab.up_seconds:.1f} s"
    t0 = time.monotonic()
    assert lab.up() is False  # already up: nothing rebuilt
    assert time.monotonic() - t0 < 5
    assert lab.status()["up"] is True


def test_exactly_one_node_holds_the_vip_and_answers_with_its_hostname(lab):
    holders = vip_holders(lab)
    assert len(holders) == 1 and holders[0] in ("db1", "db2")
    rows = query(lab, lab.spec.vip, "SELECT @@hostname AS h, @@read_only AS ro")
    assert rows == [{"h": holders[0], "ro": 0}]


def test_each_node_has_its_own_hostname_files_and_logs(lab):
    for n in lab.spec.nodes:
        res = ssh(
            lab,
            n.address,
            "hostname; grep -c . /var/log/mysql/error.log; grep -h priority /etc/keepalived/keepalived.conf || true",
        )
        assert res.returncode == 0, res.stderr
        lines = res.stdout.split("\n")
        assert lines[0] == n.name
        if n.keepalived:
            assert f"priority {n.priority}" in res.stdout
            log = ssh(lab, n.address, "cat /var/log/keepalived.log").stdout
            assert "(VI_1) Entering" in log  # each master's own keepalived log, read over SSH
        else:
            assert "priority" not in res.stdout  # db3 has no keepalived.conf of its own


def test_ssh_checks_host_keys(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    res = ssh(lab, lab.spec.nodes[0].address, "hostname", known_hosts=str(empty))
    assert res.returncode != 0
    assert "Host key verification failed" in res.stderr
    wrong = tmp_path / "wrong_known_hosts"  # db2's key claimed for db1's address
    db2_key = (lab.spec.node_dir("db2") / "ssh" / "ssh_host_ed25519_key.pub").read_text().split()
    wrong.write_text(f"{lab.spec.nodes[0].address} {db2_key[0]} {db2_key[1]}\n")
    res = ssh(lab, lab.spec.nodes[0].address, "hostname", known_hosts=str(wrong))
    assert res.returncode != 0 and "HOST IDENTIFICATION HAS CHANGED" in res.stderr


def test_ssh_refuses_passwords(lab):
    d = lab.spec.ssh_dir
    res = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            lab.spec.operator_ns,
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            f"UserKnownHostsFile={d / 'known_hosts'}",
            f"root@{lab.spec.nodes[0].address}",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert res.returncode != 0 and "Permission denied (publickey)" in res.stderr


def test_replication_runs_everywhere_and_a_row_reaches_all_nodes(lab):
    expected_source = {"db1": "db2", "db2": "db1", "db3": "db1"}
    for n in lab.spec.nodes:
        (st,) = query(lab, n.address, "SHOW SLAVE STATUS")
        assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes", n.name
        assert st["Master_Host"] == lab.spec.node(expected_source[n.name]).address  # real IP, not VIP
        assert st["Using_Gtid"] == "Slave_Pos"
    marker = uuid.uuid4().hex
    query(
        lab,
        lab.spec.vip,
        "CREATE TABLE IF NOT EXISTS labdb.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))",
        account="app",
    )
    query(lab, lab.spec.vip, "INSERT INTO labdb.t (v) VALUES (%s)", account="app", args=(marker,))
    for n in lab.spec.nodes:
        wait_until(
            f"the row on {n.name}",
            lambda n=n: query(lab, n.address, "SELECT v FROM labdb.t WHERE v=%s", account="admin", args=(marker,)),
            10,
        )


def test_stop_keepalived_on_the_holder_moves_the_vip_within_5s(lab):
    (holder,) = vip_holders(lab)
    other = "db2" if holder == "db1" else "db1"
    lab.fault("stop-keepalived", holder)
    _, took = wait_until("the VIP to move", lambda: vip_holders(lab) == [other], 5)
    assert query(lab, lab.spec.vip, "SELECT @@hostname AS h") == [{"h": other}]
    lab.fault("start-keepalived", holder)
    # nopreempt: once the restarted master has settled as BACKUP it must never take the VIP back
    log = lab.spec.node_dir(holder) / "log" / "keepalived.log"
    start = log.stat().st_size
    wait_until(f"{holder} to settle as BACKUP", lambda: "Entering BACKUP STATE" in log.read_text()[start:], 15)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        assert vip_holders(lab) == [other]
        time.sleep(0.2)


def test_kill_keepalived_leaves_the_vip_on_both_masters(lab):
    (holder,) = vip_holders(lab)
    lab.fault("kill-keepalived", holder)  # seed 000: kill -9 leaves the VIP behind
    wait_until("both masters to hold the VIP", lambda: sorted(vip_holders(lab)) == ["db1", "db2"], 8)


def test_kill_mysqld_fails_the_check_and_start_mysqld_recovers(lab):
    (holder,) = vip_holders(lab)
    other = "db2" if holder == "db1" else "db1"
    out = lab.fault("kill-mysqld", holder)
    assert "SIGKILL" in out
    with pytest.raises(pymysql.err.OperationalError):
        connect(lab, lab.spec.node(holder).address)
    wait_until("the VIP to leave the dead database", lambda: vip_holders(lab) == [other], 8)
    lab.fault("start-mysqld", holder)
    (st,) = wait_until(
        "replication on the restarted node",
        lambda: [
            r
            for r in query(lab, lab.spec.node(holder).address, "SHOW SLAVE STATUS")
            if r["Slave_IO_Running"] == "Yes" and r["Slave_SQL_Running"] == "Yes"
        ],
        15,
    )[0]
    assert st["Last_Errno"] == 0


def test_partition_cuts_a_node_off_and_heal_reconnects_it(lab):
    db3 = lab.spec.node("db3").address
    lab.fault("partition", "db3")
    assert lab.status()["nodes"]["db3"]["partitioned"] is True
    with pytest.raises(pymysql.err.OperationalError):
        connect(lab, db3)
    lab.fault("heal", "db3")
    assert query(lab, db3, "SELECT @@hostname AS h") == [{"h": "db3"}]


def test_partitioning_the_holder_splits_the_brain_and_heal_ends_it(lab):
    (holder,) = vip_holders(lab)
    lab.fault("partition", holder)
    wait_until("both masters to claim the VIP", lambda: sorted(vip_holders(lab)) == ["db1", "db2"], 8)
    lab.fault("heal", holder)
    wait_until("one VIP holder again", lambda: len(vip_holders(lab)) == 1, 10)


def test_stop_sshd_refuses_logins_and_start_sshd_restores_them(lab):
    db3 = lab.spec.node("db3").address
    lab.fault("stop-sshd", "db3")
    res = ssh(lab, db3, "hostname")
    assert res.returncode != 0 and "refused" in res.stderr
    lab.fault("start-sshd", "db3")
    assert ssh(lab, db3, "hostname").stdout.strip() == "db3"


def test_lab_cluster_file_is_valid_and_complete(lab):
    cluster = load_cluster(lab.spec.cluster_file)
    assert cluster.namespace == lab.spec.operator_ns
    assert sorted(cluster.nodes) == ["db1", "db2", "db3"]
    assert [str(v.address) for v in cluster.vips] == [lab.spec.vip]
    for node in cluster.nodes.values():
        assert str(node.host) == lab.spec.node(node.name).address
        assert os.path.exists(node.ssh.identity) and os.path.exists(node.ssh.known_hosts)
    assert cluster.nodes["db3"].roles == {"mysql"} and cluster.nodes["db1"].roles == {"mysql", "keepalived"}


def test_cli_status_and_fault_errors(lab):
    env = {**os.environ, "HATUI_LAB_PREFIX": lab.spec.prefix, "HATUI_LAB_DIR": str(lab.spec.state_dir)}
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "lab", "status"], env=env, capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
    assert "lab: up" in res.stdout and "held by db" in res.stdout
    assert "topology: dual-master (" in res.stdout  # which deployment this lab is
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "lab", "fault", "kill-keepalived", "db3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 1 and "db3 runs no keepalived" in res.stderr
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "lab", "fault", "partition", "db9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 1 and "unknown node 'db9'" in res.stderr


def test_lab_console_runs_inside_the_operator_namespace(lab):
    from tests.ptyrun import PtyApp, hatui_argv

    env = {"HATUI_LAB_PREFIX": lab.spec.prefix, "HATUI_LAB_DIR": str(lab.spec.state_dir)}
    app = PtyApp(hatui_argv("lab", "console"), env=env)
    try:
        app.read_until(["db1", "db2", "db3", lab.spec.vip])
        # the same process re-executed itself (ip netns exec ... python -m hatui) into the namespace
        ns = os.stat(f"/run/netns/{lab.spec.operator_ns}")
        mine = os.stat(f"/proc/{app.proc.pid}/ns/net")
        assert (mine.st_dev, mine.st_ino) == (ns.st_dev, ns.st_ino)
        app.send("q")
        assert app.wait() == 0
    finally:
        app.close()
