"""Processes the lab starts inside a node's namespaces, recorded so they can be stopped by PID.

A node is a network namespace (made by pyroute2) plus a *holder*: a `sleep` that owns the node's
mount and UTS namespaces. Everything else on the node is started with `nsenter --target HOLDER`,
so the node's daemons see its private /tmp, /run, /var/log, /etc/keepalived and its hostname.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcRecord:
    """A process we started. start_time (clock ticks since boot) makes a reused PID harmless."""

    name: str
    pid: int
    start_time: int
    argv: tuple[str, ...]

    def to_json(self) -> dict:
        d = asdict(self)
        d["argv"] = list(self.argv)
        return d

    @classmethod
    def from_json(cls, d: dict) -> ProcRecord:
        return cls(d["name"], int(d["pid"]), int(d["start_time"]), tuple(d["argv"]))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    return raw[raw.rindex(")") + 2 :].split()


def start_time_of(pid: int) -> int | None:
    f = _stat_fields(pid)
    return int(f[19]) if f else None


def is_alive(rec: ProcRecord) -> bool:
    f = _stat_fields(rec.pid)
    if f is None or f[0] in ("Z", "X"):
        return False
    return int(f[19]) == rec.start_time


def is_frozen(rec: ProcRecord) -> bool:
    """Stopped by a signal (SIGSTOP): alive, but answers nothing until SIGCONT."""
    f = _stat_fields(rec.pid)
    return f is not None and f[0] == "T" and int(f[19]) == rec.start_time


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat_fields(int(entry))
            if f and int(f[1]) == pid:
                kids.append(int(entry))
    return kids


def _reap(pid: int) -> None:
    """Collect the exit status of our own children so they do not linger as zombies."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def record(name: str, proc: subprocess.Popen, argv: list[str]) -> ProcRecord:
    st = None
    for _ in range(50):  # the very first instant after fork /proc may not be complete
        st = start_time_of(proc.pid)
        if st is not None:
            break
        time.sleep(0.01)
    if st is None:
        raise RuntimeError(f"{name}: process {proc.pid} vanished right after start")
    return ProcRecord(name, proc.pid, st, tuple(argv))


def signal_rec(rec: ProcRecord, sig: int, *, group: bool = False) -> bool:
    """Send sig to a recorded process (or its process group); False when it is already gone."""
    if not is_alive(rec):
        return False
    try:
        if group:
            os.killpg(rec.pid, sig)
        else:
            os.kill(rec.pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(rec: ProcRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(rec.pid)
        if not is_alive(rec):
            return True
        time.sleep(0.05)
    _reap(rec.pid)
    return not is_alive(rec)


def stop(rec: ProcRecord, timeout: float = 15.0) -> None:
    """SIGTERM, wait, then SIGKILL the whole group: no survivor is left behind."""
    signal_rec(rec, signal.SIGCONT)  # a frozen process (a chaos fault) cannot act on SIGTERM
    if signal_rec(rec, signal.SIGTERM) and wait_gone(rec, timeout):
        return
    signal_rec(rec, signal.SIGKILL, group=True)
    signal_rec(rec, signal.SIGKILL)
    wait_gone(rec, 5.0)


def stop_all(recs: list[ProcRecord], timeout: float = 15.0) -> None:
    """stop() for many at once: SIGTERM to all, then wait for each against one deadline (a
    fleet's 180 mariadbds stop in seconds, not one after another in minutes)."""
    asked = [r for r in recs if signal_rec(r, signal.SIGTERM)]
    deadline = time.monotonic() + timeout
    for r in asked:
        if not wait_gone(r, max(0.0, deadline - time.monotonic())):
            signal_rec(r, signal.SIGKILL, group=True)
            signal_rec(r, signal.SIGKILL)
            wait_gone(r, 5.0)
    for r in recs:
        if r not in asked and is_alive(r):  # SIGTERM could not be sent but it runs: as stop() does
            stop(r, timeout)


def nsenter_argv(holder_pid: int) -> list[str]:
    # --root: entering a mount namespace resets the root to the namespace's own; keep the
    # holder's instead, so the lab also works when hatui itself runs in a chroot or container
    return ["nsenter", f"--target={holder_pid}", "--mount", "--uts", "--net", "--root", "--"]


def start_holder(netns: str) -> subprocess.Popen:
    """`ip netns exec` enters the network namespace (and remounts /sys for it); unshare then
    gives the node private mount and UTS namespaces. Both exec, so the Popen PID is the holder."""
    argv = [
        "ip",
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "sleep",
        "infinity",
    ]
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def wait_holder_ready(holder: subprocess.Popen, timeout: float = 5.0) -> None:
    """The holder is ready once it has become `sleep` in its own mount namespace."""
    deadline = time.monotonic() + timeout
    mine = os.readlink("/proc/self/ns/mnt")
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            raise RuntimeError(f"namespace holder exited with {holder.returncode}")
        try:
            comm = Path(f"/proc/{holder.pid}/comm").read_text().strip()
            if comm == "sleep" and os.readlink(f"/proc/{holder.pid}/ns/mnt") != mine:
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError("namespace holder did not start in time")


def run_in_node(
    holder_pid: int, argv: list[str], *, timeout: float = 30.0, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run(
        nsenter_argv(holder_pid) + argv, input=input, capture_output=True, text=True, timeout=timeout, check=check
    )


def spawn_in_node(holder_pid: int, name: str, argv: list[str], log_path: Path) -> ProcRecord:
    """Start a daemon in the node; its output is appended to log_path (a host path)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full = nsenter_argv(holder_pid) + argv
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            full, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True
        )
    return record(name, proc, full)
