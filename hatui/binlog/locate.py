"""Where a node's binary logs are and which of them a gap repair must read.

Works with mysqld down: the paths come from the server's option files (`my_print_defaults`),
the file list from the binlog index on disk, and each file's starting GTID state from the
Gtid_list (MariaDB) or Previous_gtids (MySQL) event at its head. Pure functions plus the
shell commands that produce their input; the runbook sends the commands."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

# mariadb-binlog prints the head event as "... Gtid list [1-1-100,2-2-40]"; mysqlbinlog prints
# "... Previous-GTIDs" and the set on the next comment line(s)
_GTID_LIST = re.compile(r"\tGtid list \[([^\]]*)\]")
_PREVIOUS = re.compile(r"\tPrevious-GTIDs\s*$")
_FILE_MARK = "=== hatui binlog "


@dataclass(frozen=True)
class ServerFiles:
    datadir: str
    basename: str  # absolute path without the .NNNNNN suffix, e.g. /var/lib/mysql/mysql-bin
    index: str  # absolute path of the .index file
    pid_file: str

    def resolve(self, entry: str) -> str:
        """An index entry ("./mysql-bin.000001" or absolute) as an absolute path."""
        p = PurePosixPath(entry.strip())
        return str(p if p.is_absolute() else PurePosixPath(self.datadir) / p)


def defaults_command() -> str:
    """The [mysqld] options as the server reads them (MySQL 5.7+, MariaDB 10.x)."""
    return "my_print_defaults --mysqld 2>/dev/null || my_print_defaults mysqld"


def parse_defaults(text: str, *, hostname: str = "", mariadb: bool = True) -> ServerFiles:
    """ServerFiles from `my_print_defaults --mysqld` output. Raises ValueError when binary
    logging is not on (nothing to read). MySQL 8 logs to `binlog.N` without any log_bin option;
    MariaDB needs log_bin (bare: named after log_basename, else the host)."""
    opts: dict[str, str | None] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("--"):
            continue
        key, _, value = line[2:].partition("=")
        opts[key.replace("-", "_")] = value if _ else None
    off = "skip_log_bin" in opts or "disable_log_bin" in opts or opts.get("log_bin") in ("0", "OFF", "off")
    if off or ("log_bin" not in opts and mariadb):
        raise ValueError("binary logging is not enabled in the server's option files (no log_bin)")
    datadir = (opts.get("datadir") or "/var/lib/mysql").rstrip("/") or "/"
    if "log_bin" not in opts:
        base = "binlog"  # MySQL 8.0+: on by default
    else:
        stem = opts.get("log_basename") or hostname or "mysql"
        base = opts.get("log_bin") or f"{stem}-bin"  # bare --log-bin
    # the server ignores an extension on the base name (Debian's log_bin = .../mysql-bin.log)
    base_path = PurePosixPath(base)
    if base_path.suffix:
        base_path = base_path.with_suffix("")
    if not base_path.is_absolute():
        base_path = PurePosixPath(datadir) / base_path
    index = opts.get("log_bin_index")
    index_path = PurePosixPath(index) if index else PurePosixPath(f"{base_path}.index")
    if not index_path.is_absolute():
        index_path = PurePosixPath(datadir) / index_path
    pid = opts.get("pid_file") or f"{datadir}/{hostname or 'mysql'}.pid"
    pid_path = PurePosixPath(pid)
    if not pid_path.is_absolute():
        pid_path = PurePosixPath(datadir) / pid_path
    return ServerFiles(datadir, str(base_path), str(index_path), str(pid_path))


FILES_SQL = (
    "SELECT @@log_bin_basename AS log_bin_basename, @@log_bin_index AS log_bin_index, "
    "@@datadir AS datadir, @@pid_file AS pid_file"
)  # a live server's answer is what from_variables reads


def from_variables(v: Mapping[str, Any]) -> ServerFiles:
    """ServerFiles from a live server's @@log_bin_basename, @@log_bin_index, @@datadir, @@pid_file."""
    datadir = str(v.get("datadir") or "/var/lib/mysql").rstrip("/")
    return ServerFiles(
        datadir, str(v["log_bin_basename"]), str(v["log_bin_index"]), str(v.get("pid_file") or f"{datadir}/mysql.pid")
    )


def index_command(files: ServerFiles) -> str:
    return f"cat {shlex.quote(files.index)}"


def parse_index(text: str, files: ServerFiles) -> list[str]:
    return [files.resolve(line) for line in text.splitlines() if line.strip()]


def alive_command(files: ServerFiles) -> str:
    """Prints `alive PID`, `stale PID` or `none`: whether the pid file names a live mysqld.
    A pid file left by a killed server names a dead (or reused, non-mysqld) pid, or a zombie
    whose parent has not reaped it yet (state Z: it can never commit again)."""
    f = shlex.quote(files.pid_file)
    return (
        f"if [ -s {f} ]; then p=$(cat {f}); "
        "if [ -r /proc/$p/comm ] && grep -qE '^(mysqld|mariadbd)$' /proc/$p/comm "
        "&& [ \"$(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f1)\" != Z ]; "
        "then echo alive $p; else echo stale $p; fi; else echo none; fi"
    )


