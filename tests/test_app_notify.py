"""Notifications in the console: a toast per incident and per role change no incident covers, the
bell when asked,
the cluster's hooks run (real commands), a failing hook said once; on the wallboard too."""

from __future__ import annotations

import asyncio
import json
import shlex

from hatui.cluster import load_cluster_text
from hatui.keepalived.dump import VrrpInstance, VrrpSnapshot
from hatui.mysql.status import MysqlStatus
from hatui.state import Kind
from hatui.views.feed import RecordedFeed
from screens.app import HatuiApp
from tests.recorded import lab_state, until

LAB_YAML = """\
name: lab
topology: dual-master
defaults:
  mysql:
    monitor: {user: hatui_monitor, password_env: HATUI_TEST_MONITOR_PW}
nodes:
  db1: {host: 198.18.0.11, roles: [mysql, keepalived]}
  db2: {host: 198.18.0.12, roles: [mysql, keepalived]}
  db3: {host: 198.18.0.13, roles: [mysql]}
vips:
  - {address: 198.18.0.100, instance: VI_1, role: writer, nodes: [db1, db2]}
"""


def notify_cluster(out, *, bell: bool, command: str | None = None):
    command = (
        command
        or f'echo "$HATUI_EVENT|$HATUI_NODE|$HATUI_OLD_STATE|$HATUI_NEW_STATE|$HATUI_ALERT_CODE" >> {shlex.quote(str(out))}'
    )
    return load_cluster_text(
        LAB_YAML
        + f"""\
notify:
  bell: {"true" if bell else "false"}
  hooks:
    - command: {json.dumps(command)}
""",
        "lab.yml",
    )


def vrrp(state: str, prio: int) -> VrrpSnapshot:
    return VrrpSnapshot(
        (
            VrrpInstance(
                name="VI_1", state=state, vrid=51, interface="eth0", base_priority=prio, effective_priority=prio
            ),
        ),
        "json",
        None,
    )


def toasts(app) -> list[str]:
    return [t.render().plain for t in app.screen.query("Toast")]


def failover(store) -> None:
    """db1 hands the VIP to db2 and db3's mysqld stops answering."""
    store.put("db1", Kind.VRRP, vrrp("BACKUP", 100))
    store.put("db2", Kind.VRRP, vrrp("MASTER", 90))
    store.put("db3", Kind.MYSQL, MysqlStatus(up=False, error="Can't connect to MySQL server"))


async def test_role_change_and_alert_show_a_toast_ring_the_bell_and_run_the_hook(tmp_path):
    out = tmp_path / "hook.out"
    cluster = notify_cluster(out, bell=True)
    store = lab_state(cluster)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause(0.6)
        assert toasts(app) == [] and rings == [] and not out.exists()  # the start is the baseline
        failover(store)
        await until(pilot, lambda: len(toasts(app)) >= 3)
        await pilot.pause(0.5)
        shown = toasts(app)
        assert len(shown) == 3, shown  # two role changes and one incident, never a toast per alert
        assert any("VRRP db1 VI_1: MASTER → BACKUP" in t and "went from MASTER to BACKUP" in t for t in shown)
        assert any("VRRP db2 VI_1: BACKUP → MASTER" in t for t in shown)
        [down] = [t for t in shown if "dead_node" in t]
        assert "CRITICAL dead_node" in down and "db3 is down: mysqld does not answer" in down
        assert f"next: hatui rejoin --cluster {cluster.source} db3" in down
        severities = {t._notification.severity for t in app.screen.query("Toast")}
        assert severities == {"information", "error"}
        assert rings  # rung once for the tick that brought them
        await until(pilot, lambda: out.exists() and len(out.read_text().splitlines()) >= 4)
        lines = out.read_text().splitlines()
        assert "role|db1|MASTER|BACKUP|" in lines and "role|db2|BACKUP|MASTER|" in lines
        assert "alert_raised|db3|ok|critical|mysql.down" in lines  # hooks still get every alert
        assert "incident_raised|db3|ok|dead_node|dead_node" in lines
        # back to health: the incident is resolved, its toast replaced by one that says so
        store.put("db3", Kind.MYSQL, MysqlStatus(up=True, server_id=3, read_only=True))
        await until(pilot, lambda: "alert_cleared|db3|critical|ok|mysql.down" in out.read_text())
        await until(pilot, lambda: any("resolved dead_node" in t for t in toasts(app)))
        assert not any("CRITICAL dead_node" in t for t in toasts(app))


