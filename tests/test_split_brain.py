"""The split-brain runbook's judgement and plan, from what preflight reads (pure: no servers).

Seed 000's `kill -9` of keepalived on db1: db1 keeps the VIP, db2 takes it too, both take
writes. The lab test (tests/lab/test_split_brain_live.py) does it for real."""

from __future__ import annotations

import asyncio

import pytest

from hatui.mysql.status import MysqlStatus
from hatui.mysql.version import detect_version
from hatui.runbook.facts import Facts
from hatui.runbook.model import Verdict
from hatui.runbook.split_brain import SplitBrain, _count
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from tests.fake_access import VERSIONS, Ctx, FakeAccess, cluster

V = VERSIONS["mariadb-10.11"]


def side(state: str, *, read_only: bool = False) -> MysqlStatus:
    return MysqlStatus(
        up=True, version=detect_version(V), read_only=read_only, gtid_binlog_state=state, gtid_slave_pos=""
    )


def split(db1_state="1-1-100,2-2-50", db2_state="1-1-90,2-2-60", *, vip_on=("db1", "db2"), db1_ka=False) -> Facts:
    """db1 wrote 1-1-91..100 that db2 lacks (10), db2 wrote 2-2-51..60 that db1 lacks (10)."""
    c = cluster("track-file")
    store = Store(c)
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up"))
    for n, a in (("db1", "10.0.0.11"), ("db2", "10.0.0.12")):
        store.put(n, Kind.ADDRESSES, AddressObs(frozenset({a, "10.0.0.100"} if n in vip_on else {a})))
    store.put("db1", Kind.KEEPALIVED, KeepalivedProcObs(db1_ka, 10 if db1_ka else None))
    store.put("db2", Kind.KEEPALIVED, KeepalivedProcObs(True, 11))
    status = {"db1": side(db1_state), "db2": side(db2_state), "db3": side(db1_state, read_only=True)}
    for n, s in status.items():
        store.put(n, Kind.MYSQL, s)
    return Facts(snap=store.snapshot(), status=status)


def judged(keep=None, **kw):
    rb = SplitBrain(cluster("track-file"), keep)
    checks = rb.judge(split(**kw))
    return rb, {c.name: c for c in checks}, [c for c in checks if c.verdict == Verdict.FAIL]


def test_both_sides_are_shown_with_their_own_writes_and_the_survivor_with_why():
    rb, checks, failed = judged(db2_state="1-1-90,2-2-70")  # db2 has 20 of its own, db1 10
    assert failed == []
    assert "the writer VIP 10.0.0.100 is on db1, db2" in checks["a split brain"].reason
    assert checks["db1: writes the other side lacks"].reason.startswith("10 (1-1-91..100)")
    assert "keepalived not running" in checks["db1: writes the other side lacks"].reason
    assert checks["db2: writes the other side lacks"].reason.startswith("20 (2-2-51..70)")
    s = checks["the survivor"]
    assert s.verdict == Verdict.WARN and s.reason.startswith("db2 (more writes the other lacks)")
    assert "--keep db1" in s.fix  # never decided silently: the other choice is shown
    assert (rb.target, rb.loser) == ("db2", "db1")


def test_equal_writes_keep_the_side_whose_keepalived_runs_and_keep_overrides():
    rb, checks, _ = judged()
    assert rb.target == "db2" and "its keepalived runs" in checks["the survivor"].reason
    rb, checks, failed = judged("db1")
    assert failed == [] and (rb.target, rb.loser) == ("db1", "db2") and "--keep" in checks["the survivor"].reason


def test_no_split_brain_is_a_refusal_and_a_third_node_is_no_side():
    _, _, failed = judged(vip_on=("db2",), db1_state="1-1-90,2-2-60")
    # the VIP on db2 alone, but db1 is still writable: two writable masters are a split brain too
    assert failed == []
    rb = SplitBrain(cluster("track-file"))
    f = split(vip_on=("db2",))
    f.status["db1"] = side("1-1-100,2-2-50", read_only=True)
    (c,) = rb.judge(f)
    assert c.verdict == Verdict.FAIL and c.reason.startswith("none")
    with pytest.raises(ValueError):
        SplitBrain(cluster("track-file"), "nope")
    _, _, failed = judged("db3")
    assert [c.name for c in failed] == ["the survivor"]


@pytest.mark.parametrize("db1_ka", [False, True], ids=["keepalived-dead", "keepalived-running"])
def test_the_plan_is_what_is_sent_fence_then_the_vip(db1_ka):
    rb, _, failed = judged(db1_ka=db1_ka, db2_state="1-1-90,2-2-70")
    assert failed == []
    ctx = Ctx(FakeAccess(V))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for s in steps:
        asyncio.run(s.run(ctx))
    planned = [(a.node, a.kind, a.text) for s in steps for a in s.actions()]
    assert planned == [(a.node, a.kind, a.text) for a in ctx.access.sent]
    assert [s.key for s in steps] == ["fence", "drop_vip", "verify"] and steps[0].commits and steps[0].undo is None
    assert planned[0] == ("db1", "sql", "SET GLOBAL read_only = ON")
    drop = planned[1][2]
    if db1_ka:
        assert drop.startswith("service keepalived stop && ")  # the cluster file's stop_command
    else:  # keepalived is dead and left the address behind
        assert "ip addr del" in drop and "10.0.0.100" in drop
    assert all(n == "db1" for n, _, _ in planned)  # nothing is sent to the survivor


def test_counting_gtids():
    assert _count("1-1-5..9,2-2-3") == 6
    assert _count("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7-9") == 8
    assert _count("") == 0
