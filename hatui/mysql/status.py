"""One server's state as typed, frozen values, and the pure functions that build it from rows.

Rows are what pymysql's DictCursor returns: dicts keyed by column name, values str, int, None or
bytes. Columns are read by name, case-insensitively, under every name a version uses
(Master_Host on 5.7 and MariaDB, Source_Host from MySQL 8.0.22's SHOW REPLICA STATUS, and the old
names again when SHOW SLAVE STATUS is used on 8.0); a column a version lacks reads as None.
GTID sets are kept as strings (whitespace removed: MySQL breaks long sets over lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import Any, NamedTuple

from .dialect import DISK_WAITS, Dialect
from .version import ServerVersion

__all__ = [
    "BinlogStatus",
    "MysqlStatus",
    "ReplicationChannel",
    "SemiSync",
    "assemble_status",
    "parse_binlog_status",
    "parse_global_status",
    "parse_replica_rows",
    "parse_semi_sync",
    "parse_variables",
]

Row = Mapping[str, Any]


# ----------------------------------------------------------------------------- values
def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _str(v: Any) -> str:
    t = _text(v)
    return "" if t is None else t.strip()


def _opt_str(v: Any) -> str | None:
    t = _text(v)
    return None if t is None else t.strip()


def _int(v: Any) -> int | None:
    if v is None or isinstance(v, bool):
        return None if v is None else int(v)
    if isinstance(v, int):
        return v
    t = _str(v)
    if not t or t.upper() == "NULL":
        return None
    try:
        return int(t)
    except ValueError:
        try:
            return int(float(t))
        except ValueError:
            return None


def _float(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    t = _str(v)
    if not t or t.upper() == "NULL":
        return None
    try:
        return float(t)
    except ValueError:
        return None


_TRUE = {"1", "ON", "YES", "TRUE"}
_FALSE = {"0", "OFF", "NO", "FALSE", ""}


def _bool(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    t = _str(v).upper()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    return None


def _gtid(v: Any) -> str | None:
    t = _text(v)
    return None if t is None else re.sub(r"\s+", "", t)


class _Lookup:
    """Case-insensitive access to a row under any of several column names."""

    def __init__(self, row: Row):
        self._row = {str(k).lower(): v for k, v in row.items()}

    def get(self, *names: str) -> Any:
        for n in names:
            key = n.lower()
            if key in self._row:
                return self._row[key]
        return None

    def has(self, *names: str) -> bool:
        return any(n.lower() in self._row for n in names)


# ----------------------------------------------------------------------------- channels
@dataclass(frozen=True)
class ReplicationChannel:
    name: str = ""  # "" = default channel / MariaDB's unnamed connection
    source_host: str | None = None
    source_port: int | None = None
    source_user: str | None = None
    source_server_id: int | None = None  # 0 until the receiver has connected once
    source_uuid: str | None = None  # MySQL only
    io_state: str = ""  # raw Slave/Replica_IO_Running: "Yes", "No", "Connecting"
    io_running: bool = False  # connected and receiving ("Yes" only)
    sql_running: bool = False
    io_thread_state: str = ""  # Slave/Replica_IO_State, e.g. "Waiting for master to send event"
    sql_running_state: str = ""  # Slave/Replica_SQL_Running_State
    lag_seconds: float | None = None  # NULL (None) when the server cannot tell, e.g. SQL thread stopped
    last_io_errno: int = 0
    last_io_error: str = ""
    last_io_error_timestamp: str = ""
    last_sql_errno: int = 0
    last_sql_error: str = ""
    last_sql_error_timestamp: str = ""
    last_error: str = ""  # the useful one(s), e.g. "SQL thread error 1062: ..."; "" if none
    source_log_file: str | None = None
    read_source_log_pos: int | None = None
    relay_source_log_file: str | None = None
    exec_source_log_pos: int | None = None
    retrieved_gtid_set: str | None = None  # MySQL
    executed_gtid_set: str | None = None  # MySQL
    auto_position: bool | None = None  # MySQL; None on MariaDB
    using_gtid: str | None = None  # MariaDB: "Slave_Pos", "Current_Pos" or "No"
    gtid_io_pos: str | None = None  # MariaDB
    sql_delay: int = 0

    @property
    def connecting(self) -> bool:
        return self.io_state.lower() == "connecting"

    @property
    def healthy(self) -> bool:
        return self.io_running and self.sql_running and not self.last_io_errno and not self.last_sql_errno

    @property
    def uses_gtid(self) -> bool:
        if self.auto_position is not None:
            return self.auto_position
        return (self.using_gtid or "No").lower() != "no"


def _combined_error(io_errno: int, io_error: str, sql_errno: int, sql_error: str) -> str:
    parts = []
    if sql_errno:
        parts.append(f"SQL thread error {sql_errno}: {sql_error}".rstrip(": "))
    if io_errno:
        parts.append(f"IO thread error {io_errno}: {io_error}".rstrip(": "))
    return " | ".join(parts)


def _clean_message(v: Any) -> str:
    # the server keeps a message on one line; a copy/paste or wrapping may add breaks
    return re.sub(r"\s*\n\s*", " ", _str(v))


def parse_replica_rows(rows: Iterable[Row], dialect: Dialect | None = None) -> tuple[ReplicationChannel, ...]:
    """SHOW SLAVE STATUS / SHOW REPLICA STATUS / SHOW ALL SLAVES STATUS rows -> channels.

    An empty result (not a replica) gives (). The dialect only decides which naming is tried
    first; both namings are always understood.
    """
    replica_first = dialect is not None and dialect.replica_keyword
    out = []
    for row in rows:
        r = _Lookup(row)

        def g(new: str, old: str, r: _Lookup = r) -> Any:
            return r.get(new, old) if replica_first else r.get(old, new)

        io_state = _str(g("Replica_IO_Running", "Slave_IO_Running"))
        io_errno = _int(r.get("Last_IO_Errno")) or 0
        sql_errno = _int(r.get("Last_SQL_Errno")) or 0
        io_error = _clean_message(r.get("Last_IO_Error"))
        sql_error = _clean_message(r.get("Last_SQL_Error"))
        if not sql_errno and _int(r.get("Last_Errno")):
            # Last_Errno/Last_Error are aliases of the SQL ones; older servers may fill only these
            sql_errno = _int(r.get("Last_Errno")) or 0
            sql_error = _clean_message(r.get("Last_Error"))
        name = _str(r.get("Connection_name", "Channel_Name"))
        auto_pos = _bool(r.get("Auto_Position")) if r.has("Auto_Position") else None
        sql_state = g("Replica_SQL_Running_State", "Slave_SQL_Running_State")
        if sql_state is None:
            sql_state = r.get("Slave_SQL_State")
        out.append(
            ReplicationChannel(
                name=name,
                source_host=_opt_str(g("Source_Host", "Master_Host")),
                source_port=_int(g("Source_Port", "Master_Port")),
                source_user=_opt_str(g("Source_User", "Master_User")),
                source_server_id=_int(g("Source_Server_Id", "Master_Server_Id")),
                source_uuid=_opt_str(g("Source_UUID", "Master_UUID")) or None,
                io_state=io_state,
                io_running=io_state.lower() == "yes",
                sql_running=_str(g("Replica_SQL_Running", "Slave_SQL_Running")).lower() == "yes",
                io_thread_state=_str(g("Replica_IO_State", "Slave_IO_State")),
                sql_running_state=_str(sql_state),
                lag_seconds=_float(g("Seconds_Behind_Source", "Seconds_Behind_Master")),
                last_io_errno=io_errno,
                last_io_error=io_error,
                last_io_error_timestamp=_str(r.get("Last_IO_Error_Timestamp")),
                last_sql_errno=sql_errno,
                last_sql_error=sql_error,
                last_sql_error_timestamp=_str(r.get("Last_SQL_Error_Timestamp")),
                last_error=_combined_error(io_errno, io_error, sql_errno, sql_error),
                source_log_file=_opt_str(g("Source_Log_File", "Master_Log_File")),
                read_source_log_pos=_int(g("Read_Source_Log_Pos", "Read_Master_Log_Pos")),
                relay_source_log_file=_opt_str(g("Relay_Source_Log_File", "Relay_Master_Log_File")),
                exec_source_log_pos=_int(g("Exec_Source_Log_Pos", "Exec_Master_Log_Pos")),
                retrieved_gtid_set=_gtid(r.get("Retrieved_Gtid_Set")),
                executed_gtid_set=_gtid(r.get("Executed_Gtid_Set")),
                auto_position=auto_pos,
                using_gtid=_opt_str(r.get("Using_Gtid")),
                gtid_io_pos=_gtid(r.get("Gtid_IO_Pos")),
                sql_delay=_int(r.get("SQL_Delay")) or 0,
            )
        )
    return tuple(sorted(out, key=lambda c: c.name.lower()))


# ----------------------------------------------------------------------------- variables
_BOOL_VARS = {
    "read_only",
    "super_read_only",
    "log_bin",
    "log_slave_updates",
    "log_replica_updates",
    "gtid_strict_mode",
    "rpl_semi_sync_master_enabled",
    "rpl_semi_sync_slave_enabled",
    "rpl_semi_sync_source_enabled",
    "rpl_semi_sync_replica_enabled",
}
_INT_VARS = {"server_id", "gtid_domain_id", "auto_increment_increment", "auto_increment_offset"}
_GTID_VARS = {
    "gtid_executed",
    "gtid_purged",
    "gtid_binlog_pos",
    "gtid_current_pos",
    "gtid_slave_pos",
    "gtid_binlog_state",
}


def _var_name(key: Any) -> str:
    k = _str(key).lower()
    for prefix in ("@@global.", "@@session.", "@@"):
        if k.startswith(prefix):
            return k[len(prefix) :]
    return k


def _raw_variables(rows_or_dict: Row | Sequence[Row]) -> dict[str, Any]:
    if isinstance(rows_or_dict, Mapping):
        rows: Sequence[Row] = [rows_or_dict]
    else:
        rows = list(rows_or_dict)
    out: dict[str, Any] = {}
    for row in rows:
        r = _Lookup(row)
        if r.has("Variable_name") and r.has("Value"):  # SHOW VARIABLES / SHOW STATUS form
            out[_var_name(r.get("Variable_name"))] = r.get("Value")
        else:  # SELECT @@global.x AS x form
            for k, v in row.items():
                out[_var_name(k)] = v
    return out


def parse_variables(rows_or_dict: Row | Sequence[Row], dialect: Dialect | None = None) -> dict[str, Any]:
    """Variables as Python values, keyed by lower-case name (log_replica_updates is also given
    as log_slave_updates, so callers need one name). Unknown variables stay text."""
    out: dict[str, Any] = {}
    for name, value in _raw_variables(rows_or_dict).items():
        if name in _BOOL_VARS:
            out[name] = _bool(value)
        elif name in _INT_VARS:
            out[name] = _int(value)
        elif name in _GTID_VARS:
            out[name] = _gtid(value)
        else:
            out[name] = _opt_str(value)
    if "log_slave_updates" not in out and "log_replica_updates" in out:
        out["log_slave_updates"] = out["log_replica_updates"]
    return out


# ----------------------------------------------------------------------------- binlog
class BinlogStatus(NamedTuple):
    file: str | None = None
    position: int | None = None
    executed_gtid_set: str | None = None  # MySQL's SHOW MASTER/BINARY LOG STATUS column


def parse_binlog_status(rows: Iterable[Row]) -> BinlogStatus:
    """SHOW MASTER STATUS / SHOW BINARY LOG STATUS: one row, or none when binary logging is off."""
    for row in rows:
        r = _Lookup(row)
        return BinlogStatus(_opt_str(r.get("File")), _int(r.get("Position")), _gtid(r.get("Executed_Gtid_Set")))
    return BinlogStatus()


# ----------------------------------------------------------------------------- status / semi-sync
def parse_global_status(rows: Iterable[Row]) -> dict[str, str | None]:
    """SHOW GLOBAL STATUS rows -> {lower-case name: value text}."""
    out: dict[str, str | None] = {}
    for row in rows:
        r = _Lookup(row)
        out[_var_name(r.get("Variable_name"))] = _opt_str(r.get("Value"))
    return out


@dataclass(frozen=True)
class SemiSync:
    """Semi-synchronous replication on one server (None in MysqlStatus when no plugin is loaded).

    `naming` tells which variables answered: "master" (MariaDB; MySQL's old plugins) or "source"
    (MySQL 8.0.26+'s rpl_semi_sync_source/_replica plugins).
    """

    naming: str
    source_enabled: bool | None = None  # rpl_semi_sync_{master,source}_enabled
    replica_enabled: bool | None = None  # rpl_semi_sync_{slave,replica}_enabled
    source_active: bool | None = None  # Rpl_semi_sync_{master,source}_status: ON = not fallen back to async
    replica_active: bool | None = None  # Rpl_semi_sync_{slave,replica}_status
    clients: int | None = None  # Rpl_semi_sync_{master,source}_clients


def parse_semi_sync(variables: Mapping[str, Any], status: Mapping[str, Any]) -> SemiSync | None:
    v = {_var_name(k): val for k, val in variables.items()}
    s = {_var_name(k): val for k, val in status.items()}
    keys = [k for k in (*v, *s) if k.startswith("rpl_semi_sync_")]
    if not keys:
        return None
    naming = (
        "source" if any(k.startswith(("rpl_semi_sync_source", "rpl_semi_sync_replica")) for k in keys) else "master"
    )
    src, rep = ("source", "replica") if naming == "source" else ("master", "slave")

    def b(d: Mapping[str, Any], k: str) -> bool | None:
        return _bool(d[k]) if k in d else None

    return SemiSync(
        naming=naming,
        source_enabled=b(v, f"rpl_semi_sync_{src}_enabled"),
        replica_enabled=b(v, f"rpl_semi_sync_{rep}_enabled"),
        source_active=b(s, f"rpl_semi_sync_{src}_status"),
        replica_active=b(s, f"rpl_semi_sync_{rep}_status"),
        clients=_int(s.get(f"rpl_semi_sync_{src}_clients")),
    )


# ----------------------------------------------------------------------------- the server
@dataclass(frozen=True)
class MysqlStatus:
    up: bool
    error: str | None = None  # why it is down, short ("connection refused", ...)
    version: ServerVersion | None = None
    server_id: int | None = None
    server_uuid: str | None = None  # MySQL
    hostname: str | None = None
    read_only: bool | None = None
    super_read_only: bool | None = None  # None where it does not exist (MariaDB, MySQL < 5.7.8)
    log_bin: bool | None = None
    log_slave_updates: bool | None = None  # log_replica_updates on MySQL 8.0.26+
    binlog_format: str | None = None
    auto_increment_increment: int | None = None
    auto_increment_offset: int | None = None
    gtid_mode: str | None = None  # MySQL: OFF, OFF_PERMISSIVE, ON_PERMISSIVE, ON; MariaDB: None
    gtid_strict_mode: bool | None = None  # MariaDB
    gtid_executed: str | None = None  # MySQL
    gtid_purged: str | None = None  # MySQL
    gtid_binlog_pos: str | None = None  # MariaDB
    gtid_current_pos: str | None = None  # MariaDB
    gtid_slave_pos: str | None = None  # MariaDB
    gtid_binlog_state: str | None = None  # MariaDB
    gtid_domain_id: int | None = None  # MariaDB
    binlog_file: str | None = None
    binlog_position: int | None = None
    channels: tuple[ReplicationChannel, ...] = ()
    semi_sync: SemiSync | None = None
    uptime_seconds: int | None = None
    threads_connected: int | None = None
    # threads waiting for free disk space (a full binlog or data volume): its writes hang
    disk_waits: int | None = None
    warnings: tuple[str, ...] = ()  # parts that could not be read while the server is up

    @classmethod
    def down(cls, error: str, version: ServerVersion | None = None) -> MysqlStatus:
        return cls(up=False, error=error, version=version)

    @property
    def is_replica(self) -> bool:
        return bool(self.channels)

    def channel(self, name: str = "") -> ReplicationChannel | None:
        for c in self.channels:
            if c.name.lower() == name.lower():
                return c
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (str, int, float, bool, None, list, dict)."""
        return _plain(self)


def _plain(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        return {f.name: _plain(getattr(v, f.name)) for f in fields(v)}
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return v


def assemble_status(
    version: ServerVersion,
    variables: Mapping[str, Any],
    channels: tuple[ReplicationChannel, ...] = (),
    binlog: BinlogStatus = BinlogStatus(),  # noqa: B008 - frozen dataclass: one shared empty value is fine
    global_status: Mapping[str, Any] | None = None,
    semi_sync_variables: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
) -> MysqlStatus:
    """An up server's MysqlStatus from the parsed pieces (parse_variables output and friends)."""
    v = dict(variables)
    gs = {_var_name(k): x for k, x in (global_status or {}).items()}
    semi_vars = {k: x for k, x in v.items() if k.startswith("rpl_semi_sync_")}
    semi_vars.update({_var_name(k): x for k, x in (semi_sync_variables or {}).items()})
    return MysqlStatus(
        up=True,
        version=version,
        server_id=v.get("server_id"),
        server_uuid=v.get("server_uuid"),
        hostname=v.get("hostname"),
        read_only=v.get("read_only"),
        super_read_only=v.get("super_read_only"),
        log_bin=v.get("log_bin"),
        log_slave_updates=v.get("log_slave_updates"),
        binlog_format=v.get("binlog_format"),
        auto_increment_increment=_int(v.get("auto_increment_increment")),
        auto_increment_offset=_int(v.get("auto_increment_offset")),
        gtid_mode=None if version.is_mariadb else v.get("gtid_mode"),
        gtid_strict_mode=v.get("gtid_strict_mode"),
        gtid_executed=v.get("gtid_executed") if v.get("gtid_executed") is not None else binlog.executed_gtid_set,
        gtid_purged=v.get("gtid_purged"),
        gtid_binlog_pos=v.get("gtid_binlog_pos"),
        gtid_current_pos=v.get("gtid_current_pos"),
        gtid_slave_pos=v.get("gtid_slave_pos"),
        gtid_binlog_state=v.get("gtid_binlog_state"),
        gtid_domain_id=v.get("gtid_domain_id"),
        binlog_file=binlog.file,
        binlog_position=binlog.position,
        channels=tuple(channels),
        semi_sync=parse_semi_sync(semi_vars, gs),
        uptime_seconds=_int(gs.get("uptime")),
        disk_waits=_int(v.get(DISK_WAITS)),
        threads_connected=_int(gs.get("threads_connected")),
        warnings=tuple(warnings),
    )
