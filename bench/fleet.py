"""The console and the wallboard watching a fleet of real nodes: CPU, memory, tick time and SSH
sessions at 3 nodes and up, on this machine's two cores.

    sudo .venv/bin/python bench/fleet.py [--clusters 1,5,10,50] [--seconds 60] [--settle 20]
                                         [--modes console,wallboard] [--keep]

Brings up its own fleet (`hatui lab up --clusters MAX`: MAX dual-master clusters of 3 nodes, each
with its own VIP, VRIDs and cluster file; prefix hatui-bfl-, folder /var/lib/hatui-lab-bfl,
subnet 198.18.32.0/20; removed afterwards unless --keep) and reports what the nodes cost
(bring-up time, memory per node). Then, for each size K and mode, a fresh process inside the
lab's operator namespace opens the real console (HatuiApp, headless at 200x60, live engine) on
the first K cluster files (3K nodes), waits until every node has a complete reading, settles
--settle seconds more, and measures for --seconds:

- CPU of the console process (all its threads), per node;
- its RSS at the end (and its peak), per node;
- tick: the time one refresh of one cluster's view takes (median, p99, worst), and the event
  loop's lateness (a 50 ms timer's overshoot: what a key press waits behind);
- new SSH sessions per node per minute (every channel the engine opens is a new session for the
  node's sshd: a fork and a login environment), counted by the engine's sessions;
- the whole machine's CPU use in the window (the nodes' own daemons share the two cores).

A fresh process per measurement: memory never shrinks back inside one.

Modes `exporter` and `serve` measure the real CLI process on the same fleet sizes instead:
`hatui exporter --cluster ...` scraped once a second (CPU and RSS of its process, per node), and
`hatui serve --cluster ...` with two browsers' wallboards connected over its WebSocket (the hub's
process, then the two viewer processes, each apart: a viewer's cost does not grow with nodes
collected but with what it draws).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREFIX, STATE_DIR, SUBNET = "hatui-bfl-", "/var/lib/hatui-lab-bfl", "198.18.32.0/20"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))] if xs else float("nan")


def rss_kb(pid: int | str = "self") -> tuple[int, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    got = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            got[k] = int(v.split()[0])
    return got.get("VmRSS", 0), got.get("VmHWM", 0)


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


# ---------------------------------------------------------------- one measurement (in the netns)


async def measure(files: list[str], watch: bool, settle: float, seconds: float, ready_timeout: float) -> dict:
    from hatui.cluster import load_cluster
    from hatui.rules.readiness import pending_nodes
    from screens.app import HatuiApp
    from screens.dashboard import ClusterView
    from screens.wallboard import ClusterBoard

    view_cls = ClusterBoard if watch else ClusterView
    ticks: list[float] = []
    original = view_cls.refresh_state

    def timed(self) -> None:
        t0 = time.perf_counter()
        original(self)
        ticks.append(time.perf_counter() - t0)

    view_cls.refresh_state = timed  # type: ignore[method-assign]  # before mount: the interval binds this
    clusters = [load_cluster(f) for f in files]
    nodes = sum(len(c.nodes) for c in clusters)
    app = HatuiApp(clusters, watch=watch)
    out: dict = {"clusters": len(clusters), "nodes": nodes, "mode": "wallboard" if watch else "console"}
    async with app.run_test(size=(200, 60)):
        views = list(app.query(view_cls))
        t0 = time.monotonic()
        while time.monotonic() - t0 < ready_timeout:
            if all(not pending_nodes(v.feed.store.snapshot(max_events=0)) for v in views):
                break
            await asyncio.sleep(0.5)
        out["ready_s"] = round(time.monotonic() - t0, 1)
        out["never_ready"] = sorted(n for v in views for n in pending_nodes(v.feed.store.snapshot(max_events=0)))
        await asyncio.sleep(settle)

        def sessions() -> int:
            return sum(c.session.channels_opened for v in views for c in v.feed.collectors.values())

        lateness: list[float] = []
        stop = asyncio.Event()

        async def probe_loop() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.05)
                lateness.append(time.perf_counter() - t - 0.05)

        ticks.clear()
        ch0, cpu0, m0, w0 = sessions(), time.process_time(), machine_busy(), time.monotonic()
        t0s = os.times()
        task = asyncio.create_task(probe_loop())
        await asyncio.sleep(seconds)
        stop.set()
        await task
        wall = time.monotonic() - w0
        cpu = (time.process_time() - cpu0) / wall
        t1s = os.times()
        m1 = machine_busy()
        rss, hwm = rss_kb()
        out.update(
            seconds=round(wall, 1),
            cpu_pct=round(cpu * 100, 2),
            cpu_pct_per_node=round(cpu * 100 / nodes, 3),
            cpu_sys_pct=round((t1s.system - t0s.system) * 100 / wall, 2),  # the kernel's share (sends)
            rss_mb=round(rss / 1024, 1),
            peak_rss_mb=round(hwm / 1024, 1),
            rss_mb_per_node=round(rss / 1024 / nodes, 2),
            ticks=len(ticks),
            tick_median_ms=round(statistics.median(ticks) * 1000, 2) if ticks else None,
            tick_p99_ms=round(pct(ticks, 0.99) * 1000, 2),
            tick_worst_ms=round(max(ticks, default=float("nan")) * 1000, 2),
            loop_late_p99_ms=round(pct(lateness, 0.99) * 1000, 2),
            loop_late_worst_ms=round(max(lateness, default=float("nan")) * 1000, 2),
            sessions_per_node_min=round((sessions() - ch0) * 60 / wall / nodes, 3),
            machine_cpu_pct=round((m1[0] - m0[0]) * 100 / max(1, m1[1] - m0[1]) * os.cpu_count(), 1),
        )
        # said before the console closes: closing 200 nodes' sessions on a starved machine can
        # take minutes (the figure must not be lost to it); the parent stops waiting after 120 s
        print("RESULT " + json.dumps(out), flush=True)
        t_close = time.monotonic()
    out["close_s"] = round(time.monotonic() - t_close, 1)
    return out


# ---------------------------------------------------------------- the CLI's processes (on the host)


def _children() -> dict[int, list[int]]:
    """Every process's children, in one pass over /proc."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry))
    return kids


