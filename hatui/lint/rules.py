"""The lint's checks: pure functions from parsed configs (and what is known of the nodes) to
findings. One node's config alone first, then the nodes of each VRRP instance against each other.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hatui.keepalived.conf_model import GlobalDefs, KeepalivedConf, VrrpInstance, VrrpScript, Where
from hatui.keepalived.conf_parse import Stmt
from hatui.lint.findings import Finding, finding
from hatui.lint.scripts import classify, script_path

WEIGHT_MIN, WEIGHT_MAX = -253, 253
PASS_MAX = 8

IfAddr = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass
class NodeConfig:
    """One node's effective config and what is known around it."""

    node: str | None
    conf: KeepalivedConf
    # script path -> its text; None: the path does not exist (or is unreadable). A path not in
    # the mapping was not looked at.
    scripts: dict[str, str | None] = field(default_factory=dict)
    # interface -> its addresses; None: not known (local files)
    interfaces: dict[str, list[IfAddr]] | None = None
    addresses: set[str] = field(default_factory=set)  # the node's own addresses (host, interfaces)
    remote: bool = False  # read from the node itself (a missing script is then really missing)


@dataclass(frozen=True)
class ClusterFacts:
    """What the cluster file says, for the checks that compare against it."""

    node_addresses: dict[str, set[str]]  # node -> its addresses
    vips: list[tuple[str, str | None]] = field(default_factory=list)  # (address, instance)


def lint(configs: list[NodeConfig], cluster: ClusterFacts | None = None) -> list[Finding]:
    out: list[Finding] = []
    for nc in configs:
        out.extend(node_findings(nc, cluster))
    out.extend(cross_findings(configs))
    return out


# ---------------------------------------------------------------------------- one node


def _f(nc: NodeConfig, severity: str, where: Where | None, code: str, message: str) -> Finding:
    return finding(
        severity, nc.node, where.file if where else nc.conf.path, where.line if where else None, code, message
    )


