"""Unplanned failover: from `hatui failover` confirmed to writes accepted again through the
writer's address, on seed 002's deployment (a primary behind HAProxy routers, two replicas).

    sudo .venv/bin/python bench/failover.py [--runs 5] [--keep]

Each run brings up a fresh lab (prefix hatui-bfo-), starts a client writing through the routers'
writers' port without pause, reconnecting on any error (hatui.lab.writer.VipWriter, one id per
row, retried until acknowledged), makes db3 fall behind (its IO thread stopped) and db2 a little
too, then kills the primary's mysqld (SIGKILL): its last transactions exist only in its binlog on
disk. Then it runs the real CLI, `hatui failover --yes`, as a DBA would after the alert.

It prints, per run: how long the command ran (checks, reading the dead primary's binlogs over SSH,
the plan, the steps), the time from the confirmation (the first step starting, from the audit
log) to the client's first acknowledged write after it, which is what "writes accepted" means to
an application, the transactions recovered from the dead primary's disk, and the rows lost,
duplicated or invented on any database (every acknowledged row must be on db2 and db3, once).
Medians and the worst close the run, next to MHA's published 10-30 s for a master failover
(its documentation: "usually 10-30 seconds"), the anchor to beat by 10x.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import Lab
from hatui.lab.spec import default_spec
from hatui.lab.writer import VipWriter, verify_rows

MHA_SECONDS = (10.0, 30.0)


def wait(what: str, ok, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what}")


def one_run(n: int, keep: bool) -> dict[str, float]:
    prefix = os.environ.get("HATUI_BENCH_PREFIX", "hatui-bfo-")
    spec = default_spec(
        prefix=prefix,
        state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-bfo"),
        topology="primary-replicas",
    )
    lab = Lab(spec)
    lab.down()  # a fresh lab each run: the last one's primary is dead
    lab.up()
    state = Path(spec.state_dir) / "hatui-state"
    try:
        w = VipWriter(lab, table=f"bench_fo_{os.getpid()}_{n}")
        w.start()
        base = w.acked
        wait("100 rows", lambda: w.acked >= base + 100, 30)
        lab.sql("db3", "STOP SLAVE IO_THREAD")
        wait("200 rows", lambda: w.acked >= base + 200, 30)
        lab.sql("db2", "STOP SLAVE IO_THREAD")
        wait("230 rows", lambda: w.acked >= base + 230, 30)
        lab.fault("kill-mysqld", "db1")
        acked_at_kill = w.acked
        offset = time.time() - time.monotonic()  # audit times are wall clock, the writer's monotonic
        time.sleep(0.5)  # the DBA reads the alert (not counted: the figure starts at the confirmation)
        env = dict(os.environ, HATUI_STATE_DIR=str(state))
        t0 = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "hatui", "failover", "--cluster", str(spec.cluster_file), "--yes"],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
        )
        command = time.monotonic() - t0
        if r.returncode != 0:
            print(r.stdout, r.stderr)
            raise SystemExit(f"hatui failover failed (exit {r.returncode})")
        wait("writes after the failover", lambda: w.acked >= acked_at_kill + 50, 30)
        report = w.stop()
        entries = [json.loads(line) for line in (state / spec.name / "audit.log").read_text().splitlines()]
        run = [e for e in entries if e.get("event") == "step_start"]
        confirmed = run[0]["time"] - offset  # monotonic
        accepted = next((end for start, end in report.pauses if start <= confirmed <= end), None)
        if accepted is None:
            raise SystemExit("no pause spans the confirmation: the client never stopped writing?")
        m = re.search(r"(\d+) from db1's binlogs on disk", r.stdout)
        recovered = int(m.group(1)) if m else 0
        bad = 0
        for c in verify_rows(lab, w.table, report.acked, timeout=20).values():
            bad += len(c.missing) + len(c.extra) + c.duplicates
        out = {
            "command": command,
            "accepted": accepted - confirmed,
            "outage": accepted - (t0 - 0.5),
            "recovered": recovered,
            "bad": bad,
            "rows": report.acked,
        }
        print(
            f"  run {n + 1}: command {command:5.2f} s; confirmed -> writes accepted {out['accepted'] * 1000:5.0f} ms; "
            f"recovered from db1's disk {recovered:3d}; rows {report.acked:5d}, lost/dup/extra {bad}",
            flush=True,
        )
        return out
    finally:
        if not keep:
            lab.down()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="failovers (default 5, a fresh lab each)")
    ap.add_argument("--keep", action="store_true", help="leave the last lab up afterwards")
    args = ap.parse_args()
    print(f"hatui failover on primary-replicas behind HAProxy routers: {args.runs} runs", flush=True)
    res = [one_run(i, args.keep and i == args.runs - 1) for i in range(args.runs)]
    acc = [r["accepted"] for r in res]
    cmd = [r["command"] for r in res]
    print(
        f"\nconfirmed -> writes accepted: median {statistics.median(acc) * 1000:.0f} ms, worst {max(acc) * 1000:.0f} ms"
    )
    print(
        f"whole command (checks, binlog read, plan, steps): median {statistics.median(cmd):.2f} s, "
        f"worst {max(cmd):.2f} s"
    )
    print(
        f"rows lost/duplicated/invented: {sum(int(r['bad']) for r in res)}; recovered from the dead primary's disk: "
        f"{', '.join(str(int(r['recovered'])) for r in res)}"
    )
    lo, hi = MHA_SECONDS
    print(
        f"MHA's published master failover: {lo:.0f}-{hi:.0f} s; ratio of its best case to hatui's median "
        f"(confirmed -> writes): {lo / statistics.median(acc):.0f}x; to the whole command: "
        f"{lo / statistics.median(cmd):.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
