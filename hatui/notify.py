"""Notifications: VRRP role changes and alerts raised or cleared, turned into events that the
console shows (toast, bell) and hands to the cluster file's hooks.

    notifier = Notifier(cluster)                     # pure: snapshots and alert changes -> events
    events = notifier.observe(snap, raised, cleared, now)
    runner = HookRunner(cluster, on_result=...)      # async: runs `notify.hooks`, rate-limited
    runner.start(); runner.submit(events); ...; await runner.close()

Where role changes come from. The VRRP state per node and instance that the console shows: the
`Kind.VRRP` observation (keepalived's own JSON/text dump, taken right after every state line the
log shows, else inferred from the log), plus the keepalived process probe (a daemon that is not
running puts its instances in STOP). Log lines alone are not the source: the backlog read at
start replays old transitions, and a line lost across a reconnect would lose a change; the dump
is keepalived's own belief and follows a transition within a fraction of a second.

Unknown is not a state. A node that is unreachable, whose VRRP data is stale or missing, or
whose instance is in the transient INIT state, keeps its last known state and produces no event;
when it is known again and differs, one event says old -> new (the change happened while we
could not see it). A dump taken before keepalived was last seen stopped is not trusted, so a
restart never replays the state held before the stop. The first known state of an instance is
its baseline: no event.

Start-up. Nothing is announced for what the console finds when it starts: until every node has
reported (SSH state, and for a reachable node its addresses, keepalived and MySQL status as its
roles require) or WARMUP_SECONDS have passed, the state is taken as the baseline (alerts active
then and roles known then produce no event; alerts that clear later do).

Hooks. Each hook is a command on the console's machine (a string runs with /bin/sh -c, a list
runs as program and arguments). The event reaches it only through HATUI_* environment variables
(see `hook_env`), never through the command line, so no event text is ever parsed by a shell
unless the hook itself does so. The inherited environment loses every variable a cluster
account names in `password_env` (and MYSQL_PWD): hooks never see a password. Each hook has its
own worker and bounded queue: a slow hook delays only its own later runs, and `submit` never
blocks. A run lasts until the hook and whatever still holds its stderr have exited (work left
in the background must redirect its output); one that outlives `timeout` has its process group
(by the PID it started, which is the group's id) sent SIGTERM, then SIGKILL after a second.

Rate limit. Per hook, at most `max_events` runs in any `per_seconds` window (a sliding window).
An event beyond it is not run but counted. The count is never lost: the next run of that hook
carries HATUI_SUPPRESSED=N and HATUI_SUPPRESSED_SUMMARY; if no event comes to carry it, a run
with HATUI_EVENT=suppressed happens as soon as the window has room, describing the last held
event (its node, instance, states, code) with the summary as its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from hatui.aio import cancel_and_wait
from hatui.cluster import Cluster, Hook, Role
from hatui.rules.alerts import ActiveAlert, ClearedAlert
from hatui.rules.incidents import IncidentChange
from hatui.state.observations import Kind
from hatui.state.store import Snapshot

log = logging.getLogger(__name__)

ROLE, RAISED, CLEARED, SUPPRESSED = "role", "alert_raised", "alert_cleared", "suppressed"
INC_RAISED, INC_CHANGED, INC_CLEARED = "incident_raised", "incident_changed", "incident_cleared"
INCIDENT_KINDS = (INC_RAISED, INC_CHANGED, INC_CLEARED)
MERGED_PREFIX = "part of "  # an incident_cleared whose alerts another incident explains now
ROLE_STATES = frozenset({"MASTER", "BACKUP", "FAULT", "STOP"})  # INIT is transient, DELETED is gone
WARMUP_SECONDS = 15.0
QUEUE_SIZE = 64  # per hook: runs waiting behind a slow one; beyond it events count as suppressed
MAX_ENV_VALUE = 4000
STDERR_BYTES = 8192
STDERR_LINES = 5
KILL_GRACE = 1.0
_LEVEL = {"warning": 1, "critical": 2}
# every variable a hook is given, always set (empty when it does not apply)
ENV_NAMES = (
    "HATUI_EVENT",
    "HATUI_CLUSTER",
    "HATUI_NODE",
    "HATUI_INSTANCE",
    "HATUI_OLD_STATE",
    "HATUI_NEW_STATE",
    "HATUI_ALERT_CODE",
    "HATUI_SEVERITY",
    "HATUI_MESSAGE",
    "HATUI_TIME",
    "HATUI_SUPPRESSED",
    "HATUI_SUPPRESSED_SUMMARY",
    "HATUI_LAST_EVENT",
)


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True)
class NotifyEvent:
    kind: str  # role | alert_raised | alert_cleared | suppressed (a rate-limit summary)
    cluster: str
    node: str | None  # None: about the whole cluster (e.g. a VIP held by nobody)
    subject: str  # role: the VRRP instance; alerts: what within the node (channel, VIP, ...)
    old: str  # role: previous VRRP state; alerts: "ok" / the severity it had
    new: str  # role: new VRRP state; alerts: the severity / "ok"
    message: str  # one sentence; never holds a secret (alerts carry none)
    at: float  # wall clock
    severity: str = ""  # alerts: warning | critical
    code: str = ""  # alerts: vip.split_brain, ...
    last_kind: str = ""  # suppressed: the kind of the last event held back

    @property
    def title(self) -> str:
        if self.kind == ROLE:
            return f"VRRP {self.node} {self.subject}: {self.old} → {self.new}"
        if self.kind == RAISED:
            return f"{self.severity.upper()} {self.code}"
        if self.kind == CLEARED:
            return f"cleared {self.code}"
        if self.kind == INC_RAISED:
            return f"{self.severity.upper()} {self.code}"
        if self.kind == INC_CHANGED:
            return f"{self.severity.upper()} now {self.code} (was {self.old})"
        if self.kind == INC_CLEARED:
            return f"resolved {self.code}"
        return "notifications held back"

    @property
    def toast_severity(self) -> str:
        """Textual's notify severity: error for critical alerts raised, warning for warnings."""
        if self.kind in (RAISED, INC_RAISED, INC_CHANGED):
            return "error" if self.severity == "critical" else "warning"
        return "information"


