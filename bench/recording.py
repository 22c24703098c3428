"""Recording: what it costs and how fast a replay finds a moment.

    sudo .venv/bin/python bench/recording.py [--clusters 5] [--minutes 3] [--seeks 50]

Brings up its own fleet (prefix hatui-brec-: CLUSTERS dual-master clusters of 3 nodes, 15 nodes
by default) and runs the engine on every cluster, each with a Recorder, as the console records
(its flight recorder, or --record); a client writes without pause through cluster 1's VIP, so
its GTIDs move every second. It prints:

- bytes recorded per node per hour (the files' size after MINUTES, scaled), against the
  issue's 2 MB target, and against the same readings as plain JSON lines (what zstd and
  "same as before" save);
- the recorders' own CPU (thread CPU time inside every recorder call: encoding, batching,
  compressing, SQLite), as a share of one core, against the 2 %-at-15-nodes target;
- seek time in a 24 h recording: cluster 1's readings repeated, time-shifted, to fill 24 hours
  (as a 1 Hz console writes them), then SEEKS random moments, each what a replay does to jump
  there (keyframe, readings up to the moment, the events before it, the store replaced):
  median and worst, against the 200 ms target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.cluster import load_cluster
from hatui.collect.monitor import Monitor
from hatui.lab import Lab
from hatui.lab.operator import OperatorLoop
from hatui.lab.spec import LabOptions, default_spec
from hatui.lab.writer import VipWriter
from hatui.record import file as recfile
from hatui.record.file import Recording, RecordingWriter
from hatui.record.player import EVENTS_KEPT
from hatui.record.recorder import Recorder
from hatui.state.observations import Observation
from hatui.state.store import Store, StoredEvent

DAY = 24 * 3600.0


class TimedRecorder(Recorder):
    """A Recorder that counts the CPU its own calls take (thread time: the event loop's thread)."""

    cpu = 0.0

    def _on_change(self, what, item):
        t0 = time.thread_time()
        super()._on_change(what, item)
        TimedRecorder.cpu += time.thread_time() - t0

    def flush(self):
        t0 = time.thread_time()
        super().flush()
        TimedRecorder.cpu += time.thread_time() - t0


async def record_fleet(files: list[Path], out: Path, seconds: float) -> list[Path]:
    monitors, recorders, paths = [], [], []
    for i, f in enumerate(files):
        c = load_cluster(f)
        m = Monitor(c)
        p = out / f"c{i + 1}.hrec"
        r = TimedRecorder(p, c)
        r.attach(m.store)
        monitors.append(m)
        recorders.append(r)
        paths.append(p)
    tasks = [asyncio.create_task(m.start()) for m in monitors] + [asyncio.create_task(r.run()) for r in recorders]
    await asyncio.sleep(20)  # connected, the first readings in: measure the steady state
    TimedRecorder.cpu = 0.0
    t0 = time.monotonic()
    await asyncio.sleep(seconds)
    wall = time.monotonic() - t0
    cpu = TimedRecorder.cpu
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for m in monitors:
        await m.stop()
    for r in recorders:
        r.close()
    return [wall, cpu, *paths]


def plain_json_bytes(rec: Recording) -> int:
    """The same readings as one JSON line each, uncompressed: what the format saves."""
    span = rec.span()
    assert span is not None
    n = 0
    cur = rec.cursor(span[0] - 1)
    for obs in cur.advance(span[1]):
        n += len(json.dumps([obs.at, obs.node, str(obs.kind), cur.values[(obs.node, str(obs.kind))]])) + 1
    return n


def day_long(src: Recording, path: Path) -> tuple[float, int]:
    """Cluster 1's readings and events repeated to fill 24 h, written as a console would
    (batches every 10 s of recorded time, keyframes every 60 s). Returns (start, bytes)."""
    span = src.span()
    assert span is not None
    length = span[1] - span[0]
    readings = list(src.cursor(span[0] - 1).advance(span[1]))
    events = src.events(float("-inf"), span[1])
    start = span[0]
    clock = [start]
    w = RecordingWriter(path, src.cluster(), clock=lambda: clock[0])
    seq = 0
    reps = int(DAY // length) + 1
    for k in range(reps):
        shift = k * length
        ev = iter(sorted(events, key=lambda e: e.received_at))
        nxt = next(ev, None)
        for obs in readings:
            t = obs.at + shift
            if t - start > DAY:
                break
            w.observation(Observation(obs.node, obs.kind, obs.value, t))
            while nxt is not None and nxt.received_at + shift <= t:
                seq += 1
                w.event(StoredEvent(seq, nxt.received_at + shift, nxt.node, nxt.event))
                nxt = next(ev, None)
            clock[0] = t
            if w.due():
                w.flush()
    w.close()
    return start, path.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clusters", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seeks", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="leave the fleet up")
    ap.add_argument("--keep-files", action="store_true", help="leave the recordings (and the 24 h one) in /tmp")
    args = ap.parse_args()
    spec = default_spec(
        prefix=os.environ.get("HATUI_BENCH_PREFIX", "hatui-brec-"),
        state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-brec"),
        subnet=os.environ.get("HATUI_BENCH_SUBNET", "198.19.20.0/24"),
        options=LabOptions(check="client", check_interval=5),
        clusters=args.clusters,
    )
    lab = Lab(spec)
    lab.down()
    t0 = time.monotonic()
    lab.up()
    print(
        f"fleet of {args.clusters} clusters ({len(spec.nodes)} nodes) up in {time.monotonic() - t0:.0f} s", flush=True
    )
    out = Path(tempfile.mkdtemp(prefix="hatui-rec-bench-"))
    try:
        first = spec.clusters[0]
        w = VipWriter(Lab(first) if first is not spec else lab, table="bench_rec", interval=0.01)
        w.start()
        loop = OperatorLoop(spec.operator_ns)
        try:
            wall, cpu, *paths = loop.run(
                record_fleet([Path(f) for f in spec.cluster_files], out, args.minutes * 60), args.minutes * 60 + 120
            )
        finally:
            loop.close()
            rows = w.stop().acked
        nodes = len(spec.nodes)
        size = sum(p.stat().st_size for p in paths)
        per_node_hour = size / nodes * 3600 / wall
        plain = sum(plain_json_bytes(Recording(p)) for p in paths)
        print(f"\nrecorded {wall:.0f} s of {nodes} nodes ({rows} rows written through cluster 1's VIP meanwhile)")
        print(
            f"bytes per node per hour: {per_node_hour / 1e6:.2f} MB (target <= 2 MB); "
            f"as plain JSON lines {plain / nodes * 3600 / wall / 1e6:.1f} MB: {plain / size:.0f}x smaller"
        )
        print(f"recorders' CPU: {cpu / wall * 100:.2f} % of a core at {nodes} nodes (target <= 2 %)")
        src = Recording(paths[0])
        day = out / "day.hrec"
        t1 = time.monotonic()
        start, day_bytes = day_long(src, day)
        print(
            f"a 24 h recording of cluster 1 ({len(first.nodes)} nodes) written in {time.monotonic() - t1:.0f} s: "
            f"{day_bytes / 1e6:.1f} MB ({day_bytes / len(first.nodes) / 24 / 1e6:.2f} MB per node per hour)"
        )
        rec = Recording(day)
        cluster = rec.cluster()
        rng = random.Random(1)
        took = []
        for _ in range(args.seeks):
            t = start + rng.uniform(0, DAY)
            s0 = time.perf_counter()
            cur = rec.cursor(t)
            store = Store(cluster, clock=lambda t=t: t)
            store.replace_all(cur.state().values(), rec.events(float("-inf"), t, last=EVENTS_KEPT))
            store.snapshot()
            took.append(time.perf_counter() - s0)
        took.sort()
        print(
            f"seek to a random moment of the 24 h recording ({args.seeks} seeks): median "
            f"{statistics.median(took) * 1000:.0f} ms, worst {took[-1] * 1000:.0f} ms (target <= 200 ms); "
            f"keyframe every {recfile.KEYFRAME_SECONDS:.0f} s"
        )
    finally:
        if args.keep_files:
            print(f"recordings left in {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)
        if not args.keep:
            lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
