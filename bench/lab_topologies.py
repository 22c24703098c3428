"""`lab up` per topology and option set, and what the lab costs in memory.

    sudo .venv/bin/python bench/lab_topologies.py [--runs 3]

For each deployment: `lab up` time (median and worst of the runs), `lab down` time, and the
memory of everything running in the lab's namespaces once it is up (PSS, so shared pages are
counted once; RSS for comparison), per node and in total.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import Lab, network
from hatui.lab.spec import LabOptions, default_spec

COMBOS = [
    ("dual-master", LabOptions()),
    ("primary-replicas", LabOptions()),
    ("mmm", LabOptions()),
    ("dual-master", LabOptions(gtid=False, vip_mover="flag-file", unicast=True, old_host=True)),
    ("dual-master", LabOptions(dual_vip=True, vip_mover="none")),
]


def memory_kb(pids: set[int]) -> tuple[int, int]:
    """(PSS, RSS) of these processes in KiB."""
    pss = rss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            continue
    return pss, rss


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for topology, options in COMBOS:
        spec = default_spec(prefix="hatui-b-", state_dir="/var/lib/hatui-lab-bench", topology=topology, options=options)
        lab = Lab(spec)
        ups, downs, mems = [], [], []
        for _ in range(args.runs):
            t0 = time.monotonic()
            lab.up()
            ups.append(time.monotonic() - t0)
            time.sleep(2)  # settle: checks and elections running, as in steady state
            pids = {p for ps in network.pids_in(spec.all_namespaces).values() for p in ps}
            mems.append(memory_kb(pids))
            t0 = time.monotonic()
            lab.down()
            downs.append(time.monotonic() - t0)
        pss = statistics.median(m[0] for m in mems) / 1024
        rss = statistics.median(m[1] for m in mems) / 1024
        name = f"{topology} ({options.describe()})"
        rows.append((name, ups, downs, pss, rss, len(spec.nodes)))
        print(
            f"{name}: up {statistics.median(ups):.1f} s median, {max(ups):.1f} s worst; down "
            f"{statistics.median(downs):.1f} s; memory PSS {pss:.0f} MiB ({pss / len(spec.nodes):.0f} MiB a node), "
            f"RSS {rss:.0f} MiB",
            flush=True,
        )
    print()
    print(f"{'deployment':72} {'up med':>7} {'worst':>6} {'down':>5} {'PSS MiB':>8} {'nodes':>5}")
    for name, ups, downs, pss, _rss, n in rows:
        print(
            f"{name:72} {statistics.median(ups):7.1f} {max(ups):6.1f} {statistics.median(downs):5.1f} {pss:8.0f} {n:5d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
