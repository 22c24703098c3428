"""The plan a DBA confirms is what runs: every step of the switchover, on every dialect, with
and without GTIDs, with every VIP mover, and of the rejoin (with and without existing
channels), sends exactly the statements and commands its plan shows (read back
after the run, with the values the run learned in place of <placeholders>).

A recording stand-in for the write access answers like the servers would; the statements
themselves come from the dialects (tests/test_mysql_dialect.py holds those to the manuals)."""

from __future__ import annotations

import asyncio

import pytest

from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.runbook.model import Action
from hatui.runbook.ops import Position
from hatui.runbook.switchover import State, Switchover
from tests.fake_access import MOVERS, VERSIONS, Ctx, FakeAccess, cluster


def state(mover: str, version: str, by_gtid: bool, claim: bool = False) -> State:
    s = State(old="db1", target="db2", by_gtid=by_gtid, mover=mover)
    if claim:
        s.claim_dev, s.claim_prefix, s.claim_instance = "eth0", 24, "VI_1"
    s.versions = {n: version for n in ("db1", "db2", "db3")}
    s.channels = {"db2": "", "db3": ""}
    s.old_channel = None if mover == "router" else ""
    s.address, s.port = ("10.0.0.100", 7001 if mover == "router" else 3306)
    s.early_boost = mover == "track-file"
    s.keep_low = -11
    s.clear_flag = mover == "flag-file"
    if mover == "router":
        s.routes = [
            {"router": "r1", "socket": "/run/haproxy.sock", "backend": "rw", "old_server": "db1", "new_server": "db2"}
        ]
    return s


async def run_all(
    mover: str, version: str, by_gtid: bool, claim: bool = False, dump: str = "db2-master.data"
) -> tuple[list, list[Action]]:
    c = cluster(mover)
    rb = Switchover(c, "db2")
    rb.state = state(mover, version, by_gtid, claim)
    ctx = Ctx(FakeAccess(version, dump=dump))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for s in steps:
        await s.run(ctx)
    await rb.cleanup()
    return steps, ctx.access.sent


@pytest.fixture(autouse=True)
def _repl_password(monkeypatch):
    monkeypatch.setenv("HATUI_TEST_REPL_PW", "s3cret-repl")
    monkeypatch.setenv("X", "x")


@pytest.mark.parametrize("mover", MOVERS)
@pytest.mark.parametrize("flavor", list(VERSIONS))
@pytest.mark.parametrize("by_gtid", [True, False], ids=["gtid", "position"])
async def test_the_plan_read_after_the_run_is_exactly_what_was_sent(flavor, mover, by_gtid):
    steps, sent = await run_all(mover, VERSIONS[flavor], by_gtid)
    planned = [a for s in steps for a in s.actions()]
    assert [(a.node, a.kind, a.text) for a in planned] == [(a.node, a.kind, a.text) for a in sent]
    assert not any("<" in a.text and ">" in a.text and "position" in a.text for a in planned)  # all filled in
    assert not any("s3cret" in a.text for a in sent)  # the replication password never shown


@pytest.mark.parametrize("flavor", list(VERSIONS))
def test_the_plan_before_the_run_uses_each_dialects_own_words(flavor):
    c = cluster("track-file")
    rb = Switchover(c, "db2")
    rb.state = state("track-file", VERSIONS[flavor], True)
    text = "\n".join(a.text for s in rb.steps(None) for a in s.actions())  # type: ignore[arg-type]
    mariadb = flavor.startswith("mariadb")
    v = detect_version(VERSIONS[flavor])
    assert ("MASTER_GTID_WAIT('<old writer's final position>'" in text) == mariadb
    assert ("WAIT_FOR_EXECUTED_GTID_SET('<old writer's final position>'" in text) == (not mariadb)
    assert ("super_read_only" in text) == (not mariadb and v.at_least(5, 7, 8))
    if flavor == "mysql-8.4":  # accepts neither MASTER_* nor SLAVE
        assert "MASTER" not in text and "SLAVE" not in text
        assert "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.12'" in text and "START REPLICA" in text
    if mariadb:
        assert "MASTER_USE_GTID=slave_pos" in text


