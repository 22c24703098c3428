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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.segment import Segment
from textual.cache import FIFOCache, LRUCache
from textual.strip import Strip

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
    ap.add_argument("--holders", action="store_true", help="print which widgets' caches hold the rendered lines")
    ap.add_argument(
        "--flood",
        type=float,
        default=0.0,
        help="append this many keepalived log lines a second to each node's log (fills the bounded stores in minutes)",
    )
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
    if args.flood:
        threading.Thread(target=flood, args=(args.cluster, cluster, args.flood), daemon=True).start()
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
        if args.holders:
            held = loop.run(_on_loop(strips_by_holder, app), 30)
            print("        lines (Strip) held: " + ", ".join(f"{k} {n}" for k, n in held), flush=True)
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


def flood(cluster_file: Path, cluster: Any, per_second: float) -> None:
    """A busy incident's log traffic, steady: gratuitous ARP lines (keepalived's own words, as
    its log file has them) appended to every node's log through the lab's node holders. The
    console keeps every line as an event (at most 10 000) and in its log pane (at most 5 000):
    at 20 lines a second on 3 nodes both are full within 3 minutes, and what grows after that
    is not their contents."""
    import json

    holders = json.loads((cluster_file.parent / "state.json").read_text())["holders"]
    vip = cluster.vips[0].address
    logs = {
        Path(f"/proc/{holders[n]['pid']}/root{node.keepalived.log.file}")
        for n, node in cluster.nodes.items()
        if n in holders and node.keepalived.log.file is not None
    }
    batch = max(1, round(per_second / 10))
    while True:
        line = f"{time.strftime('%a %b %e %H:%M:%S %Y')}: Sending gratuitous ARP on eth0 for {vip}\n" * batch
        for f in logs:
            with f.open("a") as out:
                out.write(line)
        time.sleep(batch / per_second)


async def _on_loop(fn: Any, *args: Any) -> Any:
    return fn(*args)


# Only these are walked from a widget's attribute: what a render cache is made of. A widget or
# the app reached this way is not entered, or every line would be "held" by the first one.
_WALKED = (list, tuple, dict, set, LRUCache, FIFOCache, Strip, Segment)


def strips_by_holder(app: Any) -> list[tuple[str, int]]:
    """Rendered lines (Strip objects, and the crops each keeps) per widget attribute, most first."""
    strips = {id(o) for o in gc.get_objects() if type(o) is Strip}
    seen: set[int] = set()
    counts: Counter[str] = Counter()
    widgets = [w for screen in app.screen_stack for w in screen.walk_children(with_self=True)]
    for widget in widgets:
        for attr, value in vars(widget).items():
            stack = [value]
            while stack:
                obj = stack.pop()
                if id(obj) in seen or not isinstance(obj, _WALKED):
                    continue
                seen.add(id(obj))
                if id(obj) in strips:
                    counts[f"{type(widget).__name__}.{attr}"] += 1
                stack.extend(gc.get_referents(obj))
    counts["elsewhere"] = len(strips) - sum(counts.values())
    return counts.most_common(8)


async def _set(ev: asyncio.Event) -> None:
    ev.set()


if __name__ == "__main__":
    raise SystemExit(main())