def heads_command(tool: str, paths: list[str]) -> str:
    """For each file, its name and the GTID state at its head (the first few events only)."""
    lines = []
    for p in paths:
        q = shlex.quote(p)
        # a long GTID list wraps over many "# ..." lines: keep enough of them
        lines.append(
            f"echo {shlex.quote(_FILE_MARK + p)}; "
            f"if [ -r {q} ]; then {shlex.quote(tool)} --stop-position=1024 {q} 2>&1 | "
            f"grep -A100000 -m1 -E 'Gtid list|Previous-GTIDs|ERROR' | head -n 100000; "
            f"else echo {shlex.quote('ERROR: cannot read ' + p)}; fi"
        )
    return "; ".join(lines)


@dataclass(frozen=True)
class Head:
    path: str
    gtids: str  # the state at the file's start ("" = nothing before it)
    error: str = ""


def parse_heads(text: str) -> list[Head]:
    heads: list[Head] = []
    path = ""
    body: list[str] = []

    def flush() -> None:
        if not path:
            return
        joined = "\n".join(body)
        err = next((ln for ln in body if "ERROR" in ln), "")
        m = _GTID_LIST.search(joined)
        if m:
            # a long list wraps onto "# ..." continuation lines
            heads.append(Head(path, re.sub(r"\s*\n#\s*", "", m.group(1)).strip()))
            return
        for i, ln in enumerate(body):
            if _PREVIOUS.search(ln):
                # the set follows as "# uuid:1-5," lines, continued while they end with a comma
                parts = []
                for nxt in body[i + 1 :]:
                    if not nxt.startswith("# ") or "\t" in nxt:
                        break
                    parts.append(nxt[2:].strip())
                    if not nxt.rstrip().endswith(","):
                        break
                text = "".join(parts)
                heads.append(Head(path, "" if text == "[empty]" else text))  # a first binlog
                return
        heads.append(Head(path, "", err or "no GTID list at the head of the file (not a binlog, or too old)"))

    for line in text.splitlines():
        if line.startswith(_FILE_MARK):
            flush()
            path, body = line[len(_FILE_MARK) :], []
        else:
            body.append(line)
    flush()
    return heads


def tool_command(mariadb: bool) -> str:
    """The binlog tool that matches the server (an old or foreign one writes events that do
    not apply), found on the node itself."""
    if mariadb:
        return "command -v mariadb-binlog || command -v mysqlbinlog"
    return "command -v mysqlbinlog"


def sizes_command(paths: list[str]) -> str:
    """Each file's size in bytes, inode and modification time, one `SIZE INODE MTIME PATH` line
    each, in order (the three together say a file is the one read before: hatui.binlog.cache)."""
    return "stat -c '%s %i %Y %n' -- " + " ".join(shlex.quote(p) for p in paths)


@dataclass(frozen=True)
class FileStat:
    size: int
    inode: int = 0
    mtime: int = 0


def parse_stats(text: str) -> dict[str, FileStat]:
    """sizes_command's lines (or older `SIZE PATH` ones) -> path -> what stat said."""
    out: dict[str, FileStat] = {}
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and all(x.isdigit() for x in parts[:3]) and parts[3]:
            out[parts[3]] = FileStat(int(parts[0]), int(parts[1]), int(parts[2]))
            continue
        size, _, path = line.partition(" ")
        if size.isdigit() and path:
            out[path] = FileStat(int(size))
    return out


def parse_sizes(text: str) -> dict[str, int]:
    return {p: st.size for p, st in parse_stats(text).items()}


def coalesced(command: str) -> str:
    """`command` with its output gathered into 256 KiB writes, its exit status kept.

    sshd sends what each read of the pipe returns as one packet, and the binlog tool writes in
    small pieces: a 20 MB dump came as ~9,500 packets, and the client's work per packet
    (decrypt, verify, deliver: ~100 µs in asyncssh) cost more than the dump itself (0.8 s of
    CPU against 0.14 s gathered). GNU dd's `iflag=fullblock` gathers; a dd without it fails
    at once, before reading, and `cat` passes the output on as it comes. The tool's own exit
    status is the command's (POSIX sh has no pipefail): it goes out on fd 4 into `s`."""
    return (
        "exec 3>&1; s=$( { { { " + command + '; } 3>&- 4>&-; echo "$?" >&4; } | '
        '{ dd iflag=fullblock bs=262144 2>/dev/null || cat; } >&3 4>&-; } 4>&1 ); exit "${s:-1}"'
    )


def dump_command(tool: str, path: str, size: int, *, start: int | None = None) -> str:
    """One file as readable, replayable text: BINLOG blobs plus -v row images, up to `size`
    bytes (read just before), so the output must end exactly there (parse_dump's expect_end)
    even if the server appends more meanwhile. `start`: from that event on (the tool still
    prints the file's format description first)."""
    at = f" --start-position={int(start)}" if start is not None else ""
    return f"{shlex.quote(tool)} -v{at} --stop-position={int(size)} {shlex.quote(path)}"
