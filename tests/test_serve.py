"""`hatui serve` without a lab: the hub's stream keeps a viewer's store equal to the collector's
(picture, readings, events, a replaced store, a viewer that falls behind), the access rules
(loopback unless a token, token from a 0600 file or the environment, TLS), and the web server's
guard (token cookie from ?token= once, Bearer, other sites refused, no secret in a viewer's
environment). tests/lab/test_serve_live.py runs it with real browsers on the lab."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import ssl
from pathlib import Path

import aiohttp
import pytest

from hatui.errors import InputError
from hatui.keepalived import parse_line
from hatui.serve import hub as hub_mod
from hatui.serve import protocol
from hatui.serve.access import TOKEN_ENV, Access, access, read_token
from hatui.serve.hub import Hub
from hatui.serve.viewer import HubFeed, hub_clusters
from hatui.state import AddressObs, Kind
from hatui.views.feed import RecordedFeed
from screens.serve import COOKIE, WallboardServer, _Viewer, serve
from tests.recorded import lab_cluster, lab_state

TOKEN = "s3cret-token-0123456789"


def same(a, b) -> bool:
    sa, sb = a.snapshot(max_events=None), b.snapshot(max_events=None)
    return dict(sa.observations) == dict(sb.observations) and [
        (e.seq, e.received_at, e.node, e.event) for e in sa.events
    ] == [(e.seq, e.received_at, e.node, e.event) for e in sb.events]


async def until(cond, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not within the deadline")
        await asyncio.sleep(0.01)


@pytest.fixture
def short_tmp():
    # a Unix socket's path has a 108-byte limit: pytest's tmp_path can be longer
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hs-") as d:
        yield Path(d)


async def test_a_viewer_sees_the_collectors_store_and_every_change_after(short_tmp):
    cluster = lab_cluster()
    store = lab_state(cluster)
    hub = Hub([cluster], feeds=[RecordedFeed(store)])
    sock = short_tmp / "hub.sock"
    await hub.start(sock)
    try:
        assert sock.stat().st_mode & 0o077 == 0  # the serve process's user's only
        (got,) = await hub_clusters(sock)
        assert got.name == cluster.name and set(got.nodes) == set(cluster.nodes)
        feed = HubFeed(sock, got)
        task = asyncio.create_task(feed.start())
        await asyncio.wait_for(feed.connected.wait(), 5)
        assert same(store, feed.store)  # the picture: every reading with its own time, every event
        # a reading and an event as they come
        store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.12", "198.18.0.100"})), at=123.0)
        store.add_event(
            "db2", parse_line("Sat Nov 21 15:05:01 2026: (VI_1) Entering MASTER STATE", node="db2", tz=dt.UTC)
        )
        await until(lambda: same(store, feed.store))
        assert feed.store.latest("db2", Kind.ADDRESSES).at == 123.0
        # the store replaced (a new picture follows)
        store.replace_all(list(store.snapshot().observations.values())[:3], [])
        await until(lambda: same(store, feed.store))
        assert hub.viewers == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await until(lambda: hub.viewers == 0)
    finally:
        await hub.stop()
    assert not sock.exists()


async def test_a_viewer_that_falls_behind_is_dropped_and_starts_again_from_a_new_picture(short_tmp, monkeypatch):
    monkeypatch.setattr(hub_mod, "MAX_QUEUED", 5)
    cluster = lab_cluster()
    store = lab_state(cluster)
    hub = Hub([cluster], feeds=[RecordedFeed(store)])
    sock = short_tmp / "hub.sock"
    await hub.start(sock)
    try:
        feed = HubFeed(sock, cluster)
        task = asyncio.create_task(feed.start())
        await asyncio.wait_for(feed.connected.wait(), 5)
        first = hub.connections
        for i in range(50):  # faster than the loop lets the viewer read: more than 5 queued
            store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.13"})), at=1000.0 + i)
        await until(lambda: hub.connections > first, timeout=10)  # it came back (a second later)
        await until(lambda: same(store, feed.store))
        assert feed.store.latest("db3", Kind.ADDRESSES).at == 1049.0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await hub.stop()


async def test_the_hub_answers_a_bad_request_with_an_error_not_a_crash(short_tmp):
    cluster = lab_cluster()
    hub = Hub([cluster], feeds=[RecordedFeed(lab_state(cluster))])
    sock = short_tmp / "hub.sock"
    await hub.start(sock)
    try:
        for request, said in ((b"nonsense\n", "not JSON"), (protocol.request_cluster("prod"), "no cluster 'prod'")):
            reader, writer = await asyncio.open_unix_connection(sock)
            writer.write(request)
            line = await reader.readline()
            writer.close()
            assert said in line.decode()
        with pytest.raises(protocol.ProtocolError, match="no cluster 'prod'"):
            await HubFeed(sock, cluster.model_copy(update={"name": "prod"}))._follow()
    finally:
        await hub.stop()


def test_the_clusters_a_viewer_gets_carry_no_password():
    cluster = lab_cluster()
    line = protocol.clusters_line([cluster]).decode()
    for node in cluster.nodes.values():
        secret = getattr(node.mysql.monitor, "password", None) if node.mysql else None
        if secret:
            assert secret not in line


# ------------------------------------------------------------------ access


def test_loopback_needs_no_token_anything_else_does(tmp_path):
    assert access("127.0.0.1:8470", token_file=None, cert=None, key=None, environ={}).token is None
    assert access("[::1]:8470", token_file=None, cert=None, key=None, environ={}).host == "::1"
    with pytest.raises(InputError, match="anything but loopback needs an access token"):
        access("0.0.0.0:8470", token_file=None, cert=None, key=None, environ={})
    with pytest.raises(InputError, match="anything but loopback"):
        access("wallboard.example:8470", token_file=None, cert=None, key=None, environ={})  # a name: unknown
    a = access("0.0.0.0:8470", token_file=None, cert=None, key=None, environ={TOKEN_ENV: TOKEN})
    assert a.token == TOKEN and a.url() == "http://0.0.0.0:8470/"
    with pytest.raises(InputError, match="the port must be a number"):
        access("127.0.0.1:http", token_file=None, cert=None, key=None, environ={})


def test_the_token_file_must_be_private_and_the_token_long(tmp_path):
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    f.chmod(0o644)
    with pytest.raises(InputError, match=f"{f}: the access token file can be read by others"):
        read_token(str(f), {})
    f.chmod(0o600)
    assert read_token(str(f), {}) == TOKEN
    f.write_text("short\n")
    with pytest.raises(InputError, match="at least 16 characters"):
        read_token(str(f), {})
    with pytest.raises(InputError, match="cannot read the access token"):
        read_token(str(tmp_path / "missing"), {})
    with pytest.raises(InputError, match="TLS needs both"):
        access("127.0.0.1:1", token_file=None, cert=str(f), key=None, environ={})


# ------------------------------------------------------------------ the web server


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    c, k = tmp_path / "cert.pem", tmp_path / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return c, k


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _served(acc: Access, fn):
    """Run serve() on a recorded cluster (no node is contacted) around fn(base_url)."""
    cluster = lab_cluster()
    until_ = asyncio.Event()
    up = asyncio.Event()
    orig_hub = Hub.__init__

    def recorded_hub(self, clusters, *, feeds=None):
        orig_hub(self, clusters, feeds=[RecordedFeed(lab_state(c)) for c in clusters])

    Hub.__init__ = recorded_hub  # type: ignore[method-assign]
    try:
        task = asyncio.create_task(serve([cluster], acc, until=until_, ready=lambda s, h: up.set()))
        await asyncio.wait_for(up.wait(), 10)
        try:
            return await fn(f"{acc.scheme}://localhost:{acc.port}")
        finally:
            until_.set()
            await asyncio.wait_for(task, 15)
    finally:
        Hub.__init__ = orig_hub  # type: ignore[method-assign]


async def test_with_a_token_every_request_needs_it_and_the_token_leaves_the_address_bar(tmp_path):
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    acc = Access("127.0.0.1", free_port(), TOKEN, tls)
    trust = ssl.create_default_context(cafile=str(cert))

    async def check(base: str):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as s:
            for path in ("/", "/static/js/textual.js", "/ws"):
                async with s.get(base + path, allow_redirects=False) as r:
                    assert r.status == 401, path
            async with s.get(base + "/?token=wrong-token-0123456789", allow_redirects=False) as r:
                assert r.status == 401
            async with s.get(base + f"/?token={TOKEN}&fontsize=20", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"] == "/?fontsize=20"
                cookie = r.headers["Set-Cookie"]
                assert f"{COOKIE}={TOKEN}" in cookie
                for flag in ("HttpOnly", "Secure", "SameSite=Strict"):
                    assert flag in cookie
            async with s.get(base + "/?fontsize=20") as r:  # the cookie, from now on
                page = await r.text()
                assert (
                    r.status == 200
                    and "wss://localhost:" in page
                    and 'font-size="20"' in page.replace("data-font-size", "font-size")
                )
                assert "googleapis" not in page and "https://" not in page  # nothing from another site
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
            async with s.get(base + "/", headers={"Origin": "https://evil.example"}) as r:
                assert r.status == 403
        fresh = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust))  # no cookie: the header
        async with fresh as s, s.get(base + "/", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200

    await _served(acc, check)


async def test_on_loopback_without_a_token_the_page_opens(tmp_path):
    acc = Access("127.0.0.1", free_port(), None, None)

    async def check(base: str):
        async with aiohttp.ClientSession() as s, s.get(base + "/") as r:
            assert r.status == 200 and "ws://localhost:" in await r.text()

    await _served(acc, check)


def test_a_viewer_process_gets_no_password_or_token_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HATUI_MYSQL_PASSWORD", "pw-in-env")
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    server = WallboardServer(tmp_path / "hub.sock", Access("127.0.0.1", 1, None, None), title="t")
    v = _Viewer(server.command, write_bytes=None, write_str=None, close=None, download_manager=server.download_manager)
    env = v._build_environment(120, 40)
    assert env["TEXTUAL_DRIVER"].startswith("textual.drivers.web_driver") and env["COLUMNS"] == "120"
    assert "pw-in-env" not in env.values() and TOKEN not in env.values() and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PATH"] == os.environ["PATH"]
    assert "--viewer" in server.command and str(tmp_path / "hub.sock") in server.command
    assert server.command.startswith("exec ")  # its PID is the viewer's, not a shell's: stopped by it


async def test_one_hub_serves_several_clusters_each_viewer_its_own(short_tmp):
    from tests.recorded import healthy

    a = lab_cluster()
    b_store, _ = healthy()
    hub = Hub([a, b_store.cluster], feeds=[RecordedFeed(lab_state(a)), RecordedFeed(b_store)])
    sock = short_tmp / "hub.sock"
    await hub.start(sock)
    try:
        got = await hub_clusters(sock)
        assert [c.name for c in got] == [a.name, b_store.cluster.name]
        feeds = [HubFeed(sock, c) for c in got]
        tasks = [asyncio.create_task(f.start()) for f in feeds]
        for f in feeds:
            await asyncio.wait_for(f.connected.wait(), 5)
        assert same(hub.feeds[0].store, feeds[0].store) and same(b_store, feeds[1].store)
        assert set(feeds[1].store.cluster.nodes) == {"db1", "db2", "db3"}
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await hub.stop()