def node_findings(nc: NodeConfig, cluster: ClusterFacts | None = None) -> list[Finding]:
    conf = nc.conf
    out = [finding(p.severity, nc.node, p.file, p.line or None, p.code, p.message) for p in conf.problems]
    g = conf.global_defs
    strict = g.vrrp_strict
    seen_vrid: list[VrrpInstance] = []
    for inst in conf.instances:
        name = f"vrrp_instance {inst.name}"
        if inst.vrid is None and inst.vrid_text is None:
            out.append(_f(nc, "error", inst.at, "vrid-missing", f"{name} has no virtual_router_id"))
        elif inst.vrid is not None and not 1 <= inst.vrid <= 255:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("virtual_router_id"),
                    "vrid-out-of-range",
                    f"{name}: virtual_router_id {inst.vrid} is outside 1-255",
                )
            )
        if inst.vrid is not None:
            other = next((o for o in seen_vrid if _vrid_conflict(g, o, inst)), None)
            if other is not None:
                how = (
                    f"the same unicast source and peer {sorted(_peers(inst) & _peers(other))[0]}"
                    if inst.unicast_peers
                    else f"multicast group {_group(g, inst)}"
                )
                out.append(
                    _f(
                        nc,
                        "error",
                        inst.at_("virtual_router_id"),
                        "vrid-reused",
                        f"{name} uses VRID {inst.vrid} on {inst.interface or 'its interface'} with {how}, "
                        f"like vrrp_instance {other.name} at line {other.at.line}: keepalived refuses to start",
                    )
                )
            seen_vrid.append(inst)
        if not inst.interface:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at,
                    "interface-unset",
                    f"{name} names no interface: keepalived refuses the instance (`Unknown interface!`)",
                )
            )
        if inst.priority is not None and not 1 <= inst.priority <= 255:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("priority"),
                    "priority-out-of-range",
                    f"{name}: priority {inst.priority} is outside 1-255: keepalived uses 100 instead",
                )
            )
        master = (inst.state or "").upper() == "MASTER"
        if master and inst.nopreempt:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("nopreempt"),
                    "nopreempt-with-master",
                    f"{name} has nopreempt with `state MASTER`: keepalived ignores nopreempt",
                )
            )
        if master and inst.preempt_delay:  # `preempt_delay 0` says what keepalived does anyway
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("preempt_delay"),
                    "preempt-delay-with-master",
                    f"{name} has preempt_delay with `state MASTER`: keepalived ignores it",
                )
            )
        if inst.auth_pass is not None and len(inst.auth_pass) > PASS_MAX:
            # never show the password itself: lint output ends up in tickets and CI logs
            out.append(
                _f(
                    nc,
                    "warning",
                    inst.at_("auth_pass"),
                    "auth-pass-too-long",
                    f"{name}: auth_pass has {len(inst.auth_pass)} characters; keepalived uses "
                    f"only the first {PASS_MAX}",
                )
            )
        inst_strict = strict or inst.strict_mode
        if inst_strict and inst.auth_type:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("authentication"),
                    "vrrp-strict-auth",
                    f"{name} has authentication while vrrp_strict is on",
                )
            )
        if inst_strict and inst.unicast_peers:
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("unicast_peer"),
                    "vrrp-strict-unicast",
                    f"{name} has unicast_peer while vrrp_strict is on",
                )
            )
        # the address owner (priority 255) keeps accept mode even under vrrp_strict
        owner = inst.priority == 255
        if inst.accept is False or (inst_strict and inst.accept is None and not owner):
            why = "no_accept" if inst.accept is False else "vrrp_strict (which implies no_accept)"
            at = inst.at_("no_accept") if inst.accept is False else (g.where.get("vrrp_strict") or inst.at)
            out.append(
                _f(
                    nc,
                    "error",
                    at,
                    "vip-refuses-traffic",
                    f"{name}: {why} makes the VIP drop traffic on a node that is not its owner",
                )
            )
        for t in inst.track_scripts:
            script = conf.scripts.get(t.name)
            weight = t.weight if t.weight is not None else (script.weight if script else None)
            if weight is not None and not WEIGHT_MIN <= weight <= WEIGHT_MAX:
                at = t.at if t.weight is not None or script is None else script.where.get("weight", script.at)
                out.append(
                    _f(
                        nc,
                        "error",
                        at,
                        "track-weight-range",
                        f"{name}: track_script {t.name} weight {weight} is outside {WEIGHT_MIN}..{WEIGHT_MAX}",
                    )
                )
        if inst.vips and not inst.track_scripts and not inst.track_files:
            out.append(_no_health_check(nc, inst))
        for v in inst.vips:
            if v.ip is None:
                out.append(_f(nc, "error", v.at, "vip-invalid", f"{name}: `{v.address}` is not an IP address"))
        if nc.interfaces is not None:
            out.extend(_interface_findings(nc, inst))
    for sc in conf.scripts.values():
        out.extend(_script_findings(nc, sc))
    commands = [sc.script for sc in conf.scripts.values() if sc.script] + [
        c for i in conf.instances for c in i.notify.values()
    ]
    paths = [script_path(c) for c in commands]
    # read from the node itself: keepalived disables a script that is not there instead of
    # running it, so only the ones present (or not looked at) run unchecked
    runs = not nc.remote or any(p is None or nc.scripts.get(p, "") is not None for p in paths)
    if not g.enable_script_security and commands and runs:
        where = g.at or (next(iter(conf.scripts.values())).at if conf.scripts else conf.instances[0].at)
        what = ", ".join(
            [f"vrrp_script {n}" for n in conf.scripts]
            + [f"{k} of {i.name}" for i in conf.instances for k in i.notify][:3]
        )
        out.append(
            _f(
                nc,
                "error",  # keepalived -t fails on it (SECURITY VIOLATION, exit 6)
                where,
                "no-script-security",
                f"scripts run ({what}) but global_defs has no enable_script_security",
            )
        )
    out.extend(_virtual_server_findings(nc, cluster))
    out.extend(_route_findings(nc))
    out.extend(_oracle_findings(nc))
    if cluster is not None and nc.node is not None:
        out.extend(_cluster_vip_findings(nc, cluster))
    return out


