"""How the writer's address moves from the old writer to the target: one mover per deployment,
chosen in preflight and shown in the plan.

- track-file (keepalived 2.x): the target's tracked priority file is raised (its skew time is a
  few ms) and the old writer's set below -253: FAULT, one priority-0 advert, the VIP leaves at
  once. The fastest; needs `track_file` in keepalived.conf and `keepalived.priority_file`.
- flag-file (seed 003, works on keepalived 1.x): a vrrp_script with a negative weight checks a
  file; the file on the old writer drops its priority below the target's, which preempts.
- restart (the seeds' own procedure, last resort): keepalived stopped on the old writer, the VIP
  moves to the highest remaining priority, then keepalived started again (it comes back as
  BACKUP: needs nopreempt or a lower priority than the target's).
- router (seed 002): the writer's address lives on the routers; each HAProxy's writers' route is
  turned to the target (`set server ... state ready|maint` on its stats socket).

Each exposes operations (hatui.runbook.ops), so what it sends is what the plan shows. The commands
that must be fast at the moment of the move are opened before the writes pause (an SSH channel
costs ~0.1 s) and fired with one packet.

The claim (keepalived movers, where the target has `arping`): keepalived itself moves an address
with a gap. The old holder drops it first (FAULT, a stop, a higher advert) and the new one adds it
only after its skew time (8 ms boosted, 0.65 s at priority 90), so a client's connect sent in
between reaches a node without the address and waits TCP's 1 s SYN retransmission: the 1-2 s
worst pauses of the bench. With a claim the target adds the address itself (exactly as keepalived
would: same prefix and device) and announces it with a gratuitous ARP before the old writer lets
go. Clients move while the old writer (fenced: it takes no writes) still answers, and the
target's keepalived, becoming MASTER, finds the address there and keeps it as its own
(keepalived treats "exists" as added since 2009). The move is done only once the target's
keepalived says MASTER, so the address is never left on a node that does not manage it.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass, field
from typing import Protocol

from hatui.cluster import Cluster, Role, RouterKind
from hatui.collect.vrrpdump import dump_command, split_dump
from hatui.keepalived.dump import parse_data_dump, parse_json_dump
from hatui.rules.routers import server_node
from hatui.runbook.access import Armed, WriteAccess
from hatui.runbook.facts import Facts
from hatui.runbook.model import Action, Check, StepFailed, Verdict
from hatui.runbook.ops import Op, Shell, vip_wait_command

BOOST = 253  # added to the target's priority (capped at 254): skew time (256-254)/256 s = 8 ms
FAULT = -254  # below -253: keepalived puts the instance in FAULT (priority-0 advert, VIP dropped)


def write_file(path: str, value: int) -> str:
    return f"printf '%s\\n' {int(value)} > {shlex.quote(path)}"


@dataclass
class Watch:
    """A channel on a node, opened early and fired at once, that returns within ~10 ms of the
    address arriving there (a read: nothing is changed by it)."""

    node: str
    address: str
    seconds: float
    armed: Armed | None = None
    result: asyncio.Future | None = None

    @property
    def command(self) -> str:
        return vip_wait_command(self.address, True, self.seconds)

    async def open(self, x: WriteAccess) -> None:
        if self.armed is None:
            self.armed = await x.arm(self.node, self.command, show=self.command)
            self.armed.fire()
            self.result = asyncio.ensure_future(self.armed.result(self.seconds + 5))

    async def arrived(self, timeout: float) -> bool:
        try:
            assert self.result is not None
            await asyncio.wait_for(self.result, timeout)
            return True
        except Exception:
            return False
        finally:
            self.armed = self.result = None

    async def close(self) -> None:
        if self.armed is not None:
            self.armed.close()
            self.armed = None
        if self.result is not None:
            try:
                await asyncio.wait_for(self.result, 5)
            except (asyncio.CancelledError, Exception):
                pass
            self.result = None


@dataclass
class Fire:
    """A write opened early on a node and fired at the move: `command` then (`leave`) wait for
    the address to leave the node, in one round trip."""

    node: str
    command: str
    address: str
    seconds: float
    armed: Armed | None = None
    leave: bool = True

    @property
    def full(self) -> str:
        if not self.leave:
            return self.command
        return f"{self.command} && {vip_wait_command(self.address, False, self.seconds)}"

    async def open(self, x: WriteAccess, sudo: bool = True) -> None:
        if self.armed is None:
            self.armed = await x.arm(self.node, self.full, show=self.full, sudo=sudo)

    async def fire(self, x: WriteAccess) -> bool:
        await self.open(x)
        assert self.armed is not None
        self.armed.fire()
        try:
            await self.armed.result(self.seconds + 5)
            return True
        except Exception:
            return False
        finally:
            self.armed = None

    def close(self) -> None:
        if self.armed is not None:
            self.armed.close()  # never fired: it exits without touching anything
            self.armed = None


def claim_command(address: str, prefix: int, dev: str) -> str:
    """The target takes the address as keepalived would add it, then one gratuitous ARP moves the
    clients (arping exits ~1 s after sending; `timeout` ends it once the packet is out)."""
    d, a = shlex.quote(dev), shlex.quote(address)
    return f"ip addr replace {a}/{int(prefix)} dev {d} && {{ timeout 0.2 arping -q -U -c 1 -I {d} {a}; true; }}"


def announce_command(address: str, dev: str) -> str:
    """One more gratuitous ARP once the old writer has let go: traffic it still sent from the
    address while both held it (its ARP probe goes out from the VIP) can have pointed a client
    back at it."""
    d, a = shlex.quote(dev), shlex.quote(address)
    return f"timeout 0.2 arping -q -U -c 1 -I {d} {a}; true"


def unclaim_command(address: str, prefix: int, dev: str) -> str:
    return f"ip addr del {shlex.quote(address)}/{int(prefix)} dev {shlex.quote(dev)} 2>/dev/null; true"


@dataclass
class Claim:
    """Where the target takes the writer's address before the old writer lets it go: keepalived's
    instance on the target that holds it, and the address as its keepalived.conf writes it."""

    prefix: int
    dev: str
    instance: str
    pid_file: str | None = None


async def keepalived_master(x: WriteAccess, node: str, instance: str, pid_file: str | None, seconds: float) -> str:
    """Wait until keepalived on `node` reports `instance` MASTER (its own dump: a read); returns
    the state last seen."""
    deadline = time.monotonic() + seconds
    seen = "not read"
    while True:
        try:
            out = await x.ssh(node, dump_command("data", pid_file=pid_file), read=True, sudo=True, timeout=5)
            got = split_dump(out)
            if got is not None:
                kind, text = got
                snap = parse_json_dump(text) if kind == "json" else parse_data_dump(text)
                inst = next((i for i in snap.instances if i.name == instance), None)
                seen = inst.state if inst is not None else f"no instance {instance}"
                if seen == "MASTER":
                    return seen
        except Exception as e:  # a dump cut short or a slow node: read again until the deadline
            seen = type(e).__name__
        if time.monotonic() >= deadline:
            return seen
        await asyncio.sleep(0.1)


class Mover:
    name: str
    early: list[Op]  # before the fence, undone if the run rolls back (e.g. a boost)

    def prepare(self) -> Op | None:
        """Open what the move fires (before the writes pause)."""
        return None

    def move(self) -> Op:
        raise NotImplementedError

    def settle(self) -> list[Op]:
        return []

    async def cleanup(self) -> None:
        return None


class Opener(Protocol):
    """What a mover opens before the writes pause (armed commands, watches) and closes after."""

    def open_actions(self) -> list[Action]: ...

    async def open(self, x: WriteAccess) -> str: ...

    async def aclose(self) -> None: ...


@dataclass
class _Prepare(Op):
    node: str
    opener: Opener
    title: str = "open the channels for the VIP move (before writes pause)"

    def actions(self) -> list[Action]:
        return self.opener.open_actions()

    async def run(self, x: WriteAccess) -> str:
        return await self.opener.open(x)

    def undo(self) -> Op:
        return _Close(self.node, self.opener)


@dataclass
class _Close(Op):
    node: str
    opener: Opener
    title: str = "close them (an armed command that never fired changes nothing)"

    def actions(self) -> list[Action]:
        return []

    async def run(self, x: WriteAccess) -> str:
        await self.opener.aclose()
        return "nothing armed any more"


@dataclass
class _Move(Op):
    node: str
    mover: VipMover
    title: str = ""

    def actions(self) -> list[Action]:
        m = self.mover
        claim = [Action(m.claimed.node, "ssh", m.claimed.full)] if m.claimed else []
        again = [Action(m.announce.node, "ssh", m.announce.full)] if m.announce else []
        fire = Action(m.fire.node, "ssh", m.fire.full)
        return [*(a for op in m.before_fire for a in op.actions()), *claim, fire, *again]

    async def run(self, x: WriteAccess) -> str:
        m = self.mover
        t0 = time.monotonic()
        await m.watch.open(x)  # a resumed run opens it here
        for op in m.before_fire:
            await op.run(x)
        if m.claimed is not None and not await m.claimed.fire(x):
            raise StepFailed(f"{m.target} could not take {m.address} (ip addr replace / arping failed)")
        moved = time.monotonic() - t0
        off_old = await m.fire.fire(x)
        if m.announce is not None and off_old:
            await m.announce.fire(x)
        on_t = await m.watch.arrived(m.seconds + 5)
        if not (on_t and off_old):
            raise StepFailed(
                f"VIP {m.address} not on {m.target} alone within {m.seconds:g} s "
                f"(on {m.target}: {on_t}, gone from {m.old}: {off_old})"
            )
        if m.claim is None:
            return f"VIP {m.address} on {m.target} {time.monotonic() - t0:.3f} s after the move began"
        state = await keepalived_master(x, m.target, m.claim.instance, m.claim.pid_file, m.seconds)
        if state != "MASTER":
            raise StepFailed(
                f"{m.target} holds {m.address} but its keepalived ({m.claim.instance}) is {state}, not MASTER, "
                f"after {m.seconds:g} s: the address would be managed by nobody"
            )
        return (
            f"VIP {m.address} on {m.target} {moved:.3f} s after the move began (announced before {m.old} let go); "
            f"its keepalived MASTER after {time.monotonic() - t0:.3f} s"
        )

    def undo(self) -> Op:
        return _Back(self.node, self.mover)


@dataclass
class _Back(Op):
    node: str
    mover: VipMover
    title: str = "move the VIP back"

    def actions(self) -> list[Action]:
        return [a for op in self.mover.way_back() for a in op.actions()]

    async def run(self, x: WriteAccess) -> str:
        m = self.mover
        for op in m.way_back():
            await op.run(x)
        on_old, off_t = await asyncio.gather(
            _vip(x, m.old, m.address, True, 20), _vip(x, m.target, m.address, False, 20)
        )
        if on_old and off_t:
            return f"VIP {m.address} back on {m.old}"
        raise StepFailed(f"VIP {m.address} did not come back to {m.old} alone within 20 s")


async def _vip(x: WriteAccess, node: str, address: str, present: bool, seconds: float) -> bool:
    try:
        await x.ssh(node, vip_wait_command(address, present, seconds), read=True, timeout=seconds + 5)
        return True
    except Exception:
        return False


@dataclass
class VipMover(Mover):
    """A VIP that keepalived moves between the databases (track-file, flag-file, restart)."""

    name: str
    old: str
    target: str
    address: str
    seconds: float
    fire: Fire
    watch: Watch
    before_fire: list[Op] = field(default_factory=list)  # sent at the move, just before the fire
    back: list[Op] = field(default_factory=list)  # undo of the move (before it committed)
    after: list[Op] = field(default_factory=list)  # settle
    early: list[Op] = field(default_factory=list)
    fire_sudo: bool = True
    claim: Claim | None = None  # the target takes the address before the old writer lets go
    claimed: Fire | None = field(default=None, init=False)  # its command, opened early
    announce: Fire | None = field(default=None, init=False)  # announced again once the old let go

    def __post_init__(self) -> None:
        if self.claim is not None:
            cmd = claim_command(self.address, self.claim.prefix, self.claim.dev)
            self.claimed = Fire(self.target, cmd, self.address, self.seconds, leave=False)
            again = announce_command(self.address, self.claim.dev)
            self.announce = Fire(self.target, again, self.address, self.seconds, leave=False)

    def way_back(self) -> list[Op]:
        """The move undone: keepalived's settings back, then the claim dropped if it is still
        there (deleting it from a MASTER makes its keepalived step down; the old writer, its
        priority restored, takes the address)."""
        if self.claim is None:
            return self.back
        un = unclaim_command(self.address, self.claim.prefix, self.claim.dev)
        return [*self.back, Shell(self.target, un, f"{self.target} lets {self.address} go")]

    def prepare(self) -> Op:
        return _Prepare(self.old, self)

    def open_actions(self) -> list[Action]:
        return [Action(self.watch.node, "ssh", self.watch.command)]

    async def open(self, x: WriteAccess) -> str:
        for f in (self.claimed, self.announce):
            if f is not None:
                await f.open(x)
        await self.fire.open(x, sudo=self.fire_sudo)
        await self.watch.open(x)
        took = f"{self.target} takes the VIP and announces it, then " if self.claim else ""
        return f"ready: {took}{self.fire.node} drops the VIP on one packet; {self.watch.node} watches for it"

    async def aclose(self) -> None:
        await self.cleanup()

    def move(self) -> Op:
        return _Move(self.old, self, f"Move VIP {self.address} to {self.target} ({self.name})")

    def settle(self) -> list[Op]:
        return self.after

    async def cleanup(self) -> None:
        self.fire.close()
        for f in (self.claimed, self.announce):
            if f is not None:
                f.close()
        await self.watch.close()


def track_file(
    old: str,
    target: str,
    address: str,
    pf_old: str,
    pf_target: str,
    *,
    seconds: float,
    early_boost: bool,
    keep_low: int,
) -> VipMover:
    """keepalived 2.x with a tracked priority file on both nodes (weight 1)."""
    boost = Shell(target, write_file(pf_target, BOOST), f"{target}'s priority raised by {BOOST}", key="boost")
    reset_t = Shell(target, write_file(pf_target, 0), f"{target}'s priority file back to 0")
    boost.inverse = reset_t
    return VipMover(
        name="track-file",
        old=old,
        target=target,
        address=address,
        seconds=seconds,
        fire=Fire(old, write_file(pf_old, FAULT), address, seconds),
        watch=Watch(target, address, seconds + 60),
        before_fire=[] if early_boost else [boost],
        back=[reset_t, Shell(old, write_file(pf_old, 0), f"{old}'s priority file back to 0")],
        after=[
            reset_t,
            Shell(
                old,
                write_file(pf_old, keep_low),
                f"{old} leaves FAULT as BACKUP"
                + (f" with {keep_low} so it never preempts {target}" if keep_low else ""),
            ),
        ],
        early=[boost] if early_boost else [],
    )


def flag_file(
    old: str,
    target: str,
    address: str,
    flag: str,
    *,
    seconds: float,
    clear_target: bool,
    keep_flag: bool,
    release: str = "",
) -> VipMover:
    """A vrrp_script that lowers the priority while `flag` exists (seed 003; keepalived 1.x too).
    keep_flag: the flag stays on the old writer afterwards, or it would preempt the target back
    (its own priority is the higher); else it is removed once the VIP has moved.
    release (with a claim only): the old writer's copy of the address deleted with the flag. Else
    it keeps it until keepalived gives it up (script interval + Master_Down_Interval, ~4 s), and
    its own traffic from the address meanwhile (a retransmission to a client that has moved, its
    ARP probe sent from the VIP) points clients back at it: seconds of read-only errors in 4 of 10
    bench runs. Its keepalived, seeing its VIP gone, steps down; the flag keeps it below the target."""
    q = shlex.quote(flag)
    return VipMover(
        name="flag-file",
        old=old,
        target=target,
        address=address,
        seconds=seconds,
        fire=Fire(old, f"touch {q}" + (f" && {release}" if release else ""), address, seconds),
        watch=Watch(target, address, seconds + 60),
        back=[Shell(old, f"rm -f {q}", f"{old}'s flag removed")],
        after=[]
        if keep_flag
        else [Shell(old, f"rm -f {q}", f"{old}'s flag removed (its priority is below {target}'s)")],
        early=[Shell(target, f"rm -f {q}", f"{target}'s flag removed", key="clear_flag")] if clear_target else [],
    )


def restart(old: str, target: str, address: str, stop: str, start: str, *, seconds: float) -> VipMover:
    """keepalived stopped on the old writer, then started again once the VIP is on the target."""
    return VipMover(
        name="restart",
        old=old,
        target=target,
        address=address,
        seconds=seconds,
        fire=Fire(old, stop, address, seconds),
        watch=Watch(target, address, seconds + 60),
        back=[Shell(old, start, f"keepalived started on {old}", timeout=30)],
        after=[Shell(old, start, f"keepalived started on {old} (BACKUP)", timeout=30)],
    )


# ----------------------------------------------------------------------------- routers


def haproxy_command(socket: str, commands: list[str]) -> str:
    text = shlex.quote("; ".join(commands))
    sock = shlex.quote(socket)
    return (
        f"if command -v socat >/dev/null 2>&1; then echo {text} | socat -t 2 stdio UNIX-CONNECT:{sock}; "
        f"else echo {text} | nc -U {sock}; fi"
    )


@dataclass
class RouterRoute:
    router: str
    socket: str
    backend: str  # the writers' route
    old_server: str
    new_server: str


@dataclass
class _RouterMove(Op):
    node: str
    routes: list[RouterRoute]
    to_new: bool
    title: str = ""

    def commands(self, r: RouterRoute) -> str:
        on, off = (r.new_server, r.old_server) if self.to_new else (r.old_server, r.new_server)
        return haproxy_command(
            r.socket,
            [
                f"set server {r.backend}/{on} state ready",
                f"set server {r.backend}/{on} health up",  # no 2 s of rise checks
                f"set server {r.backend}/{off} state maint",
            ],
        )

    armed: dict[str, Armed] = field(default_factory=dict)  # router -> its command, opened early

    def actions(self) -> list[Action]:
        return [Action(r.router, "ssh", self.commands(r)) for r in self.routes]

    def open_actions(self) -> list[Action]:
        return []  # nothing is sent until the move fires it

    async def open(self, x: WriteAccess) -> str:
        async def one(r: RouterRoute) -> None:
            if r.router not in self.armed:
                cmd = self.commands(r)
                self.armed[r.router] = await x.arm(r.router, cmd, show=cmd, sudo=True)

        # together: each is an SSH exec that waits for its router's ready line (~0.15 s)
        await asyncio.gather(*(one(r) for r in self.routes))
        return f"ready: {', '.join(r.router for r in self.routes)} switch on one packet"

    async def aclose(self) -> None:
        for a in self.armed.values():
            a.close()  # never fired: it exits without touching anything
        self.armed.clear()

    async def run(self, x: WriteAccess) -> str:
        async def one(r: RouterRoute) -> str:
            armed = self.armed.pop(r.router, None)
            if armed is None:  # a resumed run, or the way back: opened now
                return await x.ssh(r.router, self.commands(r), sudo=True, timeout=10)
            armed.fire()
            return await armed.result(10)

        # fired together: opening a channel costs more than the commands (~0.15 s with sshd)
        answers = await asyncio.gather(*(one(r) for r in self.routes))
        # HAProxy answers `set server` with nothing; anything else is its refusal
        said = {r.router: a.strip() for r, a in zip(self.routes, answers, strict=True) if a and a.strip()}
        if said:
            raise StepFailed("HAProxy refused: " + "; ".join(f"{k}: {v[:200]}" for k, v in said.items()))
        want = self.routes[0].new_server if self.to_new else self.routes[0].old_server
        return f"the writers' route of {', '.join(r.router for r in self.routes)} sends writes to {want}"

    def undo(self) -> Op | None:
        return _RouterMove(self.node, self.routes, not self.to_new, "turn the routers back") if self.to_new else None


@dataclass
class RouterMover(Mover):
    name: str
    routes: list[RouterRoute]
    early: list[Op] = field(default_factory=list)

    def __post_init__(self) -> None:
        to = self.routes[0].new_server
        self._move = _RouterMove(
            self.routes[0].router, self.routes, True, f"Turn every router's writers' route to {to}"
        )

    def prepare(self) -> Op:
        return _Prepare(
            self._move.node, self._move, "open a channel to every router for the move (before writes pause)"
        )

    def move(self) -> Op:
        return self._move

    async def cleanup(self) -> None:
        await self._move.aclose()


def router_routes(cluster: Cluster, facts: Facts, old: str, t: str) -> tuple[list[RouterRoute], list[Check]]:
    """Every HAProxy's writers' route turned from `old` to `t` (both must be servers of it), with
    a check per router and one for the move as a whole."""
    snap = facts.snap
    routes: list[RouterRoute] = []
    checks: list[Check] = []
    for r in cluster.nodes_with_role(Role.ROUTER):
        if r.router.kind != RouterKind.HAPROXY:
            checks.append(
                Check(
                    f"router_writable: hatui can turn {r.name}'s writers' route",
                    Verdict.FAIL,
                    f"{r.name} is {r.router.kind}: hatui reads it but cannot change its routes",
                    "change its destinations by hand (or let its metadata cache follow)",
                )
            )
            continue
        obs = facts.routers.get(r.name)
        route = next((x for x in obs.routes if x.role == "writer"), None) if obs and not obs.error else None
        servers = {server_node(snap, sv): sv.name for sv in route.servers} if route else {}
        ok = route is not None and old in servers and t in servers
        checks.append(
            Check(
                f"router_route: {r.name}'s writers' route has {old} and {t}",
                Verdict.PASS if ok else Verdict.FAIL,
                (f"{route.name}: " + ", ".join(f"{sv.name} {sv.state}" for sv in route.servers))
                if route
                else (obs.error if obs else "not read") or "no writers' route",
                "" if ok else f"add {t} to the writers' backend (disabled) on {r.name}",
            )
        )
        if ok and route is not None:
            routes.append(RouterRoute(r.name, str(r.router.stats_socket), route.name, servers[old], servers[t]))
    checks.append(
        Check(
            "mover: how the writers' address moves",
            Verdict.PASS if routes else Verdict.FAIL,
            f"router: each HAProxy's writers' route turns from {old} to {t}" if routes else "no router to turn",
            "" if routes else "configure router: in the cluster file",
        )
    )
    return routes, checks
