"""One SSH connection per node, shared by every command, stream and forwarded port to it.

    session = NodeSession(cluster.nodes["db1"])
    res = await session.run("hostname")                       # CommandResult
    async with contextlib.aclosing(session.stream_lines("tail -n 0 -F /var/log/keepalived.log")) as lines:
        async for line in lines: ...                           # bytes, no newline
    port = await session.forward_local("127.0.0.1", 3306)      # 127.0.0.1:port -> node's MySQL
    await session.close()

Connection life cycle (ConnState): DOWN -> CONNECTING -> UP; a failed attempt goes back to DOWN
and starts a backoff (exponential, full jitter, capped; reset by a successful connection); a
dropped connection (server gone, keepalive unanswered: keepalive_interval * (count_max + 1)
seconds of silence at most) goes to DOWN and the next call reconnects at once. An untrusted host
key goes to REFUSED: no call reconnects until `connect(force=True)` (after `trust_host_key`).
Every failure reaches the caller as SshError from that node's call, never as anything else.

Stopping remote commands: every command runs under the stop-on-close wrapper of
hatui.ssh.commands, so closing its channel ends it (and its children) on the node: on a run()
timeout, when a stream's consumer stops (aclose, cancel, garbage collection), on close(), and,
once sshd notices, when the connection dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shlex
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from enum import StrEnum
from pathlib import Path
from typing import cast

import asyncssh
from asyncssh.forward import SSHForwarder

from hatui.cluster.model import Node
from hatui.privatefs import open_private
from hatui.ssh.backoff import Backoff
from hatui.ssh.commands import CommandResult, needs_sudo_wrap, remote_command, shorten
from hatui.ssh.connect import connect_node
from hatui.ssh.errors import CommandFailed, HostKeyError, SshError, describe

log = logging.getLogger(__name__)

#: OpenSSH's default MaxSessions: channels running commands at once on one connection
DEFAULT_MAX_SESSIONS = 10
#: how long to wait for the exit status after a command's output ended
_EXIT_STATUS_WAIT = 2.0
#: how long a stream keeps retrying a channel the server refuses for lack of free sessions
_OPEN_RETRY_FOR = 5.0
_CHANNEL_ERRORS = (asyncssh.Error, OSError, EOFError)


class ConnState(StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    REFUSED = "refused"  # untrusted host key: no automatic retry


class NodeSession:
    """One node's SSH connection, reused for many channels; reconnects on demand.

    command_guard(command) is called before anything is sent (its exception propagates: a
    read-only allowlist hooks in here). max_sessions bounds the commands and streams open at
    once (sshd's MaxSessions, 10 by default); a run() waits for a free one within its timeout,
    and each stream holds one while it is open. Port forwards do not count.
    """

    def __init__(
        self,
        node: Node,
        *,
        command_guard: Callable[[str], None] | None = None,
        keepalive_interval: float = 5.0,
        keepalive_count_max: int = 3,
        backoff_initial: float = 0.5,
        backoff_max: float = 15.0,
        rng: random.Random | None = None,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        cluster_file: Path | str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._node = node
        self.command_guard = command_guard
        self.keepalive_interval = keepalive_interval
        self.keepalive_count_max = keepalive_count_max
        self.cluster_file = cluster_file  # named in HostKeyError's `hatui trust-host` hint
        self._clock = clock  # for the backoff schedule; tests pass a fake
        #: called with this session after every state change and connection replacement (renew);
        #: exceptions are logged, not raised
        self.on_state_change: list[Callable[[NodeSession], None]] = []
        self._backoff = Backoff(backoff_initial, backoff_max, rng)
        self._state = ConnState.DOWN
        self._conn: asyncssh.SSHClientConnection | None = None
        self._jump: asyncssh.SSHClientConnection | None = None
        self._attempt_task: asyncio.Task[None] | None = None
        self._retry_at = 0.0  # time.monotonic() before which no new attempt is made
        self._refusal: HostKeyError | None = None
        self._last_error: str | None = None
        self._last_reason: str | None = None
        self._connected_since: float | None = None
        self._attempts = 0
        self._slots = asyncio.Semaphore(max_sessions)
        self._procs: set[asyncssh.SSHClientProcess] = set()
        self._forwards: dict[tuple[str, int], _Forward] = {}
        self._forward_lock = asyncio.Lock()
        self._closed = False
        self._renewing = False
        self.channels_opened = 0  # sessions started on the node (each is an sshd session there)
        #: connections made so far (a stream opened on an older one ended with it)
        self.generation = 0
        #: connections replaced by renew(): a stream that ended for it reopens at once
        self.replacements = 0

    # ------------------------------------------------------------------ what the UI shows
    @property
    def node(self) -> Node:
        return self._node

    @property
    def state(self) -> ConnState:
        return self._state

    @property
    def last_error(self) -> str | None:
        """The last failure (full message), None while the connection is up."""
        return self._last_error

    @property
    def connected_since(self) -> float | None:
        """time.time() when the current connection was made; None when not up."""
        return self._connected_since

    @property
    def attempts(self) -> int:
        """Connection attempts made by this session so far (successful ones included)."""
        return self._attempts

    @property
    def failures(self) -> int:
        """Failed attempts since the last successful connection."""
        return self._backoff.failures

    @property
    def retry_in(self) -> float:
        """Seconds until the next connection attempt is allowed (0: now)."""
        return max(0.0, self._retry_at - self._clock())

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"<NodeSession {self._node.name} {self._state.value}>"

    # ------------------------------------------------------------------ connection
    def _err(self, reason: str, **kw) -> SshError:
        return SshError(reason, node=self._node.name, host=self._node.host, port=self._node.ssh.port, **kw)

    def _set_state(self, state: ConnState) -> None:
        if state is self._state:
            return
        self._state = state
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.on_state_change):
            try:
                listener(self)
            except Exception:
                log.exception("on_state_change listener failed for %s", self._node.name)

    async def connect(self, *, force: bool = False) -> None:
        """Connect if not connected. Concurrent callers share one attempt. While the session
        waits out a backoff it raises SshError at once ("... reconnecting in 2.3 s"), and when
        REFUSED it raises the HostKeyError again; force=True tries now in both cases (use it
        after trust_host_key, or for an operator's explicit "reconnect")."""
        await self._ensure(force=force)

    async def _ensure(self, *, force: bool = False) -> asyncssh.SSHClientConnection:
        if self._closed:
            raise self._err("session closed")
        if self._conn is not None and self._state is ConnState.UP:
            return self._conn
        if self._attempt_task is None:
            if not force:
                if self._refusal is not None:
                    raise self._refusal.with_traceback(None)
                wait = self._retry_at - self._clock()
                if wait > 0:
                    raise self._err(f"{self._last_reason}; reconnecting in {wait:.1f} s", retry_in=wait)
            self._attempt_task = asyncio.get_running_loop().create_task(self._attempt())
        # shield: a caller giving up (timeout, cancel) does not abort the attempt others share
        attempt = self._attempt_task
        try:
            await asyncio.shield(attempt)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if attempt.cancelled() and not (me is not None and me.cancelling()):
                raise self._err("session closed") from None  # close() stopped the attempt
            raise
        if self._conn is None:
            raise self._err(self._last_reason or "connection lost")
        return self._conn

    async def _connect_node(self) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientConnection | None]:
        return await connect_node(
            self._node,
            keepalive_interval=self.keepalive_interval,
            keepalive_count_max=self.keepalive_count_max,
            on_lost=self._lost,
            cluster_file=self.cluster_file,
        )

    async def _attempt(self) -> None:
        self._attempts += 1
        self._set_state(ConnState.CONNECTING)
        try:
            conn, jump = await self._connect_node()
        except HostKeyError as exc:
            self._refusal = exc
            self._last_error, self._last_reason = str(exc), exc.reason
            self._set_state(ConnState.REFUSED)
            raise
        except asyncio.CancelledError:
            self._set_state(ConnState.DOWN)
            raise
        except Exception as exc:
            err = exc if isinstance(exc, SshError) else self._err(describe(exc))
            self._retry_at = self._clock() + self._backoff.failure()
            self._last_error, self._last_reason = str(err), err.reason
            self._set_state(ConnState.DOWN)
            if err is not exc:
                raise err from exc
            raise
        finally:
            self._attempt_task = None
        if self._closed or conn.is_closed():
            for c in (conn, jump):
                if c is not None:
                    c.close()
            if self._closed:
                raise self._err("session closed")
            self._retry_at = self._clock() + self._backoff.failure()
            self._last_reason = "connection lost right after login"
            self._last_error = str(self._err(self._last_reason))
            self._set_state(ConnState.DOWN)
            raise self._err(self._last_reason)
        self._conn, self._jump = conn, jump
        self.generation += 1
        self._backoff.success()
        self._retry_at = 0.0
        self._refusal = None
        self._last_error = self._last_reason = None
        self._connected_since = time.time()
        self._set_state(ConnState.UP)

    async def renew(self, timeout: float) -> bool:
        """Replace the connection with a new one if a new one comes up within `timeout`; True
        when it did. For a connection still "up" whose streams went quiet: after a partition
        heals, the old TCP connection carries data again only at its next retransmission, and
        those back off exponentially (6-7 s after a 5-7 s partition, measured in the lab's
        soak), while a new connection answers at once. While the node is still cut off the
        attempt only times out (its SYN goes nowhere; nothing reaches the node). The old
        connection is closed: its channels end (their commands stop) and their owners open them
        again on the new one. Nothing changes when the session is not up, is connecting or
        renewing already, or the attempt fails; failures do not count toward the backoff."""
        if self._closed or self._state is not ConnState.UP or self._attempt_task is not None or self._renewing:
            return False
        self._renewing = True
        generation = self.generation
        try:
            async with asyncio.timeout(timeout):
                conn, jump = await self._connect_node()
        except (TimeoutError, SshError):
            return False
        finally:
            self._renewing = False
        # meanwhile the old connection may have dropped, and a reconnect made a new one already
        if self._closed or self._state is not ConnState.UP or self.generation != generation or conn.is_closed():
            for c in (conn, jump):
                if c is not None:
                    c.close()
            return False
        old = (self._conn, self._jump)
        self._conn, self._jump = conn, jump  # before closing: _lost ignores a replaced connection
        self.generation += 1
        self.replacements += 1
        self._connected_since = time.time()
        for c in old:
            if c is not None:
                c.close()
        log.info("%s: SSH connection replaced (the old one had gone quiet)", self._node.name)
        self._notify()
        return True

    def _lost(self, conn: asyncssh.SSHClientConnection, exc: Exception | None) -> None:
        """asyncssh: a connection ended (ours or a stale one)."""
        if conn is self._jump and self._conn is not None:
            self._conn.close()  # the node's connection runs through it: it is gone too
            conn = self._conn
        if conn is not self._conn:
            return
        jump = self._jump
        self._conn = self._jump = None
        self._connected_since = None
        if jump is not None:
            jump.close()
        if self._closed:
            return
        self._last_reason = describe(exc) if exc is not None else "connection closed by the server"
        self._last_error = str(self._err(self._last_reason))
        log.info("%s", self._last_error)
        self._set_state(ConnState.DOWN)

    # ------------------------------------------------------------------ commands
    def _prepare(self, command: str, sudo: bool, *, reads_stdin: bool = False) -> tuple[str, bool]:
        if self._closed:
            raise self._err("session closed")
        if self.command_guard is not None:
            self.command_guard(command)
        ssh = self._node.ssh
        wrap = needs_sudo_wrap(sudo=sudo, user=ssh.user, sudo_allowed=ssh.sudo)
        if wrap is None:
            raise self._err(
                f"`{shorten(command)}` needs root, and {ssh.user} is not root: set "
                f"ssh.sudo: true for node {self._node.name} (passwordless sudo) or "
                f"connect as root"
            )
        return remote_command(command, sudo_wrapped=wrap, reads_stdin=reads_stdin), wrap

    def _sudo_refused(self, stderr: str) -> SshError | None:
        if "a password is required" in stderr or "a terminal is required" in stderr:
            return self._err(
                f"sudo asks {self._node.ssh.user} for a password: hatui needs "
                f"passwordless sudo (NOPASSWD) on node {self._node.name}"
            )
        return None

    async def run(
        self,
        command: str,
        *,
        timeout: float = 5.0,
        sudo: bool = False,
        check: bool = False,
        input: bytes | None = None,  # subprocess.run's name for it
    ) -> CommandResult:
        """Run a command (interpreted by `sh`) on the node and collect its output.

        timeout: seconds the command may take once the connection is there (connecting is
        bounded by the node's connect_timeout); on expiry the channel is closed, which ends the
        command on the node, and SshError is raised. sudo: the command needs root (see
        hatui.ssh.commands.needs_sudo_wrap). check: raise CommandFailed on a non-zero exit.
        input: bytes for the command's stdin (then closed), written while its output is read.
        """
        remote, wrapped = self._prepare(command, sudo, reads_stdin=input is not None)
        conn = await self._ensure()
        t0 = time.monotonic()
        proc: asyncssh.SSHClientProcess | None = None
        try:
            async with asyncio.timeout(timeout):
                async with self._slots:
                    proc = await self._open_process(conn, remote, retry_for=timeout)
                    self._procs.add(proc)
                    p = proc

                    async def feed() -> None:
                        if input is not None:
                            p.stdin.write(input)
                            await p.stdin.drain()
                            p.stdin.write_eof()

                    out, err, _ = await asyncio.gather(proc.stdout.read(), proc.stderr.read(), feed())
                    await proc.wait_closed()
        except TimeoutError:
            raise self._err(f"`{shorten(command)}` timed out after {timeout:g} s (stopped it)") from None
        except _CHANNEL_ERRORS as exc:
            raise self._err(self._why_ended(f"`{shorten(command)}`", exc)) from exc
        finally:
            if proc is not None:
                proc.close()
                self._procs.discard(proc)
        return self._result(command, proc.exit_status, out, err, t0, wrapped=wrapped, check=check)

    def _result(
        self, command: str, status: int | None, out: bytes, err: bytes, t0: float, *, wrapped: bool, check: bool
    ) -> CommandResult:
        """The finished command's result; SshError when it never reported an exit status,
        a refused sudo, or (check) CommandFailed on a non-zero exit."""
        if status is None:
            raise self._err(self._why_ended(f"`{shorten(command)}`", None))
        result = CommandResult(
            command=command,
            exit_status=status,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            seconds=time.monotonic() - t0,
        )
        if wrapped and status != 0:
            refused = self._sudo_refused(result.stderr)
            if refused is not None:
                raise refused
        if check and status != 0:
            tail = result.stderr.strip().splitlines()[-1:] or ["(no error output)"]
            raise CommandFailed(
                f"`{shorten(command)}` exited with status {status}: {tail[0]}",
                result=result,
                node=self._node.name,
                host=self._node.host,
                port=self._node.ssh.port,
            )
        return result

    async def download(
        self,
        command: str,
        dest: Path,
        *,
        timeout: float = 600.0,
        sudo: bool = False,
        grew: Callable[[], None] | None = None,
    ) -> CommandResult:
        """Run a command and write its stdout to the local file `dest` as it arrives (binlog
        dumps run to hundreds of MB: never held in memory). Raises CommandFailed on a non-zero
        exit, SshError as run() does; `stdout` of the result is empty, `stderr` kept. `grew` is
        called after each piece is written and flushed (a reader may follow the file)."""
        remote, wrapped = self._prepare(command, sudo)
        conn = await self._ensure()
        t0 = time.monotonic()
        proc: asyncssh.SSHClientProcess | None = None
        try:
            async with asyncio.timeout(timeout):
                async with self._slots:
                    proc = await self._open_process(conn, remote, retry_for=min(timeout, 10.0))
                    self._procs.add(proc)

                    async def copy() -> None:
                        with open_private(dest) as f:  # row data: 0600, never via a symlink
                            while chunk := await proc.stdout.read(1 << 20):
                                f.write(chunk)
                                if grew is not None:
                                    f.flush()
                                    grew()

                    _, err = await asyncio.gather(copy(), proc.stderr.read())
                    await proc.wait_closed()
        except TimeoutError:
            raise self._err(f"`{shorten(command)}` timed out after {timeout:g} s (stopped it)") from None
        except _CHANNEL_ERRORS as exc:
            raise self._err(self._why_ended(f"`{shorten(command)}`", exc)) from exc
        finally:
            if proc is not None:
                proc.close()
                self._procs.discard(proc)
        return self._result(command, proc.exit_status, b"", err, t0, wrapped=wrapped, check=True)

    async def _open_process(
        self, conn: asyncssh.SSHClientConnection, remote: str, *, retry_for: float
    ) -> asyncssh.SSHClientProcess:
        """A channel running `remote`. sshd frees a session slot a moment after the client saw
        the channel closed, so with MaxSessions channels in use a new one can be refused
        ("open failed", administratively prohibited) although our own count has room: retry
        briefly while the connection is up. Measured in the lab: 30 concurrent run() calls of
        0.2 s with max_sessions=10 need a few retries of some 10-50 ms."""
        deadline = time.monotonic() + retry_for
        delay = 0.01
        while True:
            try:
                proc = await conn.create_process(remote, encoding=None)
                self.channels_opened += 1
                return proc
            except asyncssh.ChannelOpenError:
                # sshd answers "open failed" (OPEN_CONNECT_FAILED) for "no more sessions"
                if conn is not self._conn or conn.is_closed() or time.monotonic() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def armed(self, command: str, *, sudo: bool = False, ready_timeout: float = 10.0) -> ArmedCommand:
        """Start `command` now, held at a `read` on the channel: `fire()` sends one line and it
        runs at once. For a critical path where opening a channel (~0.1 s with OpenSSH's sshd)
        costs more than the work. If the channel closes before `fire()`, the read gets end of
        file and the command never runs; once fired it must end by itself (bounded loops).

        Returns once the command is really waiting: sshd starts it some 0.1-0.3 s after the
        channel opens, and a go sent before that waits in the pipe for it (measured in the
        lab: a switchover's VIP move took 0.15-0.25 s longer for it)."""
        remote, wrapped = self._prepare(command, sudo)
        script = f'echo {_READY}; IFS= read -r go || exit 3; [ "$go" = go ] || exit 3; {command}'
        prefix = "exec sudo -n -- " if wrapped else "exec "
        conn = await self._ensure()
        proc = await self._open_process(conn, f"{prefix}sh -c {shlex.quote(script)}", retry_for=5.0)
        self._procs.add(proc)
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), ready_timeout)
        except (TimeoutError, *_CHANNEL_ERRORS) as exc:
            proc.close()
            self._procs.discard(proc)
            raise self._err(f"`{shorten(command)}` did not start within {ready_timeout:g} s") from exc
        if line.strip() != _READY.encode():
            proc.close()
            self._procs.discard(proc)
            raise self._err(f"`{shorten(command)}` did not start: {line[:200]!r}")
        return ArmedCommand(self, proc, command)

    def _why_ended(self, what: str, exc: BaseException | None) -> str:
        if self._closed:
            return f"{what}: session closed"
        if exc is not None:
            return f"{what}: {describe(exc)}"
        return f"{what}: {self._last_reason or 'connection lost'}"

    async def stream_lines(self, command: str, *, sudo: bool = False) -> AsyncGenerator[bytes, None]:
        """Each line the command prints, as bytes without the line end (b"\\n" or b"\\r\\n");
        lines need not be UTF-8.

        Ends normally only when the command exits by itself with status 0. Raises SshError when
        the command fails (with its last stderr line), when the connection drops (resume by
        calling again: the session reconnects) or when the session is closed. When the consumer
        stops (aclose(), `async with contextlib.aclosing(...)`, cancellation, or the generator
        being garbage collected) the channel is closed and the command ends on the node.
        """
        remote, wrapped = self._prepare(command, sudo)
        conn = await self._ensure()
        what = f"stream `{shorten(command)}`"
        async with self._slots:
            proc: asyncssh.SSHClientProcess | None = None
            errors: deque[bytes] = deque(maxlen=20)
            drain: asyncio.Task[None] | None = None
            try:
                try:
                    proc = await self._open_process(conn, remote, retry_for=_OPEN_RETRY_FOR)
                except _CHANNEL_ERRORS as exc:
                    raise self._err(self._why_ended(what, exc)) from exc
                self._procs.add(proc)
                # stderr must be read as it comes: unread, it would stall stdout (one window)
                drain = asyncio.get_running_loop().create_task(_drain(proc.stderr, errors))
                while True:
                    try:
                        line = await proc.stdout.readline()
                    except _CHANNEL_ERRORS as exc:
                        raise self._err(self._why_ended(what, exc)) from exc
                    if not line:
                        break
                    if line.endswith(b"\n"):
                        line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
                    yield line
                with contextlib.suppress(TimeoutError, *_CHANNEL_ERRORS):
                    async with asyncio.timeout(_EXIT_STATUS_WAIT):
                        await proc.wait_closed()
                status = proc.exit_status
                if self._closed or status is None:
                    raise self._err(self._why_ended(what, None))
                if status != 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.5):
                            await drain
                    stderr = b"\n".join(errors).decode("utf-8", errors="replace")
                    refused = self._sudo_refused(stderr) if wrapped else None
                    if refused is not None:
                        raise refused
                    last = stderr.strip().splitlines()[-1:] or ["(no error output)"]
                    raise self._err(f"{what} exited with status {status}: {last[0]}")
            finally:
                if drain is not None:
                    drain.cancel()
                if proc is not None:
                    proc.close()
                    self._procs.discard(proc)

    # ------------------------------------------------------------------ port forwarding
    async def forward_local(self, remote_host: str, remote_port: int, *, local_port: int = 0) -> int:
        """A listener on 127.0.0.1 whose connections are forwarded to remote_host:remote_port
        as seen from the node (e.g. "127.0.0.1", 3306: the node's own MySQL). Returns the local
        port (local_port=0: an ephemeral one).

        One listener per target, made once: the same port is returned on every call and stays
        valid across reconnects (each new client connection goes through the current SSH
        connection, reconnecting if needed; connections open during a drop are cut). It is
        closed by close(). A client connecting while the node is unreachable is disconnected
        at once."""
        key = (remote_host, remote_port)
        async with self._forward_lock:
            fwd = self._forwards.get(key)
            if fwd is not None:
                return fwd.port
            await self._ensure()  # say now if the node cannot be reached
            fwd = _Forward(self, remote_host, remote_port)
            try:
                await fwd.start(local_port)
            except OSError as exc:
                raise self._err(f"cannot listen on 127.0.0.1:{local_port}: {describe(exc)}") from exc
            self._forwards[key] = fwd
            return fwd.port

    def forward_tap(self, remote_host: str, remote_port: int, client_port: int) -> _LocalSide | None:
        """The relay of the forwarded connection whose local client has port `client_port`,
        while its channel is open (see _LocalSide): None otherwise."""
        fwd = self._forwards.get((remote_host, remote_port))
        return fwd.tap(client_port) if fwd is not None else None

    # ------------------------------------------------------------------ closing
    async def close(self) -> None:
        """Close listeners, channels (ending their commands on the node) and the connection.
        Idempotent; every later call raises SshError("session closed")."""
        if self._closed:
            return
        self._closed = True
        if self._attempt_task is not None:
            self._attempt_task.cancel()
        forwards, self._forwards = list(self._forwards.values()), {}
        for fwd in forwards:
            await fwd.close()
        for proc in list(self._procs):
            proc.close()
        self._procs.clear()
        conn, jump = self._conn, self._jump
        self._conn = self._jump = None
        self._connected_since = None
        for c in (conn, jump):
            if c is not None:
                c.close()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2.0):
                        await c.wait_closed()
        self._set_state(ConnState.DOWN)

    async def __aenter__(self) -> NodeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _drain(reader: asyncssh.SSHReader, keep: deque[bytes]) -> None:
    with contextlib.suppress(*_CHANNEL_ERRORS):
        while True:
            line = await reader.readline()
            if not line:
                return
            keep.append(line.rstrip(b"\r\n"))


