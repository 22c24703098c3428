"""The lab's canonical state, how to see that it holds, and how to get back to it.

Canonical: every daemon runs, no node is partitioned, exactly the writer holds the VIP and is
the only writable server, every replica replicates from its configured source with both threads
running, every server has executed the same transactions (no errant GTIDs, nobody behind),
keepalived runs with the priorities of its config (no priority-file offset, no maintenance flag)
and each instance is MASTER on the writer, BACKUP elsewhere.

Lab tests start from it (tests/lab/conftest.py checks before each test and repairs, naming the
test that left it otherwise), so one failing test never poisons the ones after it; the chaos
soak uses it between faults. Repair is what a DBA would do by hand; when that is not enough
(a replica stopped on a duplicate key, errant transactions), the lab is rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hatui.collect.vrrpdump import dump_command, split_dump
from hatui.keepalived.dump import DumpParseError, parse_json_dump
from hatui.mysql.fencefile import fence_check_command, unfence_command

from . import configs, network, procs
from .lab import Lab, node_daemons
from .preflight import LabError, find
from .spec import LabNode

__all__ = ["Restored", "problems", "restore"]

SETTLE = 15.0  # how long a lab that was just touched may take to converge before it is judged
# A canonical reading is taken again this much later: keepalived's notify scripts run after the
# transition they announce, in parallel, so a node that went MASTER and straight back to BACKUP
# (a partition healed as its master-down timer fired) can get its "master" `read_only=OFF`
# after its "backup" `read_only=ON`, a second after a reading that looked canonical.
CONFIRM = 1.5


@dataclass
class Restored:
    """What restore() found and did."""

    found: list[str] = field(default_factory=list)  # the problems before
    actions: list[str] = field(default_factory=list)
    rebuilt: bool = False


def writer(lab: Lab) -> LabNode:
    """The MySQL node that takes the writes when the lab is as built."""
    return lab.spec.node(lab.spec.writer)


def _rw_enabled(lab: Lab, router: LabNode) -> list[str] | None:
    """The databases the router's writers' backend may send to (not in maintenance), or None
    when its stats socket does not answer."""
    from hatui.routers.haproxy import RouterReadError, parse_show_stat
    from hatui.routers.model import ServerState

    r = lab.node_run(router.name, ["sh", "-c", f"echo 'show stat' | socat stdio {configs.NODE_HAPROXY_SOCKET}"])
    try:
        routes = parse_show_stat(r.stdout, lambda b: "writer" if b == "rw" else None)
    except RouterReadError:
        return None
    rw = next((x for x in routes if x.name == "rw"), None)
    return None if rw is None else sorted(sv.name for sv in rw.servers if sv.state != ServerState.MAINT)


def _route_to(lab: Lab, router: LabNode, writer: str) -> None:
    """The writers' route back to the writer: what a failover turned (`set server`)."""
    cmds = [f"set server rw/{writer} state ready"] + [
        f"set server rw/{n.name} state maint" for n in lab.spec.mysql_nodes if n.name != writer
    ]
    for c in cmds:
        lab.node_run(router.name, ["sh", "-c", f"echo '{c}' | socat stdio {configs.NODE_HAPROXY_SOCKET}"])


def _holders(lab: Lab, address: str) -> list[str]:
    spec = lab.spec
    return [n.name for n in spec.nodes if address in network.addresses(spec.node_ns(n.name))]


def _dump(lab: Lab, n: LabNode) -> str:
    """keepalived's own view of its instances (the JSON dump), read with the real binary and the
    pid file the lab gave it (an old host's tools would refuse)."""
    cmd = dump_command("json", keepalived=find("keepalived") or "/usr/sbin/keepalived")
    res = lab.node_run(n.name, ["sh", "-c", cmd[len("exec ") :]], timeout=10)
    return res.stdout if res.returncode == 0 else ""


def _slave_status(lab: Lab, node: str) -> dict[str, str]:
    rows = lab.rows(node, "SHOW SLAVE STATUS")
    return rows[0] if rows else {}


def _read(lab: Lab, node: str, path: str) -> str | None:
    res = lab.node_run(node, ["cat", path])
    return res.stdout.strip() if res.returncode == 0 else None


