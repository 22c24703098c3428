"""The SQL each server version wants, and the column names it answers with.

Nothing here executes anything: the write statements are `Statement`s (SQL with %s placeholders
plus arguments) that pymysql escapes when a runbook executes them; arguments marked secret never
show in a repr or log line. Names that cannot be placeholders (none today) would be validated.

Version boundaries, checked against the upstream manuals:

* SHOW REPLICA STATUS, START/STOP REPLICA, Source_*/Replica_* columns: MySQL 8.0.22; the SLAVE
  forms are removed in 8.4.0.
  https://dev.mysql.com/doc/refman/8.0/en/show-replica-status.html
  https://dev.mysql.com/doc/refman/8.0/en/stop-slave.html
  https://dev.mysql.com/doc/relnotes/mysql/8.4/en/news-8-4-0.html ("SQL statements removed")
* CHANGE REPLICATION SOURCE TO ... SOURCE_AUTO_POSITION: MySQL 8.0.23 (CHANGE MASTER TO before;
  removed in 8.4.0).
  https://dev.mysql.com/doc/refman/8.0/en/change-replication-source-to.html
  https://dev.mysql.com/doc/refman/8.0/en/replication-howto-slaveinit.html
* SHOW BINARY LOG STATUS: MySQL 8.2.0; SHOW MASTER STATUS no longer supported in 8.4.
  https://dev.mysql.com/doc/refman/8.3/en/show-binary-log-status.html
  https://dev.mysql.com/doc/refman/8.4/en/show-master-status.html
* super_read_only: MySQL 5.7.8 (MariaDB has none: read_only does not stop SUPER there).
  https://dev.mysql.com/doc/refman/5.7/en/server-system-variables.html#sysvar_super_read_only
* log_replica_updates replaces log_slave_updates: MySQL 8.0.26.
  https://dev.mysql.com/doc/refman/8.0/en/replication-options-binary-log.html
* Semi-sync: MySQL 8.0.26 ships rpl_semi_sync_source/_replica plugins (rpl_semi_sync_source_*
  variables) beside the old master/slave ones; either may be loaded, so both names are read.
  MariaDB has it built in from 10.3.3 (rpl_semi_sync_master_* only).
  https://dev.mysql.com/doc/refman/8.0/en/replication-semisync-interface.html
  https://mariadb.com/kb/en/semisynchronous-replication/
* WAIT_FOR_EXECUTED_GTID_SET(set, timeout): MySQL 5.7.5+, 0 = reached, 1 = timed out.
  https://dev.mysql.com/doc/refman/8.0/en/gtid-functions.html, https://dev.mysql.com/worklog/task/?id=7796
* MASTER_POS_WAIT(file, pos, timeout[, channel]): every version; SOURCE_POS_WAIT from MySQL
  8.0.26 (MASTER_POS_WAIT removed in 8.4). Returns events waited (>= 0), -1 timed out, NULL
  when the SQL thread is not running or the channel does not exist.
  https://dev.mysql.com/doc/refman/8.0/en/replication-functions-synchronization.html
  https://mariadb.com/kb/en/master_pos_wait/
* Position-based CHANGE MASTER: MASTER_LOG_FILE/MASTER_LOG_POS (SOURCE_LOG_FILE/SOURCE_LOG_POS
  from 8.0.23) with MASTER_AUTO_POSITION=0 on MySQL, MASTER_USE_GTID=no on MariaDB.
* MariaDB: SHOW ALL SLAVES STATUS (one row per named connection, sorted by Connection_name),
  CHANGE MASTER ['name'] TO ... MASTER_USE_GTID={slave_pos|current_pos}, MASTER_DEMOTE_TO_SLAVE
  from 10.10, MASTER_GTID_WAIT(pos, timeout): 0 = reached, -1 = timed out.
  https://mariadb.com/kb/en/show-replica-status/
  https://mariadb.com/kb/en/change-master-to/
  https://mariadb.com/kb/en/master_gtid_wait/
  https://mariadb.com/kb/en/show-binlog-status/
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .version import ServerVersion

__all__ = ["Dialect", "Statement", "dialect_for", "GtidStyle", "Threads"]

GtidStyle = Literal["mysql", "mariadb"]
Threads = Literal["both", "io", "sql"]

# A binary log file name as servers write them (basename only: never a path)
_BINLOG_FILE = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
# Conservative: MySQL channel names and MariaDB connection names in practice; both <= 64 chars.
_CHANNEL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
# A host name, IPv4 or IPv6 address; no quotes, spaces or control characters
_HOST = re.compile(r"^[A-Za-z0-9_.:%-]{1,255}$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_INTERVAL = r"\d+(?:-\d+)?"
# uuid[:tag]:interval[:interval]... (tags from MySQL 8.3), comma separated, newlines allowed
_UUID_SET = rf"{_UUID}(?::[A-Za-z_][A-Za-z0-9_]{{0,31}})?(?::{_INTERVAL})+"
_MYSQL_GTID_SET = re.compile(rf"^\s*(?:{_UUID_SET}(?:\s*,\s*{_UUID_SET})*)?\s*$")
_MARIADB_GTID_POS = re.compile(r"^\s*(?:\d+-\d+-\d+(?:\s*,\s*\d+-\d+-\d+)*)?\s*$")


@dataclass(frozen=True)
class Statement:
    """SQL with %s placeholders and the arguments pymysql fills in (escaped) at execute time."""

    sql: str
    args: tuple[Any, ...] = ()
    secret: frozenset[int] = field(default_factory=frozenset)  # indexes of args never to show

    def execute_args(self) -> tuple[Any, ...] | None:
        """What to pass as cursor.execute's second argument (None: no interpolation at all)."""
        return self.args if self.args else None

    def redacted(self) -> str:
        """The statement as a log line: arguments inlined, secret ones as '***'."""
        if not self.args:
            return self.sql
        shown = tuple("'***'" if i in self.secret else _literal(a) for i, a in enumerate(self.args))
        return self.sql % shown

    def __repr__(self) -> str:
        return f"Statement({self.redacted()!r})"

    __str__ = redacted


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{s}'"


