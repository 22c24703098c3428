"""Recorded states and clusters shared by the unit and UI tests (no I/O, no lab): a helper
module, so tests never import each other."""

from __future__ import annotations

import asyncio
import datetime as dt

from hatui.cluster import load_cluster_text
from hatui.keepalived import parse_line
from hatui.keepalived.dump import VrrpInstance, VrrpSnapshot
from hatui.lab import configs
from hatui.lab.spec import default_spec
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.record.recorder import Recorder
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict
from hatui.state import AddressObs, KeepalivedProcObs, Kind, SshObs, Store
from hatui.views.feed import RecordedFeed

# ------------------------------------------------------------------ a small cluster for rules

RULES_VIP = "10.0.0.100"
RULES_CLUSTER = """
name: t
topology: TOPOLOGY
thresholds: {lag_warning: 5, lag_critical: 30}
defaults:
  mysql: {monitor: {user: m, password_env: X}}
  keepalived: {log: {file: /var/log/k.log}}
nodes:
  db1: {host: 10.0.0.11, roles: [mysql, keepalived]}
  db2: {host: 10.0.0.12, roles: [mysql, keepalived]}
  db3: {host: 10.0.0.13, roles: [mysql]}
vips:
  - {address: VIP, instance: VI_1, role: writer, nodes: [db1, db2]}
"""


def cluster(topology="dual-master"):
    return load_cluster_text(RULES_CLUSTER.replace("TOPOLOGY", topology).replace("VIP", RULES_VIP), "t.yml")


T0 = 1_000_000.0


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


MARIADB = detect_version("10.11.19-MariaDB-0+deb12u1-log")


def chan(source="10.0.0.11", io="Yes", sql=True, lag=0.0, **kw):
    return ReplicationChannel(
        source_host=source,
        source_port=3306,
        io_state=io,
        io_running=io == "Yes",
        sql_running=sql,
        lag_seconds=lag if io == "Yes" and sql else None,
        **kw,
    )


def mysql(sid, ro, channels=(), state=None, up=True, error=None):
    if not up:
        return MysqlStatus(up=False, error=error or "connection refused")
    return MysqlStatus(
        up=True,
        version=MARIADB,
        server_id=sid,
        read_only=ro,
        gtid_binlog_state=state or f"0-1-{100}",
        channels=tuple(channels),
    )


def vrrp(state, prio):
    return VrrpSnapshot(
        (
            VrrpInstance(
                name="VI_1",
                state=state,
                vrid=51,
                interface="eth0",
                base_priority=prio,
                effective_priority=prio,
                vips=(RULES_VIP,) if state == "MASTER" else (),
            ),
        ),
        "json",
        None,
    )


def healthy(topology="dual-master"):
    clock = Clock()
    store = Store(cluster(topology), clock=clock)
    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up"))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11", RULES_VIP})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12"})))
    store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.13"})))
    for n, prio in (("db1", 100), ("db2", 90)):
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 10))
        store.put(n, Kind.VRRP, vrrp("MASTER" if n == "db1" else "BACKUP", prio))
    store.put("db1", Kind.MYSQL, mysql(1, False, [chan("10.0.0.12")]))
    store.put("db2", Kind.MYSQL, mysql(2, True, [chan("10.0.0.11")]))
    store.put("db3", Kind.MYSQL, mysql(3, True, [chan("10.0.0.11")]))
    return store, clock


# ------------------------------------------------------------------ the lab, as recorded


def lab_cluster(filename: str = "lab.yml"):
    return load_cluster_text(configs.cluster_yaml(default_spec(state_dir="/var/lib/hatui-lab")), filename)


FIXED_NOW = 1_790_000_000.0  # recorded states carry fixed times, so snapshots are deterministic


def lab_state(cluster, *, split_brain=False, unreachable=None, replica_error="", replica_errno=0, writer_down=False):
    """A recorded lab state: db1 writer with the VIP, db2 standby, db3 replica of db1
    (`writer_down`: db1's mysqld does not answer, the VIP still on it: nothing took over)."""
    vip = "198.18.0.100"
    store = Store(cluster, clock=lambda: FIXED_NOW)
    mdb = detect_version("10.11.19-MariaDB-0+deb12u1-log")

    def ch(src):
        return ReplicationChannel(
            source_host=src,
            source_port=3306,
            io_state="Yes",
            io_running=True,
            sql_running=not replica_error,
            lag_seconds=0.0,
            last_sql_error=replica_error,
            last_sql_errno=replica_errno,
            last_error=replica_error,
        )

    for n in ("db1", "db2", "db3"):
        store.put(n, Kind.SSH, SshObs("up"))
    store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.11", vip})))
    store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.12"} | ({vip} if split_brain else set()))))
    store.put("db3", Kind.ADDRESSES, AddressObs(frozenset({"198.18.0.13"})))
    for n, prio, state in (("db1", 100, "MASTER"), ("db2", 90, "MASTER" if split_brain else "BACKUP")):
        store.put(n, Kind.KEEPALIVED, KeepalivedProcObs(True, 100 + prio))
        store.put(
            n,
            Kind.VRRP,
            VrrpSnapshot(
                (
                    VrrpInstance(
                        name="VI_1",
                        state=state,
                        vrid=51,
                        interface="eth0",
                        base_priority=prio,
                        effective_priority=prio,
                        vips=(vip,) if state == "MASTER" else (),
                    ),
                ),
                "json",
                None,
            ),
        )
    for n, sid, ro, src in (
        ("db1", 1, False, "198.18.0.12"),
        ("db2", 2, not split_brain, "198.18.0.11"),
        ("db3", 3, True, "198.18.0.11"),
    ):
        store.put(
            n,
            Kind.MYSQL,
            MysqlStatus(
                up=True,
                version=mdb,
                server_id=sid,
                read_only=ro,
                gtid_current_pos="0-1-42",
                gtid_binlog_state="0-1-42",
                channels=(ch(src),),
            ),
        )
    if writer_down:
        store.put("db1", Kind.MYSQL, MysqlStatus.down("Can't connect to server on '198.18.0.11' (111)"))
    if unreachable:  # its last readings are 45 s old: nothing has come since it went away
        for kind in (Kind.ADDRESSES, Kind.MYSQL):
            store.put(unreachable, kind, store.latest(unreachable, kind).value, at=FIXED_NOW - 45)
        store.put(unreachable, Kind.SSH, SshObs("down", "no answer within 5 s"))
    for node, line in LOG_LINES:
        store.add_event(node, parse_line(line, node=node, tz=dt.UTC))
    return store