def _vips_of(cluster: Cluster, instance: str) -> list[str]:
    return [str(v.address) for v in cluster.vips if v.instance == instance]


def role_event(cluster: Cluster, node: str, instance: str, old: str, new: str, at: float) -> NotifyEvent:
    vips = _vips_of(cluster, instance)
    on = f" (VIP {', '.join(dict.fromkeys(vips))})" if vips else ""
    return NotifyEvent(
        ROLE,
        cluster.name,
        node,
        instance,
        old,
        new,
        f"{node}: VRRP instance {instance}{on} went from {old} to {new}",
        at,
    )


def incident_events(cluster: Cluster, changes: Iterable[IncidentChange], now: float) -> list[NotifyEvent]:
    """IncidentBook.update's changes as events. The message is the incident's line and, while
    it lasts, what to run next."""
    out = []
    for ch in changes:
        inc = ch.incident
        sev = str(inc.severity)
        msg = inc.title
        if ch.kind == "merged" and ch.into is not None:
            kind, old, new = INC_CLEARED, str(inc.code), MERGED_PREFIX + str(ch.into.code)
            msg = f"now part of {ch.into.code}: {inc.title}"
        elif ch.kind == "cleared":
            kind, old, new = INC_CLEARED, str(inc.code), "ok"
            msg = f"resolved after {_duration(now - ch.since)}: {inc.title}"
        elif ch.kind == "changed":
            kind, old, new = INC_CHANGED, str(ch.previous.code) if ch.previous else "", str(inc.code)
        else:
            kind, old, new = INC_RAISED, "ok", str(inc.code)
        if ch.kind != "cleared" and inc.suggestions:
            s = inc.suggestions[0]
            msg += f"; next: {s.command(str(cluster.source or 'FILE')) or s.text}"
        node = inc.nodes[0] if inc.nodes else None
        out.append(
            NotifyEvent(kind, cluster.name, node, inc.anchor, old, new, msg, now, severity=sev, code=str(inc.code))
        )
    return out


