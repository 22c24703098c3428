"""Who may open the browser wallboard, and how: the listen address, the access token, TLS. Pure
but for reading the files named.

Safe defaults: loopback unless told otherwise; anything else needs an access token, from a file
(--token-file) or the environment (HATUI_SERVE_TOKEN), never the command line (it would show in
`ps` and shell history); TLS when a certificate and its key are given."""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from hatui.errors import InputError

TOKEN_ENV = "HATUI_SERVE_TOKEN"
MIN_TOKEN = 16  # characters: a token a browser keeps in a cookie, not a password a person types


@dataclass(frozen=True)
class Access:
    host: str
    port: int
    token: str | None
    tls: ssl.SSLContext | None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve to anything


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT`, `[v6]:PORT` or `PORT` (loopback)."""
    if text.isdigit():
        host, port = "127.0.0.1", text
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise InputError(f"--listen {text!r}: expected ADDR:PORT (e.g. 127.0.0.1:8470)")
        host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--listen {text!r}: the port must be a number from 1 to 65535")
    return host, int(port)


def read_token(token_file: str | None, environ: dict[str, str] | os._Environ[str]) -> str | None:
    """The access token from the file (its first line) or the environment; None when neither."""
    if token_file is not None:
        path = Path(token_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise InputError(f"{path}: cannot read the access token: {exc.strerror or exc}") from None
        mode = path.stat().st_mode & 0o077
        if mode:
            raise InputError(f"{path}: the access token file can be read by others (chmod 600 it)")
        token = text.splitlines()[0].strip() if text.strip() else ""
        where = str(path)
    elif environ.get(TOKEN_ENV):
        token, where = environ[TOKEN_ENV].strip(), TOKEN_ENV
    else:
        return None
    if len(token) < MIN_TOKEN:
        raise InputError(f"{where}: the access token must be at least {MIN_TOKEN} characters")
    return token


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InputError("TLS needs both --tls-cert and --tls-key")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"{cert} / {key}: not a certificate and its key: {exc}") from None
    return ctx


def access(listen: str, *, token_file: str | None, cert: str | None, key: str | None, environ=os.environ) -> Access:
    host, port = parse_listen(listen)
    token = read_token(token_file, environ)
    if token is None and not is_loopback(host):
        raise InputError(
            f"--listen {listen}: anything but loopback needs an access token "
            f"(--token-file FILE, or {TOKEN_ENV} in the environment)"
        )
    return Access(host, port, token, tls_context(cert, key))
