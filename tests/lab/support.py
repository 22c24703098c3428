"""Helpers for lab tests: talk to the lab from its operator namespace, wait for conditions."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pymysql
import pytest
from pyroute2 import netns

from hatui.lab import Lab, default_spec, network, procs
from hatui.lab.preflight import missing_packages

T = TypeVar("T")

# What a loaded 2-core machine adds to a time bound that includes starting a process or being
# scheduled (a CI run shares the machine): the bound still catches a hang or a missed deadline,
# never the machine's load. The real figures come from bench/, on a quiet machine.
SLACK = float(os.environ.get("HATUI_TEST_SLACK", "2.0"))


def why_no_lab() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root: they create network namespaces"
    missing = missing_packages()
    if missing:
        return "lab tests need Debian packages: " + ", ".join(missing) + " (run dev/test.sh)"
    return None


def require_lab() -> None:
    why = why_no_lab()
    if why:
        # CI sets HATUI_REQUIRE_LAB: a lab test that cannot run there is a failure, not a skip
        if os.environ.get("HATUI_REQUIRE_LAB"):
            pytest.fail(why)
        pytest.skip(why)


def lab_spec(prefix: str, name: str, **kw):
    return default_spec(prefix=prefix, state_dir=f"/var/lib/hatui-lab-{name}", **kw)


def own_lab(tag: str) -> tuple[str, str]:
    """Namespace prefix and state name of a lab a test builds for itself. Under a suite run with
    HATUI_TEST_PREFIX/HATUI_TEST_NAME (a second suite on the machine at once) they are scoped
    by those too, so two suites never share a lab."""
    prefix = os.environ.get("HATUI_TEST_PREFIX")
    if prefix is None:
        return f"hatui-{tag}-", tag
    return f"{prefix}{tag}-", f"{os.environ.get('HATUI_TEST_NAME', 'test')}-{tag}"


def leftovers(lab: Lab, pids: list[procs.ProcRecord]) -> list[str]:
    """Everything of this lab still present on the machine."""
    found = []
    found += (
        [f"namespace {n}" for n in os.listdir("/run/netns") if n.startswith(lab.spec.prefix)]
        if os.path.isdir("/run/netns")
        else []
    )
    found += [f"process {r.name} pid {r.pid}" for r in pids if procs.is_alive(r)]
    state_dir = str(lab.spec.state_dir)
    for mi in glob.glob("/proc/[0-9]*/mountinfo"):
        try:
            text = Path(mi).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            fields = line.split()
            # substring matches (under a chroot these paths carry the chroot's prefix), but of
            # whole path components: /var/lib/hatui-lab-f is not /var/lib/hatui-lab-fo-x-foe
            if f"{state_dir}/" in f"{fields[3]}/" or f"/run/netns/{lab.spec.prefix}" in fields[4]:
                found.append(f"mount {fields[3]} on {fields[4]} ({mi})")
    if lab.spec.state_dir.exists():
        found.append(f"folder {state_dir}")
    return found


def recorded(lab: Lab) -> list[procs.ProcRecord]:
    st = lab.state()
    assert st is not None
    return [*st.holders.values(), *(r for d in st.daemons.values() for r in d.values())]


def wait_until(what: str, fn: Callable[[], T], timeout: float, every: float = 0.1) -> tuple[T, float]:
    """Poll fn until truthy; returns (value, seconds taken) or fails the test naming `what`."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = fn()
        if last:
            return last, time.monotonic() - t0
        time.sleep(every)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def vip_holders(lab: Lab) -> list[str]:
    return [n.name for n in lab.spec.nodes if lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))]


@contextmanager
def in_operator_ns(lab: Lab) -> Iterator[None]:
    """Sockets made inside this block live in the lab's operator namespace (this thread only)."""
    netns.pushns(lab.spec.operator_ns)
    try:
        yield
    finally:
        netns.popns()


def password(lab: Lab, account: str) -> str:
    return (lab.spec.secrets_dir / f"{account}.pw").read_text().strip()


def connect(lab: Lab, host: str, account: str = "monitor", port: int = 3306, **kw) -> pymysql.connections.Connection:
    user = {"monitor": "hatui_monitor", "admin": "hatui_admin", "app": "hatui_app"}[account]
    with in_operator_ns(lab):
        return pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password(lab, account),
            connect_timeout=3,
            read_timeout=10,
            write_timeout=10,
            autocommit=True,
            **kw,
        )


