"""Lab timings: `lab up`, `lab down`, and how fast the VIP moves on a fault.

    sudo .venv/bin/python bench/lab_timings.py [--runs 3]

Prints median and worst of each figure over the runs, and the ratio against seed 000's
procedure (advert_int 5, a check every 60 s): its logs show the VIP on the backup 6 s after
mysqld stopped (14:43:25 'VRRP_Script failed' -> 14:43:31 'Entering MASTER STATE'), and its
check interval lets detection alone take up to 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import (
    Lab,
    default_spec,
    network,
)

SEED_000_FAILOVER_S = 6.0


def holders(lab: Lab) -> list[str]:
    return [n.name for n in lab.spec.nodes if lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))]


def time_until(pred, timeout: float = 30.0) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.02)
    raise RuntimeError("timed out")


def one_run(lab: Lab) -> dict[str, float]:
    out = {}
    t0 = time.monotonic()
    lab.up()
    out["lab up"] = time.monotonic() - t0
    try:
        (h,) = holders(lab)
        other = "db2" if h == "db1" else "db1"
        t0 = time.monotonic()
        lab.fault("stop-keepalived", h)
        out["VIP move, stop-keepalived"] = time.monotonic() - t0 + time_until(lambda: holders(lab) == [other])
        lab.fault("start-keepalived", h)
        t0 = time.monotonic()
        lab.fault("kill-mysqld", other)
        out["VIP move, kill-mysqld"] = time.monotonic() - t0 + time_until(lambda: holders(lab) == [h])
        lab.fault("start-mysqld", other)
    finally:
        t0 = time.monotonic()
        lab.down()
        out["lab down"] = time.monotonic() - t0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    lab = Lab(default_spec(prefix="hatui-b-", state_dir="/var/lib/hatui-lab-bench"))
    runs = [one_run(lab) for _ in range(args.runs)]
    print(f"lab timings over {args.runs} runs (seconds)")
    print(f"{'figure':28} {'median':>8} {'worst':>8}  vs seed 000")
    for key in runs[0]:
        vals = [r[key] for r in runs]
        # like for like: the seed's figure is mysqld dying -> VIP on the other master
        ratio = f"{SEED_000_FAILOVER_S / statistics.median(vals):.1f}x faster" if "mysqld" in key else ""
        print(f"{key:28} {statistics.median(vals):8.2f} {max(vals):8.2f}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
