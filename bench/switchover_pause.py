"""Write pause of a planned switchover, per VIP mover and topology, next to the seed procedure
in the same run.

    sudo .venv/bin/python bench/switchover_pause.py [--runs 10] [--config NAME ...] [--keep]

For each deployment (`--config`, default all) it brings up its own lab (prefix hatui-bsw-),
starts a client that writes through the writer's address without pause and reconnects on any
error (hatui.lab.writer.VipWriter: one id per row, retried until acknowledged), then alternately:

* `hatui switchover --to OTHER --yes`, the real CLI, as a DBA runs it;
* the seed's own procedure for that deployment:
  - stop keepalived on the master, wait until the VIP is on the other node, start it again (the
    notify script flips read_only): seeds 000/001 and the MMM seed 004's keepalived pair;
  - seed 003's flag file: create it on the master (its vrrp_script's negative weight gives the
    VIP away) after removing the one the last move left on the other node, and wait;
  - the router layer (seed 002) has no planned switchover to time: its router changes
    destination only when the primary dies, and switching back means restarting every router.
    hatui's figures are printed alone.

For each it prints the longest gap between two acknowledged writes seen by the client, and the
rows lost, duplicated or invented on any node. Medians and the worst over all runs, and the
ratio of the medians, close each deployment's report; a summary table closes the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import Lab, configs, network
from hatui.lab.spec import LabOptions, default_spec
from hatui.lab.writer import VipWriter, verify_rows


def holders(lab: Lab, address: str) -> list[str]:
    return [n.name for n in lab.spec.nodes if address in network.addresses(lab.spec.node_ns(n.name))]


def writer_now(lab: Lab) -> str | None:
    """The one writable database, holding the writer's VIP where the VIP lives on databases;
    None while that is not so (a move still settling)."""
    spec = lab.spec
    writable = [
        n.name for n in spec.mysql_nodes if lab.sql(n.name, "SELECT @@global.read_only", check=False).strip() == "0"
    ]
    if len(writable) != 1:
        return None
    on_dbs = all(spec.node(x).mysql for x in spec.writer_vip.nodes)
    if on_dbs and holders(lab, spec.vip) != writable:
        return None
    return writable[0]


def wait(what: str, ok: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def settle(lab: Lab) -> str:
    """One writer, holding the VIP, for a while: the next run starts from a steady cluster."""
    wait("one writable VIP holder", lambda: writer_now(lab), 30)
    time.sleep(1.0)
    w = writer_now(lab)
    if w is None:
        raise SystemExit("the writer changed while settling")
    return w


def seed_stop_keepalived(lab: Lab, old: str, to: str) -> None:
    lab.fault("stop-keepalived", old)
    wait(f"the VIP on {to}", lambda: lab.spec.vip in network.addresses(lab.spec.node_ns(to)), 20)
    lab.fault("start-keepalived", old)


def seed_flag_file(lab: Lab, old: str, to: str) -> None:
    # the flag stays on the old master (removed, the higher priority would preempt back); the
    # one the last move left on the target goes first
    lab.node_run(to, ["rm", "-f", configs.NODE_FLAG_FILE])
    lab.node_run(old, ["touch", configs.NODE_FLAG_FILE])
    wait(f"the VIP on {to}", lambda: lab.spec.vip in network.addresses(lab.spec.node_ns(to)), 20)


@dataclass(frozen=True)
class Config:
    topology: str
    options: LabOptions
    target: str
    seed: Callable[[Lab, str, str], None] | None
    seed_label: str


CONFIGS = {
    "dual-master/track-file": Config(
        "dual-master", LabOptions(), "db2", seed_stop_keepalived, "seed 000: stop keepalived on the master"
    ),
    "dual-master/no-gtid/flag-file": Config(
        "dual-master",
        LabOptions(gtid=False, vip_mover="flag-file", unicast=True, old_host=True),
        "db2",
        seed_flag_file,
        "seed 003: flag file on the master",
    ),
    "dual-master/dual-vip/restart": Config(
        "dual-master",
        LabOptions(dual_vip=True, vip_mover="none"),
        "db2",
        seed_stop_keepalived,
        "seed 001: stop keepalived on the master",
    ),
    "mmm/track-file": Config("mmm", LabOptions(), "db2", seed_stop_keepalived, "seed 004: stop keepalived"),
    "primary-replicas/router": Config("primary-replicas", LabOptions(), "db2", None, ""),
}


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


def measure(lab: Lab, cfg: Config, how: str, n: int, state: Path) -> tuple[float, int]:
    old = settle(lab)
    home = lab.spec.writer
    to = cfg.target if old == home else home
    w = VipWriter(lab, table=f"bench_{how}_{os.getpid()}_{n}")
    w.start()
    time.sleep(1.0)
    if how == "hatui":
        run_hatui(lab, to, state)
    else:
        assert cfg.seed is not None
        cfg.seed(lab, old, to)
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


def bench(name: str, cfg: Config, runs: int, keep: bool) -> dict[str, list[tuple[float, int]]]:
    prefix = os.environ.get("HATUI_BENCH_PREFIX", "hatui-bsw-")
    spec = default_spec(
        prefix=prefix,
        state_dir=os.environ.get("HATUI_BENCH_DIR", "/var/lib/hatui-lab-bsw"),
        topology=cfg.topology,
        options=cfg.options,
    )
    lab = Lab(spec)
    state = Path(spec.state_dir) / "hatui-state"
    lab.up()
    kinds = ("hatui", "seed") if cfg.seed is not None else ("hatui",)
    results: dict[str, list[tuple[float, int]]] = {k: [] for k in kinds}
    try:
        print(f"\n{name}: {runs} runs each, client writing through {spec.vip}", flush=True)
        for i in range(runs):
            for how in kinds:
                results[how].append(measure(lab, cfg, how, i, state))
        for how in kinds:
            label = "hatui switchover" if how == "hatui" else cfg.seed_label
            pauses = [p for p, _ in results[how]]
            lost = sum(b for _, b in results[how])
            print(
                f"  {label:42} pause median {statistics.median(pauses) * 1000:5.0f} ms  "
                f"worst {max(pauses) * 1000:5.0f} ms  rows lost/dup {lost}"
            )
        if cfg.seed is not None:
            ratio = statistics.median(p for p, _ in results["hatui"]) / statistics.median(p for p, _ in results["seed"])
            print(f"  ratio of medians (hatui / seed): {ratio:.2f}")
    finally:
        if not keep:
            lab.down()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="switchovers of each kind per deployment (default 10)")
    ap.add_argument("--config", action="append", choices=list(CONFIGS), help="deployments to bench (default all)")
    ap.add_argument("--keep", action="store_true", help="leave the last lab up afterwards")
    args = ap.parse_args()
    names = args.config or list(CONFIGS)
    table = []
    for i, name in enumerate(names):
        res = bench(name, CONFIGS[name], args.runs, args.keep and i == len(names) - 1)
        table.append((name, res))
    print("\nsummary (write pause seen by a client writing through the writer's address)")
    print(
        f"  {'deployment':32} {'hatui median/worst':>20} {'seed median/worst':>20} {'ratio':>6} {'rows lost/dup':>14}"
    )
    for name, res in table:
        h = [p for p, _ in res["hatui"]]
        sd = [p for p, _ in res.get("seed", [])]
        seed = f"{statistics.median(sd) * 1000:.0f}/{max(sd) * 1000:.0f} ms" if sd else "n/a"
        ratio = f"{statistics.median(h) / statistics.median(sd):.2f}" if sd else "-"
        lost = sum(b for k in res for _, b in res[k])
        print(
            f"  {name:32} {f'{statistics.median(h) * 1000:.0f}/{max(h) * 1000:.0f} ms':>20} {seed:>20} "
            f"{ratio:>6} {lost:>14}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
