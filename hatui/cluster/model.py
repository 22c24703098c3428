"""The resolved cluster: frozen pydantic models, one per section of the cluster file.

Leaf values go through our own before-validators, which convert or refuse them, so every error
carries an "expected ..." phrase written for an operator (pydantic's stock "Input should be ..."
never reaches the screen). Errors raised here are `PydanticCustomError`s whose ctx holds
`expected` (and optionally `found`, and `at`: the key inside the failing mapping to point at);
the loader turns them into lines.

Cross-node rules (topology needs, VIP node references, ...) live in `cluster_rules`, a pure
function over plain data, so the loader can run it even when some nodes failed validation.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hatui.cluster.errors import Problem

# ----------------------------------------------------------------------------- error helpers

#: error type for a bad value; ctx: expected, optional found / at
VALUE_ERROR = "hatui"
#: error type for "something required is absent" (ignored when validating `defaults` alone,
#: since a node may still supply it)
MISSING_ERROR = "hatui_missing"


def expected(what: str, *, found: str | None = None, at: str | None = None) -> PydanticCustomError:
    ctx: dict[str, str] = {"expected": what}
    if found is not None:
        ctx["found"] = found
    if at is not None:
        ctx["at"] = at
    return PydanticCustomError(VALUE_ERROR, "expected {expected}", ctx)


def missing(what: str, *, found: str) -> PydanticCustomError:
    return PydanticCustomError(MISSING_ERROR, "expected {expected}", {"expected": what, "found": found})


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' or '; expected one of a, b' (the tail of an unknown-name message)."""
    choices = list(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.7)  # 'db4' is not a typo of 'db3'
    if close:
        return f"; did you mean '{close[0]}'?"
    return "; expected one of " + ", ".join(choices) if choices else ""


# ----------------------------------------------------------------------------- enums


class Topology(StrEnum):
    DUAL_MASTER = "dual-master"
    PRIMARY_REPLICAS = "primary-replicas"
    MMM = "mmm"


class Role(StrEnum):
    MYSQL = "mysql"
    KEEPALIVED = "keepalived"
    ROUTER = "router"


class VipRole(StrEnum):
    WRITER = "writer"
    READER = "reader"


class RouterKind(StrEnum):
    NONE = "none"  # not read (MySQL Router before 8.0.17 has no REST API): routes unknown
    HAPROXY = "haproxy"
    MYSQL_ROUTER = "mysql-router"


class MysqlVia(StrEnum):
    SSH_TUNNEL = "ssh-tunnel"
    DIRECT = "direct"


# ----------------------------------------------------------------------------- leaf validators


def _is(enum: type[StrEnum], v: Any) -> bool:
    return isinstance(v, str) and v in enum._value2member_map_


def _enum(enum: type[StrEnum]) -> Callable[[Any], Any]:
    def check(v: Any) -> StrEnum:
        if _is(enum, v):
            return enum(v)
        raise expected("one of " + ", ".join(m.value for m in enum))

    return check


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, str) and v.strip().isascii() and v.strip().isdigit():  # a quoted "22" means 22
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise expected(f"an integer {lo}-{hi}")
        return v

    return check


def _number(*, positive: bool) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        ok = isinstance(v, int | float) and not isinstance(v, bool) and v == v  # NaN fails v == v
        if not ok or v < 0 or (positive and v == 0) or v == float("inf"):
            raise expected("a number of seconds > 0" if positive else "a number of seconds >= 0")
        return float(v)

    return check


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise expected("a non-empty string")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise expected("true or false")
    return v


def _password(v: Any) -> SecretStr:
    if isinstance(v, SecretStr):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        # YAML reads `password: 0123` as the number 83: never guess, ask for quotes
        raise expected("a quoted string (YAML turns unquoted digits into a number)", found="a number")
    if v == "":
        raise expected("a non-empty string", found="an empty string")
    if not isinstance(v, str):
        raise expected("a string")  # the loader shows only the kind of value, never the value
    return SecretStr(v)


def _matching(pattern: str, what: str) -> Callable[[Any], str]:
    """A string that fully matches `pattern`; `what` says what was expected."""
    rx = re.compile(pattern)

    def check(v: Any) -> str:
        if not isinstance(v, str) or not rx.fullmatch(v):
            raise expected(what)
        return v

    return check


