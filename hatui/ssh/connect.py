"""Opening verified asyncssh connections to a node (through its jump host), and the explicit
host-key opt-in (`fetch_host_key`, `trust_host_key`).

What a connection is made with, and who wins:

- user, port, identity, known_hosts, jump host, connect timeout: the cluster file. user and
  port always come from it (its defaults are root and 22), because the sudo rule and the
  known_hosts lookup must know them before connecting.
- ~/.ssh/config, when the file exists, fills in everything the cluster file does not set:
  IdentityFile (when there is no `identity`), HostName, ProxyJump (when there is no
  `jump_host`), algorithms, IdentitiesOnly, IdentityAgent, ...
- the SSH agent ($SSH_AUTH_SOCK) is always offered, and the node's identity file with it.
- host keys are checked against the node's known_hosts file (`ssh.known_hosts`, else
  ~/.ssh/known_hosts), read afresh at every connection attempt; the jump host's key is checked
  against the same file. An unknown, changed or revoked key raises HostKeyError; nothing is
  ever added to known_hosts except by `trust_host_key`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

from hatui.cluster.model import Node
from hatui.ssh import hostkeys
from hatui.ssh.errors import HostKeyError, SshError, describe, hostport

# asyncssh's own order, AES-GCM first: its chacha20-poly1305 runs the cipher three times a packet
# from Python (~20 us a packet against ~3 for AES-GCM, one call into OpenSSL with AES-NI), and a
# console reads a few packets a second from every node. Servers without GCM (OpenSSH < 6.2,
# CentOS 6) still agree on chacha20 or AES-CTR.
ENCRYPTION_ALGS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)

LostCallback = Callable[[asyncssh.SSHClientConnection, Exception | None], None]


def encryption_algs() -> tuple[str, ...]:
    """ENCRYPTION_ALGS, unless ~/.ssh/config chooses ciphers itself (then those, as ssh would)."""
    paths = ssh_config_paths()
    if paths:
        try:
            text = Path(paths[0]).read_text(errors="replace")
        except OSError:
            return ()
        if any(line.strip().lower().startswith("ciphers") for line in text.splitlines()):
            return ()
    return ENCRYPTION_ALGS


def ssh_config_paths() -> list[str] | None:
    """[~/.ssh/config] when it exists, else None (asyncssh then loads no config file)."""
    p = Path("~/.ssh/config").expanduser()
    return [str(p)] if p.is_file() else None


@dataclass(frozen=True)
class Hop:
    """One SSH server on the way to a node: the jump host or the node itself."""

    host: str
    port: int
    user: str
    is_jump: bool = False


def node_hop(node: Node) -> Hop:
    return Hop(node.host, node.ssh.port, node.ssh.user)


def jump_hop(node: Node) -> Hop | None:
    jh = node.ssh.jump_host
    return Hop(jh.host, jh.port, jh.user or node.ssh.user, True) if jh else None


class _Client(asyncssh.SSHClient):
    """Keeps the host key asyncssh rejected (for the error message) and reports the end of
    the connection."""

    def __init__(self, on_lost: LostCallback | None):
        self.conn: asyncssh.SSHClientConnection | None = None
        self.rejected: tuple[str, str, int, asyncssh.SSHKey] | None = None
        self._on_lost = on_lost

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # only called for a key known_hosts does not trust: refuse it, remember it
        self.rejected = (host, addr, port, key)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._on_lost is not None and self.conn is not None:
            self._on_lost(self.conn, exc)


def _node_error(node: Node, hop: Hop, reason: str) -> SshError:
    if hop.is_jump:
        reason = f"jump host {hostport(hop.host, hop.port)}: {reason}"
    return SshError(reason, node=node.name, host=node.host, port=node.ssh.port)


async def _open(
    node: Node,
    hop: Hop,
    *,
    tunnel: asyncssh.SSHClientConnection | None,
    keepalive_interval: float,
    keepalive_count_max: int,
    on_lost: LostCallback | None,
    cluster_file: Path | str | None,
) -> asyncssh.SSHClientConnection:
    identity = node.ssh.identity
    if identity is not None and not identity.is_file():
        raise _node_error(node, hop, f"identity file {identity} does not exist")
    known = hostkeys.known_hosts_path(node)
    client = _Client(on_lost)
    timeout = node.ssh.connect_timeout
    try:
        return await asyncssh.connect(
            hop.host,
            hop.port,
            tunnel=tunnel if tunnel is not None else (),
            config=ssh_config_paths(),
            username=hop.user,
            client_keys=[str(identity)] if identity is not None else (),
            known_hosts=hostkeys.load(known),
            connect_timeout=timeout,
            keepalive_interval=keepalive_interval,
            keepalive_count_max=keepalive_count_max,
            encryption_algs=encryption_algs(),
            client_factory=lambda: client,
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        if client.rejected is not None:
            seen_host, addr, _, key = client.rejected
        else:  # revoked or a certificate problem: fetch the key to show it
            seen_host, addr = hop.host, None
            key = await _server_key(node, hop, tunnel)
        kind, lines = hostkeys.classify(known, seen_host, hop.port, key, addr)
        if kind == "trusted":  # can only be a certificate or a concurrent edit: say so plainly
            raise _node_error(node, hop, f"host key not accepted: {exc.reason}") from None
        raise HostKeyError(
            node=node.name,
            host=hop.host,
            port=hop.port,
            fingerprint=hostkeys.fingerprint(key),
            key_type=key.get_algorithm(),
            kind=kind,
            known_hosts=known,
            lines=lines,
            cluster_file=cluster_file,
            jump_host=hop.is_jump,
        ) from None
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise _node_error(node, hop, describe(exc, timeout=timeout)) from exc


async def connect_node(
    node: Node,
    *,
    keepalive_interval: float = 5.0,
    keepalive_count_max: int = 3,
    on_lost: LostCallback | None = None,
    cluster_file: Path | str | None = None,
) -> tuple[asyncssh.SSHClientConnection, asyncssh.SSHClientConnection | None]:
    """A verified, authenticated connection to the node, and the jump-host connection it runs
    through (None without a jump host; the caller closes it with the node's connection).
    Raises HostKeyError or SshError."""
    kw: dict[str, Any] = dict(
        keepalive_interval=keepalive_interval,
        keepalive_count_max=keepalive_count_max,
        on_lost=on_lost,
        cluster_file=cluster_file,
    )
    jump = None
    hop = jump_hop(node)
    if hop is not None:
        jump = await _open(node, hop, tunnel=None, **kw)
    try:
        conn = await _open(node, node_hop(node), tunnel=jump, **kw)
    except BaseException:
        if jump is not None:
            jump.close()
        raise
    return conn, jump


async def _server_key(node: Node, hop: Hop, tunnel: asyncssh.SSHClientConnection | None) -> asyncssh.SSHKey:
    """The host key hop presents, unverified (the handshake stops before authentication)."""
    timeout = node.ssh.connect_timeout
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(
                hop.host, hop.port, tunnel=tunnel if tunnel is not None else (), config=ssh_config_paths()
            ),
            timeout,
        )
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise _node_error(node, hop, describe(exc, timeout=timeout)) from exc
    if key is None:
        raise _node_error(node, hop, "the server presented no host key (GSS key exchange)")
    return key


async def fetch_host_key(node: Node, *, jump_host: bool = False) -> tuple[str, str, asyncssh.SSHKey]:
    """(key_type, "SHA256:..." fingerprint, key) of the node's SSH server -- or, with
    jump_host=True, of its jump host -- read from the handshake without verifying it and without
    logging in. Reaching a node behind a jump host goes through a *verified* jump connection."""
    tunnel = None
    if jump_host:
        hop = jump_hop(node)
        if hop is None:
            raise SshError(f"node {node.name} has no jump host", node=node.name, host=node.host, port=node.ssh.port)
    else:
        hop = node_hop(node)
        jhop = jump_hop(node)
        if jhop is not None:
            tunnel = await _open(
                node, jhop, tunnel=None, keepalive_interval=0, keepalive_count_max=3, on_lost=None, cluster_file=None
            )
    try:
        key = await _server_key(node, hop, tunnel)
    finally:
        if tunnel is not None:
            tunnel.close()
    return key.get_algorithm(), hostkeys.fingerprint(key), key


async def trust_host_key(
    node: Node,
    *,
    expected_fingerprint: str | None = None,
    hashed: bool = False,
    jump_host: bool = False,
    cluster_file: Path | str | None = None,
) -> str:
    """The explicit opt-in for an unknown host key: fetch the node's key (or its jump host's),
    refuse if it differs from `expected_fingerprint` (when given), and append a known_hosts line
    for it to the node's known_hosts file (created 0600; `hashed` for OpenSSH's HashKnownHosts
    form; `[host]:port` for ports other than 22). Returns the fingerprint.

    A key already trusted is not written again. A host that known_hosts already lists with a
    different key raises HostKeyError(kind="changed"): a changed key is never replaced here."""
    _, fp, key = await fetch_host_key(node, jump_host=jump_host)
    hop = jump_hop(node) if jump_host else node_hop(node)
    assert hop is not None
    path = hostkeys.known_hosts_path(node)
    if expected_fingerprint is not None:
        want = hostkeys.normalize_fingerprint(expected_fingerprint)
        if want != fp:
            raise _node_error(
                node,
                hop,
                f"the server presents {key.get_algorithm()} key {fp}, not the "
                f"expected {want}; nothing was written to {path}",
            )
    kind, lines = hostkeys.classify(path, hop.host, hop.port, key)
    if kind == "trusted":
        return fp
    if kind != "unknown":
        raise HostKeyError(
            node=node.name,
            host=hop.host,
            port=hop.port,
            fingerprint=fp,
            key_type=key.get_algorithm(),
            kind=kind,
            known_hosts=path,
            lines=lines,
            cluster_file=cluster_file,
            jump_host=jump_host,
        )
    hostkeys.append_line(path, hostkeys.known_hosts_line(hop.host, hop.port, key, hashed=hashed))
    return fp
