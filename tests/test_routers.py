"""Router awareness: HAProxy's `show stat` and MySQL Router's REST API read into routes, and the
rules that judge a route against hatui's own readings of the databases."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from hatui.cluster import load_cluster_text
from hatui.collect.routers import fetch_json, haproxy_command
from hatui.routers import Route, RouterObs, RouteServer, ServerState
from hatui.routers.haproxy import RouterReadError, parse_show_stat, server_state, split_addr
from hatui.routers.mysql_router import build_routes, destinations, is_alive, route_names
from hatui.rules.health import evaluate
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from tests.recorded import T0, Clock, chan, mysql

FIX = Path(__file__).parent / "fixtures" / "router"
STAT = (FIX / "haproxy-2.6.12-show-stat-down.csv").read_text()
ROLES = {"rw": "writer", "ro": "reader"}.get


# ------------------------------------------------------------------ HAProxy


def test_show_stat_gives_one_route_per_backend_with_each_servers_state():
    routes = {r.name: r for r in parse_show_stat(STAT, ROLES)}
    assert set(routes) == {"rw", "ro"}
    rw = routes["rw"]
    assert rw.role == "writer" and rw.alive is False
    assert [(s.name, s.address, s.port, s.state) for s in rw.servers] == [
        ("db1", "127.0.0.1", 1, ServerState.DOWN),
        ("db2", "127.0.0.2", 1, ServerState.MAINT),
    ]
    assert rw.servers[0].detail == "DOWN L4CON Connection refused"
    assert rw.targets == ()  # nothing receives writes
    assert routes["ro"].role == "reader"


def test_old_haproxy_without_the_addr_column_still_reads():
    # HAProxy 1.5 (CentOS 7) has no `addr` column: columns are found by name, not position
    lines = STAT.splitlines()
    header = lines[0].split(",")
    i = header.index("addr")
    cut = [",".join(f for j, f in enumerate(line.split(",")) if j != i) for line in lines]
    routes = {r.name: r for r in parse_show_stat("\n".join(cut), ROLES)}
    assert [(s.name, s.address, s.state) for s in routes["rw"].servers] == [
        ("db1", None, ServerState.DOWN),
        ("db2", None, ServerState.MAINT),
    ]


@pytest.mark.parametrize(
    "status,state",
    [
        ("UP", ServerState.UP),
        ("UP 1/2", ServerState.UP),  # one failed check of two: still taking connections
        ("DOWN 1/2", ServerState.DOWN),
        ("MAINT (via rw/db1)", ServerState.MAINT),
        ("DRAIN", ServerState.DRAIN),
        ("NOLB", ServerState.DRAIN),
        ("no check", ServerState.UNKNOWN),
    ],
)
def test_haproxy_status_words(status, state):
    assert server_state(status) == state


def test_addresses_with_ipv6_and_without_port():
    assert split_addr("[2001:db8::1]:3306") == ("2001:db8::1", 3306)
    assert split_addr("10.0.0.1:3306") == ("10.0.0.1", 3306)
    assert split_addr("") == (None, None)


@pytest.mark.parametrize("text", ["", "Unknown command. Please enter one of the following commands only :", "a,b\n"])
def test_anything_but_a_stats_csv_is_refused_with_what_was_seen(text):
    with pytest.raises(RouterReadError, match="expected HAProxy's `show stat` CSV"):
        parse_show_stat(text, ROLES)


def test_backup_servers_take_traffic_only_when_no_active_one_is_up():
    active = RouteServer("db1", "10.0.0.11", 3306, ServerState.DOWN)
    backup = RouteServer("db2", "10.0.0.12", 3306, ServerState.UP, backup=True)
    assert Route("rw", "writer", (active, backup)).targets == (backup,)
    up = RouteServer("db1", "10.0.0.11", 3306, ServerState.UP)
    assert Route("rw", "writer", (up, backup)).targets == (up,)


def test_the_stats_command_is_fixed_text_with_the_socket_quoted():
    c = load_cluster_text(ROUTER_CLUSTER, "r.yml")
    cmd = haproxy_command(c.nodes["r1"].router)
    assert "echo 'show stat' | socat -t 2 stdio UNIX-CONNECT:/run/haproxy.sock" in cmd
    assert "nc -U /run/haproxy.sock" in cmd


def test_the_streamed_stats_give_a_reading_each_interval_say_why_when_the_socket_fails_and_die_with_the_channel(
    tmp_path,
):
    import os
    import socket
    import subprocess
    import time

    from hatui.cluster import RouterConfig
    from hatui.collect.routers import STAT_BEGIN, STAT_END, haproxy_answer, haproxy_stream_command

    sock_path = tmp_path / "haproxy.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    server.listen(8)
    asked: list[bytes] = []

    def serve() -> None:  # HAProxy's stats socket: one command, its answer, then closed
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                asked.append(conn.recv(100))
                conn.sendall(STAT.encode())
        server.close()
        sock_path.unlink()  # HAProxy gone: the socket with it

    threading.Thread(target=serve, daemon=True).start()
    cfg = RouterConfig(kind="haproxy", stats_socket=str(sock_path), routes={"rw": "writer", "ro": "reader"})
    p = subprocess.Popen(  # as under sshd: a session of its own
        ["sh", "-c", haproxy_stream_command(cfg, 0.1)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    readings = []
    try:
        assert p.stdout is not None
        t0 = time.monotonic()
        while len(readings) < 3 and time.monotonic() - t0 < 10:
            line = p.stdout.readline().rstrip("\n")
            if line.startswith(STAT_BEGIN):
                status, lines = int(line.split()[1]), []
            elif line == STAT_END:
                readings.append(haproxy_answer(cfg, status, "\n".join(lines)))
            else:
                lines.append(line)
        assert asked[:2] == [b"show stat\n"] * 2
        assert [r.error for r in readings[:2]] == [None, None]
        assert {r.name for r in readings[0].routes} == {"rw", "ro"}
        # the socket is gone: the reading says so, in socat's words, and names the socket
        assert readings[2].routes == () and f"stats socket {sock_path}" in (readings[2].error or "")
        assert "No such file" in (readings[2].error or "")
        p.stdout.close()  # the channel closes: the loop ends on its next write
        p.wait(5)
        time.sleep(0.3)
        left = [d for d in os.listdir("/proc") if d.isdigit() and _pgid(d) == p.pid]
        assert left == []
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def _pgid(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(stat[2]) if stat[0] != "Z" else None


# ------------------------------------------------------------------ MySQL Router


def _doc(name: str):
    return json.loads((FIX / "mysql-router" / name).read_text())


def test_mysql_router_documents():
    assert route_names(_doc("routes.json")) == ["bootstrap_rw"]
    assert is_alive(_doc("route-health.json")) is True
    assert is_alive(_doc("route-health-not-alive.json")) is False
    assert [(s.address, s.port) for s in destinations(_doc("route-destinations.json"))] == [("198.18.0.11", 3306)]
    assert destinations(_doc("route-destinations-empty.json")) == ()
    with pytest.raises(RouterReadError):
        is_alive(_doc("route-status.json"))  # a status document is not a health one


def test_a_metadata_route_without_destinations_has_no_target():
    routes = build_routes(
        ["bootstrap_rw"],
        {"bootstrap_rw": _doc("route-destinations-empty.json")},
        {"bootstrap_rw": _doc("route-health-not-alive.json")},
        lambda n: "writer",
    )
    assert routes[0].targets == () and routes[0].alive is False


class _RouterRest(http.server.BaseHTTPRequestHandler):
    """A loopback stand-in for Router's REST API, answering with the recorded documents."""

    seen: list[tuple[str, str | None]] = []
    docs = {
        "/api/20190715/routes": (200, {"items": [{"name": "bootstrap_rw"}, {"name": "bootstrap_ro"}]}),
        "/api/20190715/routes/bootstrap_rw/destinations": (200, _doc("route-destinations.json")),
        "/api/20190715/routes/bootstrap_rw/health": (200, _doc("route-health.json")),
        "/api/20190715/routes/bootstrap_ro/destinations": (200, _doc("route-destinations-empty.json")),
        "/api/20190715/routes/bootstrap_ro/health": (500, _doc("route-health-not-alive.json")),
    }

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, doc = self.docs.get(self.path, (404, {"title": "URI not found", "status": 404}))
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def rest_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RouterRest)
    _RouterRest.seen = []
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