_READY = "hatui-armed-ready"


class ArmedCommand:
    """A command waiting for its go (see NodeSession.armed)."""

    def __init__(self, session: NodeSession, proc: asyncssh.SSHClientProcess, command: str):
        self.session = session
        self.proc = proc
        self.command = command
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.proc.stdin.write(b"go\n")

    async def result(self, timeout: float) -> CommandResult:
        t0 = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                out, err = await asyncio.gather(self.proc.stdout.read(), self.proc.stderr.read())
                await self.proc.wait_closed()
        except TimeoutError:
            raise self.session._err(f"`{shorten(self.command)}` timed out after {timeout:g} s") from None
        except _CHANNEL_ERRORS as exc:
            raise self.session._err(self.session._why_ended(f"`{shorten(self.command)}`", exc)) from exc
        finally:
            self.close()
        status = self.proc.exit_status
        return CommandResult(
            command=self.command,
            exit_status=-1 if status is None else status,
            stdout=out.decode("utf-8", errors="replace"),
            stderr=err.decode("utf-8", errors="replace"),
            seconds=time.monotonic() - t0,
        )

    def close(self) -> None:
        """Disarm (if not fired: it exits without running) and release the channel."""
        try:
            self.proc.stdin.write_eof()
        except Exception:
            pass
        self.proc.close()
        self.session._procs.discard(self.proc)