def _check_channel(channel: str) -> str:
    if not isinstance(channel, str):
        raise TypeError(f"channel name must be a string, not {type(channel).__name__}")
    if channel and not _CHANNEL.match(channel):
        raise ValueError(
            f"invalid replication channel/connection name {channel!r}: use 1-64 letters, digits, '_', '.' or '-'"
        )
    return channel


def _check_host(host: str) -> str:
    if not isinstance(host, str) or not _HOST.match(host):
        raise ValueError(f"invalid source host {host!r}: expected a host name or an IP address")
    return host


def _check_port(port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"invalid source port {port!r}: expected 1-65535")
    return port


def _check_user(user: str) -> str:
    if not isinstance(user, str) or not 1 <= len(user) <= 80 or any(ord(c) < 32 for c in user):
        raise ValueError(f"invalid replication user {user!r}: expected 1-80 printable characters")
    return user


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"invalid wait timeout {timeout!r}: expected seconds >= 0")
    return timeout


DISK_WAITS = "hatui_disk_waits"
DISK_WAIT_STATES = ("Waiting for someone to free space", "Waiting for disk space")
DISK_WAIT_STATES_SQL = ", ".join(f"'{x}'" for x in DISK_WAIT_STATES)


@dataclass(frozen=True)
class Dialect:
    version: ServerVersion

    # ------------------------------------------------------------------ what the server is
    @property
    def is_mariadb(self) -> bool:
        return self.version.is_mariadb

    def _mysql_at_least(self, *v: int) -> bool:
        return not self.is_mariadb and self.version.at_least(*v)

    @property
    def replica_keyword(self) -> bool:
        """MySQL 8.0.22+: REPLICA/SOURCE words in statements and in SHOW REPLICA STATUS columns."""
        return self._mysql_at_least(8, 0, 22)

    @property
    def change_source_keyword(self) -> bool:
        return self._mysql_at_least(8, 0, 23)

    @property
    def has_super_read_only(self) -> bool:
        return self._mysql_at_least(5, 7, 8)

    @property
    def gtid_style(self) -> GtidStyle:
        return "mariadb" if self.is_mariadb else "mysql"

    @property
    def has_builtin_semi_sync(self) -> bool:
        """MariaDB 10.3.3+: semi-sync variables always exist (no plugin to load)."""
        return self.is_mariadb and self.version.at_least(10, 3, 3)

    # ------------------------------------------------------------------ reads
    @property
    def replica_status_sql(self) -> str:
        if self.is_mariadb:
            return "SHOW ALL SLAVES STATUS"  # every named connection, with Connection_name
        return "SHOW REPLICA STATUS" if self.replica_keyword else "SHOW SLAVE STATUS"

    @property
    def binlog_status_sql(self) -> str:
        if self._mysql_at_least(8, 2, 0):
            return "SHOW BINARY LOG STATUS"
        return "SHOW MASTER STATUS"

    @property
    def lag_column(self) -> str:
        return "Seconds_Behind_Source" if self.replica_keyword else "Seconds_Behind_Master"

    @property
    def io_running_column(self) -> str:
        return "Replica_IO_Running" if self.replica_keyword else "Slave_IO_Running"

    @property
    def sql_running_column(self) -> str:
        return "Replica_SQL_Running" if self.replica_keyword else "Slave_SQL_Running"

    @property
    def source_host_column(self) -> str:
        return "Source_Host" if self.replica_keyword else "Master_Host"

    @property
    def log_replica_updates_variable(self) -> str:
        return "log_replica_updates" if self._mysql_at_least(8, 0, 26) else "log_slave_updates"

    @property
    def variables(self) -> tuple[str, ...]:
        """Global variables read in one SELECT; each exists on this flavor and version."""
        names = [
            "hostname",
            "server_id",
            "read_only",
            "log_bin",
            self.log_replica_updates_variable,
            "binlog_format",
            "auto_increment_increment",
            "auto_increment_offset",
        ]
        if self.is_mariadb:
            names += [
                "gtid_domain_id",
                "gtid_strict_mode",
                "gtid_binlog_pos",
                "gtid_current_pos",
                "gtid_slave_pos",
                "gtid_binlog_state",
            ]
            if self.has_builtin_semi_sync:
                names += ["rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled"]
        else:
            names += ["server_uuid"]
            if self.has_super_read_only:
                names.append("super_read_only")
            if self.version.at_least(5, 6, 5):
                names += ["gtid_mode", "gtid_executed", "gtid_purged"]
        return tuple(names)

    def variables_sql(self) -> str:
        """The variables, and the threads waiting for free disk space (a full binlog or data
        volume: MariaDB's "Waiting for someone to free space", MySQL's "Waiting for disk space").
        Counted first because SHOW MASTER STATUS then waits with them (it needs the binlog's
        lock, which the waiting writer holds); other users' threads need PROCESS."""
        return (
            "SELECT "
            + ", ".join(f"@@global.{n} AS `{n}`" for n in self.variables)
            + f", (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE IN ({DISK_WAIT_STATES_SQL}))"
            f" AS `{DISK_WAITS}`"
        )

    @property
    def global_status_sql(self) -> str:
        return (
            "SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Threads_connected') "
            "OR Variable_name LIKE 'Rpl\\_semi\\_sync\\_%'"
        )

    @property
    def semi_sync_variables_sql(self) -> str:
        """Only run where a semi-sync plugin is loaded (MySQL), to learn its *_enabled switches."""
        return "SHOW GLOBAL VARIABLES LIKE 'rpl\\_semi\\_sync\\_%enabled'"

    @property
    def session_read_only_sql(self) -> str:
        # MySQL 5.6.5+ and MariaDB 10.0+: a monitor session that cannot write even by mistake
        return "SET SESSION TRANSACTION READ ONLY"

    # ------------------------------------------------------------------ writes (never run here)
    def _channel_clause(self, channel: str) -> tuple[str, tuple[Any, ...]]:
        """MySQL: ' FOR CHANNEL %s'. MariaDB puts the name right after SLAVE / MASTER."""
        if not _check_channel(channel):
            return "", ()
        return " FOR CHANNEL %s", (channel,)

    def _threads(self, threads: Threads) -> str:
        if threads not in ("both", "io", "sql"):
            raise ValueError(f"threads must be 'both', 'io' or 'sql', not {threads!r}")
        return {"both": "", "io": " IO_THREAD", "sql": " SQL_THREAD"}[threads]

    def _start_stop(self, verb: str, channel: str, threads: Threads) -> Statement:
        t = self._threads(threads)
        _check_channel(channel)
        if self.is_mariadb:
            if channel:
                return Statement(f"{verb} SLAVE %s{t}", (channel,))
            return Statement(f"{verb} SLAVE{t}")
        word = "REPLICA" if self.replica_keyword else "SLAVE"
        clause, args = self._channel_clause(channel)
        return Statement(f"{verb} {word}{t}{clause}", args)

    def stop_replica(self, channel: str = "", threads: Threads = "both") -> Statement:
        return self._start_stop("STOP", channel, threads)

    def start_replica(self, channel: str = "", threads: Threads = "both") -> Statement:
        return self._start_stop("START", channel, threads)

    def reset_replica_all(self, channel: str = "") -> Statement:
        """Forget a (stopped) channel entirely: a writer keeps no channel from its replicas."""
        _check_channel(channel)
        if self.is_mariadb:
            return Statement("RESET SLAVE %s ALL", (channel,)) if channel else Statement("RESET SLAVE ALL")
        word = "REPLICA" if self.replica_keyword else "SLAVE"
        clause, args = self._channel_clause(channel)
        return Statement(f"RESET {word} ALL{clause}", args)

    def change_source(
        self,
        host: str,
        port: int = 3306,
        *,
        user: str | None = None,
        password: str | None = None,
        channel: str = "",
        connect_retry: int | None = None,
        use_gtid: str = "slave_pos",
        demote: bool = False,
        get_public_key: bool = False,
        position: tuple[str, int] | None = None,
    ) -> Statement:
        """Point replication at host:port with GTID auto-positioning (user/password: kept if None),
        or, with `position` (binlog file, offset), at that position without GTIDs.

        MySQL < 8.0.23: CHANGE MASTER TO MASTER_HOST=..., MASTER_AUTO_POSITION=1
        MySQL 8.0.23+:  CHANGE REPLICATION SOURCE TO SOURCE_HOST=..., SOURCE_AUTO_POSITION=1
        MariaDB:        CHANGE MASTER ['name'] TO MASTER_HOST=..., MASTER_USE_GTID=slave_pos
        position:       ..._LOG_FILE=..., ..._LOG_POS=N, and AUTO_POSITION=0 / MASTER_USE_GTID=no
        """
        _check_host(host)
        _check_port(port)
        _check_channel(channel)
        if user is not None:
            _check_user(user)
        if password is not None and (not isinstance(password, str) or "\0" in password):
            raise ValueError("invalid replication password: expected a string without NUL")
        if connect_retry is not None and (
            isinstance(connect_retry, bool) or not isinstance(connect_retry, int) or not 1 <= connect_retry <= 31536000
        ):
            raise ValueError(f"invalid connect_retry {connect_retry!r}: expected 1-31536000 seconds")
        src = "SOURCE" if self.change_source_keyword else "MASTER"
        parts = [f"{src}_HOST=%s", f"{src}_PORT={port}"]
        args: list[Any] = [host]
        secret: set[int] = set()
        if user is not None:
            parts.append(f"{src}_USER=%s")
            args.append(user)
        if password is not None:
            parts.append(f"{src}_PASSWORD=%s")
            secret.add(len(args))
            args.append(password)
        if connect_retry is not None:
            parts.append(f"{src}_CONNECT_RETRY={connect_retry}")
        if position is not None:
            file, pos = _check_position(position)
            parts.append(f"{src}_LOG_FILE=%s")
            args.append(file)
            parts.append(f"{src}_LOG_POS={pos}")
        if self.is_mariadb:
            if position is not None:
                parts.append("MASTER_USE_GTID=no")
            elif use_gtid not in ("slave_pos", "current_pos"):
                raise ValueError(f"use_gtid must be 'slave_pos' or 'current_pos', not {use_gtid!r}")
            else:
                parts.append(f"MASTER_USE_GTID={use_gtid}")
            if demote:
                if not self.version.at_least(10, 10):
                    raise ValueError(f"MASTER_DEMOTE_TO_SLAVE needs MariaDB 10.10 or later ({self.version})")
                parts.append("MASTER_DEMOTE_TO_SLAVE=1")
            if get_public_key:
                raise ValueError("GET_MASTER_PUBLIC_KEY is MySQL-only")
            head, head_args = ("CHANGE MASTER %s TO ", (channel,)) if channel else ("CHANGE MASTER TO ", ())
            return Statement(
                head + ", ".join(parts), head_args + tuple(args), frozenset(i + len(head_args) for i in secret)
            )
        if demote:
            raise ValueError("MASTER_DEMOTE_TO_SLAVE is MariaDB-only")
        parts.append(f"{src}_AUTO_POSITION={0 if position is not None else 1}")
        if get_public_key:
            if not self.version.at_least(8, 0, 4):
                raise ValueError(f"GET_MASTER_PUBLIC_KEY needs MySQL 8.0.4 or later ({self.version})")
            parts.append(f"GET_{src}_PUBLIC_KEY=1")
        head = "CHANGE REPLICATION SOURCE TO " if self.change_source_keyword else "CHANGE MASTER TO "
        clause, cargs = self._channel_clause(channel)
        return Statement(head + ", ".join(parts) + clause, tuple(args) + cargs, frozenset(secret))

    def wait_for_gtid(self, gtid_set: str, timeout: float) -> Statement:
        """SELECT that blocks until this server has applied gtid_set (or timeout seconds pass).

        The single value it returns is judged by `gtid_wait_reached`.
        """
        if not isinstance(gtid_set, str):
            raise TypeError("gtid_set must be a string")
        pattern = _MARIADB_GTID_POS if self.is_mariadb else _MYSQL_GTID_SET
        if not pattern.match(gtid_set):
            kind = (
                "a MariaDB GTID position (domain-server-seq,...)"
                if self.is_mariadb
                else "a MySQL GTID set (uuid:1-5,...)"
            )
            raise ValueError(f"invalid GTID set {gtid_set!r}: expected {kind}")
        _check_timeout(timeout)
        fn = "MASTER_GTID_WAIT" if self.is_mariadb else "WAIT_FOR_EXECUTED_GTID_SET"
        return Statement(f"SELECT {fn}(%s, %s) AS reached", (re.sub(r"\s+", "", gtid_set), timeout))

    def wait_for_position(self, file: str, pos: int, timeout: float, channel: str = "") -> Statement:
        """SELECT that blocks until this replica's SQL thread has executed its source's binlog up
        to (file, pos), or timeout seconds pass. Judged by `position_wait_reached`."""
        file, pos = _check_position((file, pos))
        _check_timeout(timeout)
        _check_channel(channel)
        fn = "SOURCE_POS_WAIT" if self._mysql_at_least(8, 0, 26) else "MASTER_POS_WAIT"
        if channel:
            return Statement(f"SELECT {fn}(%s, %s, %s, %s) AS reached", (file, pos, timeout, channel))
        return Statement(f"SELECT {fn}(%s, %s, %s) AS reached", (file, pos, timeout))

    def position_wait_reached(self, value: Any) -> bool:
        """MASTER_POS_WAIT: events waited (>= 0) reached; -1 timed out; NULL not replicating."""
        try:
            return value is not None and int(value) >= 0
        except (TypeError, ValueError):
            return False

    @property
    def gtid_position_sql(self) -> str:
        """The server's own GTID position: what a replica must have executed to be level with it."""
        return "SELECT @@global.gtid_binlog_pos AS pos" if self.is_mariadb else "SELECT @@global.gtid_executed AS pos"

    def gtid_wait_reached(self, value: Any) -> bool:
        """True when wait_for_gtid's result means the position was reached (not timed out)."""
        try:
            return value is not None and int(value) == 0
        except (TypeError, ValueError):
            return False

    def set_read_only(self, on: bool) -> Statement:
        return Statement(f"SET GLOBAL read_only = {'ON' if on else 'OFF'}")

    def set_super_read_only(self, on: bool) -> Statement:
        if not self.has_super_read_only:
            raise ValueError(f"{self.version} has no super_read_only (MySQL 5.7.8+ only)")
        return Statement(f"SET GLOBAL super_read_only = {'ON' if on else 'OFF'}")

    def fence(self, on: bool) -> tuple[Statement, ...]:
        """Statements, in order, that stop (on) or allow (off) writes as far as this server can.

        MySQL: super_read_only=ON also sets read_only and stops SUPER users; turning writes back
        on clears super_read_only first (read_only=OFF would clear it anyway).
        MariaDB: read_only only; accounts holding READ ONLY ADMIN (SUPER before 10.11) still write.
        """
        if self.has_super_read_only:
            if on:
                return (self.set_read_only(True), self.set_super_read_only(True))
            return (self.set_super_read_only(False), self.set_read_only(False))
        return (self.set_read_only(on),)


def _check_position(position: tuple[str, int]) -> tuple[str, int]:
    file, pos = position
    if not isinstance(file, str) or not _BINLOG_FILE.match(file):
        raise ValueError(f"invalid binlog file name {file!r}: expected a file name such as mysql-bin.000042")
    if isinstance(pos, bool) or not isinstance(pos, int) or pos < 4:
        raise ValueError(f"invalid binlog position {pos!r}: expected an offset >= 4")
    return file, pos


def dialect_for(version: ServerVersion) -> Dialect:
    return Dialect(version)