def _family(inst: VrrpInstance) -> int:
    return 6 if any(v.ip is not None and v.ip.version == 6 for v in inst.vips) else 4


def _peers(inst: VrrpInstance) -> set[str]:
    return {p for p, _ in inst.unicast_peers}


def _group(g: GlobalDefs, inst: VrrpInstance) -> str:
    if inst.mcast_dst_ip:
        return inst.mcast_dst_ip
    if _family(inst) == 6:
        return g.mcast_group6 or "ff02::12"
    return g.mcast_group4 or "224.0.0.18"


def _vrid_conflict(g: GlobalDefs, a: VrrpInstance, b: VrrpInstance) -> bool:
    """keepalived's check_vrid_conflicts (vrrp.c): one VRID may serve several instances of a node
    unless they share the address family and, multicast, the interface and the group, or,
    unicast, the interface, the source address and a peer. Unicast and multicast never meet."""
    if a.vrid != b.vrid or _family(a) != _family(b) or bool(a.unicast_peers) != bool(b.unicast_peers):
        return False
    if a.interface and b.interface and a.interface != b.interface:
        return False
    if a.unicast_peers:
        # unset: the interface's primary address, the same for both on one interface
        if (a.unicast_src_ip or "") != (b.unicast_src_ip or ""):
            return False
        return bool(_peers(a) & _peers(b))
    return _group(g, a) == _group(g, b)


def _walk(stmts: Iterable[Stmt]) -> Iterator[Stmt]:
    for st in stmts:
        yield st
        if st.children:
            yield from _walk(st.children)


_ROUTE_TYPES = frozenset(("blackhole", "unreachable", "prohibit", "throw"))
_RULE_PREF = frozenset(("preference", "priority", "pref", "order"))


def _addr_ok(text: str) -> bool:
    try:
        ipaddress.ip_interface(text)
        return True
    except ValueError:
        return text in ("all", "default")


def _route_findings(nc: NodeConfig) -> list[Finding]:
    """virtual/static routes and rules, as keepalived 2.2 reads them (it reports each of these
    and `keepalived -t` fails)."""
    out: list[Finding] = []
    for block in _walk(nc.conf.tree):
        if block.keyword in ("virtual_routes", "static_routes"):
            for e in block.children or ():
                words = [e.keyword, *e.args]
                at = Where(e.file, e.line)
                if "or" in words:
                    out.append(_f(nc, "error", at, "route-deprecated", "`or` in a route is deprecated: use `nexthop`"))
                if words[0] not in _ROUTE_TYPES and "dev" not in words and "via" in words:
                    out.append(
                        _f(
                            nc,
                            "error",
                            at,
                            "route-no-interface",
                            f"route `{' '.join(words)}` names no `dev`: keepalived cannot track it (and says so)",
                        )
                    )
        elif block.keyword in ("virtual_rules", "static_rules"):
            for e in block.children or ():
                words = [e.keyword, *e.args]
                at = Where(e.file, e.line)
                for i, w in enumerate(words[:-1]):
                    if w in ("from", "to") and not _addr_ok(words[i + 1]):
                        out.append(
                            _f(
                                nc,
                                "error",
                                at,
                                "rule-invalid",
                                f"rule `{' '.join(words)}`: `{words[i + 1]}` is not an address",
                            )
                        )
                if not _RULE_PREF & set(words):
                    out.append(
                        _f(
                            nc,
                            "error",
                            at,
                            "rule-no-preference",
                            f"rule `{' '.join(words)}` has no preference: keepalived picks one for it (and says so)",
                        )
                    )
    return out