def alert_events(
    cluster: Cluster, raised: Iterable[ActiveAlert], cleared: Iterable[ClearedAlert], now: float
) -> list[NotifyEvent]:
    """AlertBook.update's (newly raised, newly cleared) as events, raised first."""
    out = []
    for r in raised:
        a = r.alert
        sev = str(a.severity)
        out.append(
            NotifyEvent(
                RAISED, cluster.name, a.node, a.subject, "ok", sev, a.message, r.since, severity=sev, code=a.code
            )
        )
    for c in cleared:
        a = c.alert
        sev = str(a.severity)
        lasted = _duration(c.cleared_at - c.since)
        out.append(
            NotifyEvent(
                CLEARED,
                cluster.name,
                a.node,
                a.subject,
                sev,
                "ok",
                f"cleared after {lasted}: {a.message}",
                c.cleared_at or now,
                severity=sev,
                code=a.code,
            )
        )
    return out


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


# ----------------------------------------------------------------------------- VRRP roles
Key = tuple[str, str]  # (node, VRRP instance)


def _ssh_up(snap: Snapshot, node: str) -> bool:
    v = snap.value(node, Kind.SSH)
    return v is not None and getattr(v, "up", False)


def vrrp_states(
    snap: Snapshot, stopped_at: Mapping[str, float] | None = None
) -> tuple[dict[Key, tuple[str, float]], dict[str, float]]:
    """The VRRP state of every instance whose state is known now, with when it was entered (as
    far as known), and the nodes whose keepalived is known not to run (with when that was seen).

    Pure. Known means: the node answers over SSH and its VRRP data is fresh; a daemon seen not
    running puts that node's instances in STOP; a dump older than `stopped_at[node]` (when the
    daemon was last seen stopped) is from before a restart and says nothing; INIT and DELETED
    are not roles."""
    stopped_at = stopped_at or {}
    states: dict[Key, tuple[str, float]] = {}
    stopped: dict[str, float] = {}
    for name, node in snap.cluster.nodes.items():
        if not node.has_role(Role.KEEPALIVED) or not _ssh_up(snap, name):
            continue
        proc = snap.get(name, Kind.KEEPALIVED)
        vrrp = snap.get(name, Kind.VRRP)
        if proc is not None and not snap.is_stale(name, Kind.KEEPALIVED) and not proc.value.running:
            stopped[name] = proc.at
            for inst in vrrp.value.instances if vrrp is not None else ():
                states[(name, inst.name)] = ("STOP", proc.at)
            continue
        if vrrp is None or snap.is_stale(name, Kind.VRRP):
            continue
        if name in stopped_at and vrrp.at <= stopped_at[name]:
            continue
        for inst in vrrp.value.instances:
            if inst.state in ROLE_STATES:
                when = inst.last_transition.timestamp() if inst.last_transition is not None else vrrp.at
                states[(name, inst.name)] = (inst.state, when)
    return states, stopped