def test_without_gtids_replicas_wait_for_the_old_writers_position_and_continue_at_the_new_writers():
    steps, sent = asyncio.run(run_all("track-file", VERSIONS["mariadb-10.11"], False))
    texts = [f"{a.node} {a.text}" for a in sent]
    old_final = "MASTER_POS_WAIT('db1-bin.000007', 4242, 30"
    # the target and the other replica are level with db1's last position before anything moves
    assert any(t.startswith("db2 SELECT " + old_final) for t in texts)
    assert any(t.startswith("db3 SELECT " + old_final) for t in texts)
    # then they continue from the new writer's own binlog position read at that moment
    assert (
        "db3 CHANGE MASTER TO MASTER_HOST='10.0.0.12', MASTER_PORT=3306, MASTER_LOG_FILE='db2-bin.000007', "
        "MASTER_LOG_POS=4242, MASTER_USE_GTID=no" in texts
    )
    i_wait = next(i for i, t in enumerate(texts) if t.startswith("db3 SELECT " + old_final))
    i_read = next(i for i, t in enumerate(texts) if t == "db2 SHOW MASTER STATUS")
    i_move = next(i for i, t in enumerate(texts) if "-254" in t)
    assert i_wait < i_read < i_move  # the mapping is read before the VIP moves, never guessed after


def test_a_new_channel_for_the_old_writer_carries_the_replication_account_masked():
    steps, sent = asyncio.run(run_all("router", VERSIONS["mysql-8.4"], True))
    change = [a.text for a in sent if a.node == "db1" and "CHANGE REPLICATION SOURCE" in a.text]
    assert change == [
        "CHANGE REPLICATION SOURCE TO SOURCE_HOST='10.0.0.12', SOURCE_PORT=3306, SOURCE_USER='repl', "
        "SOURCE_PASSWORD='***', SOURCE_AUTO_POSITION=1"
    ]
    router = [a.text for a in sent if a.node == "r1"]
    assert (
        len(router) == 1
        and "set server rw/db2 state ready; set server rw/db2 health up; set server rw/db1 state maint" in router[0]
    )


def test_state_survives_the_journal():
    s = state("flag-file", VERSIONS["mysql-8.0.30"], False)
    s.final = Position(file="mysql-bin.000003", pos=1234).to_json()
    back = State.from_json(s.to_json())
    assert back == s and Position.from_json(back.final) == Position(file="mysql-bin.000003", pos=1234)


def test_movers_are_the_plans_last_word_on_how_the_vip_moves():
    for mover, words in {
        "track-file": ["printf '%s\\n' 253 > /etc/keepalived/hatui_priority", "printf '%s\\n' -254 >"],
        "flag-file": ["rm -f /etc/keepalived/hatui-down", "touch /etc/keepalived/hatui-down &&"],
        "restart": ["service keepalived stop &&", "service keepalived start"],
        "router": ["set server rw/db2 state ready"],
    }.items():
        steps, sent = asyncio.run(run_all(mover, VERSIONS["mariadb-10.11"], True))
        text = "\n".join(a.text for a in sent)
        for w in words:
            assert w in text, (mover, w)
        move = next(s for s in steps if s.key == "move")
        assert move.commits


@pytest.mark.parametrize("mover", [m for m in MOVERS if m != "router"])
@pytest.mark.parametrize("flavor", ["mariadb-10.11", "mysql-8.4"])
async def test_with_a_claim_the_target_announces_the_vip_before_the_old_writer_lets_go(flavor, mover):
    steps, sent = await run_all(mover, VERSIONS[flavor], True, claim=True)
    planned = [a for s in steps for a in s.actions()]
    assert [(a.node, a.kind, a.text) for a in planned] == [(a.node, a.kind, a.text) for a in sent]
    texts = [f"{a.node} {a.text}" for a in sent]
    claim = "db2 ip addr replace 10.0.0.100/24 dev eth0 && { timeout 0.2 arping -q -U -c 1 -I eth0 10.0.0.100; true; }"
    assert claim in texts
    i_claim = texts.index(claim)
    i_release = next(i for i, t in enumerate(texts) if t.startswith("db1 ") and "while [ $i -lt" in t)
    i_writable = next(i for i, t in enumerate(texts) if t.startswith("db2 SET GLOBAL read_only = OFF"))
    # writable first (clients that move write at once), then announced, then the old lets go
    assert i_writable < i_claim < i_release
    # announced again once the old writer has let go (what it sent meanwhile may have misled)
    again = "db2 timeout 0.2 arping -q -U -c 1 -I eth0 10.0.0.100; true"
    assert texts.index(again) == i_release + 1
    move = next(s for s in steps if s.key == "move")
    assert any("arping" in a.text for a in move.actions())