def _oracle_findings(nc: NodeConfig) -> list[Finding]:
    """What keepalived itself reports about instances, scripts and virtual servers (each makes
    `keepalived -t` fail)."""
    conf = nc.conf
    out: list[Finding] = []
    for sc in conf.scripts.values():
        if not sc.script:
            out.append(
                _f(nc, "error", sc.at, "script-unset", f"vrrp_script {sc.name} has no `script`: keepalived drops it")
            )
    for inst in conf.instances:
        if (inst.state or "").upper() == "MASTER" and (inst.auth_type or "").upper() == "AH":
            out.append(
                _f(
                    nc,
                    "error",
                    inst.at_("state"),
                    "ah-with-master",
                    f"vrrp_instance {inst.name}: `state MASTER` with AH authentication: keepalived starts it as BACKUP",
                )
            )
        for t in inst.track_scripts:
            if t.name not in conf.scripts:
                out.append(
                    _f(
                        nc,
                        "error",
                        t.at,
                        "track-script-unknown",
                        f"vrrp_instance {inst.name} tracks `{t.name}`, which no vrrp_script defines: keepalived "
                        "ignores it, so nothing is checked",
                    )
                )
    for vs in conf.virtual_servers:
        if vs.address == "fwmark" and vs.protocol:
            out.append(
                _f(
                    nc,
                    "error",
                    vs.at,
                    "fwmark-protocol",
                    f"virtual_server fwmark {vs.port}: `protocol {vs.protocol}` is ignored for a firewall mark",
                )
            )
    return out


SLOW_DETECTION = 30.0  # seconds from a dead database to keepalived acting on it


def _no_health_check(nc: NodeConfig, inst: VrrpInstance) -> Finding:
    """A VIP no script or file watches moves only when the node or keepalived dies (seed 001:
    only an LVS TCP_CHECK whose notify_down kills keepalived)."""
    downs = [(rs, rs.notify_down) for vs in nc.conf.virtual_servers for rs in vs.real_servers if rs.notify_down]
    how = (
        f"; only real_server {downs[0][0].address}'s notify_down (`{downs[0][1]}`) can react, when its LVS check "
        "fails: if it stops keepalived (seed 001), the VIP moves after the checker's timeouts and retries and "
        "keepalived stays down afterwards"
        if downs
        else ""
    )
    return _f(
        nc,
        "warning",
        inst.at,
        "no-health-check",
        f"vrrp_instance {inst.name} has VIPs but no track_script or track_file: a dead mysqld keeps the VIP "
        f"until the whole node or keepalived dies{how}",
    )


def _script_findings(nc: NodeConfig, sc: VrrpScript) -> list[Finding]:
    out: list[Finding] = []
    if not sc.script:
        return out
    interval = sc.interval if sc.interval is not None else 1.0
    detect = interval * max(1, sc.fall or 1) + (sc.timeout or 0)
    if detect >= SLOW_DETECTION:
        out.append(
            _f(
                nc,
                "warning",
                sc.where.get("interval", sc.at),
                "slow-detection",
                f"vrrp_script {sc.name}: interval {interval:g} s x fall {max(1, sc.fall or 1)}"
                + (f" + timeout {sc.timeout:g} s" if sc.timeout else "")
                + f": a dead database keeps the VIP for up to {detect:g} s (use interval 2, fall 2-3)",
            )
        )
    path = script_path(sc.script)
    text = nc.scripts.get(path) if path else None
    at = sc.where.get("script", sc.at)
    missing = path is not None and path in nc.scripts and text is None
    if missing and nc.remote:
        out.append(_f(nc, "error", at, "script-missing", f"vrrp_script {sc.name}: {path} does not exist on the node"))
        return out
    kind = classify(sc.script, text)
    if missing and kind == "unknown":
        out.append(
            _f(
                nc,
                "info",
                at,
                "script-not-checked",
                f"vrrp_script {sc.name}: {path} is not here, so what it checks is unknown",
            )
        )
    if kind == "process":
        out.append(
            _f(
                nc,
                "warning",
                at,
                "check-process-only",
                f"vrrp_script {sc.name} (`{sc.script}`) only checks that a process exists, "
                "not that the database answers",
            )
        )
    return out