class RoleTracker:
    """Last known VRRP state per node and instance; `update` says what changed since.

    No I/O and no clock: the same snapshots always give the same events."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.known: dict[Key, str] = {}
        self.stopped_at: dict[str, float] = {}

    def update(self, snap: Snapshot) -> list[NotifyEvent]:
        states, stopped = vrrp_states(snap, self.stopped_at)
        for node, at in stopped.items():
            self.stopped_at[node] = max(at, self.stopped_at.get(node, at))
            for key in [k for k in self.known if k[0] == node and k not in states]:
                states[key] = ("STOP", at)  # instances the last dump no longer lists
        events = []
        for key, (state, at) in sorted(states.items()):
            before = self.known.get(key)
            self.known[key] = state
            if before is not None and before != state:
                events.append(role_event(self.cluster, key[0], key[1], before, state, at))
        return events


def role_changes(before: Snapshot, after: Snapshot) -> list[NotifyEvent]:
    """Role changes between two successive snapshots (the pure form of RoleTracker, for one
    step): instances known in both whose state differs."""
    t = RoleTracker(after.cluster)
    t.update(before)
    return t.update(after)


# ----------------------------------------------------------------------------- the notifier
def data_complete(snap: Snapshot) -> bool:
    """Every node has reported what its roles make it report (an unreachable node counts as
    reported: its SSH state says so)."""
    for name, node in snap.cluster.nodes.items():
        ssh = snap.value(name, Kind.SSH)
        if ssh is None or getattr(ssh, "state", None) == "connecting":
            return False
        if not _ssh_up(snap, name):
            continue
        if snap.get(name, Kind.ADDRESSES) is None:
            return False
        if node.has_role(Role.KEEPALIVED):
            proc = snap.value(name, Kind.KEEPALIVED)
            if proc is None or (proc.running and snap.get(name, Kind.VRRP) is None):
                return False
        if node.has_role(Role.MYSQL) and node.mysql.monitor is not None and snap.get(name, Kind.MYSQL) is None:
            return False
    return True


class Notifier:
    """Turns each tick (snapshot + the alert book's changes) into notification events."""

    def __init__(self, cluster: Cluster, *, warmup: float = WARMUP_SECONDS):
        self.cluster = cluster
        self.roles = RoleTracker(cluster)
        self.warmup = warmup
        self.ready = False
        self._first: float | None = None

    def observe(
        self,
        snap: Snapshot,
        raised: Iterable[ActiveAlert],
        cleared: Iterable[ClearedAlert],
        now: float,
        incidents: Iterable[IncidentChange] = (),
    ) -> list[NotifyEvent]:
        roles = self.roles.update(snap)  # always: the baseline is what is known when ready
        if not self.ready:
            self._first = now if self._first is None else self._first
            self.ready = data_complete(snap) or now - self._first >= self.warmup
            return []  # the tick that completes the picture is part of the baseline too
        return roles + alert_events(self.cluster, raised, cleared, now) + incident_events(self.cluster, incidents, now)


# ----------------------------------------------------------------------------- hook environment
def _clean(v: object) -> str:
    s = "" if v is None else str(v)
    s = s.replace("\x00", "")
    return s if len(s) <= MAX_ENV_VALUE else s[: MAX_ENV_VALUE - 1] + "…"


def iso_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone().isoformat(timespec="seconds")


def hook_env(event: NotifyEvent, *, suppressed: int = 0, summary: str = "") -> dict[str, str]:
    """The HATUI_* variables a hook gets for one event. Every name in ENV_NAMES is set, so a
    variable inherited from the console's own environment never passes for event data."""
    env = {
        "HATUI_EVENT": event.kind,
        "HATUI_CLUSTER": event.cluster,
        "HATUI_NODE": event.node or "",
        "HATUI_INSTANCE": event.subject,
        "HATUI_OLD_STATE": event.old,
        "HATUI_NEW_STATE": event.new,
        "HATUI_ALERT_CODE": event.code,
        "HATUI_SEVERITY": event.severity,
        "HATUI_MESSAGE": event.message,
        "HATUI_TIME": iso_time(event.at),
        "HATUI_SUPPRESSED": str(suppressed),
        "HATUI_SUPPRESSED_SUMMARY": summary,
        "HATUI_LAST_EVENT": event.last_kind,
    }
    return {k: _clean(v) for k, v in env.items()}


def secret_env_names(cluster: Cluster) -> set[str]:
    """Environment variables that hold passwords: every account's password_env, MYSQL_PWD."""
    names = {"MYSQL_PWD"}
    for node in cluster.nodes.values():
        for account in (node.mysql.monitor, node.mysql.admin, node.mysql.replication, node.router.rest_account):
            if account is not None and account.password_env:
                names.add(account.password_env)
    return names


def hook_base_env(
    cluster: Cluster, environ: Mapping[str, str] | None = None, others: Iterable[Cluster] = ()
) -> dict[str, str]:
    """The console's environment without its passwords, and without stale HATUI_* event names.
    `others`: every other cluster open in this process (one console watches several), whose
    passwords are in this environment too."""
    drop = secret_env_names(cluster) | set(ENV_NAMES)
    for other in others:
        drop |= secret_env_names(other)
    return {k: v for k, v in (os.environ if environ is None else environ).items() if k not in drop}


def hook_wants(hook: Hook, event: NotifyEvent) -> bool:
    if event.kind not in hook.events:
        return False
    if event.kind in (RAISED, CLEARED, *INCIDENT_KINDS):
        return _LEVEL.get(event.severity, 0) >= _LEVEL[str(hook.min_severity)]
    return True


# ----------------------------------------------------------------------------- rate limiting
class RateLimiter:
    """At most `max_events` admissions in any window of `per_seconds` (sliding window).

    Pure: time comes from the injected clock only."""

    def __init__(self, max_events: int, per_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.max_events = max_events
        self.per_seconds = per_seconds
        self.clock = clock
        self._times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.per_seconds:
            self._times.popleft()

    def admit(self) -> bool:
        now = self.clock()
        self._prune(now)
        if len(self._times) < self.max_events:
            self._times.append(now)
            return True
        return False

    def free_at(self) -> float:
        """Clock time at which the next admission will succeed (now, if it would now)."""
        now = self.clock()
        self._prune(now)
        return now if len(self._times) < self.max_events else self._times[0] + self.per_seconds


@dataclass(frozen=True)
class Delivery:
    event: NotifyEvent
    suppressed: int = 0  # events held back since the previous delivery
    summary: str = ""  # what they were, for HATUI_SUPPRESSED_SUMMARY


class Gate:
    """A rate limiter that counts what it holds back and hands the count on (pure, clock
    injected through the limiter): `offer` an event, and ask `due` for the summary run once
    the window has room and nothing came to carry the count."""

    def __init__(self, limiter: RateLimiter):
        self.limiter = limiter
        self.pending = 0
        self.kinds: Counter[str] = Counter()
        self.last: NotifyEvent | None = None

    def offer(self, event: NotifyEvent) -> Delivery | None:
        if not self.limiter.admit():
            self.hold(event)
            return None
        d = Delivery(event, self.pending, self.summary())
        self._reset()
        return d

    def hold(self, event: NotifyEvent) -> None:
        self.pending += 1
        self.kinds[event.kind] += 1
        self.last = event

    def summary(self) -> str:
        if not self.pending or self.last is None:
            return ""
        what = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items()))
        limit = f"{self.limiter.max_events} per {self.limiter.per_seconds:g} s"
        s = "" if self.pending == 1 else "s"
        return f"{self.pending} event{s} not notified (rate limit {limit}): {what}; the last: {self.last.message}"

    def next_due(self) -> float | None:
        """Seconds until `due` can return a summary run; None when nothing is held."""
        if not self.pending:
            return None
        return max(0.0, self.limiter.free_at() - self.limiter.clock())

    def due(self) -> Delivery | None:
        if not self.pending or self.last is None or not self.limiter.admit():
            return None
        text = self.summary()
        event = replace(self.last, kind=SUPPRESSED, message=text, last_kind=self.last.kind)
        d = Delivery(event, self.pending, text)
        self._reset()
        return d

    def _reset(self) -> None:
        self.pending = 0
        self.kinds.clear()
        self.last = None


