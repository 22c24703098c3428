"""Headless Chromium (Debian's) driven over the DevTools protocol, for the browser wallboard's
tests. What a page's terminal shows is read the way the browser got it: an init script keeps the
bytes of every WebSocket message the page receives (the terminal stream textual-serve sends
xterm.js), and pyte, a VT100 emulator, turns them into the screen's lines. A screenshot is the
browser's own rendering, kept for the person reading a failure."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pyte

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# every WebSocket the page opens: its URL (the terminal's size), what it sends (resizes) and
# the bytes it receives, kept for the test to take
CAPTURE = """
(() => {
  const Orig = window.WebSocket;
  const seen = (window.__hatui = { chunks: [], urls: [], sizes: [], opened: 0 });
  function Capturing(url, protocols) {
    const ws = protocols === undefined ? new Orig(url) : new Orig(url, protocols);
    seen.opened += 1;
    seen.urls.push(String(url));
    ws.addEventListener("message", (e) => {
      if (e.data instanceof ArrayBuffer) seen.chunks.push(new Uint8Array(e.data));
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      try {
        const m = JSON.parse(data);
        if (m[0] === "resize") seen.sizes.push(m[1]);
      } catch (err) {}
      return send(data);
    };
    return ws;
  }
  Capturing.prototype = Orig.prototype;
  for (const k of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) Capturing[k] = Orig[k];
  window.WebSocket = Capturing;
  window.__hatuiTake = () => {
    const parts = seen.chunks.splice(0);
    let s = "";
    for (const p of parts) for (let i = 0; i < p.length; i += 8192)
      s += String.fromCharCode.apply(null, p.subarray(i, i + 8192));
    return { b64: btoa(s), sizes: seen.sizes.splice(0), urls: seen.urls.slice(), opened: seen.opened };
  };
})();
"""


class CdpError(RuntimeError):
    pass


class Browser:
    """One headless Chromium; its DevTools endpoint is on loopback of the namespace it runs in,
    so the client must run there too (the lab's operator loop)."""

    def __init__(self, profile: Path, *, netns: str | None = None, size: tuple[int, int] = (1600, 1000)):
        self.profile = profile
        profile.mkdir(parents=True, exist_ok=True)
        cmd = [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",  # the suite runs as root
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            "about:blank",
        ]
        if netns is not None:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.log = (profile / "chromium.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.port, self.path = self._devtools_port()

    def _devtools_port(self) -> tuple[int, str]:
        f = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited ({self.proc.returncode}); see {self.profile / 'chromium.log'}")
            if f.exists() and len(lines := f.read_text().splitlines()) >= 2:
                return int(lines[0]), lines[1]
            time.sleep(0.1)
        raise CdpError("chromium did not open its DevTools port within 60 s")

    def close(self) -> None:
        """By the process group we started (chromium's helpers are in it), never by name."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                import os

                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                import os

                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


class Page:
    """A tab, over the browser's DevTools WebSocket (flattened sessions). Use on one event loop."""

    def __init__(self, browser: Browser):
        self.browser = browser
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None
        self.bytes_received = 0

    async def open(self, url: str) -> None:
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(f"ws://127.0.0.1:{self.browser.port}{self.browser.path}", max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self.session = attached["sessionId"]
        await self.send("Page.enable", session=True)
        await self.send("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE}, session=True)
        await self.send("Page.navigate", {"url": url}, session=True)

    async def _read(self) -> None:
        async for msg in self._ws:
            data = json.loads(msg.data)
            fut = self._waiting.pop(data.get("id", -1), None)
            if fut is not None and not fut.done():
                if "error" in data:
                    fut.set_exception(CdpError(str(data["error"])))
                else:
                    fut.set_result(data.get("result", {}))

    async def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> Any:
        i = next(self._ids)
        msg: dict[str, Any] = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        fut = asyncio.get_running_loop().create_future()
        self._waiting[i] = fut
        await self._ws.send_str(json.dumps(msg))
        return await asyncio.wait_for(fut, 30)

    async def evaluate(self, expression: str) -> Any:
        r = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in r:
            raise CdpError(str(r["exceptionDetails"])[:300])
        return r["result"].get("value")

    async def terminal_text(self) -> str:
        """The page's terminal as it stands: every byte received so far, through the emulator."""
        got = await self.evaluate("window.__hatuiTake ? window.__hatuiTake() : null")
        if got is None:
            return ""
        if self.screen is None and got["urls"]:
            q = dict(p.split("=", 1) for p in got["urls"][-1].split("?", 1)[-1].split("&") if "=" in p)
            self.screen = pyte.Screen(int(q.get("width", 80)), int(q.get("height", 24)))
            self.stream = pyte.ByteStream(self.screen)
        if self.screen is None or self.stream is None:
            return ""
        for size in got["sizes"]:
            self.screen.resize(int(size["height"]), int(size["width"]))
        data = base64.b64decode(got["b64"])
        self.bytes_received += len(data)
        self.stream.feed(data)
        return "\n".join(self.screen.display)

    async def opened(self) -> int:
        return int(await self.evaluate("window.__hatui ? window.__hatui.opened : 0") or 0)

    async def screenshot(self, path: Path) -> int:
        r = await self.send("Page.captureScreenshot", {"format": "png"}, session=True)
        data = base64.b64decode(r["data"])
        await asyncio.to_thread(path.write_bytes, data)
        return len(data)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self._reader.cancel()
            await self._ws.close()
        with contextlib.suppress(Exception):
            await self._http.close()