_env_name = _matching(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name (letters, digits, '_')")


_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def is_host(s: str) -> bool:
    """A hostname (RFC 1123, '_' tolerated) or an IPv4/IPv6 address."""
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        pass
    if len(s) > 253 or re.fullmatch(r"[0-9.]+", s):  # digits and dots: a broken IPv4, not a name
        return False
    return all(_LABEL_RE.fullmatch(label) for label in s.removesuffix(".").split("."))


def _host(v: Any) -> str:
    if not isinstance(v, str) or not is_host(v):
        raise expected("a hostname or IP address")
    return v


def _ip(v: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return v
    if isinstance(v, str):
        if "/" in v:  # keepalived.conf writes VIPs as 172.168.1.20/24; here only the address
            raise expected("an IP address without /prefix")
        try:
            return ipaddress.ip_address(v)
        except ValueError:
            pass
    raise expected("an IPv4 or IPv6 address")


def _local_path(v: Any, info: ValidationInfo) -> Path:
    """A path on the console's machine: ~ expanded, relative to the cluster file's folder."""
    if isinstance(v, Path):
        return v
    if not isinstance(v, str) or not v.strip():
        raise expected("a file path")
    p = Path(os.path.expanduser(v))
    base = (info.context or {}).get("base_dir")
    if not p.is_absolute() and base is not None:
        p = Path(base) / p
    return p


# Paths on a node end up in commands run there (as root with sudo): they are quoted every
# time, and on top of that only plain path characters are accepted.
_REMOTE_PATH_RE = re.compile(r"/[A-Za-z0-9_./@+:,=~-]*")


def _remote_path(v: Any) -> PurePosixPath:
    """A path on a node: never expanded or resolved locally."""
    if isinstance(v, PurePosixPath):
        v = str(v)
    if not isinstance(v, str) or not v.startswith("/"):
        raise expected("an absolute path on the node")
    if not _REMOTE_PATH_RE.fullmatch(v) or "/../" in v + "/":
        raise expected(
            "an absolute path on the node of letters, digits and _ . / @ + : , = ~ - "
            "(no spaces, quotes, shell characters or '..')"
        )
    return PurePosixPath(v)


NODE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_node_name = _matching(
    NODE_NAME_RE.pattern, "a node name of letters, digits, '_', '.', '-' starting with a letter or digit"
)
_netns = _matching(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,255}", "a network namespace name (letters, digits, '_', '.', '-')")


def _list_of(items: str, one: str | None = None) -> Callable[[Any], Any]:
    """A list of `items`; with `one` (what a single item is called) it must not be empty."""

    def check(v: Any) -> Any:
        if not isinstance(v, list | tuple | set | frozenset):
            raise expected(f"a list of {items}")
        if not v and one is not None:
            raise missing(f"at least one {one}", found="an empty list")
        return v

    return check


def _none_is_empty(v: Any) -> Any:
    # `ssh:` with nothing after it means "no overrides", not "no SSH settings"
    return {} if v is None else v


Port = Annotated[int, BeforeValidator(_int_range(1, 65535))]
Seconds = Annotated[float, BeforeValidator(_number(positive=False))]
Timeout = Annotated[float, BeforeValidator(_number(positive=True))]
Text = Annotated[str, BeforeValidator(_text)]
Flag = Annotated[bool, BeforeValidator(_bool)]
Password = Annotated[SecretStr, BeforeValidator(_password)]
EnvName = Annotated[str, BeforeValidator(_env_name)]
Host = Annotated[str, BeforeValidator(_host)]
IPAddress = Annotated[ipaddress.IPv4Address | ipaddress.IPv6Address, BeforeValidator(_ip)]
LocalPath = Annotated[Path, BeforeValidator(_local_path)]
RemotePath = Annotated[PurePosixPath, BeforeValidator(_remote_path)]
NodeName = Annotated[str, BeforeValidator(_node_name)]
# the name is a folder of the state directory: never "." or "..", no "/"
ClusterName = Annotated[
    str,
    BeforeValidator(
        _matching(
            r"(?!\.\.?$)[A-Za-z0-9_.-]{1,64}", "a cluster name of letters, digits, '_', '.', '-' (not '.' or '..')"
        )
    ),
]
NetnsName = Annotated[str, BeforeValidator(_netns)]
RoleT = Annotated[Role, BeforeValidator(_enum(Role))]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_ROLES = ", ".join(Role)

# ----------------------------------------------------------------------------- models


class Thresholds(BaseModel):
    model_config = _FROZEN

    lag_warning: Seconds = 5.0
    lag_critical: Annotated[Seconds, Field(validate_default=True)] = 30.0

    @field_validator("lag_critical")
    @classmethod
    def _above_warning(cls, v: float, info: ValidationInfo) -> float:
        warning = info.data.get("lag_warning")
        if warning is not None and v <= warning:
            raise expected(f"a number greater than lag_warning ({warning:g})")
        return v


class JumpHost(BaseModel):
    """`[user@]host[:port]`; user None means the node's own ssh.user."""

    model_config = _FROZEN

    user: str | None = None
    host: str
    port: int = 22

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        return f"{user}{host}:{self.port}"


def parse_jump_host(v: Any) -> JumpHost:
    if isinstance(v, JumpHost):
        return v
    bad = expected("[user@]host[:port]")
    if not isinstance(v, str):
        raise bad
    user, _, rest = v.rpartition("@")
    port = "22"
    if rest.startswith("["):  # [2001:db8::1]:2222
        host, _, tail = rest[1:].partition("]")
        if tail:
            if not tail.startswith(":"):
                raise bad
            port = tail[1:]
    elif rest.count(":") == 1:
        host, port = rest.split(":")
    else:
        host = rest  # a bare IPv6 address has several colons and no port
    if (user == "" and "@" in v) or not is_host(host) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise bad
    return JumpHost(user=user or None, host=host, port=int(port))


class SshConfig(BaseModel):
    model_config = _FROZEN

    user: Text = "root"
    port: Port = 22
    identity: LocalPath | None = None
    known_hosts: LocalPath | None = None  # None: asyncssh's default (~/.ssh/known_hosts)
    jump_host: Annotated[JumpHost, BeforeValidator(parse_jump_host)] | None = None
    sudo: Flag = False
    connect_timeout: Timeout = 5.0


PASSWORD_SOURCES = ("password_env", "password_file", "option_file", "password")


class Account(BaseModel):
    """A MySQL account and where its password comes from (see hatui.cluster.secrets)."""

    model_config = _FROZEN

    user: Text
    password_env: EnvName | None = None
    password_file: LocalPath | None = None
    option_file: LocalPath | None = None
    option_group: Text = "client"
    password: Password | None = None

    _label: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _one_source(self) -> Account:
        given = [k for k in PASSWORD_SOURCES if getattr(self, k) is not None]
        if len(given) > 1:
            raise expected(
                "exactly one password source",
                found=" and ".join(given),
                at=given[1],
            )
        if not given:
            raise missing("one of " + ", ".join(PASSWORD_SOURCES), found="no password source")
        if "option_group" in self.model_fields_set and self.option_file is None:
            raise expected(
                "option_group only with option_file", found="option_group without option_file", at="option_group"
            )
        return self

    @property
    def source(self) -> str:
        """Which key holds the password: password_env, password_file, option_file or password."""
        return next(k for k in PASSWORD_SOURCES if getattr(self, k) is not None)

    @property
    def label(self) -> str:
        """Where this account is in the cluster file, e.g. 'nodes.db1.mysql.admin'."""
        return self._label or f"account {self.user!r}"


class MysqlConfig(BaseModel):
    model_config = _FROZEN

    port: Port = 3306
    via: Annotated[MysqlVia, BeforeValidator(_enum(MysqlVia))] = MysqlVia.SSH_TUNNEL
    monitor: Account | None = None  # reads status
    admin: Account | None = None  # used by runbooks
    # the account replicas connect with; only needed when a runbook creates a channel that
    # does not exist yet (an existing channel keeps its own credentials)
    replication: Account | None = None


class KeepalivedLog(BaseModel):
    """Where keepalived logs: a journald unit, or a file on the node (CentOS 6: /var/log/messages)."""

    model_config = _FROZEN

    journald: Text | None = None
    file: RemotePath | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> KeepalivedLog:
        given = [k for k in ("journald", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise expected(
                "exactly one of journald, file",
                found="journald and file" if given else "neither journald nor file",
                at=given[1] if len(given) > 1 else None,
            )
        return self


class KeepalivedConfig(BaseModel):
    model_config = _FROZEN

    # Debian/Ubuntu's unit is keepalived.service; systemd keeps its log in the journal
    log: Annotated[KeepalivedLog, BeforeValidator(_none_is_empty)] = KeepalivedLog(journald="keepalived")
    config: RemotePath = PurePosixPath("/etc/keepalived/keepalived.conf")
    # A file keepalived tracks (`track_file` with weight 1): the switchover writes a number
    # there to move the VIP through keepalived in milliseconds. None: no fast VIP move.
    priority_file: RemotePath | None = None
    # keepalived's parent pid file, when it is not in one of the usual places (/run, /var/run,
    # /run/keepalived, /var/run/keepalived); without any, hatui finds the process in /proc
    pid_file: RemotePath | None = None
    # seed 003's way to move the VIP (keepalived 1.x too): a vrrp_script with a negative weight
    # checks this file; while it exists the node's priority drops. The switchover creates it on
    # the old writer.
    flag_file: RemotePath | None = None
    # the last resort when neither file exists: the switchover stops keepalived on the old
    # writer (the VIP moves) and starts it again (run as root on the node)
    stop_command: Text = "systemctl stop keepalived"
    start_command: Text = "systemctl start keepalived"


_ROUTE_NAME = _matching(r"[A-Za-z0-9_.:-]{1,128}", "a route name (letters, digits, '_', '.', ':', '-')")
_REST_BASE = _matching(r"(/[A-Za-z0-9_.-]+)+", "a URL path such as /api/20190715")


def _routes_map(v: Any) -> Any:
    if not isinstance(v, Mapping):
        raise expected("a mapping of route names to writer or reader")
    return v


class RouterConfig(BaseModel):
    """`router:` of a node with the router role: where hatui reads what each route sends to.

    HAProxy: the stats socket (`show stat`, read with socat or nc over SSH, as root). MySQL
    Router: its REST API on the router host, reached through the node's SSH tunnel with an
    account of its `http_auth_backend`. `routes` says which route is the writers' and which the
    readers' (HAProxy backend or `[routing:NAME]` section); names holding rw/write/primary or
    ro/read/replica are recognised without it."""

    model_config = _FROZEN

    # none unless said: a router hatui cannot read must not raise router.unreadable for ever
    kind: Annotated[RouterKind, BeforeValidator(_enum(RouterKind))] = RouterKind.NONE
    stats_socket: RemotePath = PurePosixPath("/run/haproxy/admin.sock")  # Debian's default
    rest_port: Port = 8443
    rest_base: Annotated[str, BeforeValidator(_REST_BASE)] = "/api/20190715"
    rest_tls: Flag = True
    # The REST call goes through the node's SSH session (host key verified) to the router's
    # own loopback; Router's bootstrap certificate is self-signed, so the CA is optional.
    rest_ca_file: LocalPath | None = None
    rest_account: Account | None = None
    routes: Annotated[
        dict[Annotated[str, BeforeValidator(_ROUTE_NAME)], Annotated[VipRole, BeforeValidator(_enum(VipRole))]],
        BeforeValidator(_routes_map),
    ] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_account(self) -> RouterConfig:
        if self.kind == RouterKind.MYSQL_ROUTER and self.rest_account is None:
            raise missing("rest_account (user and password source) for kind mysql-router", found="no rest_account")
        return self

    def role_of(self, route: str) -> str | None:
        """'writer' / 'reader' for a route name: the `routes` map, else the name's words."""
        if route in self.routes:
            return self.routes[route].value
        return guess_route_role(route)


_WRITER_WORDS = frozenset({"rw", "write", "writer", "writes", "primary", "master"})
_READER_WORDS = frozenset({"ro", "read", "reader", "reads", "replica", "replicas", "secondary", "slave", "slaves"})


def guess_route_role(name: str) -> str | None:
    """'bootstrap_rw' -> writer, 'mysql_ro' -> reader, 'backend_x' -> None."""
    words = set(re.split(r"[^a-z0-9]+", name.lower()))
    w, r = bool(words & _WRITER_WORDS), bool(words & _READER_WORDS)
    if w == r:
        return None
    return VipRole.WRITER.value if w else VipRole.READER.value


class Node(BaseModel):
    model_config = _FROZEN

    name: str  # the key under `nodes:`, filled in by the loader
    host: Host
    roles: Annotated[frozenset[RoleT], BeforeValidator(_list_of(f"roles ({_ROLES})", f"role ({_ROLES})"))]
    ssh: Annotated[SshConfig, BeforeValidator(_none_is_empty)] = SshConfig()
    mysql: Annotated[MysqlConfig, BeforeValidator(_none_is_empty)] = MysqlConfig()
    keepalived: Annotated[KeepalivedConfig, BeforeValidator(_none_is_empty)] = KeepalivedConfig()
    router: Annotated[RouterConfig, BeforeValidator(_none_is_empty)] = RouterConfig()

    @model_validator(mode="after")
    def _label_accounts(self) -> Node:
        # so secret errors can say which account failed without the caller passing a path
        for kind in ("monitor", "admin", "replication"):
            account = getattr(self.mysql, kind)
            if account is not None:
                account._label = f"nodes.{self.name}.mysql.{kind}"
        if self.router.rest_account is not None:
            self.router.rest_account._label = f"nodes.{self.name}.router.rest_account"
        return self

    def has_role(self, role: Role | str) -> bool:
        return Role(role) in self.roles


class Vip(BaseModel):
    model_config = _FROZEN

    address: IPAddress
    instance: Text | None = None  # VRRP instance; None for VIPs a monitor (MMM) moves
    role: Annotated[VipRole, BeforeValidator(_enum(VipRole))]
    port: Port = 3306
    nodes: Annotated[tuple[NodeName, ...], BeforeValidator(_list_of("node names", "node name"))] | None = None


class NotifyKind(StrEnum):
    """What a notification hook can be told about (hatui.notify has the events themselves)."""

    ROLE = "role"  # a node's VRRP instance changed state (MASTER, BACKUP, FAULT, STOP)
    ALERT_RAISED = "alert_raised"
    ALERT_CLEARED = "alert_cleared"
    # incidents: the alerts grouped under a root cause (hatui.rules.incidents); one page per
    # incident instead of one per alert
    INCIDENT_RAISED = "incident_raised"
    INCIDENT_CHANGED = "incident_changed"  # new code or severity (e.g. the VIP moved)
    INCIDENT_CLEARED = "incident_cleared"


class AlertLevel(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


def _command(v: Any) -> str | tuple[str, ...]:
    """A string (run with /bin/sh -c) or a list (program and arguments, run without a shell)."""
    if isinstance(v, str) and v.strip():
        return v
    what = "a command: a string run with /bin/sh -c, or a list of program and arguments"
    if isinstance(v, list | tuple) and v:
        if all(isinstance(a, str) and a for a in v):
            return tuple(v)
        raise expected(what + " (each a non-empty string; quote numbers)", found="a list with a non-string item")
    raise expected(what)


NotifyKindT = Annotated[NotifyKind, BeforeValidator(_enum(NotifyKind))]


class Hook(BaseModel):
    """A command the console runs on its own machine for each event, the event in HATUI_*
    environment variables only (never on the command line)."""

    model_config = _FROZEN

    command: Annotated[str | tuple[str, ...], BeforeValidator(_command)]
    events: Annotated[
        frozenset[NotifyKindT],
        BeforeValidator(_list_of(f"events ({', '.join(NotifyKind)})", f"event ({', '.join(NotifyKind)})")),
    ] = frozenset(NotifyKind)
    min_severity: Annotated[AlertLevel, BeforeValidator(_enum(AlertLevel))] = AlertLevel.WARNING  # alerts only
    timeout: Timeout = 10.0

    @property
    def argv(self) -> tuple[str, ...]:
        return ("/bin/sh", "-c", self.command) if isinstance(self.command, str) else self.command

    @property
    def label(self) -> str:
        """Short name for messages: the program's file name (never the arguments)."""
        first = self.command.split(None, 1)[0] if isinstance(self.command, str) else self.command[0]
        return PurePosixPath(first).name or first


class RateLimit(BaseModel):
    model_config = _FROZEN

    max_events: Annotated[int, BeforeValidator(_int_range(1, 100_000))] = 10
    per_seconds: Timeout = 60.0


class Notify(BaseModel):
    """`notify:`: what happens on VRRP role changes and alerts raised or cleared."""

    model_config = _FROZEN

    hooks: Annotated[tuple[Hook, ...], BeforeValidator(_list_of("hooks"))] = ()
    rate_limit: Annotated[RateLimit, BeforeValidator(_none_is_empty)] = RateLimit()
    bell: Flag = False
    toast: Flag = True


def _node_mapping(v: Any) -> Any:
    if not isinstance(v, Mapping):
        raise expected("a mapping of node names to nodes")
    if not v:
        raise missing("at least one node", found="an empty mapping")
    return v


class Cluster(BaseModel):
    model_config = _FROZEN

    name: ClusterName
    topology: Annotated[Topology, BeforeValidator(_enum(Topology))]
    namespace: NetnsName | None = None
    thresholds: Annotated[Thresholds, BeforeValidator(_none_is_empty)] = Thresholds()
    nodes: Annotated[dict[NodeName, Node], BeforeValidator(_node_mapping)]
    vips: Annotated[list[Vip], BeforeValidator(_list_of("VIPs"))] = Field(default_factory=list)
    notify: Annotated[Notify, BeforeValidator(_none_is_empty)] = Notify()
    source: Path | None = None  # the cluster file, absolute; set by the loader
    warnings: list[Problem] = Field(default_factory=list, repr=False)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Cluster:
        # the loader runs the rules itself (on raw data, with file positions)
        if (info.context or {}).get("hatui_loader"):
            return self
        broken = cluster_rules(rules_view(self))
        if broken:
            raise expected("; ".join(f"{where(v.path)}: {v.text}" for v in broken), found="rule violations")
        return self

    def nodes_with_role(self, role: Role | str) -> list[Node]:
        return [n for n in self.nodes.values() if n.has_role(role)]

    def vips_with_role(self, role: VipRole | str) -> list[Vip]:
        return [v for v in self.vips if v.role == VipRole(role)]


# ----------------------------------------------------------------------------- cross-node rules


class Violation(NamedTuple):
    path: tuple[Any, ...]  # where in the (merged) document
    text: str  # "found ...; expected ..." or "missing required key ..."
    kind: str  # "value": point at the value; "key": point at the key that holds it


def where(path: Iterable[Any]) -> str:
    """('vips', 0, 'nodes', 1) -> 'vips[0].nodes[1]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


def rules_view(cluster: Cluster) -> dict[str, Any]:
    """A validated Cluster as the plain data `cluster_rules` reads."""
    return {
        "topology": cluster.topology.value,
        "nodes": {name: {"host": n.host, "roles": [r.value for r in n.roles]} for name, n in cluster.nodes.items()},
        "vips": [
            {
                "address": str(v.address),
                "port": v.port,
                "role": v.role.value,
                "instance": v.instance,
                "nodes": list(v.nodes) if v.nodes is not None else None,
            }
            for v in cluster.vips
        ],
    }


def _as_ip(v: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(v) if isinstance(v, str) else None
    except ValueError:
        return None


def _valid_roles(r: Any) -> bool:
    return isinstance(r, list | tuple | set | frozenset) and bool(r) and all(_is(Role, x) for x in r)


def cluster_rules(data: Mapping[str, Any]) -> list[Violation]:
    """Rules across sections. Reads raw (possibly invalid) data and stays silent about parts
    that are malformed: validation reports those, and a rule must not pile on a second error."""
    nodes = data.get("nodes")
    nodes = nodes if isinstance(nodes, Mapping) else {}
    raw_vips = data.get("vips") or []
    vips_ok = isinstance(raw_vips, list | tuple)
    vips = [v if isinstance(v, Mapping) else {} for v in raw_vips] if vips_ok else []
    topology = data.get("topology")
    return [
        *_vip_node_names(nodes, vips),
        *_topology_needs(topology, nodes, vips if vips_ok else None),
        *_vip_instances(topology, vips),
        *_duplicate_vips(vips),
        *_hosts_that_are_vips(nodes, vips),
    ]


def _vip_node_names(nodes: Mapping[Any, Any], vips: list[Mapping[str, Any]]) -> list[Violation]:
    out = []
    names = [n for n in nodes if isinstance(n, str)]
    for i, vip in enumerate(vips):
        held = vip.get("nodes")
        for j, name in enumerate(held if isinstance(held, list | tuple) else []):
            if isinstance(name, str) and name not in nodes:
                text = f"unknown node '{name}'{did_you_mean(name, names)}"
                out.append(Violation(("vips", i, "nodes", j), text, "value"))
    return out


def _topology_needs(topology: Any, nodes: Mapping[Any, Any], vips: list[Mapping[str, Any]] | None) -> list[Violation]:
    if not _is(Topology, topology):
        return []
    out = []
    roles = [node.get("roles") if isinstance(node, Mapping) else None for node in nodes.values()]
    if roles and all(_valid_roles(r) for r in roles):  # else the roles themselves are reported
        dbs = [str(name) for name, r in zip(nodes, roles, strict=True) if Role.MYSQL in (r or ())]
        need = 2 if topology == Topology.DUAL_MASTER else 1
        if len(dbs) < need:
            has = f"{len(dbs)} mysql node{'s' if len(dbs) != 1 else ''}" + (f" ({', '.join(dbs)})" if dbs else "")
            want = "at least two nodes" if need == 2 else "at least one node"
            text = f"found '{topology}' with {has}; expected {want} with the mysql role"
            out.append(Violation(("topology",), text, "value"))
    vip_roles = [v.get("role") for v in vips] if vips is not None else [None]  # None: malformed, reported already
    if topology == Topology.MMM and VipRole.WRITER not in vip_roles:
        if all(_is(VipRole, r) for r in vip_roles):  # a misspelt role is reported already
            text = "found 'mmm' without a writer VIP; expected a vips entry with role: writer"
            out.append(Violation(("topology",), text, "value"))
    return out


def _vip_instances(topology: Any, vips: list[Mapping[str, Any]]) -> list[Violation]:
    if topology not in (Topology.DUAL_MASTER, Topology.PRIMARY_REPLICAS):
        return []  # mmm: the monitor moves VIPs, there may be no VRRP instance
    text = f"missing required key 'instance' (keepalived moves this VIP in a {topology} cluster)"
    return [Violation(("vips", i), text, "key") for i, vip in enumerate(vips) if vip and vip.get("instance") is None]


def _duplicate_vips(vips: list[Mapping[str, Any]]) -> list[Violation]:
    out = []
    seen: dict[tuple[Any, Any], int] = {}
    for i, vip in enumerate(vips):
        addr, port = _as_ip(vip.get("address")), vip.get("port", 3306)
        if addr is None or not isinstance(port, int):
            continue
        if (addr, port) in seen:
            text = f"found {addr} port {port} again (also vips[{seen[addr, port]}]); expected each address:port once"
            out.append(Violation(("vips", i, "address"), text, "value"))
        seen.setdefault((addr, port), i)
    return out


def _hosts_that_are_vips(nodes: Mapping[Any, Any], vips: list[Mapping[str, Any]]) -> list[Violation]:
    # SSH to a VIP lands on whichever node holds it right now: never the node you meant
    first: dict[Any, int] = {}
    for i, vip in enumerate(vips):
        first.setdefault(_as_ip(vip.get("address")), i)
    first.pop(None, None)
    out = []
    for name, node in nodes.items():
        host = _as_ip(node.get("host")) if isinstance(node, Mapping) else None
        if host in first:
            text = f"found {host}, the address of vips[{first[host]}]; expected the node's own address"
            text += " (a VIP moves between nodes)"
            out.append(Violation(("nodes", name, "host"), text, "value"))
    return out