MR_CLUSTER = """
name: mr
topology: primary-replicas
nodes:
  r1:
    host: 10.0.0.21
    roles: [router]
    router:
      kind: mysql-router
      rest_tls: false
      rest_account: {user: rest, password_env: HATUI_TEST_ROUTER_PW}
  db1: {host: 198.18.0.11, roles: [mysql]}
"""


def test_router_rest_reads_with_basic_auth_in_a_header_and_a_500_health_is_an_answer(rest_server, monkeypatch):
    monkeypatch.setenv("HATUI_TEST_ROUTER_PW", "s3cret-pw")
    cfg = load_cluster_text(MR_CLUSTER, "mr.yml").nodes["r1"].router
    names = route_names(fetch_json(rest_server, cfg, ["/routes"], "rest", "s3cret-pw")["/routes"])
    paths = [f"/routes/{n}/{w}" for n in names for w in ("destinations", "health")]
    docs = fetch_json(rest_server, cfg, paths, "rest", "s3cret-pw")
    routes = build_routes(
        names,
        {n: docs[f"/routes/{n}/destinations"] for n in names},
        {n: docs[f"/routes/{n}/health"] for n in names},
        cfg.role_of,
    )
    by = {r.name: r for r in routes}
    assert by["bootstrap_rw"].role == "writer" and by["bootstrap_rw"].alive is True
    assert by["bootstrap_ro"].role == "reader" and by["bootstrap_ro"].alive is False
    assert all(auth == "Basic cmVzdDpzM2NyZXQtcHc=" for _, auth in _RouterRest.seen)
    assert not any("s3cret" in path for path, _ in _RouterRest.seen)


