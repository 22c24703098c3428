"""Time to repair a binlog gap of N transactions with `hatui repair-gap`, next to the by-hand way.

    .venv/bin/python bench/gap_repair.py [--sizes 1000,100000] [--runs 3] [--runs-large R]
                                         [--baseline-runs 1] [--keep-state] [--down]

Runs against its own lab (prefix and folder from $HATUI_LAB_PREFIX / $HATUI_LAB_DIR, default
hatui-b6- and /var/lib/hatui-lab-b6; --prefix/--dir override), brought up if it is not. For each
size N and each run, the unplanned failover of tests/lab/test_gap_live.py at scale:

1. canonical state: db1 the writer (a `hatui switchover --to db1` if needed), db2 and db3
   replicating from it, a fresh table labdb.gapbench;
2. the gap: STOP SLAVE IO_THREAD on db2, then ONE `mariadb` client inside db1 runs a generated
   script of N single-row INSERTs, each autocommitted (its own transaction and GTID). For the
   generation only, db1 runs with innodb_flush_log_at_trx_commit=2 (reset right after);
3. `kill-mysqld` db1; keepalived moves the VIP to db2, which turns writable; 5 rows written on db2;
4. `hatui repair-gap --from db1 --to db2 --yes`, the real CLI in a subprocess (HATUI_STATE_DIR
   a temp folder), timed end to end; its own step timings parsed from its output; db2's rows
   counted; a second run must say "nothing to do" (timed too);
5. back to canonical: start db1's mysqld, `hatui rejoin db1 --yes`, `hatui switchover --to db1 --yes`.

The baseline (--baseline-runs per size) builds the same gap, then does by hand what a DBA would,
without preview or conflict check: inside db1's node `mariadb-binlog --start-position=<GTID list>
<db1's binlogs from the file current when the gap began> > /tmp/gap.sql`, a copy of that file to
db2's /tmp (all node folders are on this host), and inside db2's node `mariadb < /tmp/gap.sql`.
Extract (+ copy) and apply are timed apart. The GTID list is db2's @@gtid_binlog_pos for each
domain db1's binlogs hold, capped at db1's own position: MariaDB 10.11's mariadb-binlog refuses a
list that leaves a domain out, and fails on db2's full position (exit 1, "never reached expected
GTID state" of db2's domain-2 GTID, which is beyond db1's files). Even with the capped list it
exits 1 with "Binary logs never reached expected GTID state of 2-2-X";
the script accepts that when the output holds exactly N GTIDs (and says so), else falls back to
the byte position db1 was at when the gap began. db2's rows are counted afterwards either way.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatui.lab import Lab, network
from hatui.lab.configs import NODE_BINLOG_DIR
from hatui.lab.spec import default_spec

TABLE = "labdb.gapbench"
GAP_BASE = 1_000_000  # ids of the rows only db1 gets
DB2_BASE = 9_000_000  # ids of the rows written on db2 after the failover
DB2_ROWS = 5


# ------------------------------------------------------------------ small helpers
def log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait(what: str, ok, timeout: float, every: float = 0.2) -> float:
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        try:
            last = ok()
        except Exception as exc:  # a node restarting: keep polling
            last = exc
        if last and not isinstance(last, Exception):
            return time.monotonic() - t0
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def vip_holders(lab: Lab) -> list[str]:
    return [n.name for n in lab.spec.nodes if lab.spec.vip in network.addresses(lab.spec.node_ns(n.name))]


def slave_status(lab: Lab, node: str) -> dict[str, str]:
    r = lab.node_run(node, ["mariadb", "-e", "SHOW SLAVE STATUS\\G"], timeout=10)
    out = {}
    for line in r.stdout.splitlines():
        k, sep, v = line.strip().partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def follows(lab: Lab, node: str, source: str) -> bool:
    st = slave_status(lab, node)
    return (
        st.get("Master_Host") == lab.spec.node(source).address
        and st.get("Slave_IO_Running") == "Yes"
        and st.get("Slave_SQL_Running") == "Yes"
    )


def scalar(lab: Lab, node: str, sql: str) -> str:
    return lab.sql(node, sql).strip()


def count_gap(lab: Lab, node: str, n: int) -> int:
    return int(scalar(lab, node, f"SELECT COUNT(*) FROM {TABLE} WHERE id BETWEEN {GAP_BASE} AND {GAP_BASE + n - 1}"))


def hatui(lab: Lab, state: Path, *args: str, timeout: float = 3600) -> tuple[subprocess.CompletedProcess, float]:
    """The CLI exactly as a DBA runs it (it enters the lab's operator namespace itself)."""
    env = dict(os.environ, HATUI_STATE_DIR=str(state))
    # as installed: with its compiled modules (a test runner's PYTHONDONTWRITEBYTECODE made every
    # run compile hatui again, ~0.5 s of a repeat run)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = [sys.executable, "-m", "hatui", args[0], "--cluster", str(lab.spec.cluster_file), *args[1:]]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    return r, time.monotonic() - t0


def must(r: subprocess.CompletedProcess, what: str) -> None:
    if r.returncode != 0:
        print(r.stdout[-4000:], r.stderr[-4000:], sep="\n")
        raise SystemExit(f"{what} failed (exit {r.returncode})")


# ------------------------------------------------------------------ the scenario
def canonical(lab: Lab, state: Path) -> None:
    """db1 the writer, db2 and db3 replicating from it, a fresh table everywhere."""
    if lab.node_run("db1", ["mariadb", "--connect-timeout=2", "-e", "SELECT 1"], timeout=10).returncode != 0:
        # left by an interrupted run: db1 dead after a failover. Bring it back as a replica
        # (discarding what db2 never got, if the interrupted run had not repaired the gap).
        log("db1's mysqld is down (an interrupted run): starting it and rejoining it")
        lab.fault("start-mysqld", "db1")
        r, _ = hatui(lab, state, "rejoin", "db1", "--yes", timeout=600)
        if r.returncode != 0:
            r, _ = hatui(lab, state, "rejoin", "db1", "--discard-errant", "--yes", timeout=600)
            must(r, "hatui rejoin db1 --discard-errant")
    if vip_holders(lab) != ["db1"]:
        r, s = hatui(lab, state, "switchover", "--to", "db1", "--yes", timeout=300)
        must(r, "hatui switchover --to db1")
        log(f"switchover to db1 in {s:.1f} s")
    for node in ("db2", "db3"):
        try:
            wait(f"{node} following db1", lambda: follows(lab, node, "db1"), 20)
        except SystemExit:
            # after an interrupted run: it may hold transactions discarded on db1
            log(f"{node} does not follow db1: `hatui rejoin {node} --discard-errant`")
            r, _ = hatui(lab, state, "rejoin", node, "--discard-errant", "--yes", timeout=600)
            must(r, f"hatui rejoin {node} --discard-errant")
    wait("db2 and db3 following db1", lambda: follows(lab, "db2", "db1") and follows(lab, "db3", "db1"), 60)
    wait("db1 writable", lambda: scalar(lab, "db1", "SELECT @@read_only") == "0", 30)
    lab.sql("db1", f"DROP TABLE IF EXISTS {TABLE}")
    lab.sql("db1", f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, v VARCHAR(40))")
    lab.sql("db1", f"INSERT INTO {TABLE} VALUES (1,'orig'),(2,'orig'),(3,'orig')")
    want = scalar(lab, "db1", "SELECT @@gtid_binlog_pos")
    wait(
        "the fresh table on db2 and db3",
        lambda: all(scalar(lab, n, f"SELECT COUNT(*) FROM {TABLE}") == "3" for n in ("db2", "db3")),
        60,
    )
    log(f"canonical: db1 writer at {want}")


@dataclass
class GapInfo:
    n: int
    gen_s: float
    db1_pos: str
    first_file: str  # db1's binlog current when the gap began
    first_pos: int  # and its position then


def make_gap(lab: Lab, n: int) -> GapInfo:
    """db2 misses db1's last n transactions; db1's mysqld dies; the VIP fails over to db2."""
    lab.sql("db2", "STOP SLAVE IO_THREAD")
    first_file, first_pos = lab.sql("db1", "SHOW MASTER STATUS").split("\t")[:2]
    script = lab.spec.node_dir("db1") / "tmp" / "gapgen.sql"
    with open(script, "w") as f:
        for i in range(n):
            f.write(f"INSERT INTO {TABLE} VALUES ({GAP_BASE + i}, 'only on db1 {i}');\n")
    old_flush = scalar(lab, "db1", "SELECT @@innodb_flush_log_at_trx_commit")
    lab.sql("db1", "SET GLOBAL innodb_flush_log_at_trx_commit=2")
    try:
        t0 = time.monotonic()
        r = lab.node_run("db1", ["sh", "-c", "mariadb --batch < /tmp/gapgen.sql"], timeout=3600)
        gen = time.monotonic() - t0
    finally:
        lab.sql("db1", f"SET GLOBAL innodb_flush_log_at_trx_commit={old_flush}")
    script.unlink()
    if r.returncode != 0:
        raise SystemExit(f"generating the gap failed: {r.stderr.strip()[-800:]}")
    got = count_gap(lab, "db1", n)
    if got != n:
        raise SystemExit(f"db1 holds {got} gap rows, expected {n}")
    if count_gap(lab, "db2", n) != 0:
        raise SystemExit("db2 received gap rows: its IO thread was not stopped")
    pos = scalar(lab, "db1", "SELECT @@gtid_binlog_pos")
    log(
        f"gap: {n} transactions on db1 in {gen:.1f} s ({n / gen:.0f}/s, one mariadb client, "
        f"flush_log_at_trx_commit=2, reset to {old_flush}); db1 at {pos}"
    )
    lab.fault("kill-mysqld", "db1")
    took = wait(
        "the VIP on db2, writable",
        lambda: vip_holders(lab) == ["db2"] and scalar(lab, "db2", "SELECT @@read_only") == "0",
        60,
    )
    for i in range(DB2_ROWS):  # one transaction each, as clients would
        lab.sql("db2", f"INSERT INTO {TABLE} VALUES ({DB2_BASE + i}, 'on db2 {i}')")
    log(f"db1 mysqld killed; VIP on db2 and writable after {took:.1f} s; {DB2_ROWS} rows written on db2")
    return GapInfo(n, gen, pos, first_file.strip(), int(first_pos))


def back_to_canonical(lab: Lab, state: Path) -> None:
    """What a DBA does after the repair: db1 back as a replica, then the planned switchover."""
    lab.fault("start-mysqld", "db1")
    r, s = hatui(lab, state, "rejoin", "db1", "--yes", timeout=600)
    if r.returncode != 0:  # only after a failed repair: db1 holds what db2 never got
        log(f"rejoin db1 refused (exit {r.returncode}): rejoining with --discard-errant")
        r, s = hatui(lab, state, "rejoin", "db1", "--discard-errant", "--yes", timeout=600)
    must(r, "hatui rejoin db1")
    log(f"rejoin db1 in {s:.1f} s")
    r, s = hatui(lab, state, "switchover", "--to", "db1", "--yes", timeout=600)
    must(r, "hatui switchover --to db1")
    log(f"switchover to db1 in {s:.1f} s")


# ------------------------------------------------------------------ measurements
_READ = re.compile(r"read (\d+) transaction\(s\) from (\d+) binlog\(s\) of \S+ in ([\d.]+) s; (\d+) not on")
_REPLAYED = re.compile(r"replayed (\d+) transaction\(s\) on \S+ in ([\d.]+) s")
_STEP = re.compile(r"^\s*✔ (.*) \(([\d.]+) s\)$", re.M)


@dataclass
class HatuiRun:
    n: int
    total: float
    read_tx: int
    read_files: int
    extract: float  # download + parse of the dumps, as hatui reports it
    replayed: int
    apply: float  # the replay, as hatui reports it
    verify: float
    again: float
    again_ok: bool
    verified: int
    gen: float
    out_tail: str = ""


def hatui_run(lab: Lab, n: int, state_root: Path) -> HatuiRun:
    state = Path(tempfile.mkdtemp(prefix=f"gap-{n}-", dir=state_root))
    canonical(lab, state)
    g = make_gap(lab, n)
    r, total = hatui(lab, state, "repair-gap", "--from", "db1", "--to", "db2", "--yes")
    if r.returncode != 0:
        print(r.stdout[-6000:], r.stderr[-4000:], sep="\n")
        raise SystemExit(f"hatui repair-gap failed (exit {r.returncode}) after {total:.1f} s; state folder {state}")
    (state / "repair-gap.out").write_text(r.stdout + r.stderr)
    m_read, m_rep = _READ.search(r.stdout), _REPLAYED.search(r.stdout)
    if not m_read or not m_rep:
        print(r.stdout[-6000:])
        raise SystemExit("could not find the step timings in hatui's output")
    steps = _STEP.findall(r.stdout)
    verify = next((float(s) for text, s in steps if "now has every transaction" in text), float("nan"))
    verified = count_gap(lab, "db2", n)
    others = scalar(lab, "db2", f"SELECT COUNT(*) FROM {TABLE} WHERE id >= {DB2_BASE}")
    if verified != n or others != str(DB2_ROWS):
        raise SystemExit(f"db2 has {verified}/{n} recovered rows and {others}/{DB2_ROWS} of its own")
    r2, again = hatui(lab, state, "repair-gap", "--from", "db1", "--to", "db2", "--yes", timeout=1800)
    again_ok = r2.returncode == 0 and "nothing to do" in r2.stdout
    if not again_ok:
        print(r2.stdout[-3000:], r2.stderr[-2000:], sep="\n")
    res = HatuiRun(
        n,
        total,
        int(m_read[1]),
        int(m_read[2]),
        float(m_read[3]),
        int(m_rep[1]),
        float(m_rep[2]),
        verify,
        again,
        again_ok,
        verified,
        g.gen_s,
    )
    log(
        f"hatui repair-gap: {total:.1f} s end to end; read {res.read_tx} tx from {res.read_files} binlog(s) "
        f"in {res.extract:.1f} s; replayed {res.replayed} in {res.apply:.1f} s; db2 has {verified}/{n}; "
        f"second run {again:.1f} s ({'nothing to do' if again_ok else 'NOT nothing to do'})"
    )
    back_to_canonical(lab, state)
    return res


@dataclass
class BaseRun:
    n: int
    extract: float
    copy: float
    apply: float
    verified: int
    script_mb: float
    start: str
    files: list[str] = field(default_factory=list)
    note: str = ""


def binlogs_from(lab: Lab, first: str) -> list[str]:
    # the binlogs live on the node's own volume (a tmpfs in its mount namespace): read inside it
    r = lab.node_run("db1", ["cat", f"{NODE_BINLOG_DIR}/mysql-bin.index"], timeout=30)
    if r.returncode != 0:
        raise SystemExit(f"cannot read db1's binlog index: {r.stderr.strip()[:300]}")
    index = r.stdout.split()
    names = [Path(x).name for x in index]
    return names[names.index(first) :] if first in names else names


def start_position(db2_pos: str, db1_pos: str) -> str:
    """What db2 has of each domain db1's binlogs hold, as a GTID list: db2's seq, capped at
    db1's (db2's own new writes in domain 2 are beyond anything in db1's files, and
    mariadb-binlog refuses a domain it never reaches or one left out)."""
    have = {int(g.split("-")[0]): g for g in db2_pos.split(",") if g}
    out = []
    for g in db1_pos.split(","):
        if not g:
            continue
        d, srv, seq = (int(x) for x in g.split("-"))
        mine = have.get(d)
        if mine is None:
            out.append(f"{d}-{srv}-0")
            continue
        d2, s2, q2 = (int(x) for x in mine.split("-"))
        out.append(mine if q2 <= seq else g)
    return ",".join(out)


_NEVER_REACHED = re.compile(r"^ERROR: Binary logs never reached expected GTID state of [\d,-]+$")


def baseline_run(lab: Lab, n: int, state_root: Path) -> BaseRun:
    state = Path(tempfile.mkdtemp(prefix=f"base-{n}-", dir=state_root))
    canonical(lab, state)
    g = make_gap(lab, n)
    db2_pos = scalar(lab, "db2", "SELECT @@gtid_binlog_pos")
    start = start_position(db2_pos, g.db1_pos)
    files = binlogs_from(lab, g.first_file)
    paths = " ".join(f"{NODE_BINLOG_DIR}/{f}" for f in files)
    out1 = lab.spec.node_dir("db1") / "tmp" / "gap.sql"
    out2 = lab.spec.node_dir("db2") / "tmp" / "gap.sql"
    note = f"--start-position={start} (db2 at {db2_pos})"
    t0 = time.monotonic()
    r = lab.node_run(
        "db1", ["sh", "-c", f"mariadb-binlog --start-position={start} {paths} > /tmp/gap.sql"], timeout=3600
    )
    extract = time.monotonic() - t0
    errs = [ln for ln in r.stderr.splitlines() if ln.strip()]
    gtids = len(re.findall(rb"\tGTID \d+-\d+-\d+", out1.read_bytes())) if out1.exists() else 0
    if r.returncode != 0 and errs and all(_NEVER_REACHED.match(ln) for ln in errs) and gtids == n:
        note += f'; mariadb-binlog exit {r.returncode} with "{errs[0][7:]}", output nonetheless exactly the gap'
    elif r.returncode != 0 or gtids != n:
        # the by-hand fallback: byte position where db2 stopped (the file current when the gap began)
        log(
            f"mariadb-binlog --start-position={start}: exit {r.returncode}, {gtids} GTIDs ({' | '.join(errs)[:300]}); "
            f"falling back to the byte position"
        )
        note = (
            f"byte position {g.first_pos} of {g.first_file} (GTID form: exit {r.returncode}, {gtids} GTIDs, "
            f"{' | '.join(errs)[:200]})"
        )
        t0 = time.monotonic()
        r = lab.node_run(
            "db1", ["sh", "-c", f"mariadb-binlog --start-position={g.first_pos} {paths} > /tmp/gap.sql"], timeout=3600
        )
        extract = time.monotonic() - t0
        gtids = len(re.findall(rb"\tGTID \d+-\d+-\d+", out1.read_bytes()))
        if r.returncode != 0 or gtids != n:
            raise SystemExit(f"mariadb-binlog by byte position: exit {r.returncode}, {gtids} GTIDs: {r.stderr[:500]}")
    t0 = time.monotonic()
    shutil.copyfile(out1, out2)
    copy = time.monotonic() - t0
    size = out2.stat().st_size / 1e6
    t0 = time.monotonic()
    r = lab.node_run("db2", ["sh", "-c", "mariadb < /tmp/gap.sql"], timeout=3600)
    apply = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit(f"mariadb < gap.sql on db2 failed after {apply:.1f} s: {r.stderr.strip()[-800:]}")
    out1.unlink()
    out2.unlink()
    verified = count_gap(lab, "db2", n)
    log(
        f"baseline: mariadb-binlog {note} {' '.join(files)} in {extract:.1f} s ({size:.1f} MB, {gtids} GTIDs), "
        f"copy {copy:.2f} s, mariadb < gap.sql on db2 in {apply:.1f} s; db2 has {verified}/{n}"
    )
    res = BaseRun(n, extract, copy, apply, verified, size, start, files, note)
    back_to_canonical(lab, state)
    return res


# ------------------------------------------------------------------ report
def sec(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def med_worst(vals: list[float]) -> str:
    return f"{sec(statistics.median(vals))} / {sec(max(vals))}" if vals else "-"


def med(vals: list[float], fmt: str | None = None) -> str:
    if not vals:
        return "-"
    m = statistics.median(vals)
    return fmt.format(m) if fmt else sec(m)


def report(sizes: list[int], hr: dict[int, list[HatuiRun]], br: dict[int, list[BaseRun]]) -> None:
    print()
    print("binlog gap repair, MariaDB 10.11 lab (3 nodes in network namespaces on this host), seconds")
    cols = [
        "N",
        "runs",
        "hatui total med/worst",
        "extract+parse",
        "apply",
        "tx/s applied",
        "rest",
        "2nd run",
        "baseline extract",
        "baseline apply",
        "rows verified",
    ]
    rows = []
    for n in sizes:
        h, b = hr.get(n, []), br.get(n, [])
        rest = [x.total - x.extract - x.apply for x in h]
        rows.append(
            [
                f"{n:,}",
                str(len(h)),
                med_worst([x.total for x in h]),
                med([x.extract for x in h]),
                med([x.apply for x in h]),
                med([x.replayed / x.apply for x in h if x.apply], "{:.0f}"),
                med(rest),
                med([x.again for x in h]) + ("" if all(x.again_ok for x in h) else " (!)"),
                med([x.extract + x.copy for x in b]) + (f" ×{len(b)}" if b else ""),
                med([x.apply for x in b]),
                " ".join(f"{x.verified}/{n}" for x in h)
                + ("; base " + " ".join(f"{x.verified}/{n}" for x in b) if b else ""),
            ]
        )
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.rjust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    print()
    print(
        "hatui total: wall clock of the `hatui repair-gap --yes` subprocess (Python start, SSH, fencing "
        "checks, extract, preview, conflict probe, replay, verify)."
    )
    print(
        'extract+parse / apply: hatui\'s own figures from its output ("read K transaction(s) ... in Y s", '
        '"replayed N transaction(s) ... in X s"); rest = total - both.'
    )
    print(
        "tx/s applied = replayed / apply. 2nd run: wall clock of the repeat run, which must say "
        '"nothing to do" ((!) if it did not).'
    )
    print(
        "baseline: mariadb-binlog inside db1's node (+ copy of the file to db2's folder) / mariadb < "
        "gap.sql inside db2's node; no preview, no conflict check."
    )
    for n in sizes:
        for x in hr.get(n, []):
            print(
                f"  N={n}: hatui read {x.read_tx} tx from {x.read_files} binlog(s); replayed {x.replayed}; "
                f"verify step {x.verify:.2f} s; gap generated in {x.gen:.1f} s"
            )
        for x in br.get(n, []):
            print(
                f"  N={n}: baseline {x.note} over {', '.join(x.files)}: {x.script_mb:.1f} MB script; "
                f"extract {x.extract:.1f} s + copy {x.copy:.2f} s; apply {x.apply:.1f} s"
            )
    print(
        "gap generation ran with innodb_flush_log_at_trx_commit=2 on db1 (reset afterwards); "
        "replays ran with db2's settings unchanged."
    )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    ap.add_argument("--sizes", default="1000,100000", help="gap sizes, comma separated (default 1000,100000)")
    ap.add_argument("--runs", type=int, default=3, help="hatui runs per size (default 3)")
    ap.add_argument("--runs-large", type=int, default=None, help="hatui runs for sizes >= 50000 (default: --runs)")
    ap.add_argument("--baseline-runs", type=int, default=1, help="baseline runs per size (default 1; 0: none)")
    ap.add_argument("--prefix", default=os.environ.get("HATUI_LAB_PREFIX", "hatui-b6-"))
    ap.add_argument("--dir", default=os.environ.get("HATUI_LAB_DIR", "/var/lib/hatui-lab-b6"))
    ap.add_argument("--keep-state", action="store_true", help="keep the hatui state folders (recovery dumps)")
    ap.add_argument("--down", action="store_true", help="take the lab down afterwards")
    args = ap.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    lab = Lab(default_spec(prefix=args.prefix, state_dir=args.dir))
    t_all = time.monotonic()
    if lab.up():
        print(f"brought the lab up ({args.prefix}, {args.dir})")
    state_root = Path(tempfile.mkdtemp(prefix="hatui-gapbench-"))
    hr: dict[int, list[HatuiRun]] = {}
    br: dict[int, list[BaseRun]] = {}
    try:
        for n in sizes:
            runs = args.runs_large if (args.runs_large is not None and n >= 50_000) else args.runs
            print(f"N={n}: {runs} hatui run(s), {args.baseline_runs} baseline run(s)", flush=True)
            for _ in range(runs):
                hr.setdefault(n, []).append(hatui_run(lab, n, state_root))
            for _ in range(args.baseline_runs):
                br.setdefault(n, []).append(baseline_run(lab, n, state_root))
    finally:
        report(sizes, hr, br)
        print(f"whole benchmark: {time.monotonic() - t_all:.0f} s")
        if args.keep_state:
            print(f"hatui state folders kept in {state_root}")
        else:
            shutil.rmtree(state_root, ignore_errors=True)
        if args.down:
            lab.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
