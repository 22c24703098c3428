"""What `hatui lint` reports: one finding per problem, with where, what, why and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hatui.keepalived.redact import redact

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | info
    node: str | None
    file: str | None
    line: int | None
    code: str
    message: str  # what is wrong, with the values
    why: str = ""  # why it matters
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "node": self.node,
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
        }

    @property
    def where(self) -> str:
        if self.file is None:
            return self.node or "-"
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.node}: {loc}" if self.node else loc


def sort_key(f: Finding) -> tuple[int, str, str, int, str]:
    return (SEVERITIES.index(f.severity), f.node or "", f.file or "", f.line or 0, f.code)


def exit_code(findings: list[Finding]) -> int:
    """The Nagios convention `hatui status` uses: 0 clean, 1 warnings, 2 errors, 3 a node unread."""
    if any(f.code == "node-unreachable" for f in findings):
        return 3
    if any(f.severity == "error" for f in findings):
        return 2
    if any(f.severity == "warning" for f in findings):
        return 1
    return 0


# code -> (why it matters, the fix). Messages carry the specifics; these carry the reasoning.
CATALOGUE: dict[str, tuple[str, str]] = {
    "flattened-line": (
        "keepalived silently drops the settings after the first one on such a line, so the "
        "instance runs with defaults nobody chose",
        "put each statement on its own line (a config copied from a web page often loses its line breaks)",
    ),
    "deprecated-keyword": (
        "keepalived still applies it, but reports a configuration error at every start and `keepalived -t` fails, "
        "which hides real errors among the noise",
        "use the replacement the message names",
    ),
    "mcast-group-mismatch": (
        "the nodes send their VRRP adverts to different multicast groups, so neither hears the other and "
        "every node becomes MASTER: a split brain from the first second",
        "one vrrp_mcast_group4 (or mcast_dst_ip) on every node of the instance",
    ),
    "undefined-parameter": (
        "keepalived leaves `$NAME` as written when nothing defined it before that line, so the setting gets a "
        "value like `$PRI` and is rejected or ignored",
        "define it (`$NAME=value`, no space before `=`) above its first use, or fix the name",
    ),
    "interface-unset": (
        "an instance without `interface` is refused: its VIP is never held by anyone",
        "add `interface ethN` (the one the VIP's subnet is on)",
    ),
    "priority-out-of-range": (
        "keepalived replaces it with its default, 100, so the node ranks where nobody meant it to",
        "a priority within 1-255 (255 only for the address owner)",
    ),
    "unknown-keyword": (
        "keepalived ignores the line, so the setting it was meant to make is not made",
        "correct the keyword (keepalived -t on the node names it too)",
    ),
    "unexpected-brace": (
        "the blocks after it nest differently from what the indentation suggests",
        "balance the braces",
    ),
    "include-limit": (
        "the config includes more files than any real one (files including each other by glob multiply at every level)",
        "include each file once, without overlapping globs",
    ),
    "nesting-too-deep": (
        "no keepalived config nests this deep: the file is broken or not a keepalived config",
        "check the braces",
    ),
    "unclosed-block": (
        "everything after the block is read as part of it, so later instances and servers vanish",
        "add the missing `}`",
    ),
    "unterminated-quote": ("the rest of the line becomes part of the string", "close the quote"),
    "bad-value": ("keepalived rejects or ignores the value", "write a number"),
    "include-no-match": (
        "the settings meant to be in the included files are not loaded",
        "fix the path; relative paths are relative to the including file",
    ),
    "include-unreadable": ("the settings in that file are not loaded", "make the file readable"),
    "include-loop": ("keepalived refuses the config", "remove the include loop"),
    "vrid-missing": ("keepalived refuses to start the instance", "set virtual_router_id (1-255)"),
    "vrid-out-of-range": (
        "keepalived refuses the instance: VRRP router ids are 1-255",
        "pick a VRID in 1-255 not used by any other VRRP router on the segment",
    ),
    "vrid-reused": (
        "two VRRP routers with one VRID on one segment take each other's adverts as "
        "their own: VIPs flap or both sides become MASTER",
        "give every instance on a segment its own VRID",
    ),
    "vrid-mismatch": (
        "nodes with different VRIDs are different VRRP routers: each becomes MASTER "
        "and both hold the VIP (split brain)",
        "use the same virtual_router_id on every node of the instance",
    ),
    "auth-mismatch": (
        "adverts fail authentication, so each node thinks the other is gone and takes the VIP (split brain)",
        "use the same auth_type and auth_pass on every node",
    ),
    "advert-int-mismatch": (
        "keepalived drops adverts whose interval differs from its own, so the "
        "nodes cannot see each other: both become MASTER (split brain)",
        "use the same advert_int on every node of the instance",
    ),
    "vip-mismatch": (
        "the nodes move different addresses: after a failover clients find no server on the address they use",
        "list the same virtual_ipaddress on every node",
    ),
    "equal-priority": (
        "with equal priorities the node with the higher IP address wins an election, not the one you meant",
        "give each node of the instance its own priority",
    ),
    "nopreempt-with-master": (
        "keepalived ignores nopreempt unless the initial state is BACKUP, so a "
        "restarted node takes the VIP back (the seeds' flapping VIP)",
        "set `state BACKUP` on every node that has nopreempt",
    ),
    "preempt-delay-with-master": (
        "keepalived ignores preempt_delay unless the initial state is BACKUP",
        "set `state BACKUP` on this node",
    ),
    "auth-pass-too-long": (
        "keepalived uses only the first 8 characters; a node configured with a "
        "different tail still matches, and an older version may not truncate",
        "use at most 8 characters",
    ),
    "vrrp-strict-auth": (
        "vrrp_strict forbids authentication (RFC 5798): keepalived drops it or refuses the instance",
        "remove vrrp_strict, or remove the authentication block",
    ),
    "vrrp-strict-unicast": (
        "vrrp_strict forbids unicast peers: keepalived refuses the instance",
        "remove vrrp_strict when using unicast_peer",
    ),
    "vip-refuses-traffic": (
        "with no_accept (implied by vrrp_strict) a node that is not the address "
        "owner drops packets to the VIP: MySQL clients cannot connect through it",
        "remove vrrp_strict / no_accept, or add `accept` to the instance",
    ),
    "no-script-security": (
        "without enable_script_security keepalived runs scripts as root even when a non-root user can change them",
        "add `enable_script_security` and `script_user` to global_defs, and keep scripts root-owned",
    ),
    "track-weight-range": (
        "keepalived rejects weights outside -253..253",
        "use a weight in -253..253 (0: FAULT on failure)",
    ),
    "weight-too-small": (
        "a failing health check leaves this node the highest priority, so the VIP stays on a broken database",
        "use weight 0 (failure means FAULT, the VIP leaves at once), or a weight larger than the priority gap",
    ),
    "unicast-asymmetric": (
        "a node that is not in its peer's unicast_peer list never hears or is never "
        "heard: both become MASTER (split brain)",
        "list every other node in each node's unicast_peer, or none on all",
    ),
    "vip-invalid": ("keepalived cannot add the address", "write a valid IP address"),
    "vip-outside-subnet": (
        "no address of the interface is in the VIP's subnet, so neighbours may "
        "not learn it from gratuitous ARP and clients cannot reach it",
        "use a VIP inside the interface's subnet, or the right interface",
    ),
    "interface-missing": (
        "keepalived puts the instance in FAULT: the VIP is never held here",
        "name an interface that exists on this node",
    ),
    "real-server-not-node": (
        "the virtual server sends MySQL traffic to a host hatui does not watch",
        "add the host to the cluster file, or fix the address",
    ),
    "real-server-invalid": ("keepalived cannot use the real server", "write a valid IP address"),
    "no-health-check": (
        "keepalived moves the VIP only when the node or keepalived itself dies: a stopped or hung mysqld "
        "keeps it, and every write fails (seed 001)",
        'add a vrrp_script that runs a real query (`script "hatui check-mysql --defaults-file ..."`) and '
        "track_script it in the instance",
    ),
    "slow-detection": (
        "keepalived acts on a failed check only after interval x fall (+ timeout): the VIP stays on a dead "
        "database that long (seed 000's interval 60)",
        "interval 2 with fall 2-3 and a timeout below the interval",
    ),
    "check-process-only": (
        "a hung or refusing mysqld still has a process, so keepalived keeps the VIP "
        "on a database that answers nothing (seed 000's checkMySQL.py)",
        'check with a real query: `script "hatui check-mysql --defaults-file ..."`',
    ),
    "script-missing": (
        "keepalived marks the script failed forever (or refuses it): the instance never becomes healthy",
        "install the script at that path, executable",
    ),
    "script-not-checked": ("hatui could not read the script to see what it checks", ""),
    "cluster-vip-missing": (
        "the cluster file says keepalived moves this VIP, but this node's config does not carry it",
        "add it to the instance or fix the cluster file",
    ),
    "keepalived-t": ("keepalived's own config check on the node found this", "see the message"),
    "node-unreachable": (
        "its config could not be read, so it was not compared with the others",
        "fix SSH to the node, then lint again",
    ),
    "config-unreadable": ("there is nothing to check", "check the path in the cluster file (keepalived.config)"),
}


def finding(severity: str, node: str | None, file: str | None, line: int | None, code: str, message: str) -> Finding:
    why, fix = CATALOGUE.get(code, ("", ""))
    # messages quote config text and keepalived's own words: never a password
    return Finding(severity, node, file, line, code, redact(message), why, fix)
