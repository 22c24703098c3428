"""How fast `hatui lint` is: parsing, and a whole cluster over SSH against the by-hand check.

    .venv/bin/python bench/lint.py [--runs 20] [--no-lab]

Parsing: every seed config and a generated config with 500 instances (medians of repeated
loads). Cluster: `hatui lint --cluster` end to end on the lab (own prefix, from
$HATUI_LAB_PREFIX / $HATUI_LAB_DIR; brought up if needed and left as found), with and without
`keepalived -t`, against the seeds' procedure done by a script: OpenSSH to each keepalived
node in turn, `cat` its config and run `keepalived -t`, then `diff` the two files (which a DBA
still has to read: it flags every line that differs, router_id and priority included).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatui.keepalived.conf_model import load  # noqa: E402
from hatui.keepalived.conf_parse import TextSource  # noqa: E402


def p99(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def big_config(n: int) -> str:
    parts = [
        "global_defs {\n    enable_script_security\n}\n",
        "vrrp_script chk {\n    script \"/usr/bin/mariadb -e 'SELECT 1'\"\n    interval 1\n}\n",
    ]
    for i in range(n):
        parts.append(
            f"vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth0\n"
            f"    virtual_router_id {i % 255 + 1}\n    priority 100\n    advert_int 1\n"
            "    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n"
            "    track_script {\n        chk\n    }\n"
            f"    virtual_ipaddress {{\n        10.{i // 250}.{i % 250}.100/24 dev eth0\n    }}\n}}\n"
        )
    return "".join(parts)


def bench_parse(runs: int) -> None:
    seeds = sorted((ROOT / "tests" / "fixtures" / "keepalived" / "seeds").glob("*.conf"))
    t = timed(lambda: [load(p) for p in seeds], runs)
    print(
        f"parse: {len(seeds)} seed configs          median {statistics.median(t) * 1000:7.2f} ms"
        f"   p99 {p99(t) * 1000:7.2f} ms"
    )
    text = big_config(500)
    lines = text.count("\n")
    src = TextSource({"/k.conf": text})
    t = timed(lambda: load("/k.conf", src), max(3, runs // 4))
    med = statistics.median(t)
    print(
        f"parse: 500 instances ({lines} lines)  median {med * 1000:7.2f} ms   "
        f"p99 {p99(t) * 1000:7.2f} ms   {lines / med:,.0f} lines/s"
    )


def bench_cluster(runs: int) -> None:
    from hatui.lab import Lab, default_spec

    lab = Lab(default_spec())
    was_up = lab.spec.cluster_file.exists()
    if not was_up:
        lab.up()
    try:
        cf = str(lab.spec.cluster_file)
        ns = lab.spec.operator_ns

        def hatui(*extra: str) -> None:
            res = subprocess.run(
                [sys.executable, "-m", "hatui", "lint", "--cluster", cf, *extra], capture_output=True, text=True
            )
            assert res.returncode == 0, res.stdout + res.stderr

        key = lab.spec.ssh_dir / "id_ed25519"
        known = lab.spec.ssh_dir / "known_hosts"
        nodes = [n for n in lab.spec.nodes if n.keepalived]
        tmp = Path(tempfile.mkdtemp())

        def by_hand() -> None:
            for n in nodes:
                ssh = [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "ssh",
                    "-i",
                    str(key),
                    "-o",
                    f"UserKnownHostsFile={known}",
                    "-o",
                    "BatchMode=yes",
                    f"root@{n.address}",
                ]
                (tmp / n.name).write_bytes(
                    subprocess.run(
                        ssh + ["cat /etc/keepalived/keepalived.conf"], capture_output=True, check=True
                    ).stdout
                )
                subprocess.run(
                    ssh + ["keepalived -t -l -f /etc/keepalived/keepalived.conf"], capture_output=True, check=True
                )
            subprocess.run(["diff", str(tmp / nodes[0].name), str(tmp / nodes[1].name)], capture_output=True)

        rows = [
            ("hatui lint --cluster", timed(hatui, runs)),
            ("hatui lint --cluster --no-keepalived-t", timed(lambda: hatui("--no-keepalived-t"), runs)),
            ("by hand: ssh cat + keepalived -t per node, diff", timed(by_hand, runs)),
        ]
        base = statistics.median(rows[-1][1])
        for name, t in rows:
            print(
                f"cluster: {name:48} median {statistics.median(t) * 1000:7.0f} ms   p99 {p99(t) * 1000:7.0f} ms"
                f"   {statistics.median(t) / base:4.2f}x by hand"
            )
    finally:
        if not was_up:
            lab.down()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--no-lab", action="store_true", help="parsing only")
    args = ap.parse_args()
    bench_parse(args.runs)
    if not args.no_lab:
        if os.geteuid() != 0:
            print("cluster: skipped (the lab needs root)")
        else:
            bench_cluster(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
