"""`hatui make-writable`: the checks that make one statement safe (pure, from what preflight
read), the plan that is what it sends on every dialect, and the console suggesting it when the
routers' writers' target is alive and read-only and nothing is writable (the chaos soak's
restarted primary on seed 002's deployment)."""

from __future__ import annotations

import pytest

from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.routers.model import Route, RouterObs, RouteServer, ServerState
from hatui.runbook.facts import Facts
from hatui.runbook.make_writable import MakeWritable
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from tests.fake_access import VERSIONS, Ctx, FakeAccess, cluster

MARIADB = detect_version(VERSIONS["mariadb-10.11"])


def maria(state: str, ro: bool = True, sid: int = 1, up: bool = True, source: str | None = "10.0.0.11") -> MysqlStatus:
    if not up:
        return MysqlStatus.down("Can't connect to server (111)")
    chans = (ReplicationChannel(source_host=source, io_running=True, sql_running=True),) if source else ()
    return MysqlStatus(
        up=True,
        version=MARIADB,
        server_id=sid,
        read_only=ro,
        gtid_binlog_state=state,
        gtid_binlog_pos=state,
        channels=chans,
    )


def routes_to(*servers: tuple[str, str]) -> RouterObs:
    return RouterObs(
        "haproxy",
        (
            Route(
                "rw",
                "writer",
                tuple(RouteServer(name, addr, 3306, ServerState.UP) for name, addr in servers),
                alive=True,
            ),
        ),
    )


def facts(c, status, router: RouterObs | None = None) -> Facts:
    router = router or routes_to(("db1", "10.0.0.11"))
    store = Store(c)
    for n in c.nodes:
        store.put(n, Kind.ADDRESSES, AddressObs(frozenset({c.nodes[n].host})))
    return Facts(snap=store.snapshot(), status=status, routers={"r1": router})


def restarted_primary() -> dict[str, MysqlStatus]:
    """db1 is back from a restart read-only; db2 and db3 replicate from it and have nothing more."""
    return {
        "db1": maria("0-1-500", source=None),
        "db2": maria("0-1-500", sid=2),
        "db3": maria("0-1-480", sid=3),
    }


def verdicts(checks) -> dict[str, str]:
    return {c.name: str(c.verdict) for c in checks}


def test_a_restarted_primary_every_route_points_at_and_holding_everything_passes():
    c = cluster("router")
    rb = MakeWritable(c, "db1")
    checks = rb.judge(facts(c, restarted_primary()))
    assert not any(ch.failed for ch in checks), checks
    v = verdicts(checks)
    assert v["writes go to db1"] == "pass" and v["db1 has everything db2 has"] == "pass"


@pytest.mark.parametrize(
    "change, failing, said",
    [
        ({"db2": maria("0-1-500", sid=2, up=False)}, "every MySQL server answers", "db2: Can't connect"),
        ({"db2": maria("0-1-500", ro=False, sid=2)}, "no server takes writes", "there is a writer already"),
        ({"db1": maria("0-1-500", ro=False, source=None)}, "no server takes writes", "nothing to do"),
        ({"db2": maria("0-1-500,0-2-7", sid=2)}, "db1 has everything db2 has", "db2 has 0-2-"),
    ],
)
def test_each_unsafe_state_refuses_before_anything_is_sent(change, failing, said):
    c = cluster("router")
    checks = MakeWritable(c, "db1").judge(facts(c, {**restarted_primary(), **change}))
    bad = [ch for ch in checks if ch.failed]
    assert bad and bad[0].name == failing and said in bad[0].reason, checks


def test_a_route_elsewhere_or_unread_refuses():
    c = cluster("router")
    checks = MakeWritable(c, "db1").judge(facts(c, restarted_primary(), routes_to(("db2", "10.0.0.12"))))
    bad = [ch for ch in checks if ch.failed]
    assert [b.name for b in bad] == ["writes go to db1"] and "r1's rw -> db2" in bad[0].reason
    checks = MakeWritable(c, "db1").judge(facts(c, restarted_primary(), RouterObs("haproxy", (), error="timeout")))
    assert any(ch.failed and "not read" in ch.reason for ch in checks)


def test_without_gtids_it_cannot_prove_who_holds_more_and_says_so():
    c = cluster("router")
    mysql57 = detect_version(VERSIONS["mysql-5.7"])
    status = {n: MysqlStatus(up=True, version=mysql57, read_only=True, gtid_mode="OFF") for n in ("db1", "db2", "db3")}
    bad = [ch for ch in MakeWritable(c, "db1").judge(facts(c, status)) if ch.failed]
    assert bad and "GTIDs are off" in bad[0].reason and "SET GLOBAL read_only=OFF on db1" in bad[0].fix


