"""What a runbook reads before it acts: every node through the runbook's own sessions, as a
snapshot the rules understand plus what only runbooks need (reads only)."""

from __future__ import annotations

import asyncio
import re
import shlex
from dataclasses import dataclass, field

from hatui.binlog import gap as gapmod
from hatui.cluster import Role
from hatui.collect.nodeprobe import parse_probe, probe_command
from hatui.collect.routers import read_router
from hatui.keepalived.conf_model import KeepalivedConf, load
from hatui.keepalived.conf_parse import TextSource
from hatui.mysql.fencefile import fence_check_command
from hatui.mysql.status import MysqlStatus
from hatui.routers import RouterObs
from hatui.runbook.model import Check, Verdict
from hatui.runbook.runner import RunContext
from hatui.ssh.errors import SshError
from hatui.state import Kind, SshObs, Store
from hatui.state.store import Snapshot

_PRIORITY = re.compile(r"^\s*priority\s+(\d+)", re.MULTILINE)


@dataclass
class Facts:
    """What preflight read: a snapshot the rules understand, plus what only a runbook needs."""

    snap: Snapshot
    status: dict[str, MysqlStatus] = field(default_factory=dict)
    ssh_errors: dict[str, str] = field(default_factory=dict)
    tracked: dict[str, bool] = field(default_factory=dict)  # priority file named in keepalived.conf
    nopreempt: dict[str, bool] = field(default_factory=dict)
    priority: dict[str, int] = field(default_factory=dict)  # configured (base) VRRP priority
    long_trx: list[dict] = field(default_factory=list)
    configs: dict[str, KeepalivedConf] = field(default_factory=dict)  # parsed keepalived.conf
    flags: dict[str, bool] = field(default_factory=dict)  # keepalived.flag_file exists on the node
    routers: dict[str, RouterObs] = field(default_factory=dict)
    fenced: dict[str, list[str]] = field(default_factory=dict)  # a failover's fence files on the node


async def gather(ctx: RunContext, nodes: list[str] | None = None) -> Facts:
    """Read every node through the runbook's own sessions (reads only)."""
    cluster = ctx.cluster
    store = Store(cluster)
    facts = Facts(snap=store.snapshot())

    async def one(name: str) -> None:
        node = cluster.nodes[name]
        try:
            await ctx.access.pool[name].connect()
        except SshError as e:
            facts.ssh_errors[name] = str(e)
            store.put(name, Kind.SSH, SshObs("down", str(e)))
            return
        store.put(name, Kind.SSH, SshObs("up"))
        ka = node.has_role(Role.KEEPALIVED)
        try:
            pid_file = str(node.keepalived.pid_file) if node.keepalived.pid_file else None
            out = await ctx.access.ssh(name, probe_command(ka, pid_file), read=True, timeout=5)
            addrs, proc = parse_probe(out, ka)
            store.put(name, Kind.ADDRESSES, addrs)
            if proc is not None:
                store.put(name, Kind.KEEPALIVED, proc)
        except SshError as e:
            facts.ssh_errors[name] = str(e)
        if ka:
            path = str(node.keepalived.config)
            pf = str(node.keepalived.priority_file or "")
            try:
                text = await ctx.access.ssh(name, f"cat {shlex.quote(path)}", read=True, timeout=5, sudo=True)
                facts.configs[name] = load(path, TextSource({path: text}))
                facts.tracked[name] = bool(pf) and pf in text
                facts.nopreempt[name] = "nopreempt" in text.split()
                m = _PRIORITY.search(text)
                if m:
                    facts.priority[name] = int(m.group(1))
            except SshError:
                facts.tracked[name] = False
            flag = node.keepalived.flag_file
            if flag is not None:
                q = shlex.quote(str(flag))
                out = await ctx.access.ssh(name, f"test -e {q} && echo yes || echo no", read=True, timeout=5)
                facts.flags[name] = out.strip() == "yes"
        if node.has_role(Role.ROUTER) and node.router.kind.value != "none":
            facts.routers[name] = await read_router(ctx.access.pool[name], node)
        if node.has_role(Role.MYSQL):
            try:
                out = await ctx.access.ssh(name, fence_check_command(), read=True, timeout=5)
                facts.fenced[name] = out.split()
            except SshError:
                pass
            try:
                st = await ctx.access.sql(name).status(timeout=5)
            except Exception as exc:
                st = MysqlStatus.down(ctx.access.describe(exc))
            facts.status[name] = st
            store.put(name, Kind.MYSQL, st)

    await asyncio.gather(*(one(n) for n in (nodes or list(cluster.nodes))))
    facts.snap = store.snapshot()
    return facts


async def reread_writer(ctx: RunContext, facts: Facts, writer: str | None) -> None:
    """Read the writer's MySQL again, after gather read every node at once. Under writes a
    replica can then hold the writer's newest transactions while the writer's own reading
    predates them, and they look errant: repoint refused a replica for "transactions the writer
    never had", the writer's own, in the chaos soak, and passed seconds later. A reading taken
    after the others' has everything they got from it. A failed read leaves the first."""
    if writer is None:
        return
    try:
        st = await ctx.access.sql(writer).status(timeout=5)
    except Exception:
        return
    if st.up:
        facts.status[writer] = st


async def writer_first_head(ctx: RunContext, w: str, ws: MysqlStatus, mariadb: bool) -> str:
    """What the writer's oldest binlog starts after (MariaDB) / what it purged (MySQL)."""
    if not mariadb:
        return ws.gtid_purged or ""
    sql = ctx.access.sql(w)
    logs = await sql.query("SHOW BINARY LOGS")
    if not logs:
        return ""
    first = logs[0]["Log_name"]
    events = await sql.query("SHOW BINLOG EVENTS IN %s LIMIT 5", (first,))
    for e in events:
        if str(e.get("Event_type")) == "Gtid_list":
            return str(e.get("Info") or "").strip("[]")
    return ""


def down_check(name: str, st: MysqlStatus | None, fix: str = "") -> Check:
    """The FAIL check for a MySQL that does not answer (`st` None: it was not read)."""
    return Check(name, Verdict.FAIL, (st.error or "does not answer") if st else "not read", fix)


def executed(st: MysqlStatus) -> gapmod.Have:
    """Every transaction the server has executed: MariaDB's binlog state and replica position,
    MySQL's gtid_executed."""
    if st.version is not None and st.version.is_mariadb:
        return gapmod.Have.of(True, st.gtid_binlog_state, st.gtid_slave_pos)
    return gapmod.Have.of(False, st.gtid_executed)
