"""Notifications on the real lab: the console runs the cluster file's hook for a real VRRP role
change (keepalived stopped on the VIP holder) and for the alerts it raises and clears, with the
event in environment variables, and shows toasts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hatui.cluster import load_cluster
from screens.app import HatuiApp

from .support import vip_holders, vip_to, wait_until


def events(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    out = []
    for block in log.read_text().split("---\n"):
        env = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if env:
            out.append(env)
    return out


def test_role_change_and_alerts_run_the_hook(lab, op, tmp_path):
    vip_to(lab, "db1")
    log = tmp_path / "events.log"
    cluster_file = tmp_path / "lab-notify.yml"
    cluster_file.write_text(
        Path(lab.spec.cluster_file).read_text()
        + f"""
notify:
  rate_limit: {{max_events: 50, per_seconds: 60}}
  hooks:
    - command: ["sh", "-c", "env | grep ^HATUI_ | sort >> {log}; echo --- >> {log}"]
"""
    )
    cluster = load_cluster(cluster_file)
    toasts: list[str] = []

    async def scenario():
        app = HatuiApp([cluster])
        async with app.run_test(size=(170, 60)) as pilot:

            async def until(what, pred, timeout=30.0):
                for _ in range(int(timeout / 0.2)):
                    await pilot.pause(0.2)
                    if pred():
                        return
                raise AssertionError(f"no {what} within {timeout} s; hook saw {events(log)}")

            # the start-up baseline: nothing is announced for it, however long it takes to form
            from screens.dashboard import ClusterView

            notifier = app.query_one(ClusterView).notifications.notifier
            await until("the start-up baseline", lambda: notifier.ready)
            await pilot.pause(1.0)  # a tick or two after it: still nothing
            assert events(log) == []
            await asyncio.to_thread(lab.fault, "stop-keepalived", "db1")
            await asyncio.to_thread(wait_until, "VIP on db2", lambda: vip_holders(lab) == ["db2"], 15)

            def role(node, new):
                return [
                    e
                    for e in events(log)
                    if e.get("HATUI_EVENT") == "role"
                    and e.get("HATUI_NODE") == node
                    and e.get("HATUI_NEW_STATE") == new
                ]

            await until("db2 MASTER role event", lambda: role("db2", "MASTER"))
            await until("db1 STOP role event", lambda: role("db1", "STOP"))
            (e,) = role("db2", "MASTER")
            assert e["HATUI_OLD_STATE"] == "BACKUP" and e["HATUI_CLUSTER"] == cluster.name
            assert e["HATUI_INSTANCE"] and e["HATUI_TIME"]
            await until(
                "an alert raised for db1's keepalived",
                lambda: [
                    e for e in events(log) if e.get("HATUI_EVENT") == "alert_raised" and e.get("HATUI_NODE") == "db1"
                ],
            )
            await asyncio.to_thread(lab.fault, "start-keepalived", "db1")
            await until(
                "the alert cleared",
                lambda: [
                    e for e in events(log) if e.get("HATUI_EVENT") == "alert_cleared" and e.get("HATUI_NODE") == "db1"
                ],
            )
            # the role change is no incident's: it has a toast of its own
            toasts.extend(app.query_one(ClusterView).notifications.history)
            assert any("db2" in t and "MASTER" in t for t in toasts), "\n".join(toasts)

    op.run(scenario(), timeout=180)