async def test_a_claim_the_targets_keepalived_never_takes_fails_the_move(monkeypatch):
    from hatui.runbook import movers
    from hatui.runbook.model import StepFailed

    async def no_wait(*a, **k):  # the deadline passes at once
        return None

    monkeypatch.setattr(movers.asyncio, "sleep", no_wait)
    c = cluster("track-file")
    rb = Switchover(c, "db2", vip_timeout=0.0)
    rb.state = state("track-file", VERSIONS["mariadb-10.11"], True, claim=True)
    ctx = Ctx(FakeAccess(VERSIONS["mariadb-10.11"], dump="db2.data"))  # db2's keepalived stays BACKUP
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    with pytest.raises(StepFailed, match="BACKUP, not MASTER"):
        for s in steps:
            await s.run(ctx)
    # the way back lets the address go on the target, after keepalived's own settings
    move = next(s for s in steps if s.key == "move")
    back = [a.text for a in move.ops[0].undo().actions()]
    assert back[-1] == "ip addr del 10.0.0.100/24 dev eth0 2>/dev/null; true"
    await rb.cleanup()


# ----------------------------------------------------------------------------- rejoin


def rejoin_for(version: str, *, channels: bool = True):
    """db1 rejoins under the writer db2 (dual master, its reverse channel), db3 still pulls from
    db1; as preflight leaves it."""
    from hatui.runbook.facts import Facts
    from hatui.runbook.rejoin import Rejoin
    from hatui.state import KeepalivedProcObs, Kind, Store

    c = cluster("track-file")
    v = detect_version(version)

    def ch(host: str, running: bool = True) -> ReplicationChannel:
        return ReplicationChannel(name="", source_host=host, io_running=running, sql_running=running)

    store = Store(c)
    store.put("db1", Kind.KEEPALIVED, KeepalivedProcObs(True, 10))
    status = {
        "db1": MysqlStatus(up=True, version=v, read_only=True, channels=(ch("10.0.0.12", False),) if channels else ()),
        "db2": MysqlStatus(up=True, version=v, read_only=False, channels=(ch("10.0.0.11"),) if channels else ()),
        "db3": MysqlStatus(up=True, version=v, read_only=True, channels=(ch("10.0.0.11"),)),
    }
    rb = Rejoin(c, "db1")
    rb.writer, rb.reverse, rb.orphans = "db2", True, ["db3"]
    rb.facts = Facts(snap=store.snapshot(), status=status, priority={"db1": 100, "db2": 90})
    return rb


async def run_rejoin(version: str, **kw) -> tuple[list, list[Action]]:
    rb = rejoin_for(version, **kw)
    ctx = Ctx(FakeAccess(version))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for s in steps:
        await s.run(ctx)
    return steps, ctx.access.sent


@pytest.mark.parametrize("flavor", list(VERSIONS))
@pytest.mark.parametrize("channels", [True, False], ids=["channels", "new-channels"])
async def test_the_rejoins_plan_is_what_it_sends(flavor, channels):
    steps, sent = await run_rejoin(VERSIONS[flavor], channels=channels)
    planned = [a for s in steps for a in s.actions()]
    assert [(a.node, a.kind, a.text) for a in planned] == [(a.node, a.kind, a.text) for a in sent]
    assert [s.key for s in steps] == ["fence", "repoint", "catch_up", "reverse", "orphans", "keepalived", "verify"]
    assert not any("s3cret" in a.text for a in sent)
    text = "\n".join(a.text for a in sent)
    if flavor == "mysql-8.4":
        assert "MASTER" not in text and "SLAVE" not in text
    if flavor.startswith("mariadb"):
        # where each side continues: the latest GTID per domain, logged or applied
        assert "SET GLOBAL gtid_slave_pos = '0-1-100,1-2-7'" in text and "MASTER_USE_GTID=slave_pos" in text
    else:
        assert "AUTO_POSITION=1" in text and "gtid_slave_pos" not in text
    # the node is fenced for good: nothing undoes it
    assert steps[0].undo is None
    # the writer's position is read before the node waits for it, and the reverse channel starts
    # only once the node has it
    order = [f"{a.node} {a.text}" for a in sent]
    wait = next(i for i, t in enumerate(order) if t.startswith("db1 SELECT") and "WAIT" in t)
    assert any(t.startswith("db2 SELECT @@global.gtid") for t in order[:wait])
    rev = [i for i, t in enumerate(order) if t.startswith("db2 ") and "10.0.0.11" in t]
    assert rev and min(rev) > wait


@pytest.mark.parametrize("flavor", list(VERSIONS))
def test_the_rejoins_plan_before_the_run_uses_each_dialects_own_words(flavor):
    rb = rejoin_for(VERSIONS[flavor])
    text = "\n".join(a.text for s in rb.steps(None) for a in s.actions())  # type: ignore[arg-type]
    v = detect_version(VERSIONS[flavor])
    assert ("super_read_only" in text) == (not v.is_mariadb and v.at_least(5, 7, 8))
    if flavor == "mysql-8.4":
        assert "MASTER" not in text and "SLAVE" not in text and "CHANGE REPLICATION SOURCE TO" in text
    if v.is_mariadb:
        assert "MASTER_GTID_WAIT('<the writer's position>'" in text
        assert "SET GLOBAL gtid_slave_pos = '<latest GTID per domain it holds>'" in text