def _interface_findings(nc: NodeConfig, inst: VrrpInstance) -> list[Finding]:
    out: list[Finding] = []
    ifaces = nc.interfaces or {}
    if inst.interface and inst.interface not in ifaces:
        out.append(
            _f(
                nc,
                "error",
                inst.at_("interface"),
                "interface-missing",
                f"vrrp_instance {inst.name}: interface {inst.interface} does not exist on this node "
                f"(it has {', '.join(sorted(ifaces)) or 'none'})",
            )
        )
        return out
    for v in inst.vips:
        dev = v.dev or inst.interface
        if v.ip is None or dev not in ifaces:
            continue
        nets = [a.network for a in ifaces[dev] if a.ip != v.ip and a.version == v.ip.version]
        if nets and not any(v.ip in n for n in nets):
            out.append(
                _f(
                    nc,
                    "warning",
                    v.at,
                    "vip-outside-subnet",
                    f"vrrp_instance {inst.name}: VIP {v.address} is in none of {dev}'s subnets "
                    f"({', '.join(str(n) for n in nets)})",
                )
            )
    return out


def _virtual_server_findings(nc: NodeConfig, cluster: ClusterFacts | None) -> list[Finding]:
    out: list[Finding] = []
    known = set().union(*cluster.node_addresses.values()) if cluster else set()
    for vs in nc.conf.virtual_servers:
        for rs in vs.real_servers:
            try:
                ipaddress.ip_address(rs.address)
            except ValueError:
                out.append(
                    _f(
                        nc,
                        "error",
                        rs.at,
                        "real-server-invalid",
                        f"virtual_server {vs.address} {vs.port}: real_server `{rs.address}` is not an IP address",
                    )
                )
                continue
            if cluster is not None and rs.address not in known:
                out.append(
                    _f(
                        nc,
                        "warning",
                        rs.at,
                        "real-server-not-node",
                        f"virtual_server {vs.address} {vs.port}: real_server {rs.address} is not a "
                        "node of this cluster",
                    )
                )
    return out


def _cluster_vip_findings(nc: NodeConfig, cluster: ClusterFacts) -> list[Finding]:
    out = []
    have = {v.address for i in nc.conf.instances for v in i.vips}
    by_name = {i.name: i for i in nc.conf.instances}
    for address, instance in cluster.vips:
        if instance is None or address in have:
            continue
        inst = by_name.get(instance)
        out.append(
            _f(
                nc,
                "warning",
                inst.at if inst else None,
                "cluster-vip-missing",
                f"the cluster file has VIP {address} on instance {instance}, which "
                + ("does not carry it here" if inst else "this config does not have"),
            )
        )
    return out


# ---------------------------------------------------------------------------- across nodes


@dataclass
class _Member:
    nc: NodeConfig
    inst: VrrpInstance


def instance_groups(configs: list[NodeConfig]) -> list[list[_Member]]:
    """The nodes' instances grouped into VRRP routers: by name, then by a shared VIP, then by
    VRID, never putting two instances of one node together (seed 000 names its instance
    differently on each node: VI_23 and VI_22, one VRID)."""
    groups: list[list[_Member]] = []
    for nc in configs:
        for inst in nc.conf.instances:
            groups.append([_Member(nc, inst)])

    def nodes(g: list[_Member]) -> set[int]:
        return {id(m.nc) for m in g}

    def merge(same: Callable[[list[_Member], list[_Member]], object]) -> None:
        i = 0
        while i < len(groups):
            j = i + 1
            while j < len(groups):
                a, b = groups[i], groups[j]
                if not (nodes(a) & nodes(b)) and same(a, b):
                    a.extend(b)
                    del groups[j]
                else:
                    j += 1
            i += 1

    merge(lambda a, b: {m.inst.name for m in a} & {m.inst.name for m in b})
    merge(lambda a, b: _vip_set(a) & _vip_set(b))
    merge(lambda a, b: {m.inst.vrid for m in a if m.inst.vrid} & {m.inst.vrid for m in b if m.inst.vrid})
    return groups


