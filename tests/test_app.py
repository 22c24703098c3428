"""The console starts on a cluster file and shows its nodes and VIPs."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from hatui.cluster import load_cluster, load_cluster_text
from hatui.lab import configs
from hatui.lab.spec import default_spec
from screens.app import HatuiApp

SAMPLES = sorted((Path(__file__).parent.parent / "sample_clusters").glob("*.yml"))


def lab_cluster():
    return load_cluster_text(configs.cluster_yaml(default_spec(state_dir="/var/lib/hatui-lab")), "lab.yml")


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_console_lists_every_node_with_roles_and_vip():
    app = HatuiApp([lab_cluster()])
    async with app.run_test(size=(120, 32)) as pilot:
        await pilot.pause()
        rows = cells(app.query_one("#nodes", DataTable))
        assert [r[0] for r in rows] == ["db1", "db2", "db3"]
        assert rows[0][1:3] == ["198.18.0.11", "mysql, keepalived"]
        assert rows[2][2] == "mysql" and rows[2][5] == "-"  # db3 may not hold the writer VIP
        assert cells(app.query_one("#vips", DataTable)) == [
            ["198.18.0.100", "writer", "3306", "VI_1", "db1, db2"]]
        assert "lab" in app.title
        assert not app.query("#ro-badge")


async def test_watch_mode_shows_a_permanent_read_only_badge():
    app = HatuiApp([lab_cluster()], watch=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        badge = app.query_one("#ro-badge")
        assert "RO" in str(badge.render())
        assert app.sub_title == "read-only wallboard"


async def test_q_quits():
    app = HatuiApp([lab_cluster()])
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
async def test_every_sample_cluster_opens(path):
    cluster = load_cluster(path)
    app = HatuiApp([cluster])
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert [r[0] for r in cells(app.query_one("#nodes", DataTable))] == list(cluster.nodes)


async def test_several_clusters_get_a_tab_each():
    clusters = [load_cluster(p) for p in SAMPLES[:2]]
    app = HatuiApp(clusters, watch=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        assert len(app.query("ClusterView")) == 2


def test_console_snapshot(snap_compare):
    assert snap_compare(HatuiApp([lab_cluster()]), terminal_size=(110, 30))