# ----------------------------------------------------------------------------- the claim's preflight

KEEPALIVED_CONF = """\
vrrp_instance VI_1 {
    state BACKUP
    interface eth1
    virtual_router_id 51
    priority 90
    virtual_ipaddress {
        VIP
    }
}
"""


def claim_check(vip_line: str, address: str = "10.0.0.100", arping: str = "/usr/sbin/arping\n"):
    from hatui.keepalived.conf_model import load
    from hatui.keepalived.conf_parse import TextSource
    from hatui.runbook.facts import Facts
    from hatui.state import Store

    class Access(FakeAccess):
        async def ssh(self, node, command, **kw):
            assert node == "db2" and kw.get("read")
            return arping

    c = cluster("track-file")
    path = "/etc/keepalived/keepalived.conf"
    conf = load(path, TextSource({path: KEEPALIVED_CONF.replace("VIP", vip_line)}))
    rb = Switchover(c, "db2")
    rb.state = state("track-file", VERSIONS["mariadb-10.11"], True)
    rb.state.address = address
    facts = Facts(snap=Store(c).snapshot(), configs={"db2": conf})
    check = asyncio.run(rb._claim(Ctx(Access(VERSIONS["mariadb-10.11"])), facts))  # type: ignore[arg-type]
    return check, rb.state


def test_the_claim_takes_the_address_as_the_targets_keepalived_writes_it():
    check, s = claim_check("10.0.0.100/24 dev eth0")
    assert check.verdict.value == "pass" and (s.claim_prefix, s.claim_dev, s.claim_instance) == (24, "eth0", "VI_1")
    # keepalived's own defaults: /32, the instance's interface
    check, s = claim_check("10.0.0.100")
    assert check.verdict.value == "pass" and (s.claim_prefix, s.claim_dev) == (32, "eth1")
    assert "10.0.0.100/32 on eth1" in check.reason


@pytest.mark.parametrize(
    "vip_line, address, arping, why",
    [
        ("10.0.0.100/24 dev eth0", "10.0.0.100", "", "no arping on db2"),
        ("10.0.0.200/24 dev eth0", "10.0.0.100", "/usr/sbin/arping", "does not name 10.0.0.100"),
        ("fd00::100/64 dev eth0", "fd00::100", "/usr/sbin/arping", "IPv6"),
    ],
)
def test_without_a_way_to_claim_keepalived_moves_the_vip_alone_with_a_warning(vip_line, address, arping, why):
    check, s = claim_check(vip_line, address, arping)
    assert check.verdict.value == "warn" and why in check.reason and "waits 1 s" in check.reason
    assert s.claim_dev == ""  # no claim in the plan
    rb = Switchover(cluster("track-file"), "db2")
    rb.state = s
    assert not any("arping" in a.text for st in rb.steps(None) for a in st.actions())  # type: ignore[arg-type]


async def test_with_a_flag_file_the_old_writer_lets_the_claimed_vip_go_with_the_flag():
    c = cluster("flag-file")
    rb = Switchover(c, "db2")
    rb.state = state("flag-file", VERSIONS["mariadb-10.11"], True, claim=True)
    rb.state.release_dev, rb.state.release_prefix = "eth1", 24
    ctx = Ctx(FakeAccess(VERSIONS["mariadb-10.11"]))
    steps = rb.steps(ctx)  # type: ignore[arg-type]
    for st in steps:
        await st.run(ctx)
    await rb.cleanup()
    texts = [f"{a.node} {a.text}" for a in ctx.access.sent]
    assert [a for st in steps for a in st.actions()] == ctx.access.sent
    fire = next(t for t in texts if t.startswith("db1 touch /etc/keepalived/hatui-down"))
    assert fire.startswith(
        "db1 touch /etc/keepalived/hatui-down && { ip addr del 10.0.0.100/24 dev eth1 2>/dev/null; true; } && "
    )
    assert texts.index(fire) > next(i for i, t in enumerate(texts) if "arping" in t)  # after the claim
    # without a claim the old writer keeps its address until keepalived moves it (no gap)
    rb.state.claim_dev = ""
    text = "\n".join(a.text for st in rb.steps(None) for a in st.actions())  # type: ignore[arg-type]
    assert "ip addr del" not in text and "touch /etc/keepalived/hatui-down && i=0" in text
