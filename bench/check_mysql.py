"""keepalived's health check in the lab: what one run of each check costs, and how fast a broken
mysqld is reported.

    sudo HATUI_LAB_PREFIX=hatui-cm- HATUI_LAB_DIR=/var/lib/hatui-lab-cm \\
        .venv/bin/python bench/check_mysql.py [--runs 200] [--fault-runs 5]

Uses the lab given by HATUI_LAB_PREFIX/HATUI_LAB_DIR (brings it up when it is not, and then
down again at the end; a lab that was already up is left up). Every check runs *inside* the
standby master (its mount, UTS and network namespaces), started the way keepalived starts a
vrrp_script (fork + exec, output discarded), by a driver that itself runs in the node, so the
figures hold no nsenter overhead. The runs of the different checks are interleaved.

Healthy (--runs each, median / p99 / worst wall ms, and median CPU ms):
  - `hatui check-mysql` through the lab's wrapper /etc/keepalived/check_mysql.sh (SELECT 1 as the
    monitor account over the socket, --timeout 1.5), and with --replication;
  - the lab's previous shell check, `timeout 2 mariadb --connect-timeout=1 -e 'SELECT 1'`;
  - seed 000's process check (`pidof mariadbd`, `killall -0 mariadbd`), for reference only: it
    says nothing about whether mysqld answers (and in the lab it sees every lab's mariadbd,
    since the nodes share the machine's PID namespace).
The driver runs without PYTHONDONTWRITEBYTECODE, as under systemd, so the warm-up caches hatui's
bytecode (with it set and no cache, Python recompiles hatui's modules each run: ~25 ms more).
Broken (--fault-runs each): the time to exit 1 with mysqld stopped and with mysqld SIGSTOPped
(hung), and what the other checks answer then.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatui.lab import Lab, configs, default_spec, network, procs  # noqa: E402

# Runs inside the node: each command, round robin, timed around fork+exec+wait.
DRIVER = r"""
import json, resource, subprocess, sys, time
cmds = json.loads(sys.argv[1]); runs = int(sys.argv[2])
out = {name: [] for name in cmds}
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
for _ in range(runs):
    for name, argv in cmds.items():
        c0, t0 = cpu(), time.perf_counter()
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        out[name].append([(time.perf_counter() - t0) * 1000.0, rc, (cpu() - c0) * 1000.0])
print(json.dumps(out))
"""

OLD_SHELL = [
    "sh",
    "-c",
    "exec /usr/bin/timeout 2 /usr/bin/mariadb --connect-timeout=1 --batch "
    "--skip-column-names -e 'SELECT 1' >/dev/null 2>&1",
]
CHECKS = {
    "hatui check-mysql (wrapper)": [configs.NODE_CHECK_SCRIPT],
    "hatui check-mysql --replication": [
        sys.executable,
        "-m",
        "hatui.checkmysql",
        "--defaults-file",
        configs.NODE_CHECK_CNF,
        "--timeout",
        "1.5",
        "--replication",
    ],
    "old shell check (mariadb)": OLD_SHELL,
    "seed 000: pidof mariadbd": ["sh", "-c", "exec pidof mariadbd >/dev/null"],
    "seed 000: killall -0 mariadbd": ["sh", "-c", "exec killall -0 mariadbd"],
}


def holders(lab: Lab) -> list[str]:
    return [n.name for n in lab.spec.nodes if lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))]


def drive(lab: Lab, node: str, cmds: dict[str, list[str]], runs: int) -> dict[str, list[tuple[float, int, float]]]:
    # as under systemd: Python may cache bytecode (__pycache__, git-ignored)
    res = lab.node_run(
        node,
        ["env", "-u", "PYTHONDONTWRITEBYTECODE", sys.executable, "-c", DRIVER, json.dumps(cmds), str(runs)],
        timeout=60 + runs * len(cmds) * 3,
    )
    if res.returncode != 0:
        raise RuntimeError(f"driver failed on {node}: {res.stderr.strip()[-800:]}")
    return {k: [tuple(x) for x in v] for k, v in json.loads(res.stdout).items()}


def p99(vals: list[float]) -> float:
    return statistics.quantiles(vals, n=100, method="inclusive")[98] if len(vals) > 1 else vals[0]


def codes(samples: list[tuple[float, int, float]]) -> str:
    found = sorted({rc for _, rc, _ in samples})
    return ",".join(str(c) for c in found)


def table(title: str, results: dict[str, list[tuple[float, int, float]]]) -> None:
    print(title)
    print(f"  {'check':34} {'runs':>5} {'median':>8} {'p99':>8} {'worst':>8} {'cpu':>6}  exit")
    for name, samples in results.items():
        ms = [t for t, _, _ in samples]
        cpu = statistics.median(c for _, _, c in samples)
        print(
            f"  {name:34} {len(ms):5d} {statistics.median(ms):8.1f} {p99(ms):8.1f} {max(ms):8.1f} "
            f"{cpu:6.1f}  {codes(samples)}"
        )


def wait_check_ok(lab: Lab, node: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.node_run(node, [configs.NODE_CHECK_SCRIPT], timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the check on {node} did not pass again within {timeout:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200, help="healthy runs of each check (default 200)")
    ap.add_argument("--fault-runs", type=int, default=5, help="runs of each check per fault (default 5)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("the lab needs root", file=sys.stderr)
        return 2
    lab = Lab(default_spec())
    t0 = time.monotonic()
    brought_up = lab.up()
    print(
        f"lab {lab.spec.prefix}* in {lab.spec.state_dir}: "
        f"{'brought up in %.1f s' % (time.monotonic() - t0) if brought_up else 'already up, reused'}"
    )
    try:
        (holder,) = holders(lab)
        node = next(n.name for n in lab.spec.nodes if n.keepalived and n.name != holder)
        print(f"checks run inside {node} (the standby master; {holder} holds the VIP)")
        wait_check_ok(lab, node)
        drive(lab, node, CHECKS, 3)  # warm the page cache
        table(f"\nhealthy mysqld, {args.runs} runs each, ms", drive(lab, node, CHECKS, args.runs))

        broken = {
            k: CHECKS[k]
            for k in ("hatui check-mysql (wrapper)", "old shell check (mariadb)", "seed 000: pidof mariadbd")
        }
        lab.fault("stop-mysqld", node)
        try:
            table(
                f"\nmysqld stopped on {node}, {args.fault_runs} runs each, ms",
                drive(lab, node, broken, args.fault_runs),
            )
        finally:
            lab.fault("start-mysqld", node)
        wait_check_ok(lab, node)

        rec = lab.state().daemons[node]["mysqld"]
        procs.signal_rec(rec, signal.SIGSTOP)
        try:
            table(
                f"\nmysqld SIGSTOPped on {node} (hung), {args.fault_runs} runs each, ms",
                drive(lab, node, broken, args.fault_runs),
            )
        finally:
            procs.signal_rec(rec, signal.SIGCONT)
        wait_check_ok(lab, node)
        print(
            "\nms: wall time from fork to exit; cpu: median user+sys CPU ms of the check's processes."
            "\nexit: 0 healthy, 1 unhealthy, 124 killed by timeout(1). hatui's wrapper runs with "
            "--timeout 1.5 (keepalived's vrrp_script timeout is 2 s)."
        )
    finally:
        if brought_up:
            lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
