"""CPU and peak memory of parsing one binlog dump, this tree against another revision, alternated.

    .venv/bin/python bench/binlog_parse.py --dump FILE [--against REV] [--runs 5]

FILE is `mariadb-binlog -v` output of one binlog (the gap-repair bench leaves one per run with
--keep-state: `recovery/*/raw/mysql-bin.*.txt` in its state folders; 100,000 transactions are ~96 MB).
Each parse runs in a fresh Python process (peak RSS is the process's, imports included), reading
the file as repair-gap does (a text file, keep_text=False); the two trees alternate so a machine
whose speed drifts during the run treats both alike. Prints, per tree: CPU seconds median / best,
peak RSS median, transactions read; and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from hatui.binlog.dump import parse_dump
t = time.process_time()
with open(sys.argv[2], encoding="utf-8", errors="surrogateescape", newline="") as f:
    d = parse_dump(f, "mysql-bin.000001", keep_text=False)
cpu = time.process_time() - t
print(json.dumps({"cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "trx": len(d.transactions)}))
"""


def one(tree: Path, dump: Path) -> dict[str, float]:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(dump)], capture_output=True, text=True, timeout=600, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"parse in {tree} failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", required=True, type=Path, help="mariadb-binlog -v output of one binlog file")
    ap.add_argument("--against", default="", help="a git revision to compare with (a temporary worktree)")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not args.dump.is_file():
        raise SystemExit(f"{args.dump}: no such file")
    trees = {"this tree": ROOT}
    tmp = None
    if args.against:
        tmp = Path(tempfile.mkdtemp(prefix="hatui-parse-"))
        add = ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tmp), args.against]
        subprocess.run(add, check=True)
        trees[args.against] = tmp
    try:
        got: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                got[name].append(one(tree, args.dump))
        size = args.dump.stat().st_size / 1e6
        print(f"parse of {args.dump} ({size:.0f} MB), {args.runs} run(s) each, alternated")
        print(f"{'tree':<24} {'CPU median':>11} {'best':>7} {'worst':>7} {'peak RSS':>9} {'transactions':>13}")
        medians = {}
        for name, runs in got.items():
            cpu = [r["cpu"] for r in runs]
            medians[name] = statistics.median(cpu)
            print(
                f"{name:<24} {medians[name]:>10.2f}s {min(cpu):>6.2f}s {max(cpu):>6.2f}s "
                f"{statistics.median(r['rss_mb'] for r in runs):>7.0f}MB {int(runs[0]['trx']):>13,}"
            )
        if args.against:
            print(f"ratio this tree / {args.against}: {medians['this tree'] / medians[args.against]:.2f}")
    finally:
        if tmp is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