async def test_no_bell_unless_asked(tmp_path):
    cluster = notify_cluster(tmp_path / "out", bell=False)
    store = lab_state(cluster)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause(0.6)
        failover(store)
        await until(pilot, lambda: len(toasts(app)) >= 3)
        assert rings == []


async def test_a_failing_hook_is_said_once_not_on_every_event(tmp_path):
    cluster = notify_cluster(tmp_path / "out", bell=False, command="echo 'smtp refused' >&2; exit 2")
    store = lab_state(cluster)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause(0.6)
        failover(store)  # three events: three failing runs
        view = app.current_view()
        await until(pilot, lambda: len(view.notifications.runner.results) >= 3)
        await pilot.pause(0.3)
        failed = [t for t in toasts(app) if "hook failed" in t]
        assert len(failed) == 1
        assert "exit 2: smtp refused" in failed[0]


async def test_hooks_run_on_the_wallboard_too(tmp_path):
    out = tmp_path / "hook.out"
    cluster = notify_cluster(out, bell=False)
    store = lab_state(cluster)
    app = HatuiApp([cluster], watch=True, feed_factory=lambda c: RecordedFeed(store))
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause(0.8)
        failover(store)
        await until(pilot, lambda: out.exists() and "role|db1|MASTER|BACKUP|" in out.read_text())
        assert any("MASTER → BACKUP" in t for t in toasts(app))


async def test_closing_the_console_stops_the_hook_workers(tmp_path):
    cluster = notify_cluster(tmp_path / "out", bell=False)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(lab_state(c)))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause(0.3)
        runner = app.current_view().notifications.runner
        tasks = list(runner._tasks)
        assert tasks and not any(t.done() for t in tasks)
    await asyncio.sleep(0)
    assert all(t.done() for t in tasks)


async def test_a_cluster_in_a_hidden_tab_still_alerts_and_is_current_the_moment_it_is_shown(tmp_path):
    """With many clusters open only the tab on screen is drawn; the others tick their rules (so
    their incidents still toast and run hooks) and are drawn the moment they are shown."""
    from textual.widgets import DataTable, TabbedContent

    from screens.dashboard import ClusterView

    out = tmp_path / "hook.out"
    hidden = notify_cluster(out, bell=False)
    shown = load_cluster_text(LAB_YAML.replace("name: lab", "name: other"), "other.yml")
    stores = {"lab": lab_state(hidden), "other": lab_state(shown)}
    app = HatuiApp([shown, hidden], feed_factory=lambda c: RecordedFeed(stores[c.name]))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause(0.6)
        back = app.query(ClusterView)[1]
        assert not back.query("#nodes")  # not built: it was never shown
        failover(stores["lab"])
        # the hidden cluster's incident reaches the DBA: a toast and the hook
        await until(pilot, lambda: any("CRITICAL dead_node" in t for t in toasts(app)))
        await until(pilot, lambda: out.exists() and "incident_raised|db3|ok|dead_node|dead_node" in out.read_text())
        # ...and its panes, built when its tab is chosen, show the failover at once, not at a
        # later tick (stopped here, so only being shown can draw it)
        for timer in list(back._timers):
            timer.stop()
        app.query_one(TabbedContent).active = "cluster-1"

        def db3_down() -> bool:
            tables = back.query("#nodes")
            if not tables or "db3" not in {k.value for k in tables.first(DataTable).rows}:
                return False  # built, not drawn yet (a busy machine)
            return "down" in " ".join(str(c) for c in tables.first(DataTable).get_row("db3")).lower()

        await until(pilot, db3_down)
