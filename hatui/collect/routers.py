"""Reading a router node: HAProxy's stats socket over SSH, MySQL Router's REST API through the
node's SSH tunnel. Either way the result is a RouterObs; a failed read says why in `error`."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import shlex
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from hatui.cluster import Node, RouterConfig, RouterKind, SecretError, resolve_password
from hatui.routers.haproxy import STATS_COMMAND, RouterReadError, parse_show_stat
from hatui.routers.model import RouterObs
from hatui.routers.mysql_router import build_routes, route_names
from hatui.ssh import NodeSession, SshError


def haproxy_command(cfg: RouterConfig) -> str:
    """`show stat` on the stats socket: socat where it exists (HAProxy's own docs use it), else
    `nc -U` (nmap-ncat on CentOS 7). Root: the socket is usually mode 600."""
    sock = shlex.quote(str(cfg.stats_socket))
    cmd = shlex.quote(STATS_COMMAND)
    return (
        f"if command -v socat >/dev/null 2>&1; then echo {cmd} | socat -t 2 stdio UNIX-CONNECT:{sock}; "
        f"else echo {cmd} | nc -U {sock}; fi"
    )


STAT_BEGIN = "@@hatui-stat-begin@@"
STAT_END = "@@hatui-stat-end@@"


def haproxy_stream_command(cfg: RouterConfig, interval: float = 1.0) -> str:
    """`show stat` every `interval` seconds on one long-lived channel, each answer between a
    STAT_BEGIN line (with the exit status) and a STAT_END line: a reading a second without an
    sshd session a second (60 a minute per router before). stderr is in the answer, so a failure
    says why; the loop ends with its channel (the next write fails), leaving no orphan."""
    loop = (
        f"while :; do r=$( {{ {haproxy_command(cfg)}; }} 2>&1 ); s=$?; "
        f'printf \'{STAT_BEGIN} %s\\n%s\\n{STAT_END}\\n\' "$s" "$r"; sleep {interval:g}; done'
    )
    return f"exec sh -c {shlex.quote(loop)}"


def haproxy_answer(cfg: RouterConfig, status: int, text: str) -> RouterObs:
    """One `show stat` answer (its exit status and what it printed, stderr included) → RouterObs."""
    kind = cfg.kind.value
    head = text.find("# pxname,")
    if status != 0 or head < 0:
        why = text.strip().splitlines()[-1:] or [f"exit status {status}"]
        return RouterObs(kind, error=f"stats socket {cfg.stats_socket}: {why[0][:200]}")
    try:
        return RouterObs(kind, parse_show_stat(text[head:], cfg.role_of))
    except RouterReadError as e:
        return RouterObs(kind, error=str(e))


async def read_haproxy(session: NodeSession, node: Node) -> RouterObs:
    cfg = node.router
    try:
        res = await session.run(haproxy_command(cfg), timeout=3.0, sudo=True)
    except SshError as e:
        return RouterObs(cfg.kind.value, error=str(e))
    status = res.exit_status or 0
    return haproxy_answer(cfg, status, res.stdout if status == 0 and res.stdout.strip() else res.stderr)


def _tls_context(cfg: RouterConfig) -> ssl.SSLContext:
    if cfg.rest_ca_file is not None:
        ctx = ssl.create_default_context(cafile=str(cfg.rest_ca_file))
        ctx.check_hostname = False  # reached as 127.0.0.1 through the tunnel, not by its name
        return ctx
    # Through the node's SSH session (whose host key is verified) to its own loopback: the
    # tunnel authenticates the far end; Router's bootstrap certificate is self-signed.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def fetch_json(port: int, cfg: RouterConfig, paths: list[str], user: str, password: str) -> dict[str, Any]:
    """GET each path (under rest_base) on 127.0.0.1:port over one keep-alive connection; the
    password goes in the Authorization header only. Blocking: run it in a thread."""
    conn: http.client.HTTPConnection
    if cfg.rest_tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=3.0, context=_tls_context(cfg))
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3.0)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    out: dict[str, Any] = {}
    try:
        for path in paths:
            conn.request("GET", cfg.rest_base + path, headers={"Authorization": f"Basic {auth}"})
            resp = conn.getresponse()
            body = resp.read()
            # a route that is not alive answers 500 with {"isAlive": false} (Router >= 8.0.2x)
            if resp.status != 200 and not (resp.status == 500 and path.endswith("/health")):
                raise RouterReadError(f"GET {cfg.rest_base}{path}: HTTP {resp.status} {resp.reason}")
            try:
                out[path] = json.loads(body)
            except ValueError as e:
                raise RouterReadError(f"GET {cfg.rest_base}{path}: not JSON ({e})") from None
    finally:
        conn.close()
    return out


async def read_mysql_router(session: NodeSession, node: Node) -> RouterObs:
    cfg = node.router
    kind = cfg.kind.value
    if cfg.rest_account is None:
        return RouterObs(kind, error="no rest_account in the cluster file")
    try:
        password = resolve_password(cfg.rest_account)
    except SecretError as e:
        return RouterObs(kind, error=f"no password: {e}")
    try:
        port = await session.forward_local("127.0.0.1", cfg.rest_port)
    except SshError as e:
        return RouterObs(kind, error=f"no SSH tunnel to the REST API: {e}")
    user = cfg.rest_account.user
    try:
        names = route_names((await asyncio.to_thread(fetch_json, port, cfg, ["/routes"], user, password))["/routes"])
        paths = [f"/routes/{quote(n, safe='')}/{what}" for n in names for what in ("destinations", "health")]
        docs: Mapping[str, Any] = await asyncio.to_thread(fetch_json, port, cfg, paths, user, password)
        dests = {n: docs[f"/routes/{quote(n, safe='')}/destinations"] for n in names}
        health = {n: docs[f"/routes/{quote(n, safe='')}/health"] for n in names}
        return RouterObs(kind, build_routes(names, dests, health, cfg.role_of))
    except RouterReadError as e:
        return RouterObs(kind, error=str(e))
    except (OSError, http.client.HTTPException) as e:
        return RouterObs(kind, error=f"REST API on port {cfg.rest_port}: {e or type(e).__name__}")


async def read_router(session: NodeSession, node: Node) -> RouterObs:
    if node.router.kind == RouterKind.NONE:
        return RouterObs("none", error="not read (router.kind: none)")
    if node.router.kind == RouterKind.MYSQL_ROUTER:
        return await read_mysql_router(session, node)
    return await read_haproxy(session, node)
