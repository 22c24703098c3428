"""SSH errors as an operator reads them: which node, which address, what went wrong, in a line."""

from __future__ import annotations

import asyncio
import errno
import socket
from pathlib import Path

import asyncssh

from hatui.errors import Unreachable


def hostport(host: str, port: int) -> str:
    """'198.18.0.11:22', '[2001:db8::1]:22'."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class SshError(Unreachable):
    """A node could not be reached or used over SSH: unreachable, refused, authentication
    failed, timed out, disconnected, a command failed or timed out.

    str(e) is short and names the node: "db1 (198.18.0.11:22): connection refused".
    `retry_in` is set (seconds) when the session is waiting before its next connection attempt.
    """

    def __init__(
        self,
        reason: str,
        *,
        node: str | None = None,
        host: str | None = None,
        port: int | None = None,
        retry_in: float | None = None,
    ):
        self.reason = reason
        self.node = node
        self.host = host
        self.port = port
        self.retry_in = retry_in
        super().__init__(self._text())

    def where(self) -> str:
        if self.host is None:
            return self.node or ""
        addr = hostport(self.host, self.port or 22)
        return f"{self.node} ({addr})" if self.node else addr

    def _text(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason


class CommandFailed(SshError):
    """`run(..., check=True)` and the command exited non-zero; `result` holds what it printed."""

    def __init__(self, reason: str, *, result, **kw):  # result: CommandResult
        self.result = result
        super().__init__(reason, **kw)


class HostKeyError(SshError):
    """The node's host key is not trusted: unknown (not in known_hosts), changed (known_hosts
    holds another key for this host: possible man-in-the-middle) or revoked. The session
    refuses the node (state REFUSED) and does not retry on its own.

    Attributes: node, host, port, fingerprint ("SHA256:..."), key_type ("ssh-ed25519"),
    kind ("unknown" | "changed" | "revoked"), known_hosts (the file checked), lines (1-based
    line numbers in it that hold other keys for this host), jump_host (True when the key is
    that of the node's jump host).
    """

    def __init__(
        self,
        *,
        node: str,
        host: str,
        port: int,
        fingerprint: str,
        key_type: str,
        kind: str,
        known_hosts: Path,
        lines: tuple[int, ...] = (),
        cluster_file: Path | str | None = None,
        jump_host: bool = False,
    ):
        self.fingerprint = fingerprint
        self.key_type = key_type
        self.kind = kind
        self.known_hosts = Path(known_hosts)
        self.lines = tuple(lines)
        self.cluster_file = cluster_file
        self.jump_host = jump_host
        self.node, self.host, self.port = node, host, port
        super().__init__(self._reason(node, host, port), node=node, host=host, port=port)

    def where(self) -> str:
        if self.jump_host:
            return f"{self.node} (jump host {hostport(self.host or '', self.port or 22)})"
        return super().where()

    def trust_command(self) -> str:
        cluster = str(self.cluster_file) if self.cluster_file else "FILE"
        jump = " --jump-host" if self.jump_host else ""
        return f"hatui trust-host --cluster {cluster}{jump} {self.node}"

    def _reason(self, node: str, host: str, port: int) -> str:
        what = "jump host" if self.jump_host else "host"
        key = f"{self.key_type} key {self.fingerprint}"
        if self.kind == "unknown":
            return (
                f"{what} key unknown: {key} is not in {self.known_hosts}. Check this "
                f"fingerprint with the server's owner, then trust it explicitly: "
                f"{self.trust_command()}"
            )
        if self.kind == "revoked":
            return f"REFUSED: {what} key {key} is marked @revoked in {self.known_hosts}"
        pattern = host if port == 22 else f"[{host}]:{port}"
        where = ", ".join(str(n) for n in self.lines) or "?"
        return (
            f"WARNING: {what.upper()} KEY HAS CHANGED -- possible man-in-the-middle attack! "
            f"It now presents {key}, which does not match {self.known_hosts} "
            f"line{'s' if len(self.lines) > 1 else ''} {where}. hatui refuses this node. "
            f"Only if the change is expected (reinstalled host, new key), remove "
            f"line{'s' if len(self.lines) > 1 else ''} {where} "
            f"(ssh-keygen -R '{pattern}' -f {self.known_hosts}) and trust the new key: "
            f"{self.trust_command()}"
        )


def describe(exc: BaseException, *, timeout: float | None = None) -> str:
    """A short, human reason for an exception raised while connecting or talking to a node."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return "authentication failed (the server refused every key offered)"
    if isinstance(exc, asyncssh.ConnectionLost):
        return f"connection lost ({exc.reason})" if exc.reason else "connection lost"
    if isinstance(exc, asyncssh.DisconnectError):
        return f"disconnected by the server: {exc.reason}" if exc.reason else "disconnected by the server"
    if isinstance(exc, asyncssh.ChannelOpenError):
        return f"the server refused a channel: {exc.reason}" if exc.reason else "the server refused a channel"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"no answer within {timeout:g} s" if timeout else "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError):
        if exc.errno == errno.EHOSTUNREACH:
            return "host unreachable"
        if exc.errno == errno.ENETUNREACH:
            return "network unreachable"
        if exc.errno == errno.ECONNRESET:
            return "connection reset"
        if exc.strerror:
            return exc.strerror[0].lower() + exc.strerror[1:]
    if isinstance(exc, asyncssh.KeyImportError):
        return f"cannot read the identity file: {exc}"
    text = str(exc) or type(exc).__name__
    return text