def _once(lab: Lab) -> list[str]:
    """Every way the lab differs from canonical right now ([] when canonical)."""
    spec = lab.spec
    if not lab.is_up():
        return ["the lab is not up"]
    st = lab.state()
    assert st is not None
    out: list[str] = []
    for n in spec.nodes:
        for d in node_daemons(n):
            rec = st.daemons.get(n.name, {}).get(d)
            if rec is None or not procs.is_alive(rec):
                out.append(f"{d} is not running on {n.name}")
            elif procs.is_frozen(rec):
                out.append(f"{d} is frozen (SIGSTOP) on {n.name}")
        if network.is_partitioned(spec.bridge_ns, n.name):
            out.append(f"{n.name} is partitioned")
        if n.mysql and lab.node_run(n.name, ["test", "-e", configs.NODE_BINLOG_FILLER]).returncode == 0:
            out.append(f"{n.name}'s binlog volume is filled")
    if out:
        return out  # the rest cannot be read reliably
    w = writer(lab)
    for v in spec.vips:
        holders = _holders(lab, v.address)
        if holders != [v.nodes[0]]:
            whose = "the writer's VIP" if v.role == "writer" else f"the {v.role} VIP {v.address}"
            out.append(f"{whose} is on {', '.join(holders) or 'no node'}, not on {v.nodes[0]}")
    for n in spec.nodes:
        if n.router:
            rw = _rw_enabled(lab, n)
            if rw != [w.name]:
                out.append(f"{n.name}'s writers' route goes to {', '.join(rw) if rw else 'nothing'}, not {w.name}")
    states: dict[str, str] = {}
    for n in spec.mysql_nodes:
        row = lab.sql(n.name, "SELECT @@read_only, @@gtid_binlog_state", check=False).split("\t")
        if len(row) < 2:
            out.append(f"MySQL on {n.name} does not answer")
            continue
        ro, states[n.name] = row[0].strip(), row[1].strip()
        want = "0" if n.name == w.name else "1"
        if ro != want:
            out.append(f"{n.name} is {'writable' if ro == '0' else 'read-only'}")
        fences = lab.node_run(n.name, ["sh", "-c", fence_check_command()]).stdout.split()
        if fences:
            out.append(f"{n.name} has a failover's fence file ({', '.join(fences)}): it would restart read-only")
        if n.source:
            s = _slave_status(lab, n.name)
            source = spec.node(n.source)
            if s.get("Master_Host") != source.address:
                out.append(f"{n.name} replicates from {s.get('Master_Host') or 'nothing'}, not {n.source}")
            elif s.get("Slave_IO_Running") != "Yes" or s.get("Slave_SQL_Running") != "Yes":
                err = s.get("Last_SQL_Error") or s.get("Last_IO_Error") or ""
                out.append(
                    f"{n.name}'s replication from {n.source}: IO {s.get('Slave_IO_Running')}, "
                    f"SQL {s.get('Slave_SQL_Running')}" + (f" ({err[:120]})" if err else "")
                )
    if len(set(states.values())) > 1:
        seen = ", ".join(f"{k} {v}" for k, v in states.items())
        out.append(f"the servers have executed different transactions: {seen}")
    for n in spec.nodes:
        if not n.keepalived:
            continue
        pf = _read(lab, n.name, configs.NODE_PRIORITY_FILE)
        if pf not in ("0", None):
            out.append(f"{n.name}'s priority file holds {pf}")
        for flag in (configs.NODE_MAINTENANCE_FILE, configs.NODE_FLAG_FILE, configs.NODE_KEEPALIVED_DOWN):
            if lab.node_run(n.name, ["test", "-e", flag]).returncode == 0:
                out.append(f"{n.name} has the flag {flag}")
        got = split_dump(_dump(lab, n))
        if got is None:
            out.append(f"keepalived on {n.name} gave no state dump")
            continue
        try:
            snap = parse_json_dump(got[1])
        except DumpParseError as exc:
            out.append(f"keepalived on {n.name}: {exc}")
            continue
        first = {v.instance: v.nodes[0] for v in spec.vips}
        for inst in snap.instances:
            want = "MASTER" if first.get(inst.name) == n.name else "BACKUP"
            if inst.state != want:
                out.append(f"{inst.name} on {n.name} is {inst.state}, not {want}")
            if inst.effective_priority != inst.base_priority:
                out.append(
                    f"{inst.name} on {n.name} runs at priority {inst.effective_priority}, not its {inst.base_priority}"
                )
    return out


def _writable_and_holders(lab: Lab) -> tuple[object, ...]:
    """What a late notify script changes: who is writable and who holds each VIP."""
    spec = lab.spec
    ro = tuple(lab.sql(n.name, "SELECT @@read_only", check=False).strip() for n in spec.mysql_nodes)
    return ro, tuple(tuple(_holders(lab, v.address)) for v in spec.vips)


