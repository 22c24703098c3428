"""`hatui check-mysql` against the real lab: the exact wrapper keepalived runs, on real mariadbd
stopped, hung (SIGSTOP), in maintenance, cut off from the network, with a broken applier, and
keepalived itself moving the VIP when the check fails.

Every command runs inside the node (its mount, UTS and network namespaces), as keepalived runs
it there; elapsed times are measured around the whole process, Python start-up included.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from hatui.lab import configs, procs

from .support import SLACK, vip_holders, wait_until

WRAPPER = [configs.NODE_CHECK_SCRIPT]
HATUI = [str(Path(sys.executable)), "-m", "hatui", "check-mysql"]
TIMEOUT = configs.CHECK_TIMEOUT  # what the wrapper passes: 1.5 s


def run(lab, node: str, argv: list[str], timeout: float = 20):
    t0 = time.monotonic()
    res = lab.node_run(node, argv, timeout=timeout)
    return res, time.monotonic() - t0


def monitor_flags(lab) -> list[str]:
    # db3 runs no keepalived, so it has no hatui-check.cnf: the flags say the same
    return ["--user", configs.MONITOR_USER, "--password-file", str(lab.spec.secrets_dir / "monitor.pw")]


def standby(lab) -> tuple[str, str]:
    """(the VIP holder, the other master)."""
    (holder,), _ = wait_until("one VIP holder", lambda: vip_holders(lab) if len(vip_holders(lab)) == 1 else None, 20)
    other = next(n.name for n in lab.spec.nodes if n.keepalived and n.name != holder)
    return holder, other


def slave_io(lab, node: str) -> str:
    out = lab.sql(node, "SHOW ALL SLAVES STATUS\\G", check=False)
    for line in out.splitlines():
        if line.strip().startswith("Slave_IO_Running:"):
            return line.split(":", 1)[1].strip()
    return ""


def test_the_wrapper_keepalived_runs_passes_on_healthy_masters(lab):
    for n in lab.spec.nodes:
        if not n.keepalived:
            continue
        conf = (lab.spec.node_dir(n.name) / "keepalived" / "keepalived.conf").read_text()
        assert f'script "{configs.NODE_CHECK_SCRIPT}"' in conf
        cnf = lab.spec.node_dir(n.name) / "keepalived" / Path(configs.NODE_CHECK_CNF).name
        assert cnf.stat().st_mode & 0o777 == 0o600
        res, took = run(lab, n.name, WRAPPER)
        assert (res.returncode, res.stdout, res.stderr) == (0, "", ""), res.stderr
        assert took < TIMEOUT + SLACK
        # keepalived accepted the script (enable_script_security) and it passes there too
        log = (lab.spec.node_dir(n.name) / "log" / "keepalived.log").read_text()
        assert "VRRP_Script(chk_mysql) succeeded" in log
        assert "unsafe" not in log.lower() and "not executable" not in log.lower()


def test_hatui_check_mysql_with_flags_on_every_node(lab):
    holder, _ = standby(lab)
    for n in lab.spec.nodes:
        extra = ["--writable"] if n.name == holder else []
        res, took = run(lab, n.name, HATUI + monitor_flags(lab) + ["-v", "--replication", "--max-lag", "30"] + extra)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("check-mysql: OK: mysqld answered SELECT 1 in ")
        assert f"socket {configs.NODE_SOCKET}, user {configs.MONITOR_USER}" in res.stdout
        assert "replication healthy (1 channel)" in res.stdout  # every lab node replicates
        assert took < TIMEOUT + SLACK


def test_writable_fails_on_the_read_only_standby(lab):
    _, other = standby(lab)
    res, _ = run(lab, other, HATUI + ["--defaults-file", configs.NODE_CHECK_CNF, "--writable"])
    assert res.returncode == 1
    assert res.stderr == (
        "check-mysql: FAIL: read_only is ON and --writable was asked "
        f"(socket {configs.NODE_SOCKET}, user {configs.MONITOR_USER})\n"
    )


def test_stopped_mysqld_fails_fast_and_a_dead_peer_does_not_fail_the_survivor(lab):
    holder, other = standby(lab)
    lab.fault("stop-mysqld", other)
    res, took = run(lab, other, WRAPPER)
    assert res.returncode == 1
    assert res.stderr.startswith(
        f"check-mysql: FAIL: cannot connect to mysqld (socket {configs.NODE_SOCKET}, user {configs.MONITOR_USER}): "
    )
    assert took < TIMEOUT + SLACK, f"took {took:.2f} s"
    # the holder's IO thread now reads from a dead source: reconnecting is not the holder's fault
    wait_until(f"{holder}'s IO thread to lose its source", lambda: slave_io(lab, holder) != "Yes", 30, 0.2)
    res, _ = run(lab, holder, HATUI + ["--defaults-file", configs.NODE_CHECK_CNF, "--replication", "-v"])
    assert res.returncode == 0, res.stderr
    assert vip_holders(lab) == [holder]


def test_sigstopped_mysqld_is_cut_off_by_the_deadline(lab):
    _, other = standby(lab)
    rec = lab.state().daemons[other]["mysqld"]  # the PID the lab recorded (nsenter exec'd it)
    assert procs.is_alive(rec) and Path(f"/proc/{rec.pid}/comm").read_text().strip() == "mariadbd"
    assert procs.signal_rec(rec, signal.SIGSTOP)
    try:
        res, took = run(lab, other, WRAPPER)
        assert res.returncode == 1
        assert res.stderr.startswith(f"check-mysql: FAIL: timed out after {TIMEOUT} s: "), res.stderr
        assert f"(socket {configs.NODE_SOCKET}, user {configs.MONITOR_USER})" in res.stderr
        assert took < TIMEOUT + SLACK, f"took {took:.2f} s"
        res, took = run(lab, other, HATUI + ["--defaults-file", configs.NODE_CHECK_CNF, "--timeout", "0.5"])
        assert res.returncode == 1 and "timed out after 0.5 s" in res.stderr
        assert took < 0.5 + SLACK, f"took {took:.2f} s"
    finally:
        procs.signal_rec(rec, signal.SIGCONT)
    wait_until("the check to pass again after SIGCONT", lambda: run(lab, other, WRAPPER)[0].returncode == 0, 20)


def test_maintenance_flag_fails_the_check_until_removed(lab):
    _, other = standby(lab)
    try:
        assert lab.node_run(other, ["touch", configs.NODE_MAINTENANCE_FILE]).returncode == 0
        res, took = run(lab, other, WRAPPER)
        assert res.returncode == 1
        assert res.stderr == f"check-mysql: FAIL: maintenance flag {configs.NODE_MAINTENANCE_FILE} present\n"
        assert took < TIMEOUT + SLACK
        # node-private: the flag is in this node's /etc/keepalived only
        assert (lab.spec.node_dir(other) / "keepalived" / "hatui-maintenance").exists()
        assert not (lab.spec.node_dir("db1" if other == "db2" else "db2") / "keepalived" / "hatui-maintenance").exists()
    finally:
        lab.node_run(other, ["rm", "-f", configs.NODE_MAINTENANCE_FILE])
    res, _ = run(lab, other, WRAPPER)
    assert res.returncode == 0, res.stderr


def test_gateway_check_fails_only_when_the_node_is_cut_off(lab):
    db1 = lab.spec.node("db1").address
    unused = lab.spec.host(250)  # in the lab subnet, nobody there
    base = HATUI + monitor_flags(lab) + ["-v"]
    res, _ = run(lab, "db3", base + ["--gateway", db1])
    assert res.returncode == 0, res.stderr
    assert f"gateway {db1} answered" in res.stdout
    res, _ = run(lab, "db3", base + ["--gateway", unused, "--gateway", db1])
    assert res.returncode == 0, res.stderr  # one answering gateway is enough
    lab.fault("partition", "db3")
    res, took = run(lab, "db3", base + ["--gateway", db1, "--gateway", unused])
    assert res.returncode == 1
    assert res.stderr == (f"check-mysql: FAIL: no gateway answered ping ({db1}, {unused}): this node looks cut off\n")
    assert took < 2.0 + SLACK  # --timeout 2.0; the ping waits 1 s (ping -W 1)
    lab.fault("heal", "db3")
    res, _ = run(lab, "db3", base + ["--gateway", db1])
    assert res.returncode == 0, res.stderr


def test_replication_check_on_the_replica(lab):
    argv = HATUI + monitor_flags(lab) + ["--replication"]
    res, _ = run(lab, "db3", argv)
    assert res.returncode == 0, res.stderr
    lab.sql("db3", "STOP SLAVE SQL_THREAD")
    try:
        res, _ = run(lab, "db3", argv)
        assert res.returncode == 1
        db1 = lab.spec.node("db1").address
        assert res.stderr == f"check-mysql: FAIL: replication from {db1}:3306: SQL thread not running\n"
        # without --replication the same node is healthy: it still answers queries
        assert run(lab, "db3", HATUI + monitor_flags(lab))[0].returncode == 0
    finally:
        lab.sql("db3", "START SLAVE SQL_THREAD")
    res, _ = run(lab, "db3", argv)
    assert res.returncode == 0, res.stderr


def test_keepalived_moves_the_vip_when_the_check_fails(lab):
    holder, other = standby(lab)
    log = lab.spec.node_dir(holder) / "log" / "keepalived.log"
    offset = log.stat().st_size
    t0 = time.monotonic()
    try:
        assert lab.node_run(holder, ["touch", configs.NODE_MAINTENANCE_FILE]).returncode == 0
        _, took = wait_until(f"the VIP to move from {holder} to {other}", lambda: vip_holders(lab) == [other], 15, 0.05)
        # interval 1 x fall 2, then the holder's priority-0 advert hands over at once
        assert took < 5.0, f"the VIP moved only after {took:.1f} s"
        said = log.read_bytes()[offset:].decode(errors="replace")
        assert "Script `chk_mysql` now returning 1" in said
        assert "VRRP_Script(chk_mysql) failed (exited with status 1)" in said
        assert "(VI_1) Entering FAULT STATE" in said
    finally:
        lab.node_run(holder, ["rm", "-f", configs.NODE_MAINTENANCE_FILE])

    def recovered():
        tail = log.read_bytes()[offset:].decode(errors="replace")
        return tail.rfind("VRRP_Script(chk_mysql) succeeded") > tail.rfind("VRRP_Script(chk_mysql) failed")

    wait_until(f"{holder}'s check to succeed again", recovered, 15, 0.1)
    assert vip_holders(lab) == [other]  # nopreempt: the VIP stays where it went
    assert time.monotonic() - t0 < 30
