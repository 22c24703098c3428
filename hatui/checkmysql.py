"""`hatui check-mysql`: keepalived's vrrp_script for a MySQL/MariaDB node.

Exit 0 when the local server is healthy, 1 when it is not: keepalived runs it every `interval`
and, after `fall` failures in a row, takes the node out of the VRRP election (FAULT with no
`weight`), so the VIP moves to a node whose database really answers. Seed 000's checkMySQL.py only
looked for a mysqld process: a hung, read-only or broken server kept the VIP. This check runs a
real query within a hard deadline, and optionally checks replication, writability and whether
this node can still reach its gateway (seed 000's split-brain defence).

keepalived runs this every second: it imports only the standard library, and PyMySQL once it
connects. Nothing else of hatui is imported.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

from hatui.errors import HatuiError
from hatui.exitcodes import Exit

if TYPE_CHECKING:  # imported where used: the check starts fast
    import socket
    import subprocess

PROG = "hatui check-mysql"

# MariaDB clients read [client], [client-server] and [client-mariadb]; MySQL's read [client].
# A later group in this list wins over an earlier one, whatever their order in the file.
OPTION_GROUPS = ("client", "client-server", "client-mariadb", "hatui-check-mysql")
CONNECTION_KEYS = ("user", "password", "host", "port", "socket")
DEFAULT_SOCKETS = (
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/var/lib/mysql/mysql.sock",
    "/tmp/mysql.sock",
)
DEFAULT_PORT = 3306

# Replication IO-thread errors that only say "the source cannot be reached or will not let us
# in": the source is down, unreachable, restarting, or its replication account is being fixed.
# None says anything about *this* node, so none fails the check: a dead peer must never push
# the VIP off the node that survived it. The IO thread keeps retrying these by itself.
CONNECTION_ERRNOS = frozenset(
    {
        1040,  # ER_CON_COUNT_ERROR: too many connections on the source
        1045,  # ER_ACCESS_DENIED_ERROR: the source refuses the replication account
        1129,  # ER_HOST_IS_BLOCKED: the source blocked this host (max_connect_errors)
        1130,  # ER_HOST_NOT_PRIVILEGED: the source does not know this host
        1158,
        1159,
        1160,
        1161,  # ER_NET_READ/WRITE_ERROR(_INTERRUPTED): network errors
        2002,  # CR_CONNECTION_ERROR
        2003,  # CR_CONN_HOST_ERROR: cannot connect (the source is down or unreachable)
        2005,  # CR_UNKNOWN_HOST: the source's name does not resolve
        2006,  # CR_SERVER_GONE_ERROR
        2013,  # CR_SERVER_LOST: lost the connection to the source
        2026,  # CR_SSL_CONNECTION_ERROR
    }
)
IO_RUNNING_OK = ("yes", "connecting", "preparing")


class CheckError(HatuiError):
    """A problem with the check's own set-up (option file, password file): exit 1."""


class _Deadline(BaseException):
    """Raised by SIGALRM when --timeout is up. A BaseException, so no library swallows it."""


# ---------------------------------------------------------------- option files


