"""The chaos soak's plan and report (hatui.lab.chaos), without a lab: the schedule a seed gives,
the faults each topology can take, what each must raise, and what the report says."""

from __future__ import annotations

import random

import pytest

from hatui.lab import FAULTS
from hatui.lab.chaos import (
    EXPECTED,
    KINDS,
    CycleResult,
    FaultResult,
    SoakReport,
    plan_cycle,
    targets,
)
from hatui.lab.spec import TOPOLOGIES, default_spec


def spec(topology: str):
    return default_spec(prefix="hatui-u-", state_dir="/nonexistent", subnet="198.18.0.0/24", topology=topology)


def test_every_fault_and_repair_is_one_the_lab_can_do():
    for k in KINDS:
        assert k.inject in FAULTS and k.repair in FAULTS, k


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_each_topology_takes_every_fault_its_nodes_can_and_each_has_an_expected_incident(topology):
    s = spec(topology)
    faults = targets(s)
    kinds = {f.kind.name for f in faults}
    assert {"kill-mysqld", "stop-mysqld", "freeze-mysqld", "partition", "stop-sshd"} <= kinds
    assert ("kill-keepalived" in kinds) and ("kill-haproxy" in kinds) == (topology == "primary-replicas")
    for f in faults:
        n = s.node(f.node)
        assert not (f.kind.family == "mysqld" and n.router) and not (f.kind.family == "haproxy" and not n.router)
        assert not (f.kind.family == "keepalived" and not n.keepalived)
        assert f.expected == EXPECTED[(f.kind.family, f.role)]
        assert bool(f.expected) != (f.kind.family == "sshd") and f.quiet == (f.kind.family == "sshd")
    assert [f.node for f in faults if f.role == "writer"] and {f.node for f in faults if f.role == "writer"} == {
        s.writer
    }


def schedule(s, seed: int):
    rng = random.Random(seed)
    return [plan_cycle(rng, s, i) for i in range(200)]


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_a_seed_gives_the_same_schedule_and_overlaps_never_take_two_mysql_servers(topology):
    s = spec(topology)
    a, b = schedule(s, 7), schedule(s, 7)
    assert a == b and a != schedule(s, 8)
    doubles = [p for p in a if len(p.faults) == 2]
    assert 30 < len(doubles) < 110  # about 30 % of the cycles overlap two faults
    for p in doubles:
        x, y = p.faults
        assert x.node != y.node
        takes_db = [f for f in p.faults if f.kind.family in ("mysqld", "network") and f.role != "router"]
        assert len(takes_db) <= 1, p
    assert len({str(f) for p in a for f in p.faults}) > len(targets(s)) * 0.8  # the schedule reaches most faults
    # a second fault on a standby after one on the writer: the writer may have moved to it, so a
    # dead writer is a right answer too (the first MMM soak expected only dead_node)
    after_writer = [y for p in doubles for x, y in [p.faults] if x.role == "writer" and s.node(y.node).keepalived]
    assert [y for y in after_writer if y.role == "standby"] or topology == "primary-replicas"
    for y in after_writer:
        if y.role != "router":
            assert y.role == "standby" and y.expected >= EXPECTED[(y.kind.family, "database")]
            assert y.expected >= EXPECTED[(y.kind.family, "writer")]


def test_the_report_counts_late_missed_slow_and_lost_and_names_them():
    r = SoakReport(seed=5, lab="dual-master", minutes=2)
    r.cycles = [
        CycleResult(1, [FaultResult("kill-mysqld db1", ["dead_writer"], detected=0.4, cleared=1.0, key_ms=12)]),
        CycleResult(
            2,
            [
                FaultResult("stop-mysqld db3", ["dead_node"], detected=3.5, cleared=7.0),
                FaultResult("partition db2", ["node_unreachable"], detected=None, seen=["dead_node"]),
            ],
        ),
        CycleResult(
            3,
            [
                FaultResult("stop-sshd db1", [], quiet=True, cleared=0.1),
                FaultResult("stop-sshd db2", [], quiet=False, seen=["node_unreachable"], cleared=0.1),
            ],
            acked=100,
            lost=[41, 42],
            lost_gtids=["1-1-77", "1-1-78"],
        ),
    ]
    assert [f.fault for f in r.late] == ["stop-mysqld db3"] and [f.fault for f in r.missed] == ["partition db2"]
    assert [f.fault for f in r.slow_clear] == ["stop-mysqld db3", "partition db2"] and r.lost == 2
    text = "\n".join(r.lines())
    assert "seed 5" in text and "detected (right incident in the console): 2/3" in text
    assert "nothing shown where nothing is wrong (sshd stopped, sessions live on): 1/2" in text
    assert [f.fault for f in r.noisy] == ["stop-sshd db2"] and "stop-sshd db2: nothing is wrong, yet" in text
    assert "lost 2" in text and "1-1-77" in text and "partition db2: expected node_unreachable" in text


def test_the_report_shows_whether_memory_levels_out():
    r = SoakReport(seed=5, lab="dual-master", minutes=2)
    r.cycles = [CycleResult(i, [], rss_kb=(100 + i) * 1024, events_held=50 * i) for i in range(1, 9)]
    text = "\n".join(r.lines())
    # after the first cycle, then at the end of each quarter: 2, 4, 6 and 8 cycles
    assert "by quarter of the cycles 101, 102, 104, 106, 108 MB" in text
    assert "log events the console holds at the end 400" in text


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_a_full_binlog_volume_is_injected_on_every_database_alone_with_its_own_clear_bound(topology):
    s = spec(topology)
    fills = [f for f in targets(s) if f.kind.name == "fill-binlog"]
    assert sorted(f.node for f in fills) == sorted(n.name for n in s.mysql_nodes)
    assert all(f.expected == {"disk_full"} for f in fills)
    rng = random.Random(7)
    plans = [plan_cycle(rng, s, i, overlap=1.0) for i in range(400)]
    with_fill = [p for p in plans if any(f.kind.name == "fill-binlog" for f in p.faults)]
    assert with_fill and all(len(p.faults) == 1 for p in with_fill)  # never overlapped
    r = SoakReport(
        1, "x", 1.0, [CycleResult(1, [FaultResult("fill-binlog db1", ["disk_full"], cleared=50.0, clear_within=65.0)])]
    )
    assert r.slow_clear == []  # MariaDB's next retry, within its bound
    r.cycles[0].faults[0].cleared = 70.0
    assert len(r.slow_clear) == 1
