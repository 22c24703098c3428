"""Helpers for lab tests: talk to the lab from its operator namespace, wait for conditions."""

from __future__ import annotations

import os
import subprocess
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

import pymysql
import pytest
from pyroute2 import netns

from hatui.lab import Lab, default_spec
from hatui.lab import network
from hatui.lab.preflight import missing_packages

T = TypeVar("T")


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


def lab_spec(prefix: str, name: str):
    return default_spec(prefix=prefix, state_dir=f"/var/lib/hatui-lab-{name}")


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
    return [n.name for n in lab.spec.nodes
            if lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))]


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


def connect(lab: Lab, host: str, account: str = "monitor", **kw) -> pymysql.connections.Connection:
    user = {"monitor": "hatui_monitor", "admin": "hatui_admin", "app": "hatui_app"}[account]
    with in_operator_ns(lab):
        return pymysql.connect(host=host, port=3306, user=user, password=password(lab, account),
                               connect_timeout=3, read_timeout=10, write_timeout=10,
                               autocommit=True, **kw)


def query(lab: Lab, host: str, sql: str, account: str = "monitor", args=None) -> list[dict]:
    conn = connect(lab, host, account, cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


def ssh(lab: Lab, host: str, command: str, known_hosts: str | None = None,
        timeout: float = 10) -> subprocess.CompletedProcess:
    """The real OpenSSH client, from the operator namespace, with strict host-key checking."""
    d = lab.spec.ssh_dir
    argv = ["ip", "netns", "exec", lab.spec.operator_ns, "ssh", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts or d / 'known_hosts'}",
            "-o", "ConnectTimeout=3", "-i", str(d / "id_ed25519"), f"root@{host}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def restore(lab: Lab) -> None:
    """Undo every fault: reconnect, restart what is stopped, until one node holds the VIP."""
    for n in lab.spec.nodes:
        lab.fault("heal", n.name)
        lab.fault("start-sshd", n.name)
        lab.fault("start-mysqld", n.name)
    for n in lab.spec.nodes:
        if n.keepalived:
            lab.fault("start-keepalived", n.name)
    wait_until("exactly one VIP holder after repair", lambda: len(vip_holders(lab)) == 1, 20)