def test_router_rest_errors_name_the_request(rest_server):
    cfg = load_cluster_text(MR_CLUSTER, "mr.yml").nodes["r1"].router
    with pytest.raises(RouterReadError, match=r"GET /api/20190715/routes/nope/status: HTTP 404"):
        fetch_json(rest_server, cfg, ["/routes/nope/status"], "rest", "pw")


def test_mysql_router_needs_an_account_in_the_cluster_file():
    bad = MR_CLUSTER.replace("      rest_account: {user: rest, password_env: HATUI_TEST_ROUTER_PW}\n", "")
    with pytest.raises(Exception, match=r"rest_account"):
        load_cluster_text(bad, "mr.yml")


def test_route_roles_from_the_map_or_the_name():
    c = load_cluster_text(ROUTER_CLUSTER, "r.yml").nodes["r1"].router
    assert c.role_of("rw") == "writer" and c.role_of("ro") == "reader"
    assert c.role_of("bootstrap_x_rw") == "writer"
    assert c.role_of("mysql_replicas") == "reader"
    assert c.role_of("stats") is None


# ------------------------------------------------------------------ rules

ROUTER_CLUSTER = """
name: r
topology: primary-replicas
thresholds: {lag_warning: 5, lag_critical: 30}
defaults:
  mysql: {monitor: {user: m, password_env: X}}
nodes:
  db1: {host: 10.0.0.11, roles: [mysql]}
  db2: {host: 10.0.0.12, roles: [mysql]}
  db3: {host: 10.0.0.13, roles: [mysql]}
  r1:
    host: 10.0.0.21
    roles: [router, keepalived]
    router: {kind: haproxy, stats_socket: /run/haproxy.sock, routes: {rw: writer, ro: reader}}
  r2:
    host: 10.0.0.22
    roles: [router, keepalived]
    router: {kind: haproxy, stats_socket: /run/haproxy.sock}
vips:
  - {address: 10.0.0.100, instance: VI_1, role: writer, port: 7001, nodes: [r1, r2]}
  - {address: 10.0.0.100, instance: VI_1, role: reader, port: 7002, nodes: [r1, r2]}
"""


def srv(name, state="UP", backup=False):
    host = {"db1": "10.0.0.11", "db2": "10.0.0.12", "db3": "10.0.0.13"}[name]
    return RouteServer(name, host, 3306, ServerState(state.lower()), detail=state, backup=backup)