LOG_LINES = [
    ("db1", "Sat Nov 21 15:05:49 2026: (VI_1) Entering BACKUP STATE"),
    ("db2", "Sat Nov 21 15:05:50 2026: (VI_1) Entering BACKUP STATE"),
    ("db1", "Sat Nov 21 15:05:52 2026: VRRP_Script(chk_mysql) succeeded"),
    ("db1", "Sat Nov 21 15:05:53 2026: (VI_1) Entering MASTER STATE"),
    ("db1", "Sat Nov 21 15:05:53 2026: (VI_1) setting VIPs."),
]


# ------------------------------------------------------------------ lag series


def lag_chan(lag, name="", source="10.0.0.11"):
    return ReplicationChannel(
        name=name, source_host=source, io_state="Yes", io_running=True, sql_running=lag is not None, lag_seconds=lag
    )


def lag_up(*channels):
    return MysqlStatus(up=True, server_id=3, read_only=True, channels=tuple(channels))


def recorded(**kw):
    return lambda cluster: RecordedFeed(lab_state(cluster, **kw))


def empty_feed(cluster):
    return RecordedFeed(Store(cluster))


# ------------------------------------------------------------------ a fake runbook


class Fake:
    """A runbook whose steps record what they did; `fail_at` makes one step fail."""

    name = "fake"
    destructive = True
    target = "db2"

    def __init__(
        self, *, fail_at: str | None = None, checks=None, commit_at: str | None = None, hang_at: str | None = None
    ):
        self.did: list[str] = []
        self.fail_at = fail_at
        self.hang_at = hang_at
        self.commit_at = commit_at
        self._checks = checks if checks is not None else [Check("all good", Verdict.PASS, "yes")]

    def params(self):
        return {"to": "db2"}

    async def preflight(self, ctx):
        return list(self._checks)

    def steps(self, ctx):
        def make(key):
            async def run(ctx):
                self.did.append(key)
                ctx.facts[key] = True
                if key == self.hang_at:
                    await asyncio.sleep(3600)
                if key == self.fail_at:
                    raise StepFailed(f"{key} could not be verified")
                return f"{key} ok"

            async def undo(ctx):
                self.did.append(f"undo {key}")
                return f"{key} undone"

            return Step(
                key,
                f"step {key}",
                [Action("db1", "sql", f"-- {key}")],
                run,
                600 if key == self.hang_at else 5,  # a hang lasts until aborted, however busy the machine
                f"undo {key}",
                undo,
                commits=key == self.commit_at,
            )

        return [make(k) for k in ("a", "b", "c", "d")]


# ------------------------------------------------------------------ a recording


def _log(store, node, text):
    store.add_event(node, parse_line(f"Sat Nov 21 15:05:49 2026: {text}", node=node))


def record_a_failover(path, *, seconds: int = 300):
    """A console's store over `seconds`, recorded: healthy, then at T0+200 db1's mysqld dies and
    the VIP moves to db2. Returns the live snapshots' observations at every whole second."""
    store, clock = healthy()
    rec = Recorder(path, store.cluster, clock=clock)
    rec.attach(store)
    seen = {}
    for s in range(1, seconds + 1):
        clock.t = T0 + s
        for n in ("db1", "db2", "db3"):
            for kind in Kind:
                if (obs := store.latest(n, kind)) is not None and kind != Kind.SSH:
                    store.put(n, kind, obs.value)
        store.put("db2", Kind.MYSQL, mysql(2, s < 200, [chan("10.0.0.11", lag=float(s % 7))]))
        if s == 200:
            store.put("db1", Kind.MYSQL, MysqlStatus(up=False, error="(2013) Lost connection"))
            _log(store, "db1", "(VI_1) Entering FAULT STATE")
            _log(store, "db2", "(VI_1) Entering MASTER STATE")
            store.put("db1", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.11"})))
            store.put("db2", Kind.ADDRESSES, AddressObs(frozenset({"10.0.0.12", RULES_VIP})))
            rec.note("incident_raised", {"code": "dead_writer_vip_moved", "nodes": ["db1", "db2"]})
        if s % 10 == 0:
            rec.flush()
        seen[T0 + s] = dict(store.snapshot().observations)
    rec.close()
    return seen


# ------------------------------------------------------------------ UI tests


async def until(pilot, check, timeout: float = 8.0) -> None:
    """Let the app run until check() holds (asserted at the deadline)."""
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    assert check()
