"""The failover runbook's judgement and plan, from what preflight reads (pure: no servers).

Seed 002: the primary db1 behind HAProxy routers died, nothing took over; db2 and db3 were its
replicas, one further behind than the other. The lab test (tests/lab/test_failover_live.py) does
it for real, with the dead primary's binlogs read from its disk."""

from __future__ import annotations

import asyncio

import pytest

from hatui.mysql.fencefile import fence_restart_command
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.routers import RouterObs
from hatui.routers.model import Route, RouteServer, ServerState
from hatui.runbook.facts import Facts
from hatui.runbook.failover import Failover, errant_of
from hatui.runbook.model import Verdict
from hatui.state import Kind, Store
from tests.fake_access import VERSIONS, Ctx, FakeAccess, cluster

OLD_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
UUIDS = {"db2": "aaaaaaaa-71ca-11e1-9e33-c80aa9429562", "db3": "bbbbbbbb-71ca-11e1-9e33-c80aa9429562"}
IDS = {"db1": 1, "db2": 2, "db3": 3}


def replica(
    node: str, version: str, *, executed: int, received: int, errant: int = 0, log_updates: bool = True, gtid=True
) -> MysqlStatus:
    """A replica of the dead db1 (10.0.0.11): its IO thread can no longer connect."""
    v = detect_version(version)
    if v.is_mariadb:
        own = f",0-{IDS[node]}-{executed + errant}" if errant else ""  # seq numbers are the domain's
        ch = ReplicationChannel(
            name="",
            source_host="10.0.0.11",
            source_server_id=1,
            io_state="Connecting",
            sql_running=True,
            gtid_io_pos=f"0-1-{received}",
            using_gtid="Slave_Pos",
        )
        return MysqlStatus(
            up=True,
            version=v,
            server_id=IDS[node],
            read_only=True,
            log_bin=True,
            log_slave_updates=log_updates,
            channels=(ch,),
            gtid_binlog_state=f"0-1-{executed}{own}",
            gtid_slave_pos=f"0-1-{executed}",
        )
    own = f",{UUIDS[node]}:1-{errant}" if errant else ""
    ch = ReplicationChannel(
        name="",
        source_host="10.0.0.11",
        source_server_id=1,
        source_uuid=OLD_UUID,
        io_state="Connecting",
        sql_running=True,
        retrieved_gtid_set=f"{OLD_UUID}:1-{received}",
        auto_position=True,
    )
    return MysqlStatus(
        up=True,
        version=v,
        server_id=IDS[node],
        server_uuid=UUIDS[node],
        read_only=True,
        log_bin=True,
        log_slave_updates=log_updates,
        gtid_mode="ON" if gtid else "OFF",
        channels=(ch,),
        gtid_executed=f"{OLD_UUID}:1-{executed}{own}",
    )


def router(*servers: tuple[str, str, ServerState]) -> RouterObs:
    rs = tuple(RouteServer(n, a, 3306, s) for n, a, s in servers)
    return RouterObs("haproxy", (Route("rw", "writer", rs),))


def dead_primary(version: str, *, db1: MysqlStatus | None = None, **over: MysqlStatus) -> Facts:
    c = cluster("router")
    store = Store(c)
    st = {
        "db1": db1 or MysqlStatus.down("Can't connect to MySQL server on '10.0.0.11' (111)"),
        "db2": over.get("db2") or replica("db2", version, executed=118, received=120),
        "db3": over.get("db3") or replica("db3", version, executed=100, received=100),
    }
    for n, s in st.items():
        store.put(n, Kind.MYSQL, s)
    rt = router(
        ("db1", "10.0.0.11", ServerState.DOWN),
        ("db2", "10.0.0.12", ServerState.MAINT),
        ("db3", "10.0.0.13", ServerState.MAINT),
    )
    return Facts(snap=store.snapshot(), status=st, routers={"r1": rt})


def judged(version: str, to: str | None = None, *, discard: bool = False, **kw):
    rb = Failover(cluster("router"), to, discard_errant=discard)
    checks = rb.judge(dead_primary(version, **kw))
    return rb, checks, [c for c in checks if c.verdict == Verdict.FAIL]


