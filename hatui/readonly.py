"""Watch mode's guarantee, enforced where I/O happens: only allowlisted reads ever leave hatui.

Every SSH command and SQL statement of a read-only session passes `ReadOnlyPolicy.check_*`
before it is sent; anything not on the allowlist raises `ReadOnlyViolation` and is never sent.
The allowlists are exact: the SQL statements the status reader issues for each dialect, and the
shapes of the commands the sources build (only offsets, cursors and such may vary). A new read
must be added here on purpose; nothing that writes can slip in by accident.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hatui.cluster import Cluster, Node
from hatui.collect.kaconfig import config_command
from hatui.collect.logs import LogSource
from hatui.collect.nodeprobe import probe_command, probe_stream_command
from hatui.collect.routers import haproxy_command, haproxy_stream_command
from hatui.errors import Refused
from hatui.mysql.dialect import dialect_for
from hatui.mysql.reader import VERSION_SQL
from hatui.mysql.version import detect_version


class ReadOnlyViolation(Refused, PermissionError):
    """A read-only session was asked to send something that is not an allowlisted read."""


# One version per dialect boundary, so every statement any server would get is listed.
_DIALECT_VERSIONS = (
    "5.7.44",
    "8.0.21",
    "8.0.22",
    "8.0.26",
    "8.2.0",
    "8.4.3",
    "10.5.27-MariaDB",
    "10.11.19-MariaDB",
    "11.4.2-MariaDB",
)


def allowed_sql() -> frozenset[str]:
    stmts = {VERSION_SQL}
    for v in _DIALECT_VERSIONS:
        d = dialect_for(detect_version(v))
        stmts |= {
            d.variables_sql(),
            d.replica_status_sql,
            d.binlog_status_sql,
            d.global_status_sql,
            d.semi_sync_variables_sql,
            d.session_read_only_sql,
        }
    return frozenset(s for s in stmts if s)


_NUM = "9876543210123"  # stand-ins, replaced by patterns after escaping
_INODE = "hatuiINODEhatui"
_CURSOR = "hatuiCURSORhatui"
# An inode sits inside `sh -c '...'`: digits only, so nothing can close that quote. A journald
# cursor is a command word of its own: shlex quotes it when it holds ';' (as cursors do).
_INODE_RE = r"(?:\d+|-)"
_CURSOR_RE = r"(?:'[0-9A-Za-z=;_-]+'|[0-9A-Za-z=_-]+)"


def _shape(command: str) -> re.Pattern[str]:
    pattern = re.escape(command).replace(_NUM, r"\d+").replace(_INODE, _INODE_RE).replace(_CURSOR, _CURSOR_RE)
    return re.compile(pattern + r"\Z")


def _any_interval(command: str) -> re.Pattern[str]:
    """A streamed reading's command at any interval (`sleep N` inside `sh -c '...'`: digits and
    a dot only)."""
    return re.compile(
        re.escape(command).replace(re.escape(f"sleep {float(_NUM):g}"), r"sleep \d+(?:\.\d+)?(?:e[+-]?\d+)?") + r"\Z"
    )


def allowed_command_shapes(node: Node) -> list[re.Pattern[str]]:
    """What the read sources may run on this node, as anchored patterns."""
    # no VRRP dump: it signals keepalived and replaces a file on the node (the wallboard reads
    # VRRP state from the log instead)
    pid_file = str(node.keepalived.pid_file) if node.keepalived.pid_file else None
    shapes = [_shape(probe_command(True, pid_file)), _shape(probe_command(False)), _shape(config_command(node))]
    # the streamed probe, at any interval (`sleep N` inside `sh -c '...'`: digits and a dot only)
    shapes += [_any_interval(probe_stream_command(ka, pid_file if ka else None, float(_NUM))) for ka in (True, False)]
    src = LogSource(node)
    shapes.append(_shape(src.backlog_command()))
    shapes.append(_shape(src.follow_command()))  # before a position is known
    src.started = True
    src.pos.offset = int(_NUM)
    if src.journald_unit:
        src.pos.cursor = _CURSOR
    else:
        src.pos.inode = _INODE
    shapes.append(_shape(src.follow_command()))
    # the router's stats: `show stat` only (MySQL Router is read with HTTP GETs, no command)
    if node.router.kind.value == "haproxy":
        shapes.append(_shape(haproxy_command(node.router)))
        shapes.append(_any_interval(haproxy_stream_command(node.router, float(_NUM))))
    return shapes


@dataclass
class ReadOnlyPolicy:
    """Checks for one cluster; `record` keeps everything that was checked (for audits and tests)."""

    cluster: Cluster
    record: list[tuple[str, str, str]] | None = None  # (kind, node, text) when recording
    _sql: frozenset[str] = field(default_factory=allowed_sql, init=False)
    _shapes: dict[str, list[re.Pattern[str]]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._shapes = {name: allowed_command_shapes(n) for name, n in self.cluster.nodes.items()}

    def allowed(self, kind: str, node: str, text: str) -> bool:
        if kind == "sql":
            return text in self._sql
        return any(p.match(text) for p in self._shapes.get(node, ()))

    def check_command(self, node: str, command: str) -> None:
        if self.record is not None:
            self.record.append(("ssh", node, command))
        if not self.allowed("ssh", node, command):
            raise ReadOnlyViolation(f"read-only mode: refusing to run on {node}: {command[:120]!r}")

    def check_sql(self, node: str, sql: str) -> None:
        if self.record is not None:
            self.record.append(("sql", node, sql))
        if not self.allowed("sql", node, sql):
            raise ReadOnlyViolation(f"read-only mode: refusing SQL on {node}: {sql[:120]!r}")

    def command_guard(self, node: str) -> Callable[[str], None]:
        return lambda command: self.check_command(node, command)

    def sql_guard(self, node: str) -> Callable[[str], None]:
        return lambda sql: self.check_sql(node, sql)

    def violations(self) -> list[tuple[str, str, str]]:
        """Recorded entries that are not allowlisted (empty in a healthy watch session)."""
        return [e for e in self.record or [] if not self.allowed(*e)]
