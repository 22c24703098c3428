"""Every line real keepalived (2.2.7, the lab's) writes while it goes through its transitions is
parsed, not left raw: in the console form the lab logs (`-l -D` to a file), and the same
messages as syslog writes them (util-linux `logger`, RFC 3164 and RFC 5424, captured on a socket
of our own) and as `journalctl -o json` prints them."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

from hatui.keepalived import EventKind, parse_line
from hatui.lab.lab import Lab

from .support import vip_holders, wait_until


def log_path(lab: Lab, node: str) -> Path:
    return lab.spec.node_dir(node) / "log" / "keepalived.log"


def new_lines(lab: Lab, since: dict[str, int]) -> dict[str, list[str]]:
    out = {}
    for node, size in since.items():
        with log_path(lab, node).open("rb") as f:
            f.seek(size)
            out[node] = [ln.decode("utf-8", "replace").rstrip("\n") for ln in f if ln.strip()]
    return out


def test_every_line_keepalived_writes_through_its_transitions_is_parsed(lab, tmp_path):
    nodes = [n.name for n in lab.spec.nodes if n.keepalived]
    since = {n: log_path(lab, n).stat().st_size for n in nodes}
    (holder,) = vip_holders(lab)
    other = next(n for n in nodes if n != holder)
    # a stop, a start, a failing check (FAULT), a recovery
    lab.fault("stop-keepalived", holder)
    wait_until(f"the VIP on {other}", lambda: vip_holders(lab) == [other], 20)
    lab.fault("start-keepalived", holder)
    lab.fault("stop-mysqld", other)
    wait_until(f"the VIP back on {holder}", lambda: vip_holders(lab) == [holder], 30)
    lab.fault("start-mysqld", other)
    wait_until(
        f"{other}'s check to succeed again",
        lambda: any("succeeded" in ln for ln in new_lines(lab, since)[other][-20:]),
        30,
    )
    lines = new_lines(lab, since)
    kinds: Counter[str] = Counter()
    raw = []
    for node, got in lines.items():
        for ln in got:
            ev = parse_line(ln, node=node)
            kinds[ev.kind.value] += 1
            if ev.kind == EventKind.RAW or ev.time is None:
                raw.append(f"{node}: {ln}")
    assert raw == [], raw
    # the transitions really happened (the parse is not vacuous)
    states = {(parse_line(ln).state) for got in lines.values() for ln in got}
    assert {"MASTER", "BACKUP", "FAULT"} <= states, states
    assert kinds["script"] and kinds["vip_set"] and kinds["vip_removed"] and kinds["lifecycle"], kinds

    # the same messages as syslog and journald carry them
    messages = [parse_line(ln) for got in lines.values() for ln in got]
    sample = [
        (ev, ln.split(": ", 1)[1]) for ev, ln in zip(messages, (x for g in lines.values() for x in g), strict=True)
    ]
    sample = sample[:: max(1, len(sample) // 40)]
    for fmt in ("--rfc3164", "--rfc5424"):
        for ev, msg in zip([e for e, _ in sample], syslog(tmp_path, fmt, [m for _, m in sample]), strict=True):
            got = parse_line(msg, node="db1")
            assert (got.kind, got.instance, got.state, got.script) == (ev.kind, ev.instance, ev.state, ev.script), (
                fmt,
                msg,
            )
            assert got.time is not None and got.program == "Keepalived_vrrp" and got.pid == 4242
    for ev, msg in sample:
        entry = {
            "MESSAGE": msg,
            "__REALTIME_TIMESTAMP": str(int(time.time() * 1e6)),
            "SYSLOG_IDENTIFIER": "Keepalived_vrrp",
            "_PID": "4242",
            "_HOSTNAME": "db1",
            "__CURSOR": "s=1;i=2",
        }
        got = parse_line(json.dumps(entry))
        assert (got.kind, got.instance, got.state, got.node) == (ev.kind, ev.instance, ev.state, "db1")


def syslog(tmp_path: Path, fmt: str, messages: list[str]) -> list[str]:
    """What util-linux logger sends a syslog daemon for each message (our socket plays the daemon)."""
    path = tmp_path / f"log{fmt}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    out = []
    try:
        for m in messages:
            subprocess.run(
                ["logger", "-u", str(path), fmt, "-t", "Keepalived_vrrp", "--id=4242", "--", m],
                check=True,
                timeout=10,
            )
            out.append(sock.recv(65536).decode("utf-8", "replace"))
    finally:
        sock.close()
    return out