class _Forward:
    """127.0.0.1:port -> (through the node's current SSH connection) remote_host:remote_port.

    The bytes are relayed by protocol callbacks (asyncssh's SSHForwarder on both sides), not by
    stream tasks: the status poll's every answer crosses here, every second for every node, and
    a reader/writer pump cost the console two task wake-ups per chunk each way."""

    def __init__(self, session: NodeSession, remote_host: str, remote_port: int):
        self.session = session
        self.remote_host = remote_host
        self.remote_port = remote_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # channels being opened
        self._open: dict[int, _LocalSide] = {}  # local sides of relays, by the client's port

    async def start(self, local_port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _LocalSide(self), "127.0.0.1", local_port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _accepted(self, local: _LocalSide) -> None:
        self._open[local.client_port] = local
        task = asyncio.get_running_loop().create_task(self._connect(local))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, local: _LocalSide) -> None:
        try:
            conn = await self.session._ensure()
            # asyncssh's own local forwarding passes its SSHForwarder as the session the same way
            factory = cast(Callable[[], asyncssh.SSHTCPSession[bytes]], lambda: _ChannelSide(local))
            await conn.create_connection(factory, self.remote_host, self.remote_port)
        except asyncio.CancelledError:
            local.close()  # close() cancels us, maybe while the channel is still opening
            return
        except (SshError, *_CHANNEL_ERRORS) as exc:
            log.info(
                "%s: forward to %s:%s refused a client: %s",
                self.session.node.name,
                self.remote_host,
                self.remote_port,
                exc,
            )
            local.close()
            return
        local.peer_ready()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for local in list(self._open.values()):
            local.close()

    def tap(self, client_port: int) -> _LocalSide | None:
        local = self._open.get(client_port)
        return local if local is not None and local.channel_open() else None


