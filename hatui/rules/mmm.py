"""MMM-style node states (seed 004), derived by hatui's own checks with MMM's definitions.

MMM's monitor runs four checks per host: ping, mysql (connect), rep_threads (both replication
threads run) and rep_backlog (lag under max_backlog), and keeps one state per host:

- ONLINE: every check passes;
- HARD_OFFLINE: ping or mysql fails (hatui: SSH unreachable, or mysqld down);
- REPLICATION_FAIL: rep_threads fails; REPLICATION_DELAY: rep_backlog fails (hatui's
  lag_critical plays max_backlog); both go back to ONLINE by themselves;
- AWAITING_RECOVERY: a HARD_OFFLINE host that passes again, until it is set online (hatui:
  after `recovery_seconds` of passing checks, like MMM's auto_set_online).

The writer's own channel (from the other master) never moves it out of ONLINE: MMM judges
replication on the hosts that serve reads. A reader VIP on a host that is not ONLINE is the
alert MMM exists to prevent (`vip.reader_on_bad_replica`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from hatui.cluster import Role, VipRole
from hatui.rules.alerts import Alert, Severity
from hatui.rules.context import Context
from hatui.rules.topology import VipView, mysql, mysql_up, ssh_up, vip_views, writer
from hatui.state.observations import Kind, SshObs
from hatui.state.store import Snapshot

RECOVERY_SECONDS = 60.0


class MmmState(StrEnum):
    ONLINE = "ONLINE"
    REPLICATION_DELAY = "REPLICATION_DELAY"
    REPLICATION_FAIL = "REPLICATION_FAIL"
    HARD_OFFLINE = "HARD_OFFLINE"
    AWAITING_RECOVERY = "AWAITING_RECOVERY"
    UNKNOWN = "UNKNOWN"  # no complete reading yet


@dataclass(frozen=True)
class MmmRow:
    node: str
    host: str
    mode: str  # "master" (a writer VIP candidate) or "slave", as mmm_control prints it
    state: MmmState
    reason: str  # the failing check, in MMM's words plus hatui's evidence
    roles: tuple[tuple[str, str], ...]  # (role, VIP address) the node holds now

    def show_line(self) -> str:
        """This host as `mmm_control show` prints it."""
        roles = ", ".join(f"{r}({a})" for r, a in self.roles)
        return f"  {self.node}({self.host}) {self.mode}/{self.state}. Roles: {roles}"


def check_state(snap: Snapshot, node: str, writer_node: str | None) -> tuple[MmmState, str]:
    """MMM's checks on one node now, without history (never AWAITING_RECOVERY)."""
    ssh: SshObs | None = snap.value(node, Kind.SSH)
    if ssh is not None and ssh.state in ("down", "refused") and not ssh_up(snap, node):
        return MmmState.HARD_OFFLINE, f"ping: {ssh.error or 'unreachable'}"
    up = mysql_up(snap, node)
    st = mysql(snap, node)
    if up is None or st is None:
        return MmmState.UNKNOWN, "no reading yet"
    if not up:
        return MmmState.HARD_OFFLINE, f"mysql: {st.error or 'no answer'}"
    if node == writer_node:
        return MmmState.ONLINE, ""
    limit = snap.cluster.thresholds.lag_critical
    for ch in st.channels:
        if not ch.io_running or not ch.sql_running:
            which = "IO" if not ch.io_running else "SQL"
            return MmmState.REPLICATION_FAIL, f"rep_threads: {which} thread {ch.last_error or 'not running'}"
    for ch in st.channels:
        if ch.lag_seconds is not None and ch.lag_seconds >= limit:
            return MmmState.REPLICATION_DELAY, f"rep_backlog: {ch.lag_seconds:.0f} s behind (max {limit:g} s)"
    return MmmState.ONLINE, ""


def _roles(node: str, views: list[VipView]) -> tuple[tuple[str, str], ...]:
    return tuple((str(v.role), v.address) for v in views if node in v.holders)


def _mode(snap: Snapshot, node: str) -> str:
    writers = [v for v in snap.cluster.vips if v.role == VipRole.WRITER]
    return "master" if any(v.nodes is None or node in v.nodes for v in writers) else "slave"


def mmm_rows(snap: Snapshot, *, recovery_seconds: float = RECOVERY_SECONDS) -> list[MmmRow]:
    """Every MySQL node's state from one snapshot. Without history, a node whose mysqld started
    less than recovery_seconds ago and holds no VIP is AWAITING_RECOVERY (it was offline)."""
    views = vip_views(snap)
    w = writer(snap, views).node
    rows = []
    for n in snap.cluster.nodes_with_role(Role.MYSQL):
        state, reason = check_state(snap, n.name, w)
        roles = _roles(n.name, views)
        st = mysql(snap, n.name)
        if (
            state == MmmState.ONLINE
            and not roles
            and st is not None
            and st.uptime_seconds is not None
            and st.uptime_seconds < recovery_seconds
        ):
            state, reason = MmmState.AWAITING_RECOVERY, f"mysqld up {st.uptime_seconds} s (was offline)"
        rows.append(MmmRow(n.name, n.host, _mode(snap, n.name), state, reason, roles))
    return rows


class MmmRoles:
    """The states with history: HARD_OFFLINE -> AWAITING_RECOVERY until the node has passed its
    checks for recovery_seconds. One per console; `update` on every tick."""

    def __init__(self, recovery_seconds: float = RECOVERY_SECONDS):
        self.recovery_seconds = recovery_seconds
        self._offline: set[str] = set()  # went HARD_OFFLINE, not yet recovered
        self._passing_since: dict[str, float] = {}

    def update(self, snap: Snapshot) -> list[MmmRow]:
        out = []
        for row in mmm_rows(snap, recovery_seconds=self.recovery_seconds):
            state, reason = row.state, row.reason
            if state == MmmState.HARD_OFFLINE:
                self._offline.add(row.node)
                self._passing_since.pop(row.node, None)
            elif row.node in self._offline and state != MmmState.UNKNOWN:
                since = self._passing_since.setdefault(row.node, snap.taken_at)
                waited = snap.taken_at - since
                if waited >= self.recovery_seconds:
                    self._offline.discard(row.node)
                    self._passing_since.pop(row.node, None)
                else:
                    state = MmmState.AWAITING_RECOVERY
                    reason = f"back {waited:.0f} s of {self.recovery_seconds:g} s" + (f"; {reason}" if reason else "")
            out.append(MmmRow(row.node, row.host, row.mode, state, reason, row.roles))
        return out


def rule_reader_vips(ctx: Context) -> Iterator[Alert]:
    """A reader VIP on a replica that is broken or far behind: its readers get stale data."""
    for v in ctx.vips:
        if v.role != VipRole.READER:
            continue
        for holder in v.holders:
            if holder not in ctx.cluster.nodes or not ctx.cluster.nodes[holder].has_role(Role.MYSQL):
                continue
            state, reason = check_state(ctx.snap, holder, ctx.writer.node)
            if state not in (MmmState.REPLICATION_FAIL, MmmState.REPLICATION_DELAY):
                continue  # HARD_OFFLINE: vip.holder_mysql_down says it, louder
            sev = Severity.CRITICAL if state == MmmState.REPLICATION_FAIL else Severity.WARNING
            yield Alert(
                "vip.reader_on_bad_replica",
                sev,
                holder,
                f"reader VIP {v.address} is on {holder}, which is {state} ({reason}): its readers get stale data",
                {"vip": v.address, "state": str(state), "reason": reason},
                subject=v.address,
            )
