"""New SSH sessions the engine starts on each node in steady state, per minute, and the engine's
CPU, with the streamed probe (one long-lived channel per node) against the old exec a second.

    sudo .venv/bin/python bench/ssh_sessions.py [--seconds 60]

Brings up its own lab (prefix hatui-bss-; removed afterwards), re-runs itself inside the lab's
operator namespace, and for each mode (the console: dumps on; the wallboard: read-only) starts
the engine's Monitor, lets it settle 10 s, then counts for --seconds the channels each node's
SSH session opened (each is a new session for the node's sshd: a fork, a login environment) and
the process's CPU time. "old probe" runs the per-second `exec` the stream replaced, for the
ratio in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HATUI_LAB_PREFIX", "hatui-bss-")
os.environ.setdefault("HATUI_LAB_DIR", "/var/lib/hatui-lab-bss")

from hatui.cluster import load_cluster  # noqa: E402
from hatui.collect.monitor import Monitor, NodeCollector  # noqa: E402
from hatui.lab import Lab, default_spec  # noqa: E402
from hatui.readonly import ReadOnlyPolicy  # noqa: E402


async def measure(cluster, mode: str, seconds: float) -> tuple[dict[str, float], float]:
    old_probe = mode.endswith("old probe")
    real = NodeCollector.probe_stream_forever
    if old_probe:

        async def every_second(self: NodeCollector) -> None:
            await self._every(self.iv.probe, self.probe_once)

        NodeCollector.probe_stream_forever = every_second  # type: ignore[method-assign]  # the old loop, for the ratio
    try:
        m = Monitor(cluster, read_only=ReadOnlyPolicy(cluster) if mode.startswith("wallboard") else None)
        async with m:
            await asyncio.sleep(10)
            before = {n: c.session.channels_opened for n, c in m.collectors.items()}
            cpu0, t0 = time.process_time(), time.monotonic()
            await asyncio.sleep(seconds)
            wall = time.monotonic() - t0
            cpu = (time.process_time() - cpu0) / wall
            per_min = {n: (c.session.channels_opened - before[n]) * 60 / wall for n, c in m.collectors.items()}
        return per_min, cpu
    finally:
        NodeCollector.probe_stream_forever = real  # type: ignore[method-assign]


async def bench(lab: Lab, seconds: float) -> None:
    cluster = load_cluster(lab.spec.cluster_file)
    print(f"{lab.spec.topology} lab ({len(cluster.nodes)} nodes), {seconds:g} s per mode after 10 s of settling")
    for mode in ("console", "console, old probe", "wallboard", "wallboard, old probe"):
        per_min, cpu = await measure(cluster, mode, seconds)
        nodes = ", ".join(f"{n} {v:.1f}" for n, v in per_min.items())
        print(f"  {mode:22} new SSH sessions per node per minute: {nodes}; engine CPU {cpu * 100:.1f}% of a core")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    lab = Lab(default_spec(), say=lambda m: None)
    if not os.environ.get("HATUI_IN_NETNS"):
        lab.up()
        os.environ["HATUI_IN_NETNS"] = lab.spec.operator_ns
        os.execvp("ip", ["ip", "netns", "exec", lab.spec.operator_ns, sys.executable, *sys.argv])
    try:
        asyncio.run(bench(lab, args.seconds))
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