@pytest.mark.parametrize("flavor", list(VERSIONS))
def test_the_most_advanced_replica_is_chosen_with_its_evidence_and_the_plan_is_what_is_sent(flavor):
    rb, checks, failed = judged(VERSIONS[flavor])
    assert failed == [], failed
    assert rb.old == "db1" and rb.target == "db2" and rb.replicas == ["db3"] and rb.source is None
    chosen = next(c for c in checks if c.name.startswith("candidate db2"))
    # what it holds counts what its IO thread received, not only what it applied
    assert "chosen: the most advanced" in chosen.name and "holds 120 of the dead writer's" in chosen.reason
    assert "errant: none" in chosen.reason and "binlog on" in chosen.reason
    other = next(c for c in checks if c.name == "candidate db3")
    assert "holds 100" in other.reason
    ctx = Ctx(FakeAccess(VERSIONS[flavor]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for s in steps:
        asyncio.run(s.run(ctx))
    planned = [(a.node, a.text) for s in steps for a in s.actions()]
    assert planned == [(a.node, a.text) for a in ctx.access.sent]
    keys = [s.key for s in steps]
    # the dead writer fenced first, the candidate drains its relay log before it is writable,
    # the routers turn to it before the other replica is repointed
    assert keys.index("fence") < keys.index("relay") < keys.index("promote") < keys.index("route")
    assert keys.index("route") < keys.index("repoint_db3") < keys.index("catch_up")
    text = "\n".join(t for _, t in planned)
    assert "set server rw/db2 state ready" in text and "set server rw/db1 state maint" in text
    assert "read_only = OFF" in text
    # the report says where every transaction came from
    assert ctx.notes[0] == "db2 held 120 of db1's transactions (0-1-120), applied from its relay log" or (
        "held 120 of db1's transactions" in ctx.notes[0]
    )
    assert any(n.startswith("db3 (") and "got the rest by replicating from db2" in n for n in ctx.notes)


def test_a_less_advanced_choice_gets_what_only_the_other_received_first():
    rb, checks, failed = judged(VERSIONS["mariadb-10.11"], "db3")
    assert failed == [] and rb.target == "db3" and rb.source == "db2"
    assert any(c.name == "db3 gets what only db2 received" for c in checks)
    steps = rb.steps(Ctx(FakeAccess(VERSIONS["mariadb-10.11"])))  # type: ignore[arg-type]
    catch = next(s for s in steps if s.key == "from_db2")
    text = [a.text for a in catch.actions()]
    assert any("MASTER_HOST='10.0.0.12'" in t for t in text)  # db3 replicates from db2 first


@pytest.mark.parametrize("flavor", ["mariadb-10.11", "mysql-8.4"])
def test_refused_while_the_writer_answers_that_is_a_switchover(flavor):
    alive = replica("db2", VERSIONS[flavor], executed=120, received=120)
    # db1 answers (read-only or not): its replicas' source is alive
    db1 = MysqlStatus(up=True, version=detect_version(VERSIONS[flavor]), read_only=True, server_id=1)
    rb, checks, failed = judged(VERSIONS[flavor], db1=db1, db2=alive)
    assert [c.name for c in failed] == ["the writer is dead"] and "switchover" in failed[0].fix
    assert rb.steps(Ctx(FakeAccess(VERSIONS[flavor]))) == []  # type: ignore[arg-type]


def test_refused_when_the_writer_answers_writable_or_another_took_over():
    v = VERSIONS["mysql-8.4"]
    db1 = MysqlStatus(up=True, version=detect_version(v), read_only=False, server_id=1)
    _, _, failed = judged(v, db1=db1)
    assert [c.name for c in failed] == ["the writer is dead"] and "db1 takes writes: nothing failed" in failed[0].reason
    # db1 dead, but someone made db3 writable already: repoint / repair-gap, not a second writer
    db3 = replica("db3", v, executed=100, received=100)
    from dataclasses import replace

    _, _, failed = judged(v, db3=replace(db3, read_only=False, super_read_only=False))
    assert [c.name for c in failed] == ["no server takes writes"] and "db3 is writable" in failed[0].reason
    assert "repair-gap --from db1 --to db3" in failed[0].fix


def test_refused_when_no_candidate_has_binlogs_for_the_others():
    v = VERSIONS["mariadb-10.11"]
    _, _, failed = judged(
        v,
        db2=replica("db2", v, executed=120, received=120, log_updates=False),
        db3=replica("db3", v, executed=100, received=100, log_updates=False),
    )
    assert [c.name for c in failed] == ["a candidate with binlogs"]
    assert "log_slave_updates is OFF" in failed[0].reason


def test_refused_without_gtids():
    v = VERSIONS["mysql-8.0.30"]
    _, _, failed = judged(
        v,
        db2=replica("db2", v, executed=1, received=1, gtid=False),
        db3=replica("db3", v, executed=1, received=1, gtid=False),
    )
    assert [c.name for c in failed] == ["a candidate with binlogs"] and "GTIDs are off" in failed[0].reason


@pytest.mark.parametrize("flavor", ["mariadb-10.11", "mysql-8.4"])
def test_an_errant_most_advanced_candidate_is_refused_unless_discarded(flavor):
    v = VERSIONS[flavor]
    errant = replica("db2", v, executed=120, received=120, errant=3)
    rb, checks, failed = judged(v, db2=errant)
    assert [c.name for c in failed] == ["the most advanced candidate db2 has no errant transactions"]
    assert rb.steps(Ctx(FakeAccess(v))) == []  # type: ignore[arg-type]
    # --to the errant one: refused whatever the flag
    _, _, failed = judged(v, "db2", discard=True, db2=errant)
    assert [c.name for c in failed] == ["db2 has no errant transactions"]
    # --discard-errant: the best clean candidate, db2 left to rejoin, never replicated from
    rb, checks, failed = judged(v, discard=True, db2=errant)
    assert failed == [] and rb.target == "db3" and rb.left_out == ["db2"] and rb.source is None
    assert any(c.name == "db2 is left out" and "rejoin db2 --discard-errant" in c.fix for c in checks)
    assert any(c.name == "what only db2 received from db1" for c in checks)


def test_errant_means_written_there_and_nowhere_else():
    v = VERSIONS["mariadb-10.11"]
    mine = replica("db2", v, executed=120, received=120, errant=3)
    assert errant_of(mine, [replica("db3", v, executed=100, received=100)]) == "0-2-123"
    # the same transactions on another server are not errant (replicated, not invented)
    has = MysqlStatus(up=True, version=detect_version(v), gtid_binlog_state="0-1-100,0-2-123", server_id=3)
    assert errant_of(mine, [has]) == ""
    m = VERSIONS["mysql-8.4"]
    assert errant_of(replica("db2", m, executed=5, received=5, errant=2), []) == f"{UUIDS['db2']}:1-2"


def test_the_restart_fence_is_verified_by_what_mysqld_would_read():
    cmd = fence_restart_command(False)
    assert "read_only = ON" in cmd and "super_read_only" not in cmd
    assert "my_print_defaults" in cmd and 'rm -f "$f"' in cmd  # an unread file is removed again
    assert "super_read_only = ON" in fence_restart_command(True)


def test_a_dual_masters_vip_left_on_the_dead_writer_moves_by_stopping_its_keepalived():
    """Seed 000's check only looked for a process: db1's mysqld hangs dead, its keepalived keeps
    the VIP. The failover stops keepalived there and waits until db2 holds the VIP."""
    from hatui.state import AddressObs, KeepalivedProcObs, SshObs

    v = VERSIONS["mariadb-10.11"]
    c = cluster("track-file")
    store = Store(c)
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up"))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11", "10.0.0.100"})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    st = {
        "db1": MysqlStatus.down("Can't connect to MySQL server on '10.0.0.11' (111)"),
        "db2": replica("db2", v, executed=120, received=120),
        "db3": replica("db3", v, executed=100, received=100),
    }
    for n, s_ in st.items():
        store.put(n, Kind.MYSQL, s_)
    for n in ("db1", "db2"):
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 100))
    rb = Failover(c)
    checks = rb.judge(Facts(snap=store.snapshot(), status=st))
    assert [x for x in checks if x.verdict == Verdict.FAIL] == []
    assert rb.target == "db2" and rb.vip == "10.0.0.100" and rb.vip_on_old
    ctx = Ctx(FakeAccess(v))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    vip = next(s for s in steps if s.key == "vip")
    text = [(a.node, a.text) for a in vip.actions()]
    assert text[0] == ("db1", "service keepalived stop") and text[1][0] == "db2" and "10.0.0.100" in text[1][1]
    # without keepalived running on db2 nothing would take the VIP: refused
    store.put("db2", Kind.KEEPALIVED, KeepalivedProcObs(False, None))
    rb = Failover(c)
    failed = [x for x in rb.judge(Facts(snap=store.snapshot(), status=st)) if x.verdict == Verdict.FAIL]
    assert [x.name for x in failed] == ["keepalived runs on db2"]


def test_a_candidate_waiting_for_disk_space_is_not_made_the_writer():
    from dataclasses import replace

    v = VERSIONS["mariadb-10.11"]
    full = replace(replica("db2", v, executed=118, received=120), disk_waits=1)
    rb, checks, failed = judged(v, db2=full)
    assert rb.target == "db3"  # the most advanced cannot write its binlog: the next one
    db2 = next(c for c in checks if c.name.startswith("candidate db2"))
    assert "not eligible: 1 thread(s) wait for free disk space" in db2.reason
    rb, checks, failed = judged(v, "db2", db2=full)
    assert [c.name for c in failed] == ["db2 can be the writer"]
