"""Write pause of a planned switchover, next to the seed procedure, in the same run.

    sudo .venv/bin/python bench/switchover_pause.py [--runs 6] [--keep]

Brings up its own lab (prefix hatui-bsw-), starts a client that writes through the VIP without
pause and reconnects on any error (hatui.lab.writer.VipWriter: one id per row, retried until
acknowledged), then alternately:

* `hatui switchover --to OTHER --yes`, the real CLI, as a DBA runs it;
* the seed procedure (seeds 000/001): stop keepalived on the master, wait until the VIP is on
  the other node, start keepalived again (the notify script flips read_only).

For each it prints the longest gap between two acknowledged writes seen by the client, and the
rows lost, duplicated or invented on any node. Medians and the worst over all runs, and the
ratio of the medians, close the report.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import Lab, network
from hatui.lab.spec import default_spec
from hatui.lab.writer import VipWriter, verify_rows


def holder(lab: Lab) -> str:
    held = [
        n.name for n in lab.spec.nodes if n.keepalived and lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))
    ]
    if len(held) != 1:
        raise SystemExit(f"VIP held by {held}: the lab is not in a steady state")
    return held[0]


def wait(what: str, ok, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def settle(lab: Lab) -> None:
    """One holder, writable, for a while: the next run starts from a steady cluster."""

    def steady() -> bool:
        try:
            h = holder(lab)
        except SystemExit:
            return False
        return lab.sql(h, "SELECT @@global.read_only", check=False).strip() == "0"

    wait("a writable VIP holder", steady, 30)
    time.sleep(1.0)


def run_hatui(lab: Lab, to: str, state: Path) -> None:
    env = dict(os.environ, HATUI_STATE_DIR=str(state))
    r = subprocess.run(
        [sys.executable, "-m", "hatui", "switchover", "--cluster", str(lab.spec.cluster_file), "--to", to, "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if r.returncode != 0:
        print(r.stdout, r.stderr)
        raise SystemExit(f"hatui switchover to {to} failed (exit {r.returncode})")


def run_seed(lab: Lab, to: str) -> None:
    old = holder(lab)
    lab.fault("stop-keepalived", old)
    wait(f"the VIP on {to}", lambda: lab.spec.vip in network.addresses(lab.spec.node_ns(to)), 20)
    lab.fault("start-keepalived", old)


def measure(lab: Lab, how: str, n: int, state: Path) -> tuple[float, int]:
    to = "db2" if holder(lab) == "db1" else "db1"
    w = VipWriter(lab, table=f"bench_{how}_{os.getpid()}_{n}")
    w.start()
    time.sleep(1.0)
    if how == "hatui":
        run_hatui(lab, to, state)
    else:
        run_seed(lab, to)
    time.sleep(1.5)
    report = w.stop()
    bad = 0
    for c in verify_rows(lab, w.table, report.acked, timeout=20).values():
        bad += len(c.missing) + len(c.extra) + c.duplicates
    kinds = ", ".join(f"{k} ×{v}" for k, v in report.error_kinds.items()) or "no errors"
    print(
        f"  {how:5} → {to}: longest pause {report.longest_pause * 1000:6.0f} ms  rows {report.acked:5d}  "
        f"lost/dup/extra {bad}  ({kinds})",
        flush=True,
    )
    return report.longest_pause, bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=6, help="switchovers of each kind (default 6)")
    ap.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    args = ap.parse_args()
    prefix = os.environ.get("HATUI_BENCH_PREFIX", "hatui-bsw-")
    spec = default_spec(prefix=prefix, state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-bsw"))
    lab = Lab(spec)
    state = Path(spec.state_dir) / "hatui-state"
    lab.up()
    try:
        results: dict[str, list[tuple[float, int]]] = {"hatui": [], "seed": []}
        print(f"switchover write pause, {args.runs} runs each, client writing through {spec.vip}")
        for i in range(args.runs):
            for how in ("hatui", "seed"):
                settle(lab)
                results[how].append(measure(lab, how, i, state))
        print()
        for how, label in (("hatui", "hatui switchover"), ("seed", "seed: stop keepalived on the master")):
            pauses = [p for p, _ in results[how]]
            lost = sum(b for _, b in results[how])
            print(
                f"{label:38} pause median {statistics.median(pauses) * 1000:5.0f} ms  "
                f"worst {max(pauses) * 1000:5.0f} ms  rows lost/dup {lost}"
            )
        ratio = statistics.median(p for p, _ in results["hatui"]) / statistics.median(p for p, _ in results["seed"])
        print(f"ratio of medians (hatui / seed): {ratio:.2f}")
    finally:
        if not args.keep:
            lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
