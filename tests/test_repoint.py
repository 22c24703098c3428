"""The repoint runbook's judgement and plan, from what preflight reads (pure: no servers).

Seed 002's pitfall: keepalived moved the VIP to db2 when db1 died; db3 still pulls from db1.
The lab test (tests/lab/test_repoint_live.py) does it for real."""

from __future__ import annotations

import asyncio

import pytest

from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.runbook.facts import Facts
from hatui.runbook.model import Verdict
from hatui.runbook.repoint import Repoint
from hatui.state import AddressObs, Kind, Store
from tests.fake_access import VERSIONS, Ctx, FakeAccess, cluster

MYSQL_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"


def ch(host: str, io: bool = True) -> ReplicationChannel:
    return ReplicationChannel(name="", source_host=host, io_running=io, sql_running=True)


def status(version: str, *, read_only: bool, channels=(), have: int = 100, errant: bool = False) -> MysqlStatus:
    v = detect_version(version)
    if v.is_mariadb:
        state = f"0-1-{have}" + (",3-3-5" if errant else "")
        return MysqlStatus(
            up=True,
            version=v,
            read_only=read_only,
            channels=tuple(channels),
            gtid_binlog_state=state,
            gtid_slave_pos=f"0-1-{have}",
        )
    executed = f"{MYSQL_UUID}:1-{have}" + (",aaaaaaaa-71ca-11e1-9e33-c80aa9429562:1-5" if errant else "")
    return MysqlStatus(
        up=True, version=v, read_only=read_only, channels=tuple(channels), gtid_mode="ON", gtid_executed=executed
    )


def after_failover(version: str, *, db3: MysqlStatus | None = None, db1_up: bool = False) -> Facts:
    """db1 died, the VIP is on db2 (writable), db3 still pulls from db1."""
    c = cluster("track-file")
    store = Store(c)
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", "10.0.0.100"})))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
    st = {
        "db1": status(version, read_only=True, channels=[ch("10.0.0.12")])
        if db1_up
        else MysqlStatus.down("Can't connect to MySQL server on '10.0.0.11' (111)"),
        "db2": status(version, read_only=False, channels=[ch("10.0.0.11", io=False)], have=120),
        "db3": db3 or status(version, read_only=True, channels=[ch("10.0.0.11", io=False)]),
    }
    for n, s in st.items():
        store.put(n, Kind.MYSQL, s)
    return Facts(snap=store.snapshot(), status=st)


def judged(version: str, nodes=None, **kw):
    rb = Repoint(cluster("track-file"), nodes)
    checks = rb.judge(after_failover(version, **kw))
    return rb, checks, [c for c in checks if c.verdict == Verdict.FAIL]


@pytest.mark.parametrize("flavor", list(VERSIONS))
def test_the_replica_of_the_dead_writer_is_repointed_and_the_plan_is_what_is_sent(flavor):
    rb, checks, failed = judged(VERSIONS[flavor])
    assert failed == [], failed
    assert rb.writer == rb.target == "db2" and list(rb.moves) == ["db3"]  # never the writer's own channel
    ctx = Ctx(FakeAccess(VERSIONS[flavor]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for s in steps:
        asyncio.run(s.run(ctx))
    planned = [(a.node, a.text) for s in steps for a in s.actions()]
    assert planned == [(a.node, a.text) for a in ctx.access.sent]
    text = "\n".join(t for _, t in planned)
    assert "10.0.0.12" in text and "10.0.0.11" not in text
    assert {n for n, _ in planned} == {"db2", "db3"}  # reads the writer's position, writes only db3
    if flavor == "mysql-8.4":
        assert "MASTER" not in text and "SLAVE" not in text
    assert [s.key for s in steps] == ["repoint_db3", "catch_up"] and steps[0].commits


def test_a_replica_holding_what_the_writer_lacks_is_refused_with_the_way_out():
    rb, _, failed = judged(
        VERSIONS["mariadb-10.11"],
        db3=status(VERSIONS["mariadb-10.11"], read_only=True, channels=[ch("10.0.0.11", io=False)], errant=True),
    )
    (f,) = failed
    assert "db3" in f.name and "never had" in f.reason and "repair-gap" in f.fix
    assert rb.moves == {} and rb.steps(None) == []  # type: ignore[arg-type]


def test_without_gtids_it_refuses_and_says_why():
    v = VERSIONS["mysql-8.0.30"]
    db3 = status(v, read_only=True, channels=[ch("10.0.0.11", io=False)])
    db3 = MysqlStatus(**{**db3.__dict__, "gtid_mode": "OFF"})
    _, _, failed = judged(v, db3=db3)
    (f,) = failed
    assert "GTIDs are off" in f.reason and "relay log" in f.fix


def test_nothing_to_repoint_is_a_refusal_not_an_empty_run():
    v = VERSIONS["mariadb-10.11"]
    _, _, failed = judged(v, db3=status(v, read_only=True, channels=[ch("10.0.0.12")]))
    (f,) = failed
    assert f.name == "replicas to repoint" and f.reason.startswith("none")


def test_a_chain_through_a_live_node_is_left_alone_unless_named():
    v = VERSIONS["mysql-8.4"]
    rb, _, failed = judged(v, db1_up=True)
    assert rb.moves == {} and [f.name for f in failed] == ["replicas to repoint"]
    rb, _, failed = judged(v, ["db3"], db1_up=True)
    assert failed == [] and list(rb.moves) == ["db3"]


def test_naming_the_writer_is_refused():
    _, _, failed = judged(VERSIONS["mysql-8.4"], ["db2"])
    assert [f.name for f in failed] == ["db2 is not the writer"]


def test_the_writer_is_read_again_after_the_replicas_so_its_newest_writes_are_not_errant():
    # gather reads every node at once: under writes db3 (through db1's relay) already holds what
    # the writer committed after its own reading was taken (the chaos soak: refused, then passed)
    from hatui.runbook.facts import reread_writer

    v = VERSIONS["mariadb-10.11"]
    facts = after_failover(v, db3=status(v, read_only=True, channels=[ch("10.0.0.11", io=False)], have=125))
    assert judged_facts(facts)[1], "the stale reading makes db3 look diverged"

    class Sql:
        def __init__(self, st):
            self.st = st

        async def status(self, *, timeout=10.0):
            if isinstance(self.st, Exception):
                raise self.st
            return self.st

    class Access:
        def __init__(self, st):
            self.st = st

        def sql(self, node):
            assert node == "db2"
            return Sql(self.st)

    class Reread:
        def __init__(self, st):
            self.access = Access(st)

    asyncio.run(reread_writer(Reread(OSError("gone")), facts, "db2"))  # type: ignore[arg-type]
    assert judged_facts(facts)[1]  # a failed read leaves the first one
    newer = status(v, read_only=False, channels=[ch("10.0.0.11", io=False)], have=126)
    asyncio.run(reread_writer(Reread(newer), facts, "db2"))  # type: ignore[arg-type]
    rb, failed = judged_facts(facts)
    assert failed == [] and list(rb.moves) == ["db3"]


def judged_facts(facts):
    rb = Repoint(cluster("track-file"), None)
    return rb, [c for c in rb.judge(facts) if c.verdict == Verdict.FAIL]
