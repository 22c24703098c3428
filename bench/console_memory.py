"""The console's own memory on a real cluster, in a process of its own: does it level out?

    sudo .venv/bin/python bench/console_memory.py --cluster /var/lib/hatui-lab/lab.yml --minutes 30 [--watch]

Opens the console (or the wallboard with --watch) headless, as bench/chaos.py does, on the
cluster file (in its `namespace:` when it names one), and samples the process every --every
seconds: RSS, Python objects the collector tracks, the log events the console's store holds
(at most 10 000 by design) and the lines its log pane keeps (at most 5 000). Run it next to a
chaos soak on the soak's lab (`/var/lib/hatui-lab-chaos/lab.yml`) to see the console's memory
apart from the soak's own (the soak process also holds a wallboard, a writing client and its
driver). Prints every sample and the growth over each half of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.cluster import load_cluster
from hatui.lab.operator import OperatorLoop
from screens.app import HatuiApp
from screens.dashboard import ClusterView


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cluster", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=60.0, help="seconds between samples (default 60)")
    ap.add_argument("--watch", action="store_true", help="the read-only wallboard instead of the console")
    ap.add_argument("--types", type=int, default=0, help="print the N object types grown most")
    args = ap.parse_args()
    cluster = load_cluster(args.cluster)
    ns = cluster.namespace
    if ns is None:
        raise SystemExit("the cluster file names no namespace: this bench runs on a lab's cluster file")
    loop = OperatorLoop(ns)
    holder: dict[str, object] = {}
    ready = threading.Event()
    done: asyncio.Event | None = None

    async def run_app() -> None:
        nonlocal done
        done = asyncio.Event()
        app = HatuiApp([cluster], watch=args.watch)
        async with app.run_test(size=(200, 60), notifications=True) as pilot:
            holder["app"] = app
            ready.set()
            await done.wait()
            await pilot.press("q")

    fut = loop.start(run_app())
    if not ready.wait(30):
        raise SystemExit(f"the app did not start: {fut.exception() if fut.done() else 'timeout'}")
    app = holder["app"]

    def sample() -> tuple[int, int]:
        async def on_loop() -> int:
            if args.watch:
                return 0
            return app.query_one(ClusterView).state.feed.store.events_held  # type: ignore[attr-defined]

        events = loop.run(on_loop(), 10)
        return events, len(gc.get_objects())

    what = "wallboard" if args.watch else "console"
    print(f"{what} on {args.cluster} ({ns}): a sample every {args.every:g} s for {args.minutes:g} min", flush=True)
    print("  min   RSS MB   objects   log events held", flush=True)
    rows: list[tuple[float, int]] = []
    first_types: Counter[str] | None = None
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    while True:
        if fut.done():
            print(f"the {what} exited: {fut.exception()!r}", flush=True)
            return 1
        events, objs = sample()
        minute = (time.monotonic() - t0) / 60
        rss = rss_kb() // 1024
        rows.append((minute, rss))
        print(f"  {minute:4.0f}  {rss:7d}  {objs:8d}  {events:8d}", flush=True)
        if args.types:
            types = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
            first_types = first_types or types
            grew = sorted(((types[k] - first_types.get(k, 0), k) for k in types), reverse=True)[: args.types]
            print("        " + ", ".join(f"{k} {d:+d}" for d, k in grew if d > 0), flush=True)
        if time.monotonic() >= end:
            break
        time.sleep(max(0.0, min(args.every, end - time.monotonic())))
    half = len(rows) // 2
    if half:
        first, mid, last = rows[0][1], rows[half][1], rows[-1][1]
        print(f"RSS {first} -> {mid} -> {last} MB: first half {mid - first:+d} MB, second half {last - mid:+d} MB")
    assert done is not None
    loop.run(_set(done), 10)
    return 0


async def _set(ev: asyncio.Event) -> None:
    ev.set()


if __name__ == "__main__":
    raise SystemExit(main())
