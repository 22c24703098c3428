"""What `hatui exporter` costs: CPU and RSS of its process, per node, and scrape latency.

    sudo .venv/bin/python bench/exporter.py [--seconds 60] [--topology dual-master]

Brings up its own lab (prefix hatui-bex-, left down afterwards), starts the real CLI
(`hatui exporter --cluster LAB`), lets it settle 10 s, then for --seconds measures from /proc the
process's CPU time (user + system, its children included: it re-runs itself in the lab's
namespace) and RSS, while a scraper fetches /metrics once a second (Prometheus' default is 15 s:
this is ten times its load). Prints CPU % of a core and RSS, each per node, and the scrape's
median and worst latency. The 200-node figures of the scale issue need its multi-cluster lab.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyroute2 import netns

from hatui.lab import Lab
from hatui.lab.spec import default_spec

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy


def tree(pid: int) -> list[int]:
    """The process and its descendants (the CLI re-executes itself inside the namespace)."""
    out = [pid]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out += tree(int(p))
    return out


def cpu_rss(pids: list[int]) -> tuple[float, int]:
    tick = os.sysconf("SC_CLK_TCK")
    cpu, rss = 0.0, 0
    for p in pids:
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(f[11]) + int(f[12])) / tick
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            pass
    return cpu, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--topology", default="dual-master")
    args = ap.parse_args()
    spec = default_spec(
        prefix=os.environ.get("HATUI_BENCH_PREFIX", "hatui-bex-"),
        state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-bex"),
        topology=args.topology,
    )
    lab = Lab(spec)
    lab.up()
    port = random.randint(20000, 29000)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hatui",
            "exporter",
            "--cluster",
            str(spec.cluster_file),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(10)
        pids = tree(proc.pid)
        c0, _ = cpu_rss(pids)
        t0 = time.monotonic()
        lat: list[float] = []
        rss_max = 0
        netns.pushns(spec.operator_ns)
        try:
            while time.monotonic() - t0 < args.seconds:
                s = time.perf_counter()
                with _OPENER.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    r.read()
                lat.append(time.perf_counter() - s)
                rss_max = max(rss_max, cpu_rss(pids)[1])
                time.sleep(max(0.0, 1.0 - (time.perf_counter() - s)))
        finally:
            netns.popns()
        c1, rss = cpu_rss(pids)
        wall = time.monotonic() - t0
        n = len(spec.nodes)
        cpu_pct = 100 * (c1 - c0) / wall
        print(f"hatui exporter on {spec.topology} ({n} nodes), {wall:.0f} s, /metrics scraped every second:")
        print(f"  CPU {cpu_pct:.2f}% of a core ({cpu_pct / n:.2f}% per node)")
        print(f"  RSS {rss / 2**20:.1f} MB (max {rss_max / 2**20:.1f} MB; {rss / 2**20 / n:.1f} MB per node)")
        print(
            f"  scrape latency median {statistics.median(lat) * 1000:.1f} ms, worst {max(lat) * 1000:.1f} ms "
            f"({len(lat)} scrapes)"
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
