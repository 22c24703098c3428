"""`hatui serve`: the read-only wallboard in browsers, through textual-serve.

textual-serve starts one app process per browser connection. Here that process is a viewer
(`hatui serve --viewer SOCKET`): the wallboard fed by the serve process's hub over a private
Unix socket, so however many browsers watch, the nodes see one collector's SSH sessions; the
viewers hold no credential and open no connection to any node.

What the server adds to textual-serve's: the access token (a cookie set from ?token= once, or a
Bearer header) on every request when one is configured, a refusal of pages from other sites
(Origin), TLS, a cap on viewers, a page that loads nothing from another site, and viewers started
with a bare environment (no password variable reaches them)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shlex
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from hatui.cluster import Cluster
from hatui.serve.access import Access
from hatui.serve.hub import Hub

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "serve_templates"
COOKIE = "hatui_token"
MAX_VIEWERS = 16
# what a viewer keeps of the serve process's environment: nothing that could be a secret
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "PYTHONPATH")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class _Viewer(AppService):
    """One browser's wallboard process, started with a bare environment."""

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width=width, height=height)
        return {
            k: v
            for k, v in env.items()
            if k in KEEP_ENV or k.startswith(("TEXTUAL", "TERM")) or k in ("COLUMNS", "ROWS")
        }

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


class WallboardServer(Server):
    def __init__(self, hub_socket: Path, access: Access, *, title: str, max_viewers: int = MAX_VIEWERS):
        # exec: the shell textual-serve starts it with becomes the viewer, so its PID is the viewer's
        command = f"exec {shlex.quote(sys.executable)} -m hatui serve --viewer {shlex.quote(str(hub_socket))}"
        super().__init__(command, host=access.host, port=access.port, title=title, templates_path=TEMPLATES)
        self.access = access
        self.max_viewers = max_viewers
        self.viewers: dict[str, _Viewer] = {}

    # ------------------------------------------------------------------ the aiohttp app
    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        return None  # textual-serve prints its logo; the CLI says where it listens

    def _token_ok(self, given: str | None) -> bool:
        token = self.access.token
        return token is None or (given is not None and hmac.compare_digest(given.encode(), token.encode()))

    @web.middleware
    async def _guard(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            # a page from another site (in the wallboard's browser) opening our websocket
            raise web.HTTPForbidden(text="hatui serve: pages from another site may not open the wallboard\n")
        auth = request.headers.get("Authorization", "")
        given = request.cookies.get(COOKIE) or (auth[7:] if auth.startswith("Bearer ") else None)
        if not self._token_ok(given):
            query = request.query.get("token")
            if request.path == "/" and query is not None and self._token_ok(query):
                # once: the token goes into a cookie and out of the address bar and its history
                rest = urlencode([(k, v) for k, v in request.query.items() if k != "token"])
                found = web.HTTPSeeOther(location="/" + (f"?{rest}" if rest else ""))
                found.set_cookie(
                    COOKIE, query, httponly=True, samesite="Strict", secure=self.access.tls is not None, path="/"
                )
                raise found
            raise web.HTTPUnauthorized(text="hatui serve: open the address with ?token=<the access token>\n")
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        # addresses from the request (the host the browser used), not from the listen address
        ws = ("wss" if request.secure else "ws") + f"://{request.host}/ws"
        return {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": ws,
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
            "ping_url": "",
        }

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if len(self.viewers) >= self.max_viewers:
            raise web.HTTPServiceUnavailable(text=f"hatui serve: {self.max_viewers} browsers watch already\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        viewer: _Viewer | None = None
        try:
            await websocket.prepare(request)
            viewer = _Viewer(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.viewers[viewer.app_service_id] = viewer
            await viewer.start(width, height)
            await self._process_messages(websocket, viewer)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as exc:
            log.warning("a browser's wallboard ended: %s", exc)
        finally:
            if viewer is not None:
                await self._end(viewer)
        return websocket

    async def _end(self, viewer: _Viewer) -> None:
        try:
            await asyncio.wait_for(viewer.stop(), 5)
        except Exception:
            pass
        pid = viewer.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # it did not quit when asked: by its own PID
        self.viewers.pop(viewer.app_service_id, None)


async def serve(
    clusters: list[Cluster],
    access: Access,
    *,
    until: asyncio.Event,
    max_viewers: int = MAX_VIEWERS,
    ready: Callable[[WallboardServer, Hub], None] | None = None,
) -> None:
    """Collect (one hub), serve browsers until `until` is set, then stop every viewer and the hub."""
    with tempfile.TemporaryDirectory(prefix="hatui-serve-") as folder:  # 0700
        hub = Hub(clusters)
        await hub.start(Path(folder) / "hub.sock")
        title = "hatui wallboard: " + ", ".join(c.name for c in clusters)
        server = WallboardServer(Path(folder) / "hub.sock", access, title=title, max_viewers=max_viewers)
        runner = web.AppRunner(await server._make_app(), access_log=None, handle_signals=False)
        try:
            await runner.setup()
            site = web.TCPSite(runner, access.host, access.port, ssl_context=access.tls)
            await site.start()
            if ready is not None:
                ready(server, hub)
            await until.wait()
        finally:
            await runner.cleanup()
            for v in list(server.viewers.values()):
                await server._end(v)
            await hub.stop()


def run_viewer(hub_socket: str) -> int:
    """One browser's wallboard (textual-serve runs this with its web driver)."""
    from hatui.serve.viewer import HubFeed, hub_clusters
    from screens.app import HatuiApp

    clusters = asyncio.run(hub_clusters(hub_socket))
    app = HatuiApp(clusters, watch=True, feed_factory=lambda c: HubFeed(hub_socket, c))
    app.run()
    return 0
