"""The chaos soak's plan and its accounting, pure: which faults a lab can take, a seeded schedule
of them (one fault or two overlapping), which incident each must raise, and the figures a soak
reports. bench/chaos.py runs it against the lab with the console and the wallboard watching."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .spec import LabSpec

DETECT_WITHIN = 3.0  # the bounds: the right incident within 3 s ...
CLEAR_WITHIN = 5.0  # ... and gone within 5 s of the repair


@dataclass(frozen=True)
class FaultKind:
    name: str  # as the report says it
    inject: str  # the Lab.fault that makes it
    repair: str  # the Lab.fault that undoes it
    daemon: str | None  # the node must run it (None: any node)
    family: str  # what it takes away: mysqld, keepalived, haproxy, sshd, network, disk
    clear_within: float = CLEAR_WITHIN  # from the repair to no incident naming the node
    # detection counts from the inject call's end, not its start: the fault is in place only
    # then (a volume is full once its last block is allocated: 2-5 s of allocating 512 MB on a
    # loaded machine), where a stop takes effect while its call waits
    from_end: bool = False


# MariaDB retries a write waiting for disk space once a minute (mysys' wait_for_free_space):
# space freed, the incident is true until that retry. The bound says so instead of hiding it.
DISK_RETRY = 60.0

KINDS: tuple[FaultKind, ...] = (
    FaultKind("kill-mysqld", "kill-mysqld", "start-mysqld", "mysqld", "mysqld"),
    FaultKind("stop-mysqld", "stop-mysqld", "start-mysqld", "mysqld", "mysqld"),
    FaultKind("freeze-mysqld", "freeze-mysqld", "thaw-mysqld", "mysqld", "mysqld"),
    FaultKind("kill-keepalived", "kill-keepalived", "start-keepalived", "keepalived", "keepalived"),
    FaultKind("stop-keepalived", "stop-keepalived", "start-keepalived", "keepalived", "keepalived"),
    FaultKind("kill-haproxy", "kill-haproxy", "start-haproxy", "haproxy", "haproxy"),
    FaultKind("partition", "partition", "heal", None, "network"),
    FaultKind("stop-sshd", "stop-sshd", "start-sshd", "sshd", "sshd"),
    # the binlogs' own tmpfs volume filled (never the machine's disk); the writes wait for space
    FaultKind(
        "fill-binlog", "fill-binlog", "free-binlog", "mysqld", "disk", clear_within=DISK_RETRY + 5.0, from_end=True
    ),
)

_DEAD_WRITER = frozenset({"dead_writer", "dead_writer_vip_moved", "dead_writer_no_vip"})
_DEAD_DB = frozenset({"dead_node", "replicas_on_dead_source"})
_UNREACHABLE = frozenset({"node_unreachable"})

# (family, role) -> the incident codes that are a right answer. A fault on the writer may show
# as its consequence too (the VIP moved to a node that is not ready yet: vip_on_bad_node).
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("mysqld", "writer"): _DEAD_WRITER,
    ("mysqld", "database"): _DEAD_DB,
    ("keepalived", "writer"): frozenset({"keepalived_down", "vip_on_bad_node"}),
    ("keepalived", "database"): frozenset({"keepalived_down"}),
    ("keepalived", "router"): frozenset({"keepalived_down"}),
    ("haproxy", "router"): frozenset({"router_problem", "router_no_rw_target"}),
    # Stopping sshd stops its listener only: the sessions the console holds live on (OpenSSH's
    # per-connection processes, as under systemd's KillMode=process), every reading still
    # flows, and nothing is wrong to show. The right answer is no incident naming the node.
    ("sshd", "writer"): frozenset(),
    ("sshd", "database"): frozenset(),
    ("sshd", "router"): frozenset(),
    ("network", "writer"): _UNREACHABLE | _DEAD_WRITER | {"split_brain"},
    ("network", "database"): _UNREACHABLE | _DEAD_DB,
    # a router cut off: its routes cannot be read (a router problem) before SSH's silence says
    # the host is unreachable
    ("network", "router"): _UNREACHABLE | {"router_problem"},
    # a writer waits to write its binlog; a replica's applier waits the same way (its own binlog:
    # log_slave_updates) once the writer sends it something
    ("disk", "writer"): frozenset({"disk_full"}),
    ("disk", "database"): frozenset({"disk_full"}),
}


def role_of(spec: LabSpec, node: str) -> str:
    if spec.node(node).router:
        return "router"
    return "writer" if node == spec.writer else "database"


def runs(spec: LabSpec, node: str, daemon: str) -> bool:
    n = spec.node(node)
    return {
        "mysqld": n.mysql,
        "keepalived": n.keepalived,
        "haproxy": n.router,
        "sshd": True,
    }[daemon]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    node: str
    role: str  # "writer", "database", "router", or "standby" (a database the writer may move to)

    @property
    def expected(self) -> frozenset[str]:
        if self.role == "standby":  # the writer may have moved to it (see plan_cycle)
            return EXPECTED[(self.kind.family, "database")] | EXPECTED[(self.kind.family, "writer")]
        return EXPECTED[(self.kind.family, self.role)]

    @property
    def quiet(self) -> bool:
        """Nothing is wrong for the console: the right answer is no incident naming the node."""
        return not self.expected

    @property
    def takes_writer(self) -> bool:
        """The writer's MySQL stops answering (or cannot be reached): writes must move (a standby:
        it may be the writer by then; the console suggests what fits either way)."""
        return self.role in ("writer", "standby") and self.kind.family in ("mysqld", "network")

    def __str__(self) -> str:
        return f"{self.kind.name} {self.node}"


def targets(spec: LabSpec) -> list[Fault]:
    """Every fault the lab can take: each kind on each node that runs what it takes away."""
    out = []
    for k in KINDS:
        for n in spec.nodes:
            if k.daemon is None or runs(spec, n.name, k.daemon):
                out.append(Fault(k, n.name, role_of(spec, n.name)))
    return out


@dataclass(frozen=True)
class CyclePlan:
    number: int
    faults: tuple[Fault, ...]  # one, or two overlapping (the second on another node)
    overlap_after: float  # seconds from the first fault to the second
    hold: float  # seconds the faults stay before the repairs


def _compatible(a: Fault, b: Fault) -> bool:
    """Two faults at once that still leave the cluster a way back without a rebuild: another
    node, and at most one that takes a MySQL server away (two would leave no source a repair
    could prove complete)."""
    if a.node == b.node:
        return False
    if "disk" in (a.kind.family, b.kind.family):
        return False  # a full binlog volume holds writes up to a minute after it is freed: alone
    mysql = {"mysqld", "network"}
    return not (a.kind.family in mysql and b.kind.family in mysql and "router" not in (a.role, b.role))


def plan_cycle(rng: random.Random, spec: LabSpec, number: int, *, overlap: float = 0.3) -> CyclePlan:
    """One cycle of the schedule. The same seed gives the same schedule for the same lab."""
    pool = targets(spec)
    first = rng.choice(pool)
    faults = [first]
    if rng.random() < overlap:
        others = [f for f in pool if _compatible(first, f)]
        if others:
            second = rng.choice(others)
            if first.role == "writer" and second.role == "database" and spec.node(second.node).keepalived:
                # the first fault may have moved the writer's VIP to this node (keepalived
                # stopped on the writer, its mysqld gone): then it is the writer, and a dead
                # writer is the right answer for it too (the first MMM soak expected dead_node)
                second = Fault(second.kind, second.node, "standby")
            faults.append(second)
    return CyclePlan(number, tuple(faults), round(rng.uniform(0.5, 2.5), 2), round(rng.uniform(3.0, 8.0), 2))


# ----------------------------------------------------------------------------- the report


@dataclass
class FaultResult:
    fault: str  # "kill-mysqld db1"
    expected: list[str]
    detected: float | None = None  # s from the fault to the right incident in the console
    wallboard: float | None = None  # s from the fault to the wallboard leaving OK
    cleared: float | None = None  # s from the last repair to no incident naming the node
    seen: list[str] = field(default_factory=list)  # every incident code shown naming the node
    quiet: bool | None = None  # a fault with nothing to show (sshd stopped): nothing was shown
    key_ms: float | None = None  # a key round trip in the console while the fault held
    clear_within: float = CLEAR_WITHIN  # its kind's bound (FaultKind.clear_within)


@dataclass
class RunbookRun:
    command: str  # as run, `hatui ...`
    exit: int
    said: str  # its last lines


@dataclass
class CycleResult:
    number: int
    faults: list[FaultResult]
    runbooks: list[RunbookRun] = field(default_factory=list)
    acked: int = 0  # rows the client was told committed this cycle
    lost: list[int] = field(default_factory=list)  # acknowledged, absent on the writer at the end
    lost_gtids: list[str] = field(default_factory=list)  # their GTIDs, as the server acknowledged them
    lost_elsewhere: int = 0  # of the lost, held by another server (a split brain's other side)
    recovered: int = 0  # absent on the new writer after the failover, present after the runbooks
    duplicated: int = 0
    stuck: list[str] = field(default_factory=list)  # incidents still shown when the lab was canonical
    rebuilt: bool = False
    rss_kb: int = 0
    events_held: int = 0  # log events the console's store holds after the cycle (it keeps at most 10 000)
    notes: list[str] = field(default_factory=list)
    error: str = ""  # the soak itself failed in this cycle (the lab could not be driven): why


def _quarters(rss_kb: Sequence[int]) -> str:
    """RSS after the first cycle and at the end of each quarter of them: growing or levelling out."""
    if not rss_kb:
        return "-"
    n = len(rss_kb)
    picks = sorted({0, *(max(0, (n * q) // 4 - 1) for q in (1, 2, 3, 4))})
    return ", ".join(str(rss_kb[i] // 1024) for i in picks)


def _ms(xs: Sequence[float]) -> str:
    if not xs:
        return "-"
    return f"median {statistics.median(xs):.2f} s, worst {max(xs):.2f} s"


@dataclass
class SoakReport:
    seed: int
    lab: str  # topology and options
    minutes: float
    cycles: list[CycleResult] = field(default_factory=list)
    console_crashes: int = 0
    wallboard_crashes: int = 0
    rss_start_kb: int = 0
    rss_end_kb: int = 0
    # the console's event loop late by 0.5 s or more: (seconds, where it was, its innermost frames)
    stalls: list[tuple[float, str]] = field(default_factory=list)

    def faults(self) -> Iterable[FaultResult]:
        return (f for c in self.cycles for f in c.faults)

    @property
    def lost(self) -> int:
        return sum(len(c.lost) for c in self.cycles)

    @property
    def missed(self) -> list[FaultResult]:
        return [f for f in self.faults() if f.detected is None and f.quiet is None]

    @property
    def noisy(self) -> list[FaultResult]:
        """Faults with nothing to show that got an incident all the same."""
        return [f for f in self.faults() if f.quiet is False]

    @property
    def late(self) -> list[FaultResult]:
        return [f for f in self.faults() if f.detected is not None and f.detected > DETECT_WITHIN]

    @property
    def slow_clear(self) -> list[FaultResult]:
        return [f for f in self.faults() if f.cleared is None or f.cleared > f.clear_within]

    @property
    def stuck(self) -> list[str]:
        return [f"cycle {c.number}: {s}" for c in self.cycles for s in c.stuck]

    def lines(self) -> list[str]:
        fs = list(self.faults())
        quiet = [f for f in fs if f.quiet is not None]
        det = [f.detected for f in fs if f.detected is not None]
        wb = [f.wallboard for f in fs if f.wallboard is not None]
        clr = [f.cleared for f in fs if f.cleared is not None]
        keys = [f.key_ms for f in fs if f.key_ms is not None]
        rss = [c.rss_kb for c in self.cycles if c.rss_kb]
        out = [
            f"chaos soak, seed {self.seed}: {self.lab}, {self.minutes:g} min, {len(self.cycles)} cycles, "
            f"{len(fs)} faults ({sum(len(c.faults) > 1 for c in self.cycles)} cycles with two at once)",
            f"  detected (right incident in the console): {len(det)}/{len(fs) - len(quiet)}, {_ms(det)}; "
            f"over {DETECT_WITHIN:g} s: {len(self.late)}; never: {len(self.missed)}",
            f"  nothing shown where nothing is wrong (sshd stopped, sessions live on): "
            f"{len(quiet) - len(self.noisy)}/{len(quiet)}",
            f"  wallboard left OK: {len(wb)}/{len(fs) - len(quiet)}, {_ms(wb)}",
            f"  cleared after the repair: {len(clr)}/{len(fs)}, {_ms(clr)}; over {CLEAR_WITHIN:g} s (a full binlog "
            f"volume: {DISK_RETRY + 5:g} s, MariaDB retries once a minute) or never: {len(self.slow_clear)}",
            "  console key round trip under fault: "
            + (f"median {statistics.median(keys):.0f} ms, worst {max(keys):.0f} ms" if keys else "-"),
            f"  console event loop late by 0.5 s or more: {len(self.stalls)} times"
            + (f", worst {max(x for x, _ in self.stalls):.2f} s" if self.stalls else ""),
            f"  console crashes {self.console_crashes}, wallboard crashes {self.wallboard_crashes}, "
            f"cycles the soak could not drive {sum(bool(c.error) for c in self.cycles)}",
            f"  rows acknowledged {sum(c.acked for c in self.cycles)}, lost {self.lost} "
            f"({sum(c.lost_elsewhere for c in self.cycles)} of them held by another server), "
            f"recovered by runbooks {sum(c.recovered for c in self.cycles)}, "
            f"duplicated {sum(c.duplicated for c in self.cycles)}",
            f"  runbooks run {sum(len(c.runbooks) for c in self.cycles)} "
            f"(failed {sum(r.exit != 0 for c in self.cycles for r in c.runbooks)}), "
            f"lab rebuilt {sum(c.rebuilt for c in self.cycles)} times",
            f"  RSS start {self.rss_start_kb // 1024} MB, end {self.rss_end_kb // 1024} MB, "
            f"max {max(rss, default=0) // 1024} MB; by quarter of the cycles {_quarters(rss)} MB; "
            f"log events the console holds at the end {self.cycles[-1].events_held if self.cycles else 0} "
            "(it keeps 10 000)",
        ]
        for f in self.missed + self.late:
            out.append(f"  ! {f.fault}: expected {'/'.join(f.expected)}, detected {f.detected}, shown {f.seen}")
        for f in self.noisy:
            out.append(f"  ! {f.fault}: nothing is wrong, yet it showed {f.seen}")
        for f in self.slow_clear:
            out.append(f"  ! {f.fault}: cleared {f.cleared}")
        for c in self.cycles:
            if c.lost:
                out.append(
                    f"  ! cycle {c.number}: {len(c.lost)} lost ({c.lost_elsewhere} on another server): ids "
                    f"{c.lost[:20]} gtids {c.lost_gtids[:20]}"
                )
            for r in c.runbooks:
                if r.exit != 0:
                    out.append(f"  ! cycle {c.number}: {r.command} exited {r.exit}: {r.said}")
        out += [f"  ! stuck: {s}" for s in self.stuck]
        out += [f"  ! cycle {c.number}: the soak failed: {c.error}" for c in self.cycles if c.error]
        return out
