"""Sources for every node of a cluster, feeding one Store.

Per node: the SSH session state, a 1 s probe (addresses → VIP ownership, keepalived alive), the
MySQL status poll, keepalived's log stream, and VRRP dumps (every few seconds, and right after
the log shows a transition). A node that fails only degrades its own observations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from hatui.aio import cancel_and_wait
from hatui.cluster import Cluster, MysqlVia, Node, Role, RouterKind, SecretError, resolve_password
from hatui.collect.kaconfig import config_command, masked_config
from hatui.collect.logs import LogSource
from hatui.collect.nodeprobe import BEGIN, END, SAME, parse_probe, probe_command, probe_stream_command
from hatui.collect.routers import STAT_BEGIN, STAT_END, haproxy_answer, haproxy_stream_command, read_router
from hatui.collect.vrrpdump import dump_command, split_dump
from hatui.keepalived.dump import DumpParseError, fold_event, infer_from_events, parse_data_dump, parse_json_dump
from hatui.keepalived.logparse import parse_line
from hatui.mysql.reader import MysqlProbe
from hatui.mysql.status import MysqlStatus
from hatui.mysql.wire import Tap
from hatui.routers.model import RouterObs
from hatui.ssh import NodeSession, SessionPool, SshError
from hatui.state.observations import AddressObs, KeepalivedProcObs, Kind, SshObs
from hatui.state.store import Store

log = logging.getLogger(__name__)


class ReadOnlyGuards(Protocol):
    """What watch mode puts in front of every node's I/O (hatui.readonly.ReadOnlyGuards): a check
    that raises before anything not on its allowlist is sent."""

    def command_guard(self, node: str) -> Callable[[str], None]: ...

    def sql_guard(self, node: str) -> Callable[[str], None]: ...


# Event kinds after which keepalived's own view is worth asking for at once
_VRRP_CHANGES = {"state", "priority", "script", "priority_zero", "vip_set", "vip_removed", "lifecycle"}


BEGIN_B, END_B, SAME_B = BEGIN.encode(), END.encode(), SAME.encode()
STOP_RECHECK = 0.3  # seconds between reads of a keepalived whose log said it is stopping
STOP_WATCH = 4.0  # ... for at most this long (a graceful stop takes about a second)
STAT_BEGIN_B, STAT_END_B = STAT_BEGIN.encode(), STAT_END.encode()
# The connection counts as quiet when no stream has given a line for this long (the probe
# stream gives two a second); it is then renewed, one attempt at a time, each bounded so that a
# SYN dropped by a partition is not waited on for its 1 s retransmission.
QUIET_AFTER = 2.5
RENEW_TIMEOUT = 1.0
RENEW_CHECK = 0.25


async def _next_line(stream: AsyncIterator[bytes]) -> bytes:
    return await anext(stream)


@dataclass(frozen=True)
class Intervals:
    probe: float = 1.0  # addresses + keepalived alive: the issue asks for `ip -j addr` every second
    mysql: float = 1.0
    vrrp: float = 10.0  # each dump logs "Printing VRRP ... on signal" on the node: not too often
    # while the node's keepalived log is followed (and has shown lines), every VRRP change prints
    # a line that asks for a dump at once: the periodic dump is only a safety net, and each one is
    # a new sshd session on the node
    vrrp_quiet: float = 60.0
    retry: float = 1.0  # after a failed stream or dump, before trying again (plus jitter)


def _backoff(retry: float, failed: int, rng: random.Random) -> float:
    """Before opening a stream again: about `retry` after one that worked (or while the
    connection is down), then doubling up to 30 s while streams keep failing on a live
    connection. A starved console (or node) whose streams go quiet must not reopen them every
    second: each reopen is a new session on the node, which starves it more (seen with 60 nodes
    on two cores: load average 480)."""
    return min(30.0, retry * 2 ** min(failed, 6)) * (0.5 + rng.random())


class NodeCollector:
    def __init__(
        self,
        cluster: Cluster,
        node: Node,
        session: NodeSession,
        store: Store,
        intervals: Intervals,
        *,
        follow_logs: bool = True,
        dumps: bool = True,
        mysql_probe_factory: Callable[..., MysqlProbe] = MysqlProbe,
    ):
        self.cluster = cluster
        self.node = node
        self.session = session
        self.store = store
        self.iv = intervals
        self.follow_logs = follow_logs
        self.has_keepalived = node.has_role(Role.KEEPALIVED)
        self.has_mysql = node.has_role(Role.MYSQL) and node.mysql.monitor is not None
        self.has_router = node.has_role(Role.ROUTER) and node.router.kind.value != "none"
        self.logs = LogSource(node)
        self._pid_file = str(node.keepalived.pid_file) if node.keepalived.pid_file else None
        self._vrrp_due = asyncio.Event()
        self._ka_stopping = asyncio.Event()  # keepalived's log said it is stopping
        # the log is known to reach us: its backlog or its follower gave a line, and the
        # follower is still open
        self._log_flowing = False
        self._log_flowing_once = False  # the current follower gave a line
        # falls back to "data", then to events only; never dumps on the read-only wallboard (a
        # dump signals keepalived and replaces a file on the node: not a read)
        self._dump_kind: str | None = "json" if dumps else None
        self._probe: MysqlProbe | None = None
        self._mysql_factory = mysql_probe_factory
        self._heard: float | None = None  # monotonic time of the last line any stream gave
        self.renewals = 0  # connections replaced because they had gone quiet
        self._rng = random.Random()
        session.on_state_change.append(self._on_ssh_state)

    # ------------------------------------------------------------------ ssh state
    def _connected(self) -> bool:
        # a stream that fails while the connection is down is the connection's business (it
        # reconnects on its own schedule): back off only from streams failing on a live one
        return str(self.session.state) == "up"

    def _reopen_in(self, took: bool, failed: int, replaced: int) -> tuple[float, int]:
        """(seconds to wait, streams failed in a row) after a stream ended: at once when the
        connection it ran on was replaced by renew (`replaced`: the session's count when it
        opened), else _backoff. Not after an ordinary reconnect: a node that drops every
        connection would be reconnected to in a tight loop."""
        if self.session.replacements != replaced:
            return 0.0, 0
        failed = 0 if took or not self._connected() else failed + 1
        return _backoff(self.iv.retry, failed, self._rng), failed

    async def _renew_when_quiet(self) -> None:
        """Replace the SSH connection when every stream on it has gone quiet while it is still
        "up" (NodeSession.renew says why: a healed partition's TCP backoff). Not from a console
        that was itself late (its loop blocked: the lines may be waiting unread), nor before a
        stream has given its first line."""
        failed = 0  # attempts in a row that did not connect
        next_try = 0.0
        while True:
            # asleep until the connection could first count as quiet, not woken 4 times a second
            # to find it was not (a fleet's nodes each woke this loop 240 times a minute)
            t0 = time.monotonic()
            wait = RENEW_CHECK
            if self._heard is not None and self._connected():
                wait = max(RENEW_CHECK, self._heard + QUIET_AFTER - t0, next_try - t0)
            await asyncio.sleep(wait)
            now = time.monotonic()
            if now - t0 > wait + RENEW_CHECK or self._heard is None or not self._connected():
                continue
            if now - self._heard < QUIET_AFTER:
                failed = 0
                continue
            if now < next_try:
                continue
            # at most one attempt a second (a refused connect returns at once), every 5 s after
            # ten in a row: a long outage costs the node nothing more than keepalives would
            next_try = now + (RENEW_TIMEOUT if failed < 10 else 5.0)
            if await self.session.renew(RENEW_TIMEOUT):
                self.renewals += 1
                failed = 0
                self._heard = time.monotonic()  # the new connection's streams get their time
            else:
                failed += 1

    def _on_ssh_state(self, session: NodeSession) -> None:
        self.store.put(
            self.node.name, Kind.SSH, SshObs(str(session.state), session.last_error, session.connected_since)
        )

    async def connect(self) -> None:
        try:
            await self.session.connect()
        except SshError:
            pass  # recorded through on_state_change; every loop retries on its own schedule
        self._on_ssh_state(self.session)

    # ------------------------------------------------------------------ one round of each
    async def probe_once(self) -> None:
        started = time.time()  # the list is as of the command, not of its answer
        try:
            res = await self.session.run(probe_command(self.has_keepalived, self._pid_file), timeout=3.0)
        except SshError:
            return  # the SSH observation says why
        self._take_probe(res.stdout, started)

    def _take_probe(self, stdout: str, at: float) -> None:
        self._put_probe(*parse_probe(stdout, self.has_keepalived), at)

    def _put_probe(self, addresses: AddressObs, ka: KeepalivedProcObs | None, at: float) -> None:
        self.store.put(self.node.name, Kind.ADDRESSES, addresses, at)
        if ka is not None:
            self.store.put(self.node.name, Kind.KEEPALIVED, ka, at)

    async def probe_stream_forever(self) -> None:
        """The per-second probe on one long-lived channel (probe_stream_command): a reading a
        second costs a few hundred bytes, not an sshd session. A stream that goes quiet for
        three intervals is closed and opened again (a hung `ip`, a half-dead connection)."""
        cmd = probe_stream_command(self.has_keepalived, self._pid_file, self.iv.probe)
        quiet = 3 * self.iv.probe + 3.0
        failed = 0  # streams in a row that gave no reading
        while True:
            took = False
            replaced = self.session.replacements
            try:
                stream = self.session.stream_lines(cmd)
                try:
                    lines: list[bytes] = []
                    at = time.time()
                    last: tuple[AddressObs, KeepalivedProcObs | None] | None = None  # this stream's
                    while True:
                        # asyncio.timeout, not wait_for (see _mysql_loop)
                        async with asyncio.timeout(quiet):
                            line = await anext(stream)
                        self._heard = time.monotonic()
                        if line == SAME_B:
                            if last is not None:  # the same reading, taken now
                                self._put_probe(*last, time.time())
                        elif line == BEGIN_B:
                            lines, at = [], time.time()  # the reading is as of its start
                        elif line == END_B:
                            last = parse_probe(b"\n".join(lines).decode("utf-8", "replace"), self.has_keepalived)
                            self._put_probe(*last, at)
                            took = True
                        else:
                            lines.append(line)
                finally:
                    await stream.aclose()
            except (SshError, TimeoutError, StopAsyncIteration):
                pass  # the SSH observation says why; a quiet stream is simply opened again
            wait, failed = self._reopen_in(took, failed, replaced)
            await asyncio.sleep(wait)

    async def router_once(self) -> None:
        if not self.has_router:
            return
        obs = await read_router(self.session, self.node)
        if obs.error and str(self.session.state) != "up":
            return  # the SSH observation says why; an unreachable router is not a broken one
        self.store.put(self.node.name, Kind.ROUTER, obs)

    async def router_stream_forever(self) -> None:
        """HAProxy's `show stat` a second on one long-lived channel (haproxy_stream_command).
        A reading overdue by one interval is said at once (a partitioned router answers nothing,
        and its SSH connection stays "up" until keepalives fail: the 3 s timeout of a one-shot
        read put that at 3.2-3.6 s); a stream without a reading for three intervals (+3 s) is
        opened again. Overdue counts from the last reading, across streams: never before the
        first one (a slow start is not a router problem)."""
        cfg = self.node.router
        cmd = haproxy_stream_command(cfg, self.iv.probe)
        overdue = 2 * self.iv.probe
        reopen = 3 * self.iv.probe + 3.0
        failed = 0
        last: float | None = None  # monotonic time of the last reading
        said = False  # the overdue reading has been said
        while True:
            took = False
            opened = time.monotonic()
            replaced = self.session.replacements
            try:
                stream = self.session.stream_lines(cmd, sudo=True)
                nxt: asyncio.Task[bytes] | None = None
                try:
                    status, lines = -1, list[bytes]()
                    while True:
                        nxt = nxt or asyncio.create_task(_next_line(stream))
                        reopen_at = max(opened, last or opened) + reopen
                        due = reopen_at if said or last is None else min(reopen_at, last + overdue)
                        # asyncio.wait, not a timeout around anext: cancelling anext would end the stream
                        await asyncio.wait((nxt,), timeout=max(0.05, due - time.monotonic()))
                        if not nxt.done():
                            if time.monotonic() >= reopen_at:
                                break  # no reading for `reopen`: open it again
                            said = True
                            if self._connected():
                                why = f"no reading for {overdue:g} s (node not answering)"
                                self.store.put(self.node.name, Kind.ROUTER, RouterObs(cfg.kind.value, error=why))
                            continue
                        line, nxt = nxt.result(), None
                        self._heard = time.monotonic()
                        if line.startswith(STAT_BEGIN_B):
                            rest = line[len(STAT_BEGIN_B) :].strip()
                            status, lines = int(rest) if rest.isdigit() else -1, []
                        elif line == STAT_END_B:
                            text = b"\n".join(lines).decode("utf-8", "replace")
                            self.store.put(self.node.name, Kind.ROUTER, haproxy_answer(cfg, status, text))
                            took, said, last = True, False, time.monotonic()
                        else:
                            lines.append(line)
                finally:
                    if nxt is not None:
                        await cancel_and_wait([nxt])
                    await stream.aclose()
            except (SshError, StopAsyncIteration):
                pass  # the SSH observation says why; a stream that ended is opened again
            wait, failed = self._reopen_in(took, failed, replaced)
            await asyncio.sleep(wait)

    async def mysql_once(self) -> None:
        if not self.has_mysql:
            return
        status = await self._poll_mysql()
        if status is not None:
            self.store.put(self.node.name, Kind.MYSQL, status)

    async def _poll_mysql(self) -> MysqlStatus | None:
        node = self.node
        account = node.mysql.monitor
        if account is None:  # has_mysql says there is one; nothing to poll without it
            return None
        tunnel = node.mysql.via == MysqlVia.SSH_TUNNEL
        if self._probe is None:
            try:
                password = resolve_password(account)
            except SecretError as e:
                return MysqlStatus(up=False, error=f"no password: {e}")
            self._probe = self._mysql_factory(
                node.host, node.mysql.port, account.user, password, name=node.name, tls=not tunnel
            )
            if tunnel:
                self._probe.tap_with(self._mysql_tap)
        if tunnel:
            try:
                # From the node itself, to its own address: the same path replication uses.
                port = await self.session.forward_local(node.host, node.mysql.port)
            except SshError as e:
                return MysqlStatus(up=False, error=f"no SSH tunnel: {e}")
            self._probe.retarget("127.0.0.1", port)
        return await self._probe.poll()

    def _mysql_tap(self, client_port: int) -> Tap | None:
        return self.session.forward_tap(self.node.host, self.node.mysql.port, client_port)

    async def vrrp_once(self) -> None:
        if not self.has_keepalived:
            return
        snap = None
        started = time.time()
        while self._dump_kind and snap is None:
            try:
                res = await self.session.run(
                    dump_command(self._dump_kind, pid_file=self._pid_file), timeout=4.0, sudo=True
                )
            except SshError:
                return
            got = split_dump(res.stdout) if res.exit_status == 0 else None
            if got is None:
                if res.exit_status in (3, 5, 6, 7):
                    if res.exit_status == 7:
                        log.warning("%s: %s", self.node.name, res.stderr.strip())
                    break  # keepalived not running or slow, or a foreign file: try again next round
                # no such dump in this build, or not allowed: fall back for good
                self._dump_kind = "data" if self._dump_kind == "json" else None
                continue
            kind, text = got
            try:
                snap = parse_json_dump(text) if kind == "json" else parse_data_dump(text)
            except DumpParseError as e:
                log.warning("%s: %s", self.node.name, e)
                break
        if snap is None:
            events = [e.event for e in self.store.snapshot(max_events=None).events if e.node == self.node.name]
            if not events:
                return
            snap = infer_from_events(events)
        else:
            # a dump asked for before a transition can land after its log line was folded in:
            # replay the lines that came meanwhile, or the pane would step back to the old state
            for stored in self.store.snapshot(max_events=500).events:
                if stored.node == self.node.name and stored.received_at >= started:
                    snap = fold_event(snap, stored.event) or snap
        self.store.put(self.node.name, Kind.VRRP, snap)

    # ------------------------------------------------------------------ logs
    def _ingest(self, raw: bytes) -> None:
        line = self.logs.take_line(raw)
        if line is None:
            return
        event = parse_line(line, node=self.node.name)
        program = getattr(event, "program", None)
        if program and not program.lower().startswith("keepalived"):
            return  # a shared syslog file: only keepalived's lines are ours
        self.store.add_event(self.node.name, event)
        if str(event.kind) in _VRRP_CHANGES:
            # the pane shows the transition within a tick of its line; the dump asked for now
            # confirms it and fills in the rest
            latest = self.store.latest(self.node.name, Kind.VRRP)
            folded = fold_event(latest.value if latest else None, event)
            if folded is not None:
                self.store.put(self.node.name, Kind.VRRP, folded)
            self._vrrp_due.set()
        if str(event.kind) == "lifecycle" and getattr(event, "state", None) == "STOP":
            self._ka_stopping.set()

    async def _stop_watch(self) -> None:
        """Once keepalived's log says it is stopping, read the process again every STOP_RECHECK
        seconds until it is gone (at most STOP_WATCH seconds): the probe's next reading was up
        to a second away, and the pane said "running" under the log's "Stopping" meanwhile
        (3.1-3.6 s to the incident on a busy machine). A few one-shot reads per stop."""
        while True:
            await self._ka_stopping.wait()
            self._ka_stopping.clear()
            deadline = time.monotonic() + STOP_WATCH
            while time.monotonic() < deadline:
                await asyncio.sleep(STOP_RECHECK)
                await self.probe_once()
                proc = self.store.latest(self.node.name, Kind.KEEPALIVED)
                if proc is not None and not proc.value.running:
                    break

    async def backlog_once(self) -> None:
        if not self.has_keepalived:
            return
        try:
            res = await self.session.run(self.logs.backlog_command(), timeout=5.0, sudo=bool(self.logs.journald_unit))
        except SshError:
            return
        raw = res.stdout.encode("utf-8", "surrogateescape") if isinstance(res.stdout, str) else res.stdout
        for line in self.logs.take_backlog(raw):
            self._log_flowing = self.follow_logs  # the path is right; the follower keeps it so
            event = parse_line(line, node=self.node.name)
            program = getattr(event, "program", None)
            if program and not program.lower().startswith("keepalived"):
                continue
            self.store.add_event(self.node.name, event)

    async def follow_logs_forever(self) -> None:
        failed = 0  # followers in a row that gave no line
        while True:
            replaced = self.session.replacements
            try:
                stream = self.session.stream_lines(self.logs.follow_command(), sudo=bool(self.logs.journald_unit))
                try:
                    async for line in stream:
                        self._log_flowing = self._log_flowing_once = True
                        self._heard = time.monotonic()
                        self._ingest(line)
                finally:
                    self._log_flowing = False
                    await stream.aclose()
            except SshError:
                pass
            wait, failed = self._reopen_in(self._log_flowing_once, failed, replaced)
            self._log_flowing_once = False
            await asyncio.sleep(wait)

    # ------------------------------------------------------------------ loops
    async def _every(self, interval: float, fn: Callable[[], Awaitable[object]]) -> None:
        while True:
            t0 = time.monotonic()
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in one source must not stop the others
                log.exception("%s: %s failed", self.node.name, getattr(fn, "__name__", fn))
            await asyncio.sleep(max(0.05, interval - (time.monotonic() - t0)))

    async def _mysql_loop(self) -> None:
        """Poll every interval, and at once when the probe saw its idle session end."""
        while True:
            t0 = time.monotonic()
            try:
                await self.mysql_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: MySQL poll failed", self.node.name)
            wait = max(0.05, self.iv.mysql - (time.monotonic() - t0))
            lost = self._probe.lost if self._probe is not None else None
            if lost is None:
                await asyncio.sleep(wait)
                continue
            # asyncio.timeout, not wait_for, in every loop of the collector's TaskGroup: 3.11's
            # wait_for loses a cancellation that lands as its event fires, the loop goes on, and
            # the TaskGroup cancels its children only once: stop() then waited out its 10 s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await lost.wait()
            lost.clear()

    async def _vrrp_loop(self) -> None:
        while True:
            try:
                await self.vrrp_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: VRRP dump failed", self.node.name)
            self._vrrp_due.clear()
            every = self.iv.vrrp_quiet if self._log_flowing else self.iv.vrrp
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await self._vrrp_due.wait()
            await asyncio.sleep(0.2)  # let keepalived finish the transition it just logged

    async def run(self) -> None:
        await self.connect()
        if self.has_keepalived:
            await self.backlog_once()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.probe_stream_forever())
            tg.create_task(self._renew_when_quiet())
            if self.has_mysql:
                tg.create_task(self._mysql_loop())
            if self.has_router and self.node.router.kind == RouterKind.HAPROXY:
                tg.create_task(self.router_stream_forever())
            elif self.has_router:
                tg.create_task(self._every(self.iv.probe, self.router_once))
            if self.has_keepalived:
                tg.create_task(self._vrrp_loop())
                if self.follow_logs:
                    tg.create_task(self.follow_logs_forever())
                    tg.create_task(self._stop_watch())

    async def once(self) -> None:
        """One round of every source, for `hatui status`."""
        await self.connect()
        await asyncio.gather(self.probe_once(), self.mysql_once(), self.router_once(), self.backlog_once())
        await self.vrrp_once()

    async def close(self) -> None:
        if self._probe is not None:
            await self._probe.close()


def _guarded(factory: Callable[..., MysqlProbe], policy: ReadOnlyGuards) -> Callable[..., MysqlProbe]:
    def make(*args, name: str = "", **kw) -> MysqlProbe:
        return factory(*args, name=name, guard=policy.sql_guard(name), **kw)

    return make


def _guard_session(session: NodeSession, policy: ReadOnlyGuards | None, name: str) -> NodeSession:
    if policy is not None:
        session.command_guard = policy.command_guard(name)
    return session


class Monitor:
    """All sources of one cluster. `async with Monitor(cluster) as m: m.store.snapshot()`."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        store: Store | None = None,
        intervals: Intervals = Intervals(),
        follow_logs: bool = True,
        session_factory: Callable[[Node], NodeSession] | None = None,
        mysql_probe_factory: Callable[..., MysqlProbe] = MysqlProbe,
        read_only: ReadOnlyGuards | None = None,
        **session_kwargs,
    ):
        self.cluster = cluster
        self.store = store or Store(cluster)
        self.read_only = read_only
        self.pool = SessionPool.for_cluster(cluster, **session_kwargs) if session_factory is None else None
        pool = self.pool
        if read_only is not None:
            # watch mode: every command and statement of every node goes through the allowlist
            if pool is not None:
                for name in cluster.nodes:
                    pool[name].command_guard = read_only.command_guard(name)
            mysql_probe_factory = _guarded(mysql_probe_factory, read_only)

        def session(name: str, node: Node) -> NodeSession:
            if pool is not None:
                return pool[name]
            assert session_factory is not None
            return _guard_session(session_factory(node), read_only, name)

        self.collectors = {
            name: NodeCollector(
                cluster,
                node,
                session(name, node),
                self.store,
                intervals,
                follow_logs=follow_logs,
                dumps=read_only is None,
                mysql_probe_factory=mysql_probe_factory,
            )
            for name, node in cluster.nodes.items()
        }
        self._tasks: list[asyncio.Task] = []

    async def keepalived_config(self, node: str) -> str:
        """The node's keepalived.conf with passwords masked, or why it could not be read."""
        c = self.collectors[node]
        try:
            res = await c.session.run(config_command(c.node), timeout=5.0, sudo=True)
        except SshError as e:
            return f"(cannot read {c.node.keepalived.config}: {e})"
        if res.exit_status != 0:
            return f"(cannot read {c.node.keepalived.config}: {res.stderr.strip() or res.exit_status})"
        return masked_config(res.stdout)

    async def start(self) -> None:
        for name, c in self.collectors.items():
            self._tasks.append(asyncio.create_task(c.run(), name=f"collect-{name}"))

    async def once(self, timeout: float = 10.0) -> None:
        """Every source once, all nodes in parallel; a node that times out stays unknown."""

        async def bounded(c: NodeCollector) -> None:
            try:
                await asyncio.wait_for(c.once(), timeout)
            except TimeoutError:
                if str(c.session.state) != "up":
                    # still connecting at the deadline: for a one-shot answer that is unreachable
                    self.store.put(c.node.name, Kind.SSH, SshObs("down", f"no answer within {timeout:g} s"))

        await asyncio.gather(*(bounded(c) for c in self.collectors.values()))

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)  # until they end, even one that lost a cancellation
        self._tasks.clear()
        # at once, not one node after another: a probe whose poll is in flight waits for it (up to
        # its read timeout), and a console quitting with many nodes open waited for each in turn
        await asyncio.gather(*(c.close() for c in self.collectors.values()))
        await asyncio.gather(*(c.session.close() for c in self.collectors.values()))

    async def __aenter__(self) -> Monitor:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