def query(lab: Lab, host: str, sql: str, account: str = "monitor", args=None, port: int = 3306) -> list[dict]:
    conn = connect(lab, host, account, port=port, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def ssh(
    lab: Lab, host: str, command: str, known_hosts: str | None = None, timeout: float = 10
) -> subprocess.CompletedProcess:
    """The real OpenSSH client, from the operator namespace, with strict host-key checking."""
    d = lab.spec.ssh_dir
    argv = [
        "ip",
        "netns",
        "exec",
        lab.spec.operator_ns,
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={known_hosts or d / 'known_hosts'}",
        "-o",
        "ConnectTimeout=3",
        "-i",
        str(d / "id_ed25519"),
        f"root@{host}",
        command,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def heal(lab: Lab) -> None:
    """Undo every fault: reconnect, restart what is stopped, until one node holds the VIP (not
    necessarily the canonical one: hatui.lab.canonical.restore does that, before each test)."""
    for n in lab.spec.nodes:
        lab.fault("heal", n.name)
        lab.fault("start-sshd", n.name)
        lab.fault("start-mysqld", n.name)
    for n in lab.spec.nodes:
        if n.keepalived:
            lab.fault("start-keepalived", n.name)
            # a switchover that failed half-way may leave its priority file raised or faulted
            lab.node_run(n.name, ["sh", "-c", "printf '0\\n' > /etc/keepalived/hatui_priority"])

    # A SIGKILLed keepalived leaves its VIP behind and a restarted one drops it at startup, and
    # after a heal the pair may flap once: wait until one node holds the VIP and keeps it.
    def one_holder():
        holders = vip_holders(lab)
        return holders if len(holders) == 1 else None

    def stable():
        before = one_holder()
        time.sleep(1.5)
        return before if before and one_holder() == before else None

    (holder,), _ = wait_until("the VIP to stay on one node after repair", stable, 30)
    # keepalived's notify script normally leaves exactly the holder writable. A mysqld restarted
    # faster than the check noticed comes back read-only (my.cnf) under the VIP with no
    # transition to notify, and a flapping pair's notifications can land late: hatui reports
    # both (vip.holder_read_only, topology.multiple_writers). Repair as the DBA would.
    for n in lab.spec.nodes:
        if n.keepalived:
            want = "0" if n.name == holder else "1"
            if lab.sql(n.name, "SELECT @@read_only", check=False).strip() != want:
                lab.sql(n.name, f"SET GLOBAL read_only={'OFF' if want == '0' else 'ON'}", check=False)

    def writable_holder():
        return vip_holders(lab) == [holder] and lab.sql(holder, "SELECT @@read_only", check=False).strip() == "0"

    wait_until("the VIP holder writable", writable_holder, 10)


def vip_to(lab: Lab, node: str) -> None:
    """Move the VIP to `node` the way a careful operator would: fence the holder (read_only),
    let `node` catch up with it, then restart keepalived where it is. Without the fence a
    client's last insert on the old holder and its retry on the new one can both commit, and
    replication between the masters stops on a duplicate key (VipWriter's caveat)."""
    holders = vip_holders(lab)
    if holders == [node]:
        return
    for h in holders:
        lab.sql(h, "SET GLOBAL read_only=ON", check=False)
        pos = lab.sql(h, "SELECT @@gtid_binlog_pos", check=False).strip()
        if pos:
            lab.sql(node, f"SELECT MASTER_GTID_WAIT('{pos}', 20)", check=False, timeout=30)
    for h in holders:
        lab.fault("stop-keepalived", h)
    wait_until(f"the VIP on {node}", lambda: vip_holders(lab) == [node], 15)
    for h in holders:
        lab.fault("start-keepalived", h)
    heal(lab)


def node_procs(lab: Lab, node: str, needle: str, comm: str) -> list[str]:
    """Live processes named `comm` on the node (its mount namespace: nodes share the PID
    namespace with the machine) whose command line holds `needle`."""
    holder = lab.state().holders[node].pid
    mnt = os.readlink(f"/proc/{holder}/ns/mnt")
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != mnt:
                continue
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if Path(f"/proc/{pid}/comm").read_text().strip() != comm:
                continue
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in args:
            found.append(f"{pid} {args}")
    return found


def hatui(lab, state_dir, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """The CLI exactly as a DBA runs it (it enters the lab's operator namespace itself)."""
    env = dict(os.environ, HATUI_STATE_DIR=str(state_dir))
    r = subprocess.run(
        [sys.executable, "-m", "hatui", *args[:1], "--cluster", str(lab.spec.cluster_file), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    print(f"$ hatui {' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def stop_process(p: subprocess.Popen, grace: float = 20.0) -> None:
    """A process the test started: SIGTERM, then SIGKILL after `grace` s; by its PID, never by name."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
