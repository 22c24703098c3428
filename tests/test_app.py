"""The console starts on a cluster file and shows its nodes and VIPs."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from hatui.cluster import load_cluster, load_cluster_text
from hatui.keepalived import parse_line
from hatui.keepalived.dump import VrrpInstance, VrrpSnapshot
from hatui.lab import configs
from hatui.lab.spec import default_spec
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from hatui.views.feed import RecordedFeed
from screens.app import HatuiApp

SAMPLES = sorted((Path(__file__).parent.parent / "sample_clusters").glob("*.yml"))


def lab_cluster():
    return load_cluster_text(configs.cluster_yaml(default_spec(state_dir="/var/lib/hatui-lab")), "lab.yml")


FIXED_NOW = 1_790_000_000.0  # recorded states carry fixed times, so snapshots are deterministic


def lab_state(cluster, *, split_brain=False, unreachable=None, replica_error=""):
    """A recorded lab state: db1 writer with the VIP, db2 standby, db3 replica of db1."""
    vip = "198.18.0.100"
    store = Store(cluster, clock=lambda: FIXED_NOW)
    mdb = detect_version("10.11.19-MariaDB-0+deb12u1-log")

    def ch(src):
        return ReplicationChannel(
            source_host=src,
            source_port=3306,
            io_state="Yes",
            io_running=True,
            sql_running=not replica_error,
            lag_seconds=0.0,
            last_sql_error=replica_error,
            last_error=replica_error,
        )

    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up"))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.11", vip})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.12"} | ({vip} if split_brain else set()))))
    store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.13"})))
    for n, prio, state in (("db1", 100, "MASTER"), ("db2", 90, "MASTER" if split_brain else "BACKUP")):
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 100 + prio))
        store.put(
            n,
            Kind.VRRP,
            VrrpSnapshot(
                (
                    VrrpInstance(
                        name="VI_1",
                        state=state,
                        vrid=51,
                        interface="eth0",
                        base_priority=prio,
                        effective_priority=prio,
                        vips=(vip,) if state == "MASTER" else (),
                    ),
                ),
                "json",
                None,
            ),
        )
    for n, sid, ro, src in (
        ("db1", 1, False, "198.18.0.12"),
        ("db2", 2, not split_brain, "198.18.0.11"),
        ("db3", 3, True, "198.18.0.11"),
    ):
        store.put(
            n,
            Kind.MYSQL,
            MysqlStatus(
                up=True,
                version=mdb,
                server_id=sid,
                read_only=ro,
                gtid_current_pos="0-1-42",
                gtid_binlog_state="0-1-42",
                channels=(ch(src),),
            ),
        )
    if unreachable:  # its last readings are 45 s old: nothing has come since it went away
        for kind in (Kind.ADDRESSES, Kind.MYSQL):
            store.put(unreachable, kind, store.latest(unreachable, kind).value, at=FIXED_NOW - 45)
        store.put(unreachable, Kind.SSH, SshObs("down", "no answer within 5 s"))
    for node, line in LOG_LINES:
        store.add_event(node, parse_line(line, node=node, tz=dt.UTC))
    return store


LOG_LINES = [
    ("db1", "Sat Nov 21 15:05:49 2026: (VI_1) Entering BACKUP STATE"),
    ("db2", "Sat Nov 21 15:05:50 2026: (VI_1) Entering BACKUP STATE"),
    ("db1", "Sat Nov 21 15:05:52 2026: VRRP_Script(chk_mysql) succeeded"),
    ("db1", "Sat Nov 21 15:05:53 2026: (VI_1) Entering MASTER STATE"),
    ("db1", "Sat Nov 21 15:05:53 2026: (VI_1) setting VIPs."),
]


def recorded(**kw):
    return lambda cluster: RecordedFeed(lab_state(cluster, **kw))


def empty_feed(cluster):
    return RecordedFeed(Store(cluster))


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_console_shows_roles_vip_holder_replication_and_vrrp():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        rows = {r[0]: r for r in cells(app.query_one("#nodes", DataTable))}
        assert list(rows) == ["db1", "db2", "db3"]
        assert rows["db1"][1:3] == ["writer", "198.18.0.100"]
        assert rows["db2"][1] == "standby master" and rows["db3"][1] == "replica"
        assert rows["db3"][6] == "<-db1 lag 0s" and rows["db1"][7] == "MASTER 100"
        vrrp = cells(app.query_one("#vrrp", DataTable))
        assert [(r[0], r[2], r[4]) for r in vrrp] == [("db1", "MASTER", "100"), ("db2", "BACKUP", "90")]
        assert app.query_one("#alerts", DataTable).row_count == 0
        logs = app.query_one("#logs").lines_text()
        assert len(logs) == 5 and "db1" in logs[3] and "MASTER" in logs[3]
        assert "OK" in str(app.query_one("#cluster-header").render())
        assert "lab" in app.title
        assert not app.query("#ro-badge")


async def test_split_brain_and_an_unreachable_node_show_as_critical_alerts():
    app = HatuiApp([lab_cluster()], feed_factory=recorded(split_brain=True, unreachable="db3"))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        alerts = {(r[1], r[2]) for r in cells(app.query_one("#alerts", DataTable))}
        assert {("ssh.unreachable", "db3"), ("vip.split_brain", "-")} <= alerts
        rows = {r[0]: r for r in cells(app.query_one("#nodes", DataTable))}
        assert rows["db3"][3:5] == ["down", "?"]  # its MySQL is unknown, not "up"
        assert "CRITICAL" in str(app.query_one("#cluster-header").render())


async def test_watch_mode_shows_a_permanent_read_only_badge():
    app = HatuiApp([lab_cluster()], watch=True, feed_factory=recorded())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        badge = app.query_one("#ro-badge")
        assert "RO" in str(badge.render())
        assert app.sub_title == "read-only wallboard"


async def test_q_quits():
    app = HatuiApp([lab_cluster()], feed_factory=empty_feed)
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
async def test_every_sample_cluster_opens(path):
    cluster = load_cluster(path)
    app = HatuiApp([cluster], feed_factory=empty_feed)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert [r[0] for r in cells(app.query_one("#nodes", DataTable))] == list(cluster.nodes)


async def test_several_clusters_get_a_tab_each():
    clusters = [load_cluster(p) for p in SAMPLES[:2]]
    app = HatuiApp(clusters, feed_factory=empty_feed)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert len(app.query("ClusterView")) == 2


async def test_wallboard_is_glanceable_has_nothing_to_focus_and_cycles_clusters():
    clusters = [lab_cluster(), load_cluster(SAMPLES[0])]
    feeds = {"lab": recorded(split_brain=True), clusters[1].name: empty_feed}
    app = HatuiApp(clusters, watch=True, feed_factory=lambda c: feeds[c.name](c))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        boards = list(app.query("ClusterBoard"))
        assert len(boards) == 2
        lab = boards[0].last
        assert lab.health == "critical" and lab.vips == ("198.18.0.100 → db1, db2",)
        assert any("split brain" in msg for _, msg, _ in lab.alerts)
        assert boards[1].last.health == "unknown" and boards[1].last.stale  # no data at all
        assert not [w for w in app.query("*") if w.focusable]
        wall = app.query_one("Wallboard")
        assert app.query_one("ContentSwitcher").current == "board-0"
        wall.next_board()
        await pilot.pause()
        assert app.query_one("ContentSwitcher").current == "board-1"
        assert app.query_one("#ro-badge")


def test_wallboard_snapshot(snap_compare, fixed_clock):
    assert snap_compare(
        HatuiApp([lab_cluster()], watch=True, feed_factory=recorded(split_brain=True)), terminal_size=(100, 30)
    )


@pytest.fixture
def fixed_clock(monkeypatch):
    """Snapshots show times and ages: pin the clock and the zone so they never drift."""
    monkeypatch.setattr("time.time", lambda: FIXED_NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_console_snapshot(snap_compare, fixed_clock):
    assert snap_compare(HatuiApp([lab_cluster()], feed_factory=recorded()), terminal_size=(150, 34))


def test_split_brain_snapshot(snap_compare, fixed_clock):
    assert snap_compare(
        HatuiApp([lab_cluster()], feed_factory=recorded(split_brain=True, unreachable="db3")), terminal_size=(150, 34)
    )


async def test_enter_on_a_node_opens_its_detail_and_esc_goes_back():
    app = HatuiApp([lab_cluster()], feed_factory=recorded())
    async with app.run_test(size=(150, 50)) as pilot:
        await pilot.pause()
        app.query_one("#nodes", DataTable).focus()
        await pilot.press("down", "enter")  # db2
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "NodeDetail" and screen.node == "db2"
        text = screen.sections_text()
        for needle in (
            "server_id: 2",
            "read_only: ON",
            "Replication",
            "source_host: 198.18.0.11",
            "VRRP instance VI_1",
            "state: BACKUP",
            "priority: 90 (base 90)",
        ):
            assert needle in text, needle
        assert [ln for ln in screen.query_one("#node-logs").lines_text()] and all(
            " db2 " in ln for ln in screen.query_one("#node-logs").lines_text()
        )
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ != "NodeDetail"


MARKUP_LOOKALIKE = (
    "Error 'Duplicate entry '[/]' for key 'PRIMARY'' on query. Default database: 'labdb'. "
    "Query: 'INSERT INTO t VALUES ('[bold red]x[/bold red]', '[/]', '[link=file:///etc]')'"
)


async def test_remote_text_is_shown_as_text_never_as_markup():
    """A replica error quoting application data ('[/]') used to exit the console with a
    MarkupError in node detail; it must show verbatim in every pane and toast."""
    app = HatuiApp([lab_cluster()], feed_factory=recorded(replica_error=MARKUP_LOOKALIKE))
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert any("Duplicate entry '[/]'" in " ".join(row) for row in cells(app.query_one("#repl", DataTable)))
        app.query_one("#nodes", DataTable).focus()
        await pilot.press("down", "down", "enter")  # db3
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "NodeDetail"
        assert "'[bold red]x[/bold red]', '[/]', '[link=file:///etc]'" in screen.sections_text()
        app.notify(MARKUP_LOOKALIKE, markup=False)
        await pilot.pause()
        assert app.is_running


def test_node_detail_snapshot(snap_compare, fixed_clock):
    async def open_db1(pilot):
        pilot.app.query_one("#nodes", DataTable).focus()
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(
        HatuiApp([lab_cluster()], feed_factory=recorded()), terminal_size=(130, 60), run_before=open_db1
    )
