"""Console under load: 60 nodes at a steady tick plus 5,000 keepalived log lines a second.

    .venv/bin/python bench/console_load.py [--nodes 60] [--seconds 10] [--rate 5000]

Replays a synthetic fleet built from the engine's real observation types (MariaDB status with a
replication channel per replica, VRRP snapshots, addresses) into a store, headless: every node's
observations are refreshed each second, lag wanders, and log lines (real keepalived 2.x lines,
parsed by the real parser) arrive in 4 Hz batches. Meanwhile keys are pressed. Prints the median,
p99 and worst of the dashboard's refresh (one tick: snapshot, rules, tables, logs, plot) and of
key-to-handled latency, and the process's RSS after the first second and at the end with the
entries the tables' render caches hold (--stock-table-caches: Textual's own cache sizes, to
compare with screens/widgets/table.py's).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.widgets import DataTable

from hatui.cluster import load_cluster_text
from hatui.keepalived import parse_line
from hatui.keepalived.dump import VrrpInstance, VrrpSnapshot
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from hatui.views.feed import RecordedFeed
from screens.app import HatuiApp
from screens.dashboard import ClusterView

LINES = [
    "(VI_1) Entering BACKUP STATE",
    "VRRP_Script(chk_mysql) succeeded",
    "(VI_1) Entering MASTER STATE",
    "(VI_1) setting VIPs.",
    "Sending gratuitous ARP on eth0 for 10.0.0.100",
    "(VI_1) Receive advertisement timeout",
    "(VI_1) Changing effective priority from 100 to 70",
]


def fleet_yaml(n: int) -> str:
    nodes = "\n".join(
        f"  db{i}: {{host: 10.9.{i // 250}.{i % 250 + 1}, roles: [mysql{', keepalived' if i < 2 else ''}]}}"
        for i in range(n)
    )
    return f"""name: fleet
topology: primary-replicas
defaults:
  mysql: {{monitor: {{user: m, password_env: X}}}}
  keepalived: {{log: {{file: /var/log/keepalived.log}}}}
nodes:
{nodes}
vips:
  - {{address: 10.9.9.100, instance: VI_1, role: writer, nodes: [db0, db1]}}
"""


def fill(store: Store, n: int, rng: random.Random) -> None:
    mdb = detect_version("10.11.19-MariaDB-0+deb12u1-log")
    for i in range(n):
        name = f"db{i}"
        store.put(name, Kind.SSH, SshObs("up"))
        addrs = {f"10.9.{i // 250}.{i % 250 + 1}"} | ({"10.9.9.100"} if i == 0 else set())
        store.put(name, Kind.ADDRESSES, AddressObs(frozenset(addrs)))
        chans = (
            ()
            if i == 0
            else (
                ReplicationChannel(
                    source_host="10.9.0.1",
                    source_port=3306,
                    io_state="Yes",
                    io_running=True,
                    sql_running=True,
                    lag_seconds=max(0.0, rng.gauss(2, 3)),
                ),
            )
        )
        store.put(
            name,
            Kind.MYSQL,
            MysqlStatus(
                up=True,
                version=mdb,
                server_id=i + 1,
                read_only=i != 0,
                gtid_current_pos=f"0-1-{1000 + i}",
                gtid_binlog_state="0-1-1000",
                channels=chans,
            ),
        )
        if i < 2:
            store.put(name, Kind.KEEPALIVED, KeepalivedProcObs(True, 100 + i))
            store.put(
                name,
                Kind.VRRP,
                VrrpSnapshot(
                    (
                        VrrpInstance(
                            name="VI_1",
                            state="MASTER" if i == 0 else "BACKUP",
                            vrid=51,
                            base_priority=100 - i,
                            effective_priority=100 - i,
                        ),
                    ),
                    "json",
                    None,
                ),
            )


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cached_entries(app: HatuiApp) -> int:
    return sum(
        len(c)
        for t in app.query(DataTable)
        for c in (t._cell_render_cache, t._row_render_cache, t._row_renderable_cache, t._line_cache)
    )


async def run(nodes: int, seconds: float, rate: int, stock_caches: bool = False) -> None:
    cluster = load_cluster_text(fleet_yaml(nodes), "fleet.yml")
    store = Store(cluster)
    rng = random.Random(7)
    fill(store, nodes, rng)
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store))
    frames: list[float] = []
    keys: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        if stock_caches:
            for t in app.query(DataTable):
                t._cell_render_cache.maxsize = 10_000
                for c in (t._row_render_cache, t._row_renderable_cache, t._line_cache):
                    c.maxsize = 1_000
        view = app.query_one(ClusterView)
        original = view.refresh_state

        def timed() -> None:
            t0 = time.perf_counter()
            original()
            frames.append(time.perf_counter() - t0)

        view.refresh_state = timed  # the interval calls the attribute at each tick
        for timer in list(view._timers):
            timer.stop()
        view.set_interval(0.25, timed)

        table = app.query_one("#nodes")
        table.focus()
        t_end = time.monotonic() + seconds
        tick = 0
        rss_start = 0.0
        rss_trend: list[int] = []  # a minute apart
        while time.monotonic() < t_end:
            if tick == 4:
                rss_start = rss_mb()
            if tick % 240 == 0:
                rss_trend.append(round(rss_mb()))
            batch = rate // 4
            for k in range(batch):
                node = f"db{rng.randrange(2)}"
                store.add_event(node, parse_line(f"Sat Nov 21 15:05:{k % 60:02d} 2026: {rng.choice(LINES)}", node=node))
            if tick % 4 == 0:
                fill(store, nodes, rng)  # every node observed once a second
            t0 = time.perf_counter()
            before = table.cursor_row
            await pilot.press("down" if tick % 8 < 4 else "up")
            moved_by = time.monotonic() + 5
            while table.cursor_row == before and time.monotonic() < moved_by:
                await asyncio.sleep(0.001)
            if table.cursor_row == before:  # the key went elsewhere (a screen on top): say so, go on
                print(f"  a key press did not move the cursor within 5 s (focus: {app.focused})")
                table.focus()
            keys.append(time.perf_counter() - t0)
            tick += 1
            await asyncio.sleep(0.25)
        entries = cached_entries(app)
    print(f"console under load: {nodes} nodes, {rate} log lines/s, {seconds:g} s, 160x50 headless")
    print(
        f"  dashboard tick (snapshot + rules + tables + logs + plot): n={len(frames)}  median "
        f"{statistics.median(frames) * 1000:.1f} ms  p99 {pct(frames, 0.99) * 1000:.1f} ms  "
        f"worst {max(frames) * 1000:.1f} ms  (budget 250 ms at 4 Hz)"
    )
    print(
        f"  key -> cursor moved (Pilot round trip):                n={len(keys)}  median "
        f"{statistics.median(keys) * 1000:.1f} ms  p99 {pct(keys, 0.99) * 1000:.1f} ms  "
        f"worst {max(keys) * 1000:.1f} ms"
    )
    print(
        f"  RSS after 1 s {rss_start:.0f} MB, at the end {rss_mb():.0f} MB; the tables' render caches "
        f"hold {entries} entries ({'Textual' if stock_caches else 'hatui'}'s sizes); "
        f"RSS a minute apart: {rss_trend} MB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--stock-table-caches", action="store_true")
    args = ap.parse_args()
    asyncio.run(run(args.nodes, args.seconds, args.rate, args.stock_table_caches))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