def routers_store(rw=(("db1", "UP"),), ro=(("db2", "UP"), ("db3", "UP")), db=None, r2=None):
    """db1 primary (writable), db2/db3 replicas of it; r1 (and r2) route rw/ro as given."""
    clock = Clock()
    store = Store(load_cluster_text(ROUTER_CLUSTER, "r.yml"), clock=clock)
    for n in ("db1", "db2", "db3", "r1", "r2"):
        store.put(n, Kind.SSH, SshObs("up", since=T0 - 10))
    store.put("r1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.21", "10.0.0.100"})))
    store.put("r2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.22"})))
    for n, a in (("db1", "10.0.0.11"), ("db2", "10.0.0.12"), ("db3", "10.0.0.13")):
        store.put(n, Kind.ADDRESSES, AddressObs(frozenset({a})))
    db = db or {}
    store.put("db1", Kind.MYSQL, db.get("db1", mysql(1, False)))
    store.put("db2", Kind.MYSQL, db.get("db2", mysql(2, True, [chan("10.0.0.11")])))
    store.put("db3", Kind.MYSQL, db.get("db3", mysql(3, True, [chan("10.0.0.11")])))
    for r in ("r1", "r2"):
        store.put(r, Kind.KEEPALIVED, KeepalivedProcObs(True, 10))

    def obs(rw_, ro_):
        return RouterObs(
            "haproxy",
            (
                Route("rw", "writer", tuple(srv(n, s) for n, s in rw_)),
                Route("ro", "reader", tuple(srv(n, s) for n, s in ro_)),
            ),
        )

    store.put("r1", Kind.ROUTER, obs(rw, ro))
    store.put("r2", Kind.ROUTER, obs(*(r2 or (rw, ro))))
    return store


def codes(store):
    return sorted((a.code, a.node) for a in evaluate(store.snapshot()))


def test_healthy_routers_raise_nothing():
    assert codes(routers_store()) == []


def test_rw_route_with_every_server_down_or_disabled():
    alerts = evaluate(routers_store(rw=(("db1", "DOWN"), ("db2", "MAINT"))).snapshot())
    rw = [a for a in alerts if a.code == "router.rw_no_target"]
    assert {a.node for a in rw} == {"r1", "r2"}
    assert "sends writes nowhere (db1 DOWN, db2 MAINT)" in rw[0].message


def test_rw_route_to_a_read_only_replica_the_router_thinks_is_fine():
    # HAProxy's mysql-check passes a read_only server: only hatui's reading sees it
    alerts = evaluate(routers_store(rw=(("db2", "UP"), ("db1", "MAINT"))).snapshot())
    ro = [a for a in alerts if a.code == "router.rw_target_read_only"]
    assert {a.node for a in ro} == {"r1", "r2"}
    assert "sends writes to db2, which is read_only" in ro[0].message and "the writer is db1" in ro[0].message


def test_rw_route_to_a_dead_mysqld_still_marked_up():
    store = routers_store(db={"db1": mysql(1, False, up=False)})
    assert ("router.rw_target_down", "r1") in codes(store)


def test_rw_route_spread_over_two_servers():
    store = routers_store(rw=(("db1", "UP"), ("db2", "UP")))
    assert ("router.rw_several_targets", "r1") in codes(store)


def test_routers_that_disagree_on_the_writer():
    store = routers_store(r2=((("db2", "UP"),), (("db3", "UP"),)))
    alerts = [a for a in evaluate(store.snapshot()) if a.code == "router.rw_disagree"]
    assert len(alerts) == 1 and "r1 -> db1; r2 -> db2" in alerts[0].message


def _split_brains(store):
    from hatui.rules.incidents import Code, correlate

    snap = store.snapshot()
    return [i for i in correlate(snap, evaluate(snap)) if i.code == Code.SPLIT_BRAIN]


def test_a_vip_on_both_routers_that_agree_is_not_a_split_brain_of_the_databases():
    # after a partition between the routers heals, both hold the address for a moment (seen in
    # the soak): true, shown, but nothing for the split-brain runbook to resolve (it refuses)
    store = routers_store()
    store.put("r2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.22", "10.0.0.100"})))
    [inc] = _split_brains(store)
    assert inc.nodes == ("r1", "r2") and "2 nodes at once" in inc.title
    [sug] = inc.suggestions
    assert sug.runbook is None and "same server" in sug.text
    # routers that also disagree on the writer: two databases may take writes, the runbook's case
    store = routers_store(r2=((("db2", "UP"),), (("db3", "UP"),)))
    store.put("r2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.22", "10.0.0.100"})))
    [inc] = _split_brains(store)
    assert [s.runbook for s in inc.suggestions] == ["split-brain"]