class _LocalSide(SSHForwarder):
    """A client of a _Forward: what it sends before its channel is open waits in the buffer.

    Also a tap (hatui.mysql.wire.Tap): between two of the client's commands, the owner of the
    client (the MySQL probe) may take the channel's answers itself: take(), send(), give_back().
    """

    def __init__(self, forward: _Forward):
        super().__init__()
        self._forward = forward
        self.client_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self.client_port = int(peer[1]) if peer else 0
        self._forward._accepted(self)

    def peer_ready(self) -> None:
        if self._peer is None:
            return
        if self._inpbuf:
            self._peer.write(self._inpbuf)
            self._inpbuf = b""
        if self._eof_received:
            self._peer.write_eof()

    def channel_open(self) -> bool:
        peer = self._peer
        return isinstance(peer, _ChannelSide) and peer.open

    def take(self, data: Callable[[bytes], None], ended: Callable[[], None]) -> bool:
        if not self.channel_open():
            return False
        cast(_ChannelSide, self._peer).sink = (data, ended)
        return True

    def give_back(self) -> None:
        if isinstance(self._peer, _ChannelSide):
            self._peer.sink = None

    def send(self, data: bytes) -> None:
        if self._peer is not None:
            self._peer.write(data)

    def close(self) -> None:
        if self._forward._open.get(self.client_port) is self:
            del self._forward._open[self.client_port]
        super().close()


class _ChannelSide(SSHForwarder):
    """The channel's end of a relay; while its local side is tapped, the answers go to the tap."""

    def __init__(self, local: _LocalSide):
        super().__init__(local)
        self.sink: tuple[Callable[[bytes], None], Callable[[], None]] | None = None
        self.open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.open = True

    def data_received(self, data: bytes, datatype: int | None = None) -> None:
        if self.sink is not None:
            self.sink[0](data)
        else:
            super().data_received(data, datatype)

    def eof_received(self) -> bool:
        self.open = False
        if self.sink is not None:
            self.sink[1]()
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.sink is not None:
            self.sink[1]()
        super().connection_lost(exc)