def _unescape(value: str) -> str:
    out, i = [], 0
    table = {"b": "\b", "t": "\t", "n": "\n", "r": "\r", "\\": "\\", "s": " ", '"': '"', "'": "'"}
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append(table.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _option_value(raw: str, where: str) -> str:
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = 1
        while end < len(raw):
            if raw[end] == "\\":
                end += 2
                continue
            if raw[end] == quote:
                break
            end += 1
        if end >= len(raw):
            raise CheckError(f"{where}: unterminated {quote} quote")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise CheckError(f"{where}: text after the closing quote: {rest[:20]!r}")
        return _unescape(raw[1:end])
    # unquoted: '#' starts a comment (quote a value that contains one)
    return _unescape(raw.split("#", 1)[0].strip())


def _option_name(raw: str) -> str:
    name = raw.strip().lower().replace("-", "_")
    return name[len("loose_") :] if name.startswith("loose_") else name


def parse_option_text(
    text: str, source: str, groups: tuple[str, ...] = OPTION_GROUPS, include=None
) -> dict[str, dict[str, str | None]]:
    """MySQL option-file text -> {group: {option: value}} for the wanted groups.

    Option names are normalised (`-` and `_` alike, lower case, `loose-` dropped); a later line
    wins within a group; an option without `=` has the value None (for `password`: no password).
    `include(directive, path)` is called for `!include`/`!includedir` lines and returns the same
    structure, merged in at that point. Errors name `source` and the line.
    """
    wanted = {g.lower() for g in groups}
    out: dict[str, dict[str, str | None]] = {}
    group: str | None = None
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{source}:{lineno}"
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("!"):
            directive, _, arg = s.partition(" ")
            if directive not in ("!include", "!includedir") or not arg.strip():
                raise CheckError(f"{where}: unknown directive {s[:40]!r}")
            if include is not None:
                for g, opts in include(directive, arg.strip()).items():
                    out.setdefault(g, {}).update(opts)
            continue
        if s.startswith("["):
            if not s.endswith("]") or len(s) < 3:
                raise CheckError(f"{where}: bad group header {s[:40]!r}")
            group = s[1:-1].strip().lower()
            continue
        if group is None:
            raise CheckError(f"{where}: option outside any [group]")
        if group not in wanted:
            continue
        if "=" in s:
            name, _, raw = s.partition("=")
            value: str | None = _option_value(raw, where)
        else:
            name, value = s, None
        out.setdefault(group, {})[_option_name(name)] = value
    return out


def read_option_file(
    path: str, groups: tuple[str, ...] = OPTION_GROUPS, _depth: int = 0
) -> dict[str, dict[str, str | None]]:
    """Read a MySQL option file (and what it includes); CheckError naming the file when not."""
    if _depth > 10:
        raise CheckError(f"option file {path}: !include nested too deep")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            mode = os.fstat(f.fileno()).st_mode
            text = f.read()
    except FileNotFoundError:
        raise CheckError(f"option file {path} does not exist") from None
    except IsADirectoryError:
        raise CheckError(f"option file {path} is a directory") from None
    except OSError as e:
        raise CheckError(f"cannot read option file {path}: {e.strerror}") from None
    if mode & stat.S_IWOTH:
        # the MySQL clients ignore a world-writable option file; a health check fails loudly
        raise CheckError(
            f"option file {path} is world-writable (mode {stat.S_IMODE(mode):04o}): "
            f"anyone could change what it says; chmod o-w {path}"
        )

    def include(directive: str, arg: str) -> dict[str, dict[str, str | None]]:
        target = arg if os.path.isabs(arg) else os.path.join(os.path.dirname(path), arg)
        if directive == "!include":
            return read_option_file(target, groups, _depth + 1)
        merged: dict[str, dict[str, str | None]] = {}
        try:
            names = sorted(n for n in os.listdir(target) if n.endswith(".cnf"))
        except OSError as e:
            raise CheckError(f"option file {path}: cannot list !includedir {target}: {e.strerror}") from None
        for name in names:
            for g, opts in read_option_file(os.path.join(target, name), groups, _depth + 1).items():
                merged.setdefault(g, {}).update(opts)
        return merged

    return parse_option_text(text, path, groups, include)


def merge_groups(
    parsed: dict[str, dict[str, str | None]], groups: tuple[str, ...] = OPTION_GROUPS
) -> dict[str, str | None]:
    """One set of options: a later group of `groups` wins over an earlier one."""
    out: dict[str, str | None] = {}
    for g in groups:
        out.update(parsed.get(g.lower(), {}))
    return out


def read_password_file(path: str) -> str:
    """The first line of a password file that only its owner can read."""
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            mode = os.fstat(f.fileno()).st_mode
            if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
                raise CheckError(
                    f"password file {path} is readable or writable by group/other "
                    f"(mode {stat.S_IMODE(mode):04o}); refusing it: chmod 600 {path}"
                )
            first = f.readline()
    except FileNotFoundError:
        raise CheckError(f"password file {path} does not exist") from None
    except UnicodeDecodeError:
        raise CheckError(f"password file {path} is not UTF-8 text") from None
    except IsADirectoryError:
        raise CheckError(f"password file {path} is a directory") from None
    except OSError as e:
        raise CheckError(f"cannot read password file {path}: {e.strerror}") from None
    return first.rstrip("\r\n")


class Target:
    """Where and as whom to connect. Never printed with its password."""

    __slots__ = ("user", "password", "host", "port", "socket")

    def __init__(self, user: str | None, password: str | None, host: str | None, port: int, socket: str | None):
        self.user, self.password, self.host, self.port, self.socket = user, password, host, port, socket

    @property
    def local(self) -> bool:
        """The unix socket or a loopback address: no TLS needed."""
        if self.socket:
            return True
        if self.host == "localhost":
            return True
        import ipaddress

        try:
            return ipaddress.ip_address(self.host or "").is_loopback
        except ValueError:
            return False

    @property
    def where(self) -> str:
        place = f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"
        return f"{place}, user {self.user}" if self.user else place

    def __repr__(self) -> str:  # no password, ever
        return f"Target({self.where})"


def resolve_target(
    file_opts: dict[str, str | None],
    *,
    user: str | None = None,
    host: str | None = None,
    port: int | None = None,
    socket: str | None = None,
    password: str | None = None,
    source: str = "option file",
    socket_exists=os.path.exists,
) -> Target:
    """Flags over the option file. As the mysql client: host unset or `localhost` means the unix
    socket (the given one, else the first default that exists); any other host means TCP and
    the socket is ignored."""
    user = user if user is not None else file_opts.get("user")
    host = host if host is not None else file_opts.get("host")
    if password is None:
        password = file_opts.get("password")
    if port is None and file_opts.get("port") not in (None, ""):
        raw = file_opts["port"]
        try:
            port = int(raw)  # type: ignore[arg-type]  # option-file values are str; ValueError below
        except ValueError:
            raise CheckError(f"{source}: port {raw!r} is not a number") from None
        if not 0 < port < 65536:
            raise CheckError(f"{source}: port {port} is out of range 1-65535")
    port = port or DEFAULT_PORT
    if host in (None, "", "localhost"):
        socket = socket if socket is not None else file_opts.get("socket")
        if not socket:
            socket = next((p for p in DEFAULT_SOCKETS if socket_exists(p)), DEFAULT_SOCKETS[0])
        return Target(user or None, password, "localhost", port, socket)
    return Target(user or None, password, host, port, None)


# ---------------------------------------------------------------- replication


def _col(row: dict, *names: str):
    for n in names:
        if n in row:
            return row[n]
    return None


def _int(v) -> int | None:
    if v is None or (isinstance(v, str) and v.strip().upper() in ("", "NULL")):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _text(v) -> str:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return "" if v is None else str(v).strip()


def _short(s: str, n: int = 160) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


def channel_label(row: dict) -> str:
    name = _text(_col(row, "Connection_name", "Channel_Name", "Channel_name"))
    host = _text(_col(row, "Source_Host", "Master_Host"))
    port = _text(_col(row, "Source_Port", "Master_Port"))
    label = f"channel '{name}'" if name else "replication"
    return f"{label} from {host}:{port}" if host else label


def replication_problems(rows: list[dict], max_lag: int | None = None) -> list[str]:
    """Why this node's replication is unhealthy; [] when it is healthy or has no channel.

    Rows are SHOW ALL SLAVES STATUS (MariaDB), SHOW REPLICA STATUS (MySQL 8.0.22+, Replica_*/
    Source_* columns) or SHOW SLAVE STATUS (older, Slave_*/Master_*), by column name.
    Unhealthy: the SQL (applier) thread is not running; Last_SQL_Errno is set; the IO thread
    stopped with an error that is not about reaching the source (CONNECTION_ERRNOS); with
    max_lag, Seconds_Behind_* above it. An IO thread that is (re)connecting, or stopped on a
    connection error, is healthy: the source is down, not this node. A NULL lag is ignored
    (it only means something when the SQL thread is down, which already fails).
    """
    problems: list[str] = []
    for row in rows:
        label = channel_label(row)
        sql = _text(_col(row, "Replica_SQL_Running", "Slave_SQL_Running")).lower()
        io = _text(_col(row, "Replica_IO_Running", "Slave_IO_Running")).lower()
        sql_errno = _int(_col(row, "Last_SQL_Errno")) or 0
        sql_error = _short(_text(_col(row, "Last_SQL_Error")))
        io_errno = _int(_col(row, "Last_IO_Errno")) or 0
        io_error = _short(_text(_col(row, "Last_IO_Error")))
        if sql != "yes":
            why = f" (error {sql_errno}: {sql_error})" if sql_errno else ""
            problems.append(f"{label}: SQL thread not running{why}")
        elif sql_errno:
            problems.append(f"{label}: SQL thread error {sql_errno}: {sql_error}")
        if io not in IO_RUNNING_OK and io_errno and io_errno not in CONNECTION_ERRNOS:
            problems.append(f"{label}: IO thread stopped with error {io_errno}: {io_error}")
        if max_lag is not None and sql == "yes":
            lag = _int(_col(row, "Seconds_Behind_Source", "Seconds_Behind_Master"))
            if lag is not None and lag > max_lag:
                problems.append(f"{label}: {lag} s behind its source (limit {max_lag} s)")
    return problems


# ---------------------------------------------------------------- the check


def _ip(value: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv4 or IPv6 address") from None


def _ranged(kind: type, what: str, ok, bounds: str):
    """An argparse type: `kind(value)` that `ok` accepts, else an error naming the bounds."""

    def convert(value: str):
        try:
            v = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"{value} is out of range ({bounds})")
        return v

    return convert


_positive = _ranged(float, "a number", lambda v: 0 < v <= 3600, "0 < S <= 3600")
_lag = _ranged(int, "a whole number of seconds", lambda v: v >= 0, "0 or more")
_port = _ranged(int, "a port number", lambda v: 0 < v < 65536, "1-65535")


DESCRIPTION = """\
keepalived health check for the local MySQL/MariaDB server (a vrrp_script).

Exit 0 when the server answers a real query within --timeout (and, when asked, replicates,
is writable, and this node still reaches a gateway); exit 1 otherwise, with one line on stderr
saying what failed. Silent on success unless -v.
"""

EPILOG = """\
connection: as the mysql client, a --host that is unset or `localhost` means the unix socket
(--socket, else the option file's, else the first of /run/mysqld/mysqld.sock,
/var/run/mysqld/mysqld.sock, /var/lib/mysql/mysql.sock, /tmp/mysql.sock that exists); any other
host means TCP to --port (default 3306). Flags override the option file. The user defaults to
the one running the check (root under keepalived, which MariaDB admits by its unix socket).
There is no --password flag on purpose: a password on the command line shows in `ps`. Use
--defaults-file, --password-file or --password-env. No message ever shows the password.

The monitor account needs no write privilege. With --replication it must be allowed to read
the replica status: MariaDB 10.5+ `SLAVE MONITOR` (or `REPLICATION CLIENT` before), MySQL
`REPLICATION CLIENT`.

exit codes: 0 healthy; 1 unhealthy, or the check's own set-up is wrong (option or password
file); 2 bad command line (argparse). keepalived treats every non-zero exit as a failure, so a
typo in the vrrp_script takes the node out of the election at once: run the script by hand
(`sudo /etc/keepalived/check_mysql.sh; echo $?`) after changing it.

keepalived.conf:
  vrrp_script chk_mysql {
      script "/etc/keepalived/check_mysql.sh"   # exec hatui check-mysql --defaults-file ...
      interval 1
      timeout 2        # keep --timeout below this
      fall 2
      rise 2
  }
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    # argparse builds a formatter for every add_argument and would import shutil (and lzma, bz2
    # ...) each run just to learn the terminal width
    def __init__(self, prog: str, **kw):
        if kw.get("width") is None:
            try:
                kw["width"] = os.get_terminal_size(sys.stderr.fileno()).columns - 2
            except (OSError, ValueError, AttributeError):
                kw["width"] = 78
        super().__init__(prog, **kw)


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        sys.exit(Exit.USAGE if status == 2 else status)  # hatui's one table: 64 is a bad command line


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False, formatter_class=_Formatter)
    c = ap.add_argument_group("connection")
    c.add_argument(
        "--defaults-file",
        metavar="FILE",
        help="MySQL option file to read user, password, host, port and socket from: "
        "groups [client], [client-server], [client-mariadb], then "
        "[hatui-check-mysql] (a later group wins). Keep it mode 0600. A missing "
        "or unreadable file fails the check",
    )
    c.add_argument(
        "--user", metavar="NAME", help="MySQL account (default: the option file's, else the user running the check)"
    )
    c.add_argument(
        "--host",
        metavar="HOST",
        help="server address; unset or `localhost`: the unix "
        "socket. Normally leave it unset: the check is about the local server",
    )
    c.add_argument("--port", metavar="N", type=_port, help="TCP port when --host is an address (default 3306)")
    c.add_argument(
        "--socket",
        metavar="PATH",
        help="unix socket path (default: the option file's, else the first usual path that exists)",
    )
    pw = c.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="take the password from environment variable VAR")
    pw.add_argument(
        "--password-file",
        metavar="FILE",
        help="take the password from the first line of FILE; refused when FILE is readable by group or other",
    )

    k = ap.add_argument_group("what healthy means")
    k.add_argument(
        "--timeout",
        metavar="S",
        type=_positive,
        default=2.0,
        help="the whole check (connect, queries, gateway ping) must finish within S "
        "seconds, even against a hung mysqld (default 2.0). Keep it below the "
        "vrrp_script's `timeout`, so the check reports why instead of being killed",
    )
    k.add_argument(
        "--query",
        metavar="SQL",
        default="SELECT 1",
        help="the query that must run without error (default: SELECT 1). E.g. a "
        "SELECT on a small table, to prove the storage engine answers",
    )
    k.add_argument(
        "--replication",
        action="store_true",
        help="also fail when a replication channel is broken: SQL (applier) thread "
        "not running (also after a deliberate STOP SLAVE), an SQL error, or an "
        "IO thread stopped by an error other than not reaching its source. An IO "
        "thread that is connecting, or stopped because the source is down, "
        "unreachable or refuses the account (errors 2003, 2013, 1045, ...), is "
        "healthy: a dead peer must not push the VIP off the survivor. No channel: "
        "healthy",
    )
    k.add_argument(
        "--max-lag",
        metavar="N",
        type=_lag,
        help="with --replication: also fail when a channel is more than N seconds "
        "behind its source (Seconds_Behind_Master/Source)",
    )
    k.add_argument(
        "--writable",
        action="store_true",
        help="fail when @@read_only is ON: for set-ups where only a writable node may "
        "hold the VIP. Not for pairs whose notify script lifts read_only on MASTER",
    )
    k.add_argument(
        "--gateway",
        metavar="IP",
        type=_ip,
        action="append",
        default=[],
        help="split-brain defence (repeatable): send each one ICMP echo, in parallel, "
        "and wait up to 1 s as `ping -c 1 -W 1` (a raw socket as root, else the "
        "ping command); fail only when none answers, i.e. this node is cut off "
        "and must not hold the VIP",
    )
    k.add_argument(
        "--maintenance-file",
        metavar="PATH",
        help="fail at once, without connecting, while PATH exists: `touch PATH` moves "
        "the VIP away for maintenance, `rm PATH` lets the node back",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="say what was checked on success too (on stdout)")
    return ap


def _import_pymysql():
    """PyMySQL without importing `cryptography` (~35 ms, more than the rest of the check): it is
    only needed for an RSA-encrypted password exchange (sha256/caching_sha2 over TCP without
    TLS). It is then imported the first time that exchange happens."""
    already = "cryptography" in sys.modules
    if not already:
        sys.modules["cryptography"] = None  # type: ignore[assignment]  # makes the import fail
    try:
        import pymysql
        import pymysql.cursors
        from pymysql import _auth
    finally:
        if not already and sys.modules.get("cryptography", 0) is None:
            del sys.modules["cryptography"]
    if not getattr(_auth, "_have_cryptography", True) and hasattr(_auth, "sha2_rsa_encrypt"):
        plain = _auth.sha2_rsa_encrypt

        def sha2_rsa_encrypt(password, salt, public_key):
            try:
                from cryptography.hazmat.backends import default_backend
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import padding
            except ImportError:
                pass
            else:
                # what pymysql._auth sets at its own import when cryptography is there
                for name, value in (
                    ("default_backend", default_backend),
                    ("hashes", hashes),
                    ("serialization", serialization),
                    ("padding", padding),
                    ("_have_cryptography", True),
                ):
                    setattr(_auth, name, value)
            return plain(password, salt, public_key)

        _auth.sha2_rsa_encrypt = sha2_rsa_encrypt
    return pymysql


def _error_text(exc: BaseException) -> str:
    orig = getattr(exc, "original_exception", None)
    if isinstance(orig, OSError):
        return orig.strerror or str(orig)
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return f"[{args[0]}] {_short(str(args[1]))}"
    return _short(str(exc)) or type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "original_exception", None)
    return isinstance(orig, TimeoutError) or "timed out" in str(exc)


def _icmp_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmp_echo_request(ident: int, seq: int, v6: bool, payload: bytes = b"hatui check-mysql") -> bytes:
    """An ICMP (v4 type 8) or ICMPv6 (type 128) echo request; the kernel sums ICMPv6 itself."""
    import struct

    typ = 128 if v6 else 8
    csum = 0 if v6 else _icmp_checksum(struct.pack("!BBHHH", typ, 0, 0, ident, seq) + payload)
    return struct.pack("!BBHHH", typ, 0, csum, ident, seq) + payload


def is_echo_reply(data: bytes, ident: int | None, v6: bool, raw: bool) -> bool:
    """Whether a datagram read from an ICMP socket is the reply to our echo. A raw IPv4 socket
    hands over the IP header too; a datagram ("ping") socket has the kernel match the ident."""
    if raw and not v6:
        if len(data) < 20:
            return False
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < 8 or data[0] != (129 if v6 else 0):
        return False
    return ident is None or int.from_bytes(data[4:6], "big") == ident


class _Pings:
    """One ICMP echo to every gateway at once, as `ping -c 1 -W 1` each: healthy as soon as one
    answers, failed when none has within 1 s (or the deadline). Native ICMP sockets (a "ping"
    datagram socket where net.ipv4.ping_group_range allows it, else a raw socket, which root,
    and so keepalived, may open): no fork, no dependency. Without either, the `ping` command."""

    WAIT = 1.0  # ping -W 1

    def __init__(self, gateways: list[str]):
        self.gateways = gateways
        self.started = time.monotonic()
        self.socks: list[tuple[socket.socket, str, bool, bool]] = []  # (socket, gateway, v6, raw)
        self.procs: list[tuple[subprocess.Popen[bytes], str]] = []
        self.unreachable: list[str] = []
        import socket as _s

        ident = os.getpid() & 0xFFFF
        self.ident = ident
        for seq, g in enumerate(gateways, 1):
            v6 = ":" in g
            fam, proto = (_s.AF_INET6, _s.IPPROTO_ICMPV6) if v6 else (_s.AF_INET, _s.IPPROTO_ICMP)
            sock = raw = None
            for kind, is_raw in ((_s.SOCK_DGRAM, False), (_s.SOCK_RAW, True)):
                try:
                    sock, raw = _s.socket(fam, kind, proto), is_raw
                    break
                except PermissionError:
                    continue
                except OSError:  # e.g. no IPv6 in this kernel
                    break
            if sock is None:
                self._ping_command(g)
                continue
            sock.setblocking(False)
            try:
                sock.sendto(icmp_echo_request(ident, seq, v6), (g, 0))
            except OSError:  # no route: unreachable, as ping would say
                sock.close()
                self.unreachable.append(g)
                continue
            self.socks.append((sock, g, v6, bool(raw)))

    def _ping_command(self, gateway: str) -> None:
        import shutil
        import subprocess

        ping = shutil.which("ping") or next((p for p in ("/usr/bin/ping", "/bin/ping") if os.path.exists(p)), None)
        if ping is None:
            raise CheckError(
                "--gateway: cannot send ICMP (needs root, or net.ipv4.ping_group_range) "
                "and the `ping` command is not installed"
            )
        self.procs.append(
            (
                subprocess.Popen(
                    [ping, "-n", "-q", "-c", "1", "-W", "1", gateway],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    close_fds=True,
                ),
                gateway,
            )
        )

    def answered(self, deadline: float) -> str | None:
        """The first gateway that answered, or None when none did in time."""
        import select

        end = min(deadline, self.started + self.WAIT)
        while True:
            for p, g in self.procs:
                if p.poll() == 0:
                    return g
            pending = [p for p, _ in self.procs if p.poll() is None]
            left = end - time.monotonic()
            if (not self.socks and not pending) or left <= 0:
                return None
            wait = min(left, 0.01) if pending else left
            if self.socks:
                ready = select.select([x[0] for x in self.socks], [], [], wait)[0]
            else:
                time.sleep(wait)
                ready = []
            for sock in ready:
                _, g, v6, raw = next(x for x in self.socks if x[0] is sock)
                try:
                    data, addr = sock.recvfrom(2048)
                except OSError:
                    continue
                # a raw socket sees every ICMP packet of the host: match the sender and our ident
                if addr[0].split("%")[0] == g:  # both in canonical form (see _ip)
                    if is_echo_reply(data, self.ident if raw else None, v6, raw):
                        return g

    def close(self) -> None:
        for sock, *_ in self.socks:
            sock.close()
        for p, _ in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(0.2)
            except Exception:
                pass


class _Skip(Exception):
    """The connection failed (already reported): skip the queries."""


def _replica_rows(conn, cur, pymysql) -> tuple[str, list[dict]]:
    """(the statement used, the replica status rows) in the server's dialect."""
    if "mariadb" in (conn.get_server_info() or "").lower():
        cur.execute("SHOW ALL SLAVES STATUS")
        return "SHOW ALL SLAVES STATUS", list(cur.fetchall())
    try:
        cur.execute("SHOW REPLICA STATUS")  # MySQL 8.0.22+ (8.4: the only form)
        return "SHOW REPLICA STATUS", list(cur.fetchall())
    except pymysql.err.ProgrammingError as e:
        if e.args and e.args[0] != 1064:  # 1064: syntax error, an older server
            raise
    cur.execute("SHOW SLAVE STATUS")
    return "SHOW SLAVE STATUS", list(cur.fetchall())


def run_check(args: argparse.Namespace, target: Target) -> tuple[list[str], list[str]]:
    """(problems, what was fine). Call with the SIGALRM deadline armed: it raises _Deadline."""
    end = time.monotonic() + args.timeout
    problems: list[str] = []
    fine: list[str] = []
    short_query = _short(args.query, 60)
    # what is being waited for, for the message when the deadline hits
    what = "mysqld did not complete the connection"
    pings = _Pings(args.gateway) if args.gateway else None  # they run while mysqld is asked
    conn = None
    try:
        try:
            pymysql = _import_pymysql()
            left = max(0.05, end - time.monotonic())
            kw = dict(
                user=target.user,
                password=target.password or "",
                connect_timeout=left,
                read_timeout=left,
                write_timeout=left,
                autocommit=None,
                cursorclass=pymysql.cursors.DictCursor,
            )
            if target.socket:
                kw["unix_socket"] = target.socket
            else:
                kw.update(host=target.host, port=target.port)
            if target.local:
                # No TLS to the local server (nor does the mysql client over a socket): PyMySQL's
                # default "preferred" TLS loads the system CA store (~20 ms) for nothing here.
                kw["ssl_disabled"] = True
            try:
                conn = pymysql.connect(**kw)
            except pymysql.MySQLError as e:
                if _is_timeout(e):
                    raise _Deadline from None
                problems.append(f"cannot connect to mysqld ({target.where}): {_error_text(e)}")
                raise _Skip from None
            statement = short_query
            try:
                with conn.cursor() as cur:
                    what = f"mysqld did not answer {short_query}"
                    q0 = time.monotonic()
                    cur.execute(args.query)
                    cur.fetchall()
                    fine.append(
                        f"mysqld answered {short_query} in {(time.monotonic() - q0) * 1000:.0f} ms ({target.where})"
                    )
                    if args.writable:
                        statement = "SELECT @@read_only"
                        what = f"mysqld did not answer {statement}"
                        cur.execute("SELECT @@read_only AS ro")
                        if _int(cur.fetchone()["ro"]):
                            problems.append(f"read_only is ON and --writable was asked ({target.where})")
                        else:
                            fine.append("read_only is OFF")
                    if args.replication:
                        statement = "the replica status"
                        what = "mysqld did not answer SHOW REPLICA/SLAVE STATUS"
                        statement, rows = _replica_rows(conn, cur, pymysql)
                        bad = replication_problems(rows, args.max_lag)
                        problems.extend(bad)
                        if not rows:
                            fine.append("no replication channel")
                        elif not bad:
                            fine.append(f"replication healthy ({len(rows)} channel{'' if len(rows) == 1 else 's'})")
            except pymysql.MySQLError as e:
                if _is_timeout(e):
                    raise _Deadline from None
                problems.append(f"{statement} failed ({target.where}): {_error_text(e)}")
        except _Skip:
            pass
        except _Deadline:
            problems.append(f"timed out after {args.timeout} s: {what} ({target.where})")
            return problems, fine
        if pings is not None:
            what = f"no gateway answered ping ({', '.join(args.gateway)})"
            g = pings.answered(end)
            if g is None:
                problems.append(f"no gateway answered ping ({', '.join(args.gateway)}): this node looks cut off")
            else:
                fine.append(f"gateway {g} answered")
    except _Deadline:
        problems.append(f"timed out after {args.timeout} s: {what}")
    finally:
        if pings is not None:
            pings.close()
        if conn is not None:
            try:  # no polite COM_QUIT: the server may be the one that hangs
                conn._force_close()
            except Exception:
                pass
    return problems, fine


def _fail(msg: str) -> int:
    print(f"check-mysql: FAIL: {msg}", file=sys.stderr)
    return 1


def _password_on_command_line(argv: list[str]) -> bool:
    for a in argv:
        if a == "--":
            return False
        if a in ("--password", "-p") or a.startswith(("--password=", "-p")):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if _password_on_command_line(argv):
        # said here, not by argparse, which would echo the password back in its error
        print(
            f"{PROG}: error: there is no --password/-p option: a password on the command line "
            "shows in `ps`; use --defaults-file, --password-file or --password-env",
            file=sys.stderr,
        )
        return Exit.USAGE
    args = build_parser().parse_args(argv)
    if args.max_lag is not None and not args.replication:
        build_parser().error("--max-lag needs --replication")
    # the maintenance flag comes first: no connection, no wait
    if args.maintenance_file and os.path.lexists(args.maintenance_file):
        return _fail(f"maintenance flag {args.maintenance_file} present")
    try:
        opts: dict[str, str | None] = {}
        if args.defaults_file:
            opts = merge_groups(read_option_file(args.defaults_file))
        password = None
        if args.password_env:
            if args.password_env not in os.environ:
                raise CheckError(f"environment variable {args.password_env} (--password-env) is not set")
            password = os.environ[args.password_env]
        elif args.password_file:
            password = read_password_file(args.password_file)
        target = resolve_target(
            opts,
            user=args.user,
            host=args.host,
            port=args.port,
            socket=args.socket,
            password=password,
            source=f"option file {args.defaults_file}",
        )
    except CheckError as e:
        return _fail(str(e))

    def alarm(signum, frame):
        raise _Deadline

    try:
        old = signal.signal(signal.SIGALRM, alarm)
    except ValueError:  # not the main thread (an embedding caller): PyMySQL's timeouts only
        old = None
    else:
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
    try:
        try:
            problems, fine = run_check(args, target)
        finally:
            if old is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except _Deadline:  # the alarm landed outside run_check's own handlers
        problems, fine = [f"timed out after {args.timeout} s ({target.where})"], []
    except CheckError as e:
        problems, fine = [str(e)], []
    except Exception as e:  # a bug or an odd server reply: still one clear line, still a failure
        problems, fine = [f"unexpected {type(e).__name__} ({target.where}): {_short(str(e))}"], []
    finally:
        if old is not None:
            signal.signal(signal.SIGALRM, old)
    if problems:
        return _fail("; ".join(problems))
    if args.verbose:
        print("check-mysql: OK: " + "; ".join(fine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
