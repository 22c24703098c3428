"""LogView under load: 5,000 keepalived events/s for 10 s, fed in 4 Hz batches, keys pressed meanwhile.

    .venv/bin/python bench/logview_load.py [--rate 5000] [--seconds 10] [--max-lines 5000]

Runs a tiny host app headless (App.run_test, 120x40) whose 250 ms timer hands the widget
everything that "arrived" since the last tick, as the console does with
`store.events_since(last_seq)`. Three nodes log at the same rate; their lines reach the store
with different delays (0, 50, 120 ms + jitter), so each batch is out of order across nodes.
A third of the lines are dump/garp noise. Meanwhile Pilot presses a key every ~100 ms
(scrolling, End/f, the dump/garp toggle, typing a filter and clearing it).

Prints, as figures only (no pass/fail):
  batch   time spent in LogView.add() per batch;
  frame   time spent rendering the log body per compositor update (LogBody.render_lines);
  key→handled  from Pilot posting the key to the end of the widget's action for it
               (the scroll position has changed by then);
  key→frame    from posting the key to the first body render after that action, for the
               keys that changed what is drawn;
  press round trip  what `await pilot.press(key)` took, all keys (typing too); most of it is
               Pilot waiting for every widget's queue to drain, so the same is shown for the
               idle app before the load starts;
  gc full pass the interpreter's generation-2 collections meanwhile (they land in the above);
  peak line count kept by the widget, and the events fed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Footer  # noqa: E402

from hatui.keepalived import EventKind, KeepalivedEvent  # noqa: E402
from hatui.state.store import StoredEvent  # noqa: E402
from screens.widgets import logview as lv  # noqa: E402

NODES = ("db1", "db2", "router")
DELAY = (0.0, 0.05, 0.12)
KEYS = [
    "up",
    "up",
    "up",
    "pageup",
    "down",
    "home",
    "pagedown",
    "end",
    "d",
    "d",
    "up",
    "f",
    "slash",
    *"node:db1",
    "enter",
    "pageup",
    "escape",
    "end",
    "slash",
    *"failed",
    "enter",
    "escape",
]


def make_events(rate: int, seconds: float, seed: int = 7) -> list[tuple[float, str, KeepalivedEvent]]:
    """(arrival offset, node, event) sorted by arrival."""
    rnd = random.Random(seed)
    t0 = datetime(2026, 11, 21, 15, 0, 0, tzinfo=UTC)
    out = []
    for i in range(int(rate * seconds)):
        at = i / rate
        n = i % len(NODES)
        node = NODES[n]
        t = t0 + timedelta(seconds=at)
        r = rnd.random()
        if r < 0.17:
            ev = KeepalivedEvent(t, node, EventKind.DUMP, detail="Printing VRRP data for process(4242) on signal")
        elif r < 0.33:
            ev = KeepalivedEvent(
                t, node, EventKind.GARP, "VI_1", detail="gratuitous ARPs on eth0 for 10.0.0.5", address="10.0.0.5"
            )
        elif r < 0.43:
            st = rnd.choice(("MASTER", "BACKUP", "FAULT"))
            ev = KeepalivedEvent(t, node, EventKind.STATE, "VI_1", st, detail=f"Entering {st} STATE")
        elif r < 0.53:
            res = rnd.choice(("succeeded", "failed"))
            ev = KeepalivedEvent(t, node, EventKind.SCRIPT, script="chk_mysql", result=res, detail=f"chk_mysql {res}")
        elif r < 0.63:
            ev = KeepalivedEvent(
                t, node, EventKind.PRIORITY, "VI_1", priority=50, old_priority=100, detail="effective priority 100 → 50"
            )
        else:
            ev = KeepalivedEvent(t, node, EventKind.RAW, detail=f"some other keepalived line number {i}")
        out.append((at + DELAY[n] + rnd.random() * 0.02, node, ev))
    out.sort(key=lambda x: x[0])
    return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def fmt(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<18} (no samples)"
    ms = [v * 1000 for v in values]
    return (
        f"{name:<18} n={len(ms):<5} median {statistics.median(ms):7.2f} ms   p99 {pct(ms, 99):7.2f} ms"
        f"   max {max(ms):7.2f} ms"
    )


class Host(App):
    def __init__(self, feed, max_lines: int):
        super().__init__()
        self.feed = feed
        self.max_lines = max_lines
        self.sent = 0
        self.start = 0.0
        self.batch_times: list[float] = []
        self.batch_sizes: list[int] = []
        self.peak_lines = 0
        self.running = False

    def compose(self) -> ComposeResult:
        yield lv.LogView(self.max_lines, id="logs")
        yield Footer()

    def begin(self) -> None:
        self.start = time.perf_counter()
        self.running = True
        self.set_interval(0.25, self.tick)

    def tick(self) -> None:
        if not self.running:
            return
        elapsed = time.perf_counter() - self.start
        feed, i = self.feed, self.sent
        batch = []
        while i < len(feed) and feed[i][0] <= elapsed:
            _, node, ev = feed[i]
            i += 1
            batch.append(StoredEvent(i, self.start + feed[i - 1][0], node, ev))
        self.sent = i
        view = self.query_one(lv.LogView)
        t = time.perf_counter()
        view.add(batch)
        self.batch_times.append(time.perf_counter() - t)
        self.batch_sizes.append(len(batch))
        self.peak_lines = max(self.peak_lines, view.line_count)


async def run(rate: int, seconds: float, max_lines: int) -> None:
    feed = make_events(rate, seconds)
    # The 50k pre-made events stand for lines that would arrive over time and mostly be gone
    # (the store keeps 10k): keep them out of the collector's full passes, and report those.
    gc.collect()
    gc.freeze()
    gc_pauses: list[float] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                gc_start[0] = time.perf_counter()
            else:
                gc_pauses.append(time.perf_counter() - gc_start[0])

    gc.callbacks.append(on_gc)
    frame_times: list[float] = []
    handled: list[float] = []
    to_frame: list[float] = []
    round_trips: list[float] = []
    probe = {"pressed": None, "handled": False}

    original_render = lv.LogBody.render_lines

    def timed_render(self, crop):
        t = time.perf_counter()
        strips = original_render(self, crop)
        end = time.perf_counter()
        frame_times.append(end - t)
        if probe["handled"] and probe["pressed"] is not None:
            to_frame.append(end - probe["pressed"])
            probe["pressed"] = None
            probe["handled"] = False
        return strips

    lv.LogBody.render_lines = timed_render

    def instrument(name: str) -> None:
        original = getattr(lv.LogView, name)

        def look(view):
            return view._body.scroll_offset, id(view._visible), view.following, frozenset(view.classes)

        def wrapper(self, *args):
            before = look(self)
            result = original(self, *args)
            if probe["pressed"] is not None and not probe["handled"]:
                handled.append(time.perf_counter() - probe["pressed"])
                # key→frame only when the key changed what is drawn (End while following does not)
                probe["handled"] = look(self) != before
                if not probe["handled"]:
                    probe["pressed"] = None
            return result

        setattr(lv.LogView, name, wrapper)

    for name in (
        "action_scroll_lines",
        "action_page",
        "action_home",
        "action_follow",
        "action_toggle_noise",
        "action_open_filter",
        "action_clear_filter",
    ):
        instrument(name)

    app = Host(feed, max_lines)
    idle_trips: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(10):  # Pilot's own waiting, before any load (down is a no-op here)
            t = time.perf_counter()
            await pilot.press("down")
            idle_trips.append(time.perf_counter() - t)
        app.begin()
        k = 0
        while time.perf_counter() - app.start < seconds:
            await asyncio.sleep(0.1)
            key = KEYS[k % len(KEYS)]
            k += 1
            probe["pressed"], probe["handled"] = time.perf_counter(), False
            t = time.perf_counter()
            await pilot.press(key)
            round_trips.append(time.perf_counter() - t)
            if not probe["handled"]:
                probe["pressed"] = None  # typed into the filter: no widget action to time
        await asyncio.sleep(0.3)  # the last tick
        app.running = False
        await pilot.pause()

    lv.LogBody.render_lines = original_render
    gc.callbacks.remove(on_gc)
    fed = app.sent
    print(
        f"fed {fed:,} events in {len(app.batch_sizes)} batches "
        f"(median {statistics.median(app.batch_sizes):,.0f}, max {max(app.batch_sizes):,} per batch), "
        f"target {rate:,}/s for {seconds:g} s, max_lines {max_lines:,}"
    )
    print(fmt("batch (add)", app.batch_times))
    print(fmt("frame (render)", frame_times))
    print(fmt("key→handled", handled))
    print(fmt("key→frame", to_frame))
    print(fmt("press round trip", round_trips))
    print(fmt("  same, idle app", idle_trips))
    print(fmt("gc full pass", gc_pauses))
    print(f"peak line count    {app.peak_lines:,}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-lines", type=int, default=5000)
    args = ap.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.max_lines))


if __name__ == "__main__":
    main()
