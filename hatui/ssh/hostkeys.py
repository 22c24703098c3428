"""known_hosts files: which file a node uses, which lines match a host, the line for a new key.

Matching uses asyncssh's own known_hosts parser (plain and hashed `|1|` entries, patterns,
`@revoked`/`@cert-authority` markers), so "is this host in the file" means exactly what
verification at connect time means.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import hmac
import ipaddress
import os
from pathlib import Path

import asyncssh

from hatui.cluster.model import Node


def known_hosts_path(node: Node) -> Path:
    """The node's known_hosts file: `ssh.known_hosts`, else ~/.ssh/known_hosts."""
    return node.ssh.known_hosts or Path("~/.ssh/known_hosts").expanduser()


def host_pattern(host: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """'SHA256:...' as `ssh-keygen -l` prints it."""
    return key.get_fingerprint("sha256")


def normalize_fingerprint(fp: str) -> str:
    """Accept 'SHA256:abc', 'sha256:abc', 'abc' and trailing '=' padding."""
    fp = fp.strip()
    if fp[:7].lower() == "sha256:":
        fp = fp[7:]
    return "SHA256:" + fp.rstrip("=")


def key_text(key: asyncssh.SSHKey) -> str:
    """'ssh-ed25519 AAAA...' (no comment)."""
    alg, b64 = key.export_public_key("openssh").decode("ascii").split()[:2]
    return f"{alg} {b64}"


def hash_host(pattern: str, salt: bytes | None = None) -> str:
    """OpenSSH's HashKnownHosts form: |1|base64(salt)|base64(HMAC-SHA1(salt, pattern))."""
    salt = os.urandom(20) if salt is None else salt
    digest = hmac.new(salt, pattern.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def known_hosts_line(
    host: str, port: int, key: asyncssh.SSHKey, *, hashed: bool = False, salt: bytes | None = None
) -> str:
    """One known_hosts line (without newline) trusting `key` for host:port."""
    pattern = host_pattern(host, port)
    return f"{hash_host(pattern, salt) if hashed else pattern} {key_text(key)}"


def _addr_of(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def load(path: Path) -> asyncssh.SSHKnownHosts:
    """The file's entries (an empty set of entries if the file does not exist), read afresh."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        text = ""
    return _parsed(text)


@functools.lru_cache(maxsize=8)
def _parsed(text: str) -> asyncssh.SSHKnownHosts:
    """One parse per distinct text, shared: every connection keeps its known_hosts entries for
    its life, and a fleet's nodes share one file, so a parse each cost memory quadratic in the
    fleet (90 nodes: 90 copies of 90 keys, 7.7 MB; 200 nodes ~38 MB). Matching never changes
    the parsed entries; an edited file is a different text, parsed anew."""
    return asyncssh.import_known_hosts(text)


def entries_for(path: Path, host: str, port: int, addr: str | None = None) -> list[tuple[int, list, list, list]]:
    """(line number, host keys, CA keys, revoked keys) for every line of `path` that applies to
    host:port, with asyncssh's matching rules (for a non-22 port, entries for the bare host
    apply when none names the port)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    addr = addr if addr is not None else _addr_of(host)
    want_port = None if port == 22 else port
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            one = asyncssh.import_known_hosts(line)
        except (ValueError, asyncssh.KeyImportError):
            continue  # a line OpenSSH would skip too
        host_keys, ca_keys, revoked, *_ = one.match(host, addr, want_port)
        if host_keys or ca_keys or revoked:
            found.append((number, list(host_keys), list(ca_keys), list(revoked)))
    return found


def classify(
    path: Path, host: str, port: int, key: asyncssh.SSHKey, addr: str | None = None
) -> tuple[str, tuple[int, ...]]:
    """Why `key` was not accepted for host:port, and the lines concerned:
    ("revoked", lines) when a @revoked line names it; ("unknown", ()) when the file has nothing
    for the host; ("changed", lines) when it holds other keys for it; ("trusted", lines) when
    the key is in fact there (another writer added it meanwhile)."""
    entries = entries_for(path, host, port, addr)
    revoked = tuple(n for n, _, _, rev in entries if key in rev)
    if revoked:
        return "revoked", revoked
    trusted = tuple(n for n, keys, _, _ in entries if key in keys)
    if trusted:
        return "trusted", trusted
    others = tuple(n for n, keys, cas, _ in entries if keys or cas)
    return ("changed", others) if others else ("unknown", ())


def append_line(path: Path, line: str) -> None:
    """Append a line to a known_hosts file, creating it (0600, folder 0700) if needed."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # two trust-host runs must not interleave their lines
        size = os.fstat(fd).st_size
        prefix = b""
        if size:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                prefix = b"\n"
        f.write(prefix + line.encode() + b"\n")