def problems(lab: Lab, settle: float = SETTLE, confirm: float = CONFIRM) -> list[str]:
    """Every way the lab differs from canonical, after giving it up to `settle` seconds to get
    there by itself (replication catching up, an election finishing): [] when canonical. Never
    judges a value that is still moving: canonical is a reading that says so and still holds
    `confirm` seconds later (writable servers and VIP holders read again)."""
    deadline = time.monotonic() + settle
    while True:
        found = _once(lab)
        if not found:
            seen = _writable_and_holders(lab)
            time.sleep(confirm)
            if _writable_and_holders(lab) == seen:
                return []
            found = ["the lab was still changing (a notify script ran late)"]
        if time.monotonic() >= deadline:
            return found
        time.sleep(0.3)


def _wait(what: str, ok: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise LabError(f"repairing the lab: {what} did not happen within {timeout:g} s")
        time.sleep(0.2)


def _repair(lab: Lab, r: Restored) -> None:
    """What a DBA does by hand: heal, restart, reset priorities, VIP to the writer, repoint."""
    spec = lab.spec
    w = writer(lab)
    for n in spec.nodes:
        r.actions.append(lab.fault("heal", n.name))
        if "mysqld" in node_daemons(n):
            r.actions.append(lab.fault("free-binlog", n.name))
            r.actions.append(lab.fault("thaw-mysqld", n.name))
        for d in node_daemons(n):
            if d != "keepalived":
                r.actions.append(lab.fault(f"start-{d}", n.name))
    for n in spec.nodes:
        if n.keepalived:
            if spec.options.vip_mover == "track-file":
                lab.node_run(n.name, ["sh", "-c", f"printf '0\\n' > {configs.NODE_PRIORITY_FILE}"])
            lab.node_run(
                n.name,
                ["rm", "-f", configs.NODE_MAINTENANCE_FILE, configs.NODE_FLAG_FILE, configs.NODE_KEEPALIVED_DOWN],
            )
            r.actions.append(lab.fault("start-keepalived", n.name))
    wv = spec.writer_vip
    if _holders(lab, wv.address) != [wv.nodes[0]]:
        # nopreempt: the writer's VIP goes back only when the others let it go (the other VIPs
        # follow their preferred node by themselves)
        others = [name for name in wv.nodes if name != wv.nodes[0]]
        for name in others:
            r.actions.append(lab.fault("stop-keepalived", name))
        _wait(f"the VIP on {wv.nodes[0]}", lambda: _holders(lab, wv.address) == [wv.nodes[0]], 20)
        for name in others:
            r.actions.append(lab.fault("start-keepalived", name))
    for n in spec.nodes:
        if n.router and _rw_enabled(lab, n) != [w.name]:
            _route_to(lab, n, w.name)
            r.actions.append(f"turned {n.name}'s writers' route back to {w.name}")
    for n in spec.mysql_nodes:
        want = "OFF" if n.name == w.name else "ON"
        lab.sql(n.name, f"SET GLOBAL read_only={want}", check=False)
        lab.node_run(n.name, ["sh", "-c", unfence_command()])  # as built: no node has a fence file
    if not spec.options.gtid:
        return  # a channel by position cannot be repointed blindly: rebuild if it is broken
    password = (spec.secrets_dir / "repl.pw").read_text().strip()
    for n in spec.mysql_nodes:
        if not n.source:
            continue
        s = _slave_status(lab, n.name)
        running = s.get("Slave_IO_Running") == "Yes" and s.get("Slave_SQL_Running") == "Yes"
        if s.get("Master_Host") != spec.node(n.source).address or not running:
            lab.sql(n.name, "STOP SLAVE", check=False)
            lab.sql(n.name, configs.replication_sql(spec, n, password), check=False)
            r.actions.append(f"repointed {n.name} to {n.source}")


def restore(lab: Lab, *, settle: float = SETTLE) -> Restored:
    """Back to canonical: nothing when it is; else repair as a DBA would; else rebuild the lab.
    Raises LabError when even a rebuilt lab is not canonical."""
    r = Restored(found=problems(lab, settle=min(settle, 3.0)))
    if not r.found:
        return r
    if lab.is_up():
        try:
            _repair(lab, r)
        except (LabError, OSError) as exc:
            r.actions.append(f"repair failed: {exc}")
        left = problems(lab, settle=settle)
        if not left:
            return r
        r.actions.append("still not canonical after repair: " + "; ".join(left))
    lab.down()
    lab.up()
    r.rebuilt = True
    left = problems(lab, settle=settle)
    if left:
        raise LabError("the rebuilt lab is not canonical: " + "; ".join(left))
    return r