def _vip_set(g: list[_Member]) -> set[str]:
    return {v.address for m in g for v in m.inst.vips}


def _odd_ones(values: list[tuple[_Member, Any]]) -> list[tuple[_Member, Any, list[_Member]]]:
    """Members whose value differs from the majority's, each with the members it differs from.
    Without a majority (two nodes that disagree) nobody can tell which one drifted: every
    member is named, so each node's line is shown."""
    counts = Counter(v for _, v in values)
    if len(counts) < 2:
        return []
    ranked = counts.most_common()
    if ranked[0][1] > ranked[1][1]:
        common = ranked[0][0]
        others = [m for m, v in values if v == common]
        return [(m, v, others) for m, v in values if v != common]
    return [(m, v, [o for o, ov in values if ov != v]) for m, v in values]


def cross_findings(configs: list[NodeConfig]) -> list[Finding]:
    out: list[Finding] = []
    for g in instance_groups(configs):
        if len(g) < 2:
            continue
        out.extend(_compare(g))
        out.extend(_priorities(g))
        out.extend(_unicast(g))
        out.extend(_mcast_groups(g))
    return out


def _mcast_groups(g: list[_Member]) -> list[Finding]:
    """Multicast members of one instance sending to different groups (vrrp_mcast_group4 drifted
    between nodes, or an instance's mcast_dst_ip): their adverts never meet, so each node thinks
    the others are dead and takes the VIP."""
    members = [m for m in g if not m.inst.unicast_peers]
    values = [(m, _group(m.nc.conf.global_defs, m.inst)) for m in members]
    out = []
    for m, v, others in _odd_ones(values):
        theirs = sorted({ov for o, ov in values if o in others})
        gd = m.nc.conf.global_defs
        w = (
            m.inst.where.get("mcast_dst_ip")
            or gd.where.get("vrrp_mcast_group4")
            or gd.where.get("vrrp_mcast_group6")
            or m.inst.at
        )
        out.append(
            finding(
                "error",
                m.nc.node,
                w.file,
                w.line,
                "mcast-group-mismatch",
                f"vrrp_instance {m.inst.name} sends its adverts to {v} here, but to {' / '.join(theirs)} on "
                f"{_who(others)}: neither side hears the other, so both take the VIP",
            )
        )
    return out


def _who(members: Iterable[_Member]) -> str:
    return ", ".join(m.nc.node or m.nc.conf.path for m in members)


def _compare(g: list[_Member]) -> list[Finding]:
    out = []
    checks: list[tuple[str, str, Callable[[VrrpInstance], Any], Callable[[Any], str]]] = [
        ("vrid-mismatch", "virtual_router_id", lambda i: i.vrid, lambda v: f"VRID {v}"),
        (
            "advert-int-mismatch",
            "advert_int",
            lambda i: i.advert_int,
            lambda v: f"advert_int {v:g}" if v else "no advert_int (1 s)",
        ),
        (
            "auth-mismatch",
            "authentication",
            lambda i: (i.auth_type, (i.auth_pass or "")[:PASS_MAX]) if i.auth_type else None,
            lambda v: "no authentication" if v is None else f"auth_type {v[0]}",
        ),
        (
            "vip-mismatch",
            "virtual_ipaddress",
            lambda i: frozenset(v.address for v in i.vips),
            lambda v: "VIPs " + (", ".join(sorted(v)) or "none"),
        ),
    ]
    for code, keyword, get, show in checks:
        values = [(m, get(m.inst)) for m in g]
        for m, v, others in _odd_ones(values):
            theirs = sorted({show(ov) for o, ov in values if o in others})
            if (
                code == "auth-mismatch"
                and v is not None
                and all(ov is not None and ov[0] == v[0] for o, ov in values if o in others)
            ):
                # never print either password: lint output ends up in tickets and CI logs
                text = f"a different auth_pass here than on {_who(others)}"
            else:
                text = f"{show(v)} here, but {' / '.join(theirs)} on {_who(others)}"
            out.append(finding("error", m.nc.node, *_loc(m, keyword), code, f"vrrp_instance {m.inst.name} has {text}"))
    return out