@pytest.mark.parametrize("flavor", list(VERSIONS))
async def test_the_plan_is_what_it_sends_in_each_dialect(flavor):
    c = cluster("router")
    v = detect_version(VERSIONS[flavor])
    rb = MakeWritable(c, "db1")
    rb.facts = facts(c, {n: MysqlStatus(up=True, version=v, read_only=True) for n in ("db1", "db2", "db3")})
    ctx = Ctx(FakeAccess(VERSIONS[flavor]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    planned = [(a.node, a.kind, a.text) for s in steps for a in s.actions()]
    for s in steps:
        await s.run(ctx)
    assert planned == [(a.node, a.kind, a.text) for a in ctx.access.sent]
    text = "\n".join(t for _, _, t in planned)
    assert "read_only = OFF" in text and ("super_read_only = OFF" in text) == (not v.is_mariadb and v.at_least(5, 7, 8))
    assert steps[0].undo is not None  # a failed read-back fences it again


def test_the_console_suggests_it_for_a_read_only_target_of_every_route_and_nothing_writable():
    from hatui.rules.health import evaluate
    from hatui.rules.incidents import correlate

    c = cluster("router")
    store = Store(c)
    for n in c.nodes:
        store.put(n, Kind.SSH, SshObs("up"))
        store.put(
            n, Kind.ADDRESSES, AddressObs(frozenset({c.nodes[n].host} | ({"10.0.0.100"} if n == "r1" else set())))
        )
    store.put("r1", Kind.KEEPALIVED, KeepalivedProcObs(True, 10))
    for n, st in restarted_primary().items():
        store.put(n, Kind.MYSQL, st)
    store.put("r1", Kind.ROUTER, routes_to(("db1", "10.0.0.11")))
    snap = store.snapshot()
    incidents = correlate(snap, evaluate(snap))
    sug = [(s.runbook, s.args) for i in incidents for s in i.suggestions if s.runbook]
    assert ("make-writable", ("db1",)) in sug
    assert not [s for s in sug if s[0] == "rejoin"]  # rejoin refuses without a writer


async def test_a_fence_file_a_failover_left_is_removed_after_the_node_is_writable():
    c = cluster("router")
    rb = MakeWritable(c, "db1")
    f = facts(c, restarted_primary())
    f.fenced = {"db1": ["/etc/mysql/conf.d/zz-hatui-fenced.cnf"]}
    rb.judge(f)
    ctx = Ctx(FakeAccess(VERSIONS["mariadb-10.11"]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    assert [s.key for s in steps] == ["writable", "unfence"]
    for s in steps:
        await s.run(ctx)
    sent = [(a.node, a.kind, a.text) for a in ctx.access.sent]
    assert sent[-1][:2] == ("db1", "ssh") and sent[-1][2].startswith("rm -f ") and "zz-hatui-fenced.cnf" in sent[-1][2]
    assert [(a.node, a.kind, a.text) for s in steps for a in s.actions()] == sent


async def test_a_switchover_to_a_fenced_node_removes_the_fence_after_the_move():
    from tests.test_runbook_ops import state

    st = state("track-file", VERSIONS["mariadb-10.11"], True)
    st.unfence = True
    from hatui.runbook.switchover import Switchover

    c = cluster("track-file")
    rb = Switchover(c, "db2")
    rb.state = st
    ctx = Ctx(FakeAccess(VERSIONS["mariadb-10.11"]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    keys = [s.key for s in steps]
    assert keys.index("unfence") > keys.index("move")  # after the VIP moved: not in the write pause
    for s in steps:
        await s.run(ctx)
    await rb.cleanup()
    assert [(a.node, a.kind, a.text) for s in steps for a in s.actions()] == [
        (a.node, a.kind, a.text) for a in ctx.access.sent
    ]
    assert any(a.node == "db2" and a.text.startswith("rm -f ") for a in ctx.access.sent)


def test_a_switchover_refuses_while_the_target_waits_for_disk_space():
    from dataclasses import replace

    from hatui.runbook.switchover import Switchover

    c = cluster("track-file")
    status = {
        "db1": maria("0-1-9", ro=False, sid=1, source="10.0.0.12"),
        "db2": replace(maria("0-1-9", sid=2), disk_waits=2),
        "db3": maria("0-1-9", sid=3),
    }
    store = Store(c)
    for n in c.nodes:
        extra = {c.vips[0].address} if n == "db1" else set()
        store.put(n, Kind.ADDRESSES, AddressObs(frozenset({c.nodes[n].host, *extra})))
    checks = Switchover(c, "db2").evaluate(Facts(snap=store.snapshot(), status=status))
    [disk] = [x for x in checks if x.name.startswith("no_disk_wait")]
    assert disk.failed and "db2" in disk.name and "2 thread(s) wait" in disk.reason and "free space" in disk.fix
    status["db2"] = replace(status["db2"], disk_waits=0)
    checks = Switchover(c, "db2").evaluate(Facts(snap=store.snapshot(), status=status))
    assert not [x for x in checks if x.name.startswith("no_disk_wait")]