def test_ro_route_to_a_replica_with_replication_stopped():
    db3 = mysql(3, True, [chan("10.0.0.11", io="No", last_error="IO thread error 2003")])
    alerts = [a for a in evaluate(routers_store(db={"db3": db3}).snapshot()) if a.code == "router.ro_target_broken"]
    assert {a.node for a in alerts} == {"r1", "r2"} and "db3" in alerts[0].message


def test_ro_route_with_no_server_up():
    store = routers_store(ro=(("db2", "DOWN"), ("db3", "DOWN")))
    assert ("router.ro_no_target", "r1") in codes(store)


def test_an_unreadable_router_is_a_warning_not_a_false_no_target():
    store = routers_store()
    store.put("r1", Kind.ROUTER, RouterObs("haproxy", error="stats socket /run/haproxy.sock: No such file"))
    got = codes(store)
    assert ("router.unreadable", "r1") in got
    assert not any(c.startswith("router.rw") for c, _ in got)


def test_no_router_alert_before_the_routers_first_reading():
    store = routers_store(rw=(("db1", "DOWN"),))
    snap = store.snapshot()
    pending = frozenset({"r1", "r2"})
    assert not [a for a in evaluate(snap, pending=pending) if a.code.startswith("router.")]


def test_status_shows_each_routers_routes_and_the_vip_ports():
    from hatui.status import status_dict, status_text

    store = routers_store(rw=(("db2", "UP"), ("db1", "MAINT")))
    snap = store.snapshot()
    alerts = evaluate(snap)
    text = status_text(snap, alerts, 2)
    assert "VIP 10.0.0.100 (:7001 writer, :7002 reader): held by r1" in text
    assert "router r1 (haproxy): rw(writer) -> db2 [db2 up, db1 maint]; ro(reader) -> db2, db3 [db2 up, db3 up]" in text
    assert "CRIT router_no_rw_target" in text
    r1 = next(n for n in status_dict(snap, alerts)["nodes"] if n["name"] == "r1")
    assert r1["router"]["routes"][0]["targets"] == ["db2"]


class _StreamSession:
    """A session whose streams play a script: each item a line, or a float to go silent that long."""

    def __init__(self, scripts):
        self.scripts = list(scripts)
        self.state = "up"
        self.on_state_change = []
        self.opened = 0
        self.generation = 1
        self.replacements = 0

    async def stream_lines(self, command, *, sudo=False):
        import asyncio

        self.opened += 1
        script = self.scripts.pop(0) if self.scripts else [3600.0]
        for item in script:
            if isinstance(item, float):
                await asyncio.sleep(item)
            else:
                yield item.encode()
        await asyncio.sleep(3600)


def _reading() -> list[str]:
    from hatui.collect.routers import STAT_BEGIN, STAT_END

    return [f"{STAT_BEGIN} 0", *STAT.splitlines(), STAT_END]


def _router_errors(scripts, seconds: float, probe: float = 0.2):
    import asyncio

    from hatui.collect.monitor import Intervals, NodeCollector

    c = load_cluster_text(ROUTER_CLUSTER, "r.yml")
    store = Store(c)
    session = _StreamSession(scripts)
    col = NodeCollector(c, c.nodes["r1"], session, store, Intervals(probe=probe, retry=0.05))
    seen = []
    store.subscribe(lambda kind, obs: seen.append(obs) if kind == "observation" and obs.kind == Kind.ROUTER else None)

    async def run():
        task = asyncio.create_task(col.router_stream_forever())
        await asyncio.sleep(seconds)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(run())
    return [o.value.error for o in seen], session.opened


def test_a_router_that_stops_answering_is_said_once_its_reading_is_overdue_and_never_before_the_first():
    # a reading, then silence: "no reading" once, 2 intervals after it (0.4 s), then a new stream
    errors, opened = _router_errors([[*_reading(), 5.0]], 1.2)
    assert errors[0] is None and errors[1:] == ["no reading for 0.4 s (node not answering)"]
    # a stream slow to give its first reading (a busy start): nothing is said, it is opened again
    errors, opened = _router_errors([[5.0]], 4.5)
    assert errors == [] and opened >= 2
    # readings every interval: never overdue
    steady = [x for _ in range(8) for x in (*_reading(), 0.1)]
    errors, opened = _router_errors([steady], 1.0, probe=1.0)  # overdue after 2 s
    assert len(errors) >= 4 and set(errors) == {None} and opened == 1