def _tree_usage(pid: int) -> dict[int, tuple[float, int]]:
    """CPU seconds and RSS kB of the process and each descendant."""
    kids = _children()
    tick = os.sysconf("SC_CLK_TCK")
    out, todo = {}, [pid]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            f = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out[p] = ((int(f[11]) + int(f[12])) / tick, rss_kb(p)[0])
        except (OSError, IndexError, ValueError):
            pass
    return out


def measure_cli(mode: str, files: list[str], ns: str, settle: float, seconds: float, ready_timeout: float) -> dict:
    import random
    import urllib.request

    from hatui.cluster import load_cluster
    from hatui.lab.operator import OperatorLoop

    nodes = sum(len(load_cluster(f).nodes) for f in files)
    port = random.randint(20000, 29000)
    argv = [sys.executable, "-m", "hatui", mode, *[a for f in files for a in ("--cluster", f)]]
    proc = subprocess.Popen(
        [*argv, "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, HATUI_STATE_DIR=f"{STATE_DIR}-state"),
    )
    loop = OperatorLoop(ns)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy

    async def get(path: str) -> str:
        def fetch() -> str:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                return r.read().decode()

        return await asyncio.to_thread(fetch)  # the executor's thread is in the loop's namespace

    out: dict = {"clusters": len(files), "nodes": nodes, "mode": mode}
    viewers: list = []
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < ready_timeout:
            try:
                if mode == "exporter":
                    text = loop.run(get("/metrics"), 15)
                    pending = [x for x in text.splitlines() if x.startswith("hatui_node_pending{")]
                    if pending and all(x.endswith(" 0.0") for x in pending):
                        break
                else:
                    loop.run(get("/"), 15)
                    break
            except OSError:
                pass
            time.sleep(1)
        if mode == "serve":
            import aiohttp

            async def open_viewer() -> dict:
                session = aiohttp.ClientSession()
                ws = await session.ws_connect(f"ws://127.0.0.1:{port}/ws?width=200&height=60")
                v = {"session": session, "ws": ws, "bytes": 0}

                async def drain() -> None:
                    async for msg in ws:
                        v["bytes"] += len(msg.data or b"")

                v["task"] = asyncio.create_task(drain())
                return v

            viewers = [loop.run(open_viewer(), 30) for _ in range(2)]
            while time.monotonic() - t0 < ready_timeout and not all(v["bytes"] > 10_000 for v in viewers):
                time.sleep(0.5)
        out["ready_s"] = round(time.monotonic() - t0, 1)
        time.sleep(settle)
        u0, w0 = _tree_usage(proc.pid), time.monotonic()
        peak = 0
        while time.monotonic() - w0 < seconds:
            if mode == "exporter":
                loop.run(get("/metrics"), 15)
            peak = max(peak, sum(r for _, r in _tree_usage(proc.pid).values()))
            time.sleep(1)
        u1, wall = _tree_usage(proc.pid), time.monotonic() - w0
        own = [p for p in u1 if p in u0]

        def cpu(pids) -> float:
            return sum(u1[p][0] - u0[p][0] for p in pids) * 100 / wall

        main_pids = [p for p in own if p == proc.pid or not _is_viewer(p)]
        viewer_pids = [p for p in own if _is_viewer(p)]
        rss = sum(u1[p][1] for p in main_pids)
        out.update(
            seconds=round(wall, 1),
            cpu_pct=round(cpu(main_pids), 2),
            cpu_pct_per_node=round(cpu(main_pids) / nodes, 3),
            rss_mb=round(rss / 1024, 1),
            rss_mb_per_node=round(rss / 1024 / nodes, 2),
            peak_rss_mb=round(peak / 1024, 1),
        )
        if mode == "serve":
            out.update(
                viewers=len(viewer_pids),
                viewer_cpu_pct=[round(cpu([p]), 2) for p in viewer_pids],
                viewer_rss_mb=[round(u1[p][1] / 1024, 1) for p in viewer_pids],
            )
    finally:
        for v in viewers:
            loop.run(v["ws"].close(), 30)
            loop.run(v["session"].close(), 30)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        loop.close()
    return out


def _is_viewer(pid: int) -> bool:
    """A browser's wallboard process (not the `sh -c` textual-serve starts it with)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"--viewer" in argv and not argv[0].endswith(b"sh")


# ---------------------------------------------------------------- orchestration (on the host)


def node_memory_mb(lab) -> float:
    """Mean RSS of one node's daemons (mariadbd, sshd, keepalived and its children)."""
    kids = _children()
    per = []
    for daemons in lab.state().daemons.values():
        total, todo = 0, [rec.pid for rec in daemons.values()]
        while todo:
            pid = todo.pop()
            todo += kids.get(pid, [])
            try:
                total += rss_kb(pid)[0]
            except OSError:
                pass
        per.append(total / 1024)
    return statistics.mean(per) if per else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clusters", default="1,5,10,50", help="fleet sizes in clusters of 3 nodes")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=20.0)
    ap.add_argument("--ready-timeout", type=float, default=120.0)
    ap.add_argument("--modes", default="console,wallboard", help="of console, wallboard, exporter, serve")
    ap.add_argument("--keep", action="store_true", help="leave the fleet up")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # files, comma-separated (inner process)
    ap.add_argument("--watch", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.measure:
        res = asyncio.run(measure(args.measure.split(","), args.watch, args.settle, args.seconds, args.ready_timeout))
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    from hatui.lab import Lab
    from hatui.lab.spec import LabOptions, default_spec

    sizes = sorted({int(x) for x in args.clusters.split(",")})
    spec = default_spec(
        subnet=SUBNET,
        state_dir=STATE_DIR,
        prefix=PREFIX,
        options=LabOptions(check_interval=5, check="client"),
        clusters=max(sizes),
    )
    lab = Lab(spec, say=lambda m: print(f"  lab: {m}", flush=True))
    free0 = _mem_available_mb()
    t0 = time.monotonic()
    lab.up()
    up_s = time.monotonic() - t0
    time.sleep(10)  # the nodes settle (keepalived elections, first checks)
    used = free0 - _mem_available_mb()
    per_node = node_memory_mb(lab)
    n_all = len(spec.nodes)
    print(
        f"fleet: {len(spec.clusters)} dual-master clusters, {n_all} nodes, up in {up_s:.0f} s; "
        f"memory used {used / 1024:.1f} GB ({used / n_all:.0f} MB per node; a node's daemons' RSS "
        f"{per_node:.0f} MB)",
        flush=True,
    )
    rows = []
    try:
        for k in sizes:
            files = [str(p) for p in spec.cluster_files[:k]]
            for mode in args.modes.split(","):
                if mode in ("exporter", "serve"):
                    r = measure_cli(mode, files, spec.operator_ns, args.settle, args.seconds, args.ready_timeout)
                    rows.append(r)
                    print(
                        f"  {mode:9} {r['nodes']:4} nodes: CPU {r['cpu_pct']:5.1f}% "
                        f"({r['cpu_pct_per_node']:.3f}%/node)  RSS {r['rss_mb']:6.1f} MB "
                        f"({r['rss_mb_per_node']:.2f} MB/node, peak of all {r['peak_rss_mb']:.0f})"
                        + (
                            f"  viewers {r['viewers']}: CPU {r['viewer_cpu_pct']}% RSS {r['viewer_rss_mb']} MB"
                            if mode == "serve"
                            else ""
                        )
                        + f"  ready in {r['ready_s']} s",
                        flush=True,
                    )
                    continue
                cmd = [
                    "ip", "netns", "exec", spec.operator_ns, sys.executable, __file__,
                    "--measure", ",".join(files), "--seconds", str(args.seconds), "--settle", str(args.settle),
                    "--ready-timeout", str(args.ready_timeout),
                ] + (["--watch"] if mode == "wallboard" else [])  # fmt: skip
                env = dict(os.environ, HATUI_IN_NETNS=spec.operator_ns, HATUI_STATE_DIR=f"{STATE_DIR}-state")
                out = _run_for_result(cmd, env, timeout=args.ready_timeout + args.settle + args.seconds + 180)
                line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
                if line is None:
                    print(f"  {mode} at {3 * k} nodes gave no figures:\n{out[-2000:]}")
                    continue
                r = json.loads(line[7:])
                rows.append(r)
                print(
                    f"  {r['mode']:9} {r['nodes']:4} nodes: CPU {r['cpu_pct']:5.1f}% "
                    f"({r['cpu_pct_per_node']:.3f}%/node, kernel {r['cpu_sys_pct']}%)  "
                    f"RSS {r['rss_mb']:6.1f} MB ({r['rss_mb_per_node']:.2f} MB/node, peak {r['peak_rss_mb']:.0f})  "
                    f"tick median {r['tick_median_ms']} p99 {r['tick_p99_ms']} worst {r['tick_worst_ms']} ms  "
                    f"loop late p99 {r['loop_late_p99_ms']} ms  SSH sessions/node/min {r['sessions_per_node_min']}  "
                    f"machine CPU {r['machine_cpu_pct']}%  ready in {r['ready_s']} s; "
                    + next((x.strip() for x in out.splitlines() if x.startswith("CLOSED")), "")
                    + (f"  NEVER READY: {', '.join(r['never_ready'])}" if r["never_ready"] else ""),
                    flush=True,
                )
    finally:
        if not args.keep:
            lab.down()
    print("JSON " + json.dumps(rows))
    return 0


def _run_for_result(cmd: list[str], env: dict[str, str], timeout: float) -> str:
    """The measuring process's output; it gets 120 s to close after its RESULT line, then it is
    stopped (by its PID) and the time it was still closing is said."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("RESULT "):
            deadline = min(deadline, time.monotonic() + 120)
            break
    try:
        rest, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        lines.append(rest)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        lines.append("CLOSED: still closing after 120 s, stopped\n")
    return "".join(lines)


def _mem_available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