def _loc(m: _Member, keyword: str) -> tuple[str, int]:
    w = m.inst.at_(keyword)
    return w.file, w.line


def _priorities(g: list[_Member]) -> list[Finding]:
    out = []
    by_prio: dict[int, list[_Member]] = {}
    for m in g:
        if m.inst.priority is not None:
            by_prio.setdefault(m.inst.priority, []).append(m)
    for prio, ms in by_prio.items():
        for m in ms[1:]:
            out.append(
                finding(
                    "warning",
                    m.nc.node,
                    *_loc(m, "priority"),
                    "equal-priority",
                    f"vrrp_instance {m.inst.name} has priority {prio}, like {_who(ms[:1])}",
                )
            )
    everyone_nopreempt = all(m.inst.nopreempt for m in g)
    for h in g:
        for t in h.inst.track_scripts:
            script = h.nc.conf.scripts.get(t.name)
            w = t.weight if t.weight is not None else (script.weight if script else None)
            if not w or h.inst.priority is None:
                continue  # weight 0 (the default): failure means FAULT, the VIP leaves at once
            at = t.at
            if everyone_nopreempt:
                out.append(
                    finding(
                        "warning",
                        h.nc.node,
                        at.file,
                        at.line,
                        "weight-too-small",
                        f"vrrp_instance {h.inst.name}: track_script {t.name} has weight {w}, "
                        "but every node has nopreempt, so no priority change ever moves the VIP",
                    )
                )
                continue
            moves = []
            for o in g:
                if o is h or o.inst.priority is None or o.inst.nopreempt:
                    continue
                mine, theirs = (
                    (h.inst.priority + w, o.inst.priority) if w < 0 else (h.inst.priority, o.inst.priority + w)
                )
                moves.append(mine < theirs)
            if moves and not any(moves):
                others = ", ".join(f"{o.nc.node} {o.inst.priority}" for o in g if o is not h)
                out.append(
                    finding(
                        "warning",
                        h.nc.node,
                        at.file,
                        at.line,
                        "weight-too-small",
                        f"vrrp_instance {h.inst.name}: when {t.name} fails here, priority "
                        f"{h.inst.priority} with weight {w} still beats {others}: the VIP stays",
                    )
                )
    return out


def _unicast(g: list[_Member]) -> list[Finding]:
    if not any(m.inst.unicast_peers for m in g):
        return []
    out = []
    for m in g:
        peers = {p for p, _ in m.inst.unicast_peers}
        for o in g:
            if o is m:
                continue
            theirs = ({o.inst.unicast_src_ip} if o.inst.unicast_src_ip else set()) | o.nc.addresses
            if not m.inst.unicast_peers:
                out.append(
                    finding(
                        "error",
                        m.nc.node,
                        m.inst.at.file,
                        m.inst.at.line,
                        "unicast-asymmetric",
                        f"vrrp_instance {m.inst.name} uses multicast here, but {o.nc.node or o.nc.conf.path} "
                        "sends unicast adverts",
                    )
                )
                break
            if theirs and not (peers & theirs):
                w = m.inst.at_("unicast_peer")
                out.append(
                    finding(
                        "error",
                        m.nc.node,
                        w.file,
                        w.line,
                        "unicast-asymmetric",
                        f"vrrp_instance {m.inst.name}: unicast_peer ({', '.join(sorted(peers))}) "
                        f"does not list {o.nc.node or o.nc.conf.path} ({', '.join(sorted(theirs))})",
                    )
                )
    return out