# ----------------------------------------------------------------------------- running hooks
@dataclass(frozen=True)
class HookResult:
    hook: int  # index in notify.hooks
    label: str  # the program's name
    event: str  # the event kind it ran for
    started: float  # wall clock
    duration: float  # seconds
    exit_code: int | None  # None: did not start, or killed
    pid: int | None = None
    timed_out: bool = False
    error: str = ""  # why it could not start
    stderr: str = ""  # its first lines

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.error

    def describe(self) -> str:
        if self.error:
            what = f"could not start: {self.error}"
        elif self.timed_out:
            what = f"ran past its timeout and was killed after {self.duration:.1f} s"
        elif self.exit_code is not None and self.exit_code < 0:
            what = f"killed by signal {-self.exit_code}"
        else:
            what = f"exit {self.exit_code}"
        first = self.stderr.strip().splitlines()[0] if self.stderr.strip() else ""
        return f"{what}: {first}" if first and not self.ok else what


@dataclass
class _Lane:
    index: int
    hook: Hook
    gate: Gate
    queue: asyncio.Queue
    pid: int | None = None  # the run in progress
    busy: bool = False


class _Head:
    """Reads a stream to its end, keeping only its first bytes."""

    def __init__(self, stream: asyncio.StreamReader | None):
        self.data = bytearray()
        self.task = asyncio.ensure_future(self._read(stream)) if stream is not None else None

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(4096):
            room = STDERR_BYTES - len(self.data)
            if room > 0:
                self.data += chunk[:room]

    async def finish(self, wait: float) -> str:
        if self.task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self.task), wait)
            self.task.cancel()
        lines = self.data.decode("utf-8", "replace").splitlines()[:STDERR_LINES]
        return "\n".join(ln[:200] for ln in lines)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the hook's process group (its id is the PID we started: start_new_session),
    then SIGKILL to whatever of it is left after KILL_GRACE."""
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), KILL_GRACE)
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), KILL_GRACE)


class HookRunner:
    """Runs one cluster's `notify.hooks` for events, rate-limited, never blocking the caller."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        on_result: Callable[[HookResult], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        queue_size: int = QUEUE_SIZE,
        environ: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        others: Iterable[Cluster] = (),
    ):
        self.cluster = cluster
        cfg = cluster.notify
        self.on_result = on_result
        self._env = hook_base_env(cluster, environ, others)
        # relative commands resolve against the cluster file's folder, like its other paths
        self._cwd = cwd if cwd is not None else (cluster.source.parent if cluster.source else None)
        self.lanes = [
            _Lane(
                i,
                h,
                Gate(RateLimiter(cfg.rate_limit.max_events, cfg.rate_limit.per_seconds, clock)),
                asyncio.Queue(queue_size),
            )
            for i, h in enumerate(cfg.hooks)
        ]
        self.results: deque[HookResult] = deque(maxlen=100)
        self._tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------------ the caller's side
    def start(self) -> None:
        """Start one worker per hook (needs a running event loop)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._lane_loop(lane), name=f"hook-{lane.index}") for lane in self.lanes]

    def submit(self, events: Iterable[NotifyEvent]) -> None:
        """Queue the events for every hook that wants them. Never blocks, never raises for a
        full queue: what does not fit is counted as suppressed."""
        for event in events:
            for lane in self.lanes:
                if not hook_wants(lane.hook, event):
                    continue
                if lane.queue.full():
                    lane.gate.hold(event)
                    log.warning(
                        "hook %d (%s): queue full, %s event counted as suppressed",
                        lane.index,
                        lane.hook.label,
                        event.kind,
                    )
                    continue
                d = lane.gate.offer(event)
                if d is None:
                    log.info(
                        "hook %d (%s): rate limit, %s event held back (%d so far)",
                        lane.index,
                        lane.hook.label,
                        event.kind,
                        lane.gate.pending,
                    )
                else:
                    lane.queue.put_nowait(d)

    @property
    def idle(self) -> bool:
        return all(lane.queue.empty() and not lane.busy and not lane.gate.pending for lane in self.lanes)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every queued run and held-back summary has run (tests, orderly shutdown)."""
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() > deadline:
                raise TimeoutError("hooks still running")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """Stop the workers (until they end: see cancel_and_wait); a run in progress has its
        process group killed."""
        await cancel_and_wait(self._tasks)
        self._tasks = []

    # ------------------------------------------------------------------ workers
    async def _lane_loop(self, lane: _Lane) -> None:
        while True:
            wait = lane.gate.next_due()
            try:
                if wait is None:
                    d = await lane.queue.get()
                else:
                    # re-check at least every second: the rate limiter's clock is its own
                    d = await asyncio.wait_for(lane.queue.get(), max(0.01, min(wait, 1.0)))
            except TimeoutError:
                d = lane.gate.due()
                if d is not None:
                    await self._guarded_run(lane, d)
                continue
            try:
                await self._guarded_run(lane, d)
            finally:
                lane.queue.task_done()

    async def _guarded_run(self, lane: _Lane, d: Delivery) -> None:
        lane.busy = True
        try:
            result = await self.run(lane.index, lane.hook, d, lane)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must not stop the hook's later runs
            log.exception("hook %d (%s): run failed", lane.index, lane.hook.label)
            result = HookResult(
                lane.index, lane.hook.label, d.event.kind, time.time(), 0.0, None, error=type(e).__name__
            )
        finally:
            lane.busy = False
        self.results.append(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception:
                log.exception("hook result callback failed")

    async def run(self, index: int, hook: Hook, d: Delivery, lane: _Lane | None = None) -> HookResult:
        """Run one hook for one delivery and wait for it (at most its timeout, plus the kill)."""
        env = {**self._env, **hook_env(d.event, suppressed=d.suppressed, summary=d.summary)}
        started, t0 = time.time(), time.monotonic()
        ev = d.event
        try:
            proc = await asyncio.create_subprocess_exec(
                *hook.argv,
                env=env,
                cwd=self._cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as e:
            result = HookResult(
                index,
                hook.label,
                ev.kind,
                started,
                time.monotonic() - t0,
                None,
                error=f"{e.strerror or e}: {hook.argv[0]}",
            )
            log.warning(
                "hook %d (%s): %s event for %s: %s",
                index,
                hook.label,
                ev.kind,
                ev.code or ev.subject or ev.node or "-",
                result.describe(),
            )
            return result
        if lane is not None:
            lane.pid = proc.pid
        head = _Head(proc.stderr)
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), hook.timeout)
        except TimeoutError:
            timed_out = True
            await _kill_group(proc)
        except asyncio.CancelledError:
            await _kill_group(proc)
            await head.finish(0)
            raise
        finally:
            if lane is not None:
                lane.pid = None
        stderr = await head.finish(0.5 if not timed_out else 0.1)
        result = HookResult(
            index,
            hook.label,
            ev.kind,
            started,
            time.monotonic() - t0,
            None if timed_out else proc.returncode,
            proc.pid,
            timed_out,
            "",
            stderr,
        )
        what = ev.code or (f"{ev.node} {ev.subject}" if ev.kind == ROLE else ev.subject) or ev.node or "-"
        if result.ok:
            log.info(
                "hook %d (%s): %s event for %s: exit 0 in %.2f s", index, hook.label, ev.kind, what, result.duration
            )
        else:
            # the outcome only: neither the event's message nor the hook's output goes to the log
            what_failed = "timed out, killed" if timed_out else f"exit {proc.returncode}"
            log.warning(
                "hook %d (%s): %s event for %s: %s after %.2f s",
                index,
                hook.label,
                ev.kind,
                what,
                what_failed,
                result.duration,
            )
        return result


__all__ = [
    "CLEARED",
    "RAISED",
    "ROLE",
    "SUPPRESSED",
    "Delivery",
    "Gate",
    "HookResult",
    "HookRunner",
    "NotifyEvent",
    "Notifier",
    "RateLimiter",
    "RoleTracker",
    "alert_events",
    "data_complete",
    "hook_base_env",
    "hook_env",
    "hook_wants",
    "role_changes",
    "role_event",
    "vrrp_states",
]
