"""The statement tree of keepalived.conf as the things a DBA reasons about: global_defs, VRRP
scripts, instances, sync groups, virtual servers. Every item keeps its file and line.

Values are kept as written where keepalived would reject them (a VRID of 300, a VIP of
192.168.1.300): the lint names them; nothing here raises.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hatui.keepalived import conf_keywords as kw
from hatui.keepalived.conf_parse import LocalSource, Parsed, Problem, Source, Stmt, parse


@dataclass(frozen=True)
class Where:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Vip:
    address: str  # as written, without the prefix
    prefix: int | None
    dev: str | None
    at: Where

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        try:
            return ipaddress.ip_address(self.address)
        except ValueError:
            return None


@dataclass(frozen=True)
class Tracked:
    name: str
    weight: int | None  # None: the script's own weight
    at: Where


@dataclass(frozen=True)
class VrrpScript:
    name: str
    script: str | None
    interval: float | None
    timeout: float | None
    weight: int | None
    rise: int | None
    fall: int | None
    user: str | None
    at: Where
    where: dict[str, Where] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class VrrpInstance:
    name: str
    at: Where
    state: str | None = None
    interface: str | None = None
    vrid: int | None = None
    vrid_text: str | None = None
    priority: int | None = None
    advert_int: float | None = None
    auth_type: str | None = None
    auth_pass: str | None = None
    nopreempt: bool = False
    preempt_delay: float | None = None
    vips: tuple[Vip, ...] = ()
    unicast_src_ip: str | None = None
    unicast_peers: tuple[tuple[str, Where], ...] = ()
    mcast_dst_ip: str | None = None  # 2.2.5+: this instance's own multicast group
    track_scripts: tuple[Tracked, ...] = ()
    track_files: tuple[Tracked, ...] = ()
    track_interfaces: tuple[str, ...] = ()
    notify: dict[str, str] = field(default_factory=dict)  # notify_master -> command
    accept: bool | None = None  # True: accept, False: no_accept, None: keepalived's default
    strict_mode: bool = False
    version: int | None = None
    where: dict[str, Where] = field(default_factory=dict, compare=False)

    def at_(self, keyword: str) -> Where:
        """Where `keyword` is set in this instance (the instance's own line when it is not)."""
        return self.where.get(keyword, self.at)


@dataclass(frozen=True)
class SyncGroup:
    name: str
    instances: tuple[str, ...]
    at: Where


@dataclass(frozen=True)
class Check:
    kind: str  # TCP_CHECK, HTTP_GET, MISC_CHECK, ...
    params: dict[str, str]
    at: Where


@dataclass(frozen=True)
class RealServer:
    address: str
    port: str | None
    weight: int | None
    checks: tuple[Check, ...]
    at: Where
    notify_down: str | None = None  # seed 001: a script that stops keepalived


@dataclass(frozen=True)
class VirtualServer:
    address: str
    port: str | None
    protocol: str | None
    lb_algo: str | None
    lb_kind: str | None
    real_servers: tuple[RealServer, ...]
    at: Where


@dataclass(frozen=True)
class GlobalDefs:
    router_id: str | None = None
    enable_script_security: bool = False
    script_user: str | None = None
    vrrp_strict: bool = False
    vrrp_version: int | None = None
    mcast_group4: str | None = None  # vrrp_mcast_group4 (keepalived's default 224.0.0.18)
    mcast_group6: str | None = None  # vrrp_mcast_group6 (ff02::12)
    at: Where | None = None
    where: dict[str, Where] = field(default_factory=dict, compare=False)


@dataclass
class KeepalivedConf:
    path: str
    files: list[str]
    global_defs: GlobalDefs
    scripts: dict[str, VrrpScript]
    track_files: dict[str, VrrpScript]  # top-level track_file definitions (file in .script)
    instances: list[VrrpInstance]
    sync_groups: list[SyncGroup]
    virtual_servers: list[VirtualServer]
    problems: list[Problem]
    tree: list[Stmt] = field(default_factory=list)  # the statements as read (routes, rules...)


def load(path: str | Path, source: Source | None = None, *, config_id: str | None = None) -> KeepalivedConf:
    """Parse a keepalived.conf (and its includes) into the model. Never raises on bad text."""
    parsed = parse(str(path), source or LocalSource(), config_id=config_id)
    return build(str(path), parsed)


def build(path: str, parsed: Parsed) -> KeepalivedConf:
    problems = list(parsed.problems)
    b = _Builder(problems)
    conf = KeepalivedConf(path, parsed.files, GlobalDefs(), {}, {}, [], [], [], problems, list(parsed.top))
    for s in parsed.top:
        if s.keyword == "global_defs":
            conf.global_defs = b.global_defs(s)
        elif s.keyword == "vrrp_script":
            sc = b.script(s)
            conf.scripts[sc.name] = sc
        elif s.keyword in ("track_file", "vrrp_track_file"):
            tf = b.track_file(s)
            conf.track_files[tf.name] = tf
        elif s.keyword == "vrrp_instance":
            conf.instances.append(b.instance(s))
        elif s.keyword == "vrrp_sync_group":
            conf.sync_groups.append(
                SyncGroup(s.arg(0, "?"), tuple(c.keyword for g in s.find("group") for c in g.children or ()), _at(s))
            )
        elif s.keyword == "virtual_server":
            conf.virtual_servers.append(b.virtual_server(s))
        else:
            b.check_keywords(s, "", kw.TOP)
    return conf


def _at(s: Stmt) -> Where:
    return Where(s.file, s.line)


class _Builder:
    def __init__(self, problems: list[Problem]):
        self.problems = problems

    def problem(self, code: str, severity: str, s: Stmt, message: str) -> None:
        self.problems.append(Problem(code, severity, s.file, s.line, message))

    def check_keywords(self, s: Stmt, parent: str, allowed: frozenset[str] | None) -> None:
        """Name keywords keepalived does not know (it ignores them, so the setting is lost; and
        `keepalived -t` fails on them) or reads with a complaint (deprecated)."""
        if s.keyword in kw.DEPRECATED and (allowed is None or s.keyword in allowed or parent == "vrrp_instance"):
            self.problem(
                "deprecated-keyword",
                "error",
                s,
                f"`{s.keyword}` is deprecated: keepalived still applies it but reports a configuration error at "
                f"every start (and `keepalived -t` fails); use {kw.DEPRECATED[s.keyword]}",
            )
            return
        if allowed is None or s.keyword in allowed:
            return
        close = difflib.get_close_matches(s.keyword, allowed, n=1, cutoff=0.75)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        where = f"in `{parent}`" if parent else "at the top level"
        self.problem(
            "unknown-keyword",
            "error",  # keepalived ignores the line, and `keepalived -t` rejects the config
            s,
            f"`{s.keyword}` is not a keepalived keyword {where}: keepalived ignores the line{hint}",
        )

    def children(self, s: Stmt, allowed: frozenset[str] | None) -> dict[str, Stmt]:
        """Last statement of each keyword (keepalived keeps the last one), unknown ones named."""
        out: dict[str, Stmt] = {}
        for c in s.children or ():
            self.check_keywords(c, s.keyword, allowed)
            out[c.keyword] = c
        return out

    def number(self, s: Stmt | None, kind: Callable[[str], Any] = int) -> Any:
        if s is None:
            return None
        v = s.arg(0)
        try:
            return kind(v) if v is not None else kind("")
        except (TypeError, ValueError):
            self.problem("bad-value", "error", s, f"`{s.keyword}` needs a number, not `{v or ''}`")
            return None

    def global_defs(self, s: Stmt) -> GlobalDefs:
        c = self.children(s, kw.GLOBAL_DEFS)
        return GlobalDefs(
            router_id=c["router_id"].arg(0) if "router_id" in c else None,
            enable_script_security="enable_script_security" in c,
            script_user=c["script_user"].arg(0) if "script_user" in c else None,
            vrrp_strict="vrrp_strict" in c,
            vrrp_version=self.number(c.get("vrrp_version")),
            mcast_group4=c["vrrp_mcast_group4"].arg(0) if "vrrp_mcast_group4" in c else None,
            mcast_group6=c["vrrp_mcast_group6"].arg(0) if "vrrp_mcast_group6" in c else None,
            at=_at(s),
            where={k: _at(v) for k, v in c.items()},
        )

    def script(self, s: Stmt) -> VrrpScript:
        c = self.children(s, kw.VRRP_SCRIPT)
        return VrrpScript(
            name=s.arg(0, "?"),
            script=" ".join(c["script"].args) if "script" in c else None,
            interval=self.number(c.get("interval"), float),
            timeout=self.number(c.get("timeout"), float),
            weight=self.number(c.get("weight")),
            rise=self.number(c.get("rise")),
            fall=self.number(c.get("fall")),
            user=c["user"].arg(0) if "user" in c else None,
            at=_at(s),
            where={k: _at(v) for k, v in c.items()},
        )

    def track_file(self, s: Stmt) -> VrrpScript:
        c = self.children(s, kw.TRACK_FILE_DEF)
        return VrrpScript(
            name=s.arg(0, "?"),
            script=c["file"].arg(0) if "file" in c else None,
            interval=None,
            timeout=None,
            weight=self.number(c.get("weight")),
            rise=None,
            fall=None,
            user=None,
            at=_at(s),
            where={k: _at(v) for k, v in c.items()},
        )

    def tracked(self, s: Stmt | None) -> tuple[Tracked, ...]:
        out = []
        for e in (s.children or ()) if s is not None else ():
            weight = None
            if len(e.args) >= 2 and e.args[0] == "weight":
                try:
                    weight = int(e.args[1])
                except ValueError:
                    self.problem("bad-value", "error", e, f"`weight` needs a number, not `{e.args[1]}`")
            out.append(Tracked(e.keyword, weight, _at(e)))
        return tuple(out)

    def instance(self, s: Stmt) -> VrrpInstance:
        c = self.children(s, kw.VRRP_INSTANCE)
        auth = c.get("authentication")
        ac = self.children(auth, kw.AUTHENTICATION) if auth is not None and auth.children is not None else {}
        where = {k: _at(v) for k, v in c.items()}
        where.update({k: _at(v) for k, v in ac.items()})
        vips = []
        for e in (c["virtual_ipaddress"].children or ()) if "virtual_ipaddress" in c else ():
            addr, _, prefix = e.keyword.partition("/")
            dev = e.args[e.args.index("dev") + 1] if "dev" in e.args[:-1] else None
            vips.append(Vip(addr, int(prefix) if prefix.isdigit() else None, dev, _at(e)))
        peers = tuple((e.keyword, _at(e)) for e in (c["unicast_peer"].children or ())) if "unicast_peer" in c else ()
        accept = True if "accept" in c else False if "no_accept" in c else None
        vrid_text = c["virtual_router_id"].arg(0) if "virtual_router_id" in c else None
        return VrrpInstance(
            name=s.arg(0, "?"),
            at=_at(s),
            state=c["state"].arg(0) if "state" in c else None,
            interface=c["interface"].arg(0) if "interface" in c else None,
            vrid=self.number(c.get("virtual_router_id")),
            vrid_text=vrid_text,
            priority=self.number(c.get("priority")),
            advert_int=self.number(c.get("advert_int"), float),
            auth_type=ac["auth_type"].arg(0) if "auth_type" in ac else None,
            auth_pass=ac["auth_pass"].arg(0) if "auth_pass" in ac else None,
            nopreempt="nopreempt" in c,
            preempt_delay=self.number(c.get("preempt_delay"), float),
            vips=tuple(vips),
            unicast_src_ip=c["unicast_src_ip"].arg(0) if "unicast_src_ip" in c else None,
            mcast_dst_ip=c["mcast_dst_ip"].arg(0) if "mcast_dst_ip" in c else None,
            unicast_peers=peers,
            track_scripts=self.tracked(c.get("track_script")),
            track_files=self.tracked(c.get("track_file")),
            track_interfaces=tuple(e.keyword for e in (c["track_interface"].children or ()))
            if "track_interface" in c
            else (),
            notify={k: " ".join(v.args) for k, v in c.items() if k.startswith("notify")},
            accept=accept,
            strict_mode="strict_mode" in c,
            version=self.number(c.get("version")),
            where=where,
        )

    def virtual_server(self, s: Stmt) -> VirtualServer:
        c = self.children(s, kw.VIRTUAL_SERVER)
        reals = []
        for r in s.find("real_server"):
            rc = self.children(r, kw.REAL_SERVER)
            checks = []
            for k, ch in rc.items():
                if k in kw.CHECKS:
                    cc = self.children(ch, kw.CHECK)
                    for sub in cc.values():
                        if sub.keyword == "url" and sub.children is not None:
                            self.children(sub, kw.URL)
                    checks.append(Check(k, {n: " ".join(v.args) for n, v in cc.items()}, _at(ch)))
            down = " ".join(rc["notify_down"].args) if "notify_down" in rc else None
            reals.append(
                RealServer(r.arg(0, "?"), r.arg(1), self.number(rc.get("weight")), tuple(checks), _at(r), down)
            )
        return VirtualServer(
            s.arg(0, "?"),
            s.arg(1),
            c["protocol"].arg(0) if "protocol" in c else None,
            _first_arg(c, "lb_algo", "lvs_sched"),
            _first_arg(c, "lb_kind", "lvs_method"),
            tuple(reals),
            _at(s),
        )


def _first_arg(children: dict[str, Stmt], *keywords: str) -> str | None:
    """The first argument of the first of `keywords` present (an option and its old name)."""
    for k in keywords:
        if k in children:
            return children[k].arg(0)
    return None
