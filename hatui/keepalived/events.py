"""One keepalived log event: what a parsed log line means. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    STATE = "state"  # Entering MASTER STATE, Transition to MASTER STATE, Now in FAULT state
    SCRIPT = "script"  # VRRP_Script(x) succeeded | failed | timed out
    SCRIPT_RC = "script_rc"  # Script `x` now returning N
    PRIORITY = "priority"  # Changing effective priority from A to B
    ADVERT_HIGHER = "advert_higher"  # received an advert with a higher priority than ours
    ADVERT_LOWER = "advert_lower"  # received an advert with a lower priority than ours
    PRIORITY_ZERO = "priority_zero"  # sent / received a priority-0 advert (a master leaving)
    ADVERT_TIMEOUT = "advert_timeout"  # Receive advertisement timeout
    VIP_SET = "vip_set"  # setting (protocol) VIPs
    VIP_REMOVED = "vip_removed"  # removing (protocol) VIPs
    GARP = "garp"  # gratuitous ARP / unsolicited neighbour adverts
    NETLINK = "netlink"  # address and link changes reported by the kernel
    AUTH_MISMATCH = "auth_mismatch"  # invalid password, wrong auth type
    INTERVAL_MISMATCH = "interval_mismatch"  # advert interval mismatch / changed
    LIFECYCLE = "lifecycle"  # starting, stopping, reloading, opening the config
    DUMP = "dump"  # "Printing VRRP ... on signal": a dump was asked for
    RAW = "raw"  # anything else, kept as it was


# Keepalived's own states (the dumps' numbers: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT)
VRRP_STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP")


@dataclass(frozen=True, slots=True)
class KeepalivedEvent:
    """A parsed keepalived log line.

    time: when it was logged (timezone-aware unless the zone could not be worked out);
    node: the node it came from (the caller's name, else the log's host name);
    instance: VRRP instance (or sync group / healthchecker target) the line is about;
    state: VRRP state named by a state event ("MASTER" ...), "STOP" for a daemon stop;
    script: vrrp_script name; result: its outcome ("succeeded", "failed", "timed out",
    "considered successful"); rc: a script's exit status;
    priority: the new effective priority, or the priority an advert carried; old_priority:
    the effective priority before a change; address: the peer, VIP or interface address
    the line names; detail: one short human sentence; raw: the original message line,
    redacted (never holds a VRRP password); program/pid: the syslog tag; cursor: the
    journal cursor for journald entries.
    """

    time: datetime | None
    node: str | None
    kind: EventKind
    instance: str | None = None
    state: str | None = None
    script: str | None = None
    priority: int | None = None
    old_priority: int | None = None
    detail: str = ""
    raw: str = ""
    program: str | None = None
    pid: int | None = None
    result: str | None = None
    rc: int | None = None
    address: str | None = None
    cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the time as ISO 8601 (or null), the kind as its string."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["time"] = self.time.isoformat() if self.time is not None else None
        d["kind"] = str(self.kind)
        return d
