"""Parse ``mariadb-binlog -v`` / ``mysqlbinlog -v`` text into transactions; render replay scripts.

Pure: no I/O. The binlog gap-repair runbook runs the tool on the old master,
hands its output (one binlog file per call) to :func:`parse_dump`, keeps the
transactions the new master lacks, shows them with :func:`readable`, probes the
target for conflicts with :func:`first_touches`, and replays
:func:`render_sql` of the chosen ones (via the ``mariadb`` client, or
:func:`split_statements` + a DB-API connection), which keeps their GTIDs.

What the tool prints, and how it is cut up
------------------------------------------
Every event starts with ``# at N`` and a header line
``#YYMMDD HH:MM:SS server id S  end_log_pos E [CRC32 0x..] <type ...>``, then its
body (SQL ended by the ``/*!*/;`` delimiter, ``BINLOG '...'`` base64, ``### ``
row images, ``#Q> `` original statements). A transaction is

* MariaDB: a ``GTID d-s-n [trans|ddl]`` event up to its ``Xid``/``COMMIT``, or up
  to its single Query event when the GTID event opened no transaction (DDL);
* MySQL: a ``GTID``/``Anonymous_GTID`` event (the GTID itself is in the
  ``SET @@SESSION.GTID_NEXT= '...'`` line; ``ANONYMOUS`` gives ``gtid=""``) up to
  its ``Xid``/``COMMIT``, or its single DDL Query event;
* no GTID events at all (old MySQL): a ``BEGIN`` Query event up to its
  ``Xid``/``COMMIT``, or a standalone Query event; ``gtid`` is ``""``.

Lines before the first transaction are the preamble; lines after the last one
the trailer. Events between two transactions (e.g. a MariaDB ``Binlog
checkpoint``) belong to neither and are not kept. Events that belong to no
transaction because the dump started in the middle of one (``--start-position``)
are dropped, never put into the preamble: replaying them would apply rows
without their GTID.

A transaction the dump does not finish (the output was truncated, or the tool
itself closed it with ``ROLLBACK /* added by mysqlbinlog */`` because the file
ends inside it) is dropped: it never committed as far as this file tells.

Event boundaries are checked, never assumed
-------------------------------------------
The tool prints a Query event's statement verbatim, newlines included, so a DDL
statement (or a comment inside one) can hold lines shaped exactly like ``# at``,
an event header or ``/*!*/;``. Anyone allowed to run DDL on the old writer could
plant forged "events" (a GRANT with a made-up GTID) for the next gap repair to
replay as the admin account. So boundaries come from the binlog's own position
chain: every header consumes one ``# at N`` line (the tool may print several
before a group of headers), each event must start where the one before it ended
(``end_log_pos``), the format description must sit at 4, and a file must end
where its last event ends (``expect_end``, the file's size). A forged event cannot
fit into that chain, so a dump that does not check out raises
:class:`BinlogIntegrityError`, naming the line and the real event it sits in.
Inside an event, only the tool's own session lines are read as session state,
``###`` row images only inside row events, and a Query event's statement is
everything after its session lines, as one statement: what is replayed
(:attr:`Transaction.replay`) and what the preview shows are the same text.

Read a transaction at a time where it can be
-------------------------------------------
A dump is mostly one shape of transaction: MariaDB's GTID event, Annotate_rows, Table_map and
row events, Xid. Such a transaction is matched whole by one regular expression (the lane) and
applied as the line-by-line reader would apply its lines, after its positions are checked
against the chain the same way; anything else, or a transaction whose positions do not fit,
goes line by line and is refused or read exactly as before. At 100,000 transactions this took
the parse from 7.5 to 2.2 s of CPU. The tests hold the lane to the reader's result on every
fixture, cut anywhere, fed in any chunks, with positions and text mutated.

Session state
-------------
The tool prints session settings (``SET @@session.sql_mode=...``, ``use `db```,
``/*!\\C utf8mb4 */``, MariaDB's ``/*M!100001 SET @@session.server_id=1*/`` ...)
only when they change from the previous event. A transaction replayed without
its predecessors would run with the target session's settings -- on MariaDB it
would even get the target's server_id and domain in its GTID. So each
:class:`Transaction` carries ``context``: the latest of those lines printed
before it, and :func:`render_sql` puts them in front of a transaction whenever
the one rendered before it is not its immediate predecessor in the file.

Bytes
-----
``-v`` prints string column values raw (not escaped, not quoted again:
``'O'Brien'``), so the output is not necessarily valid UTF-8 (a BLOB prints raw
bytes). Decode it with ``errors="surrogateescape"`` and encode statements back the
same way before sending them (pymysql: ``conn.query(stmt.encode("utf-8",
"surrogateescape"))``); the values in :class:`RowChange` are display text, not SQL.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from hatui.errors import Refused

__all__ = [
    "BinlogDump",
    "BinlogIntegrityError",
    "RowChange",
    "RowProbe",
    "TextSource",
    "Transaction",
    "final_states",
    "first_touches",
    "parse_dump",
    "readable",
    "render_sql",
    "replay_rounds",
    "replay_statements",
    "row_based",
    "split_statements",
]


@runtime_checkable
class TextSource(Protocol):
    """A text file open for reading (or anything whose read(n) gives the next characters)."""

    def read(self, size: int, /) -> str: ...


class BinlogIntegrityError(Refused):
    """The dump's event boundaries do not agree with the binlog's own positions: some text
    imitates the tool's event headers (or the file changed while it was read). Nothing read
    from such a dump may be replayed."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}: line {line}: {message}")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class RowChange:
    kind: str  # "insert" | "update" | "delete"
    schema: str
    table: str
    before: dict[int, str] | None  # 1-based column position -> value as -v prints it; None for insert
    after: dict[int, str] | None  # None for delete


@dataclass
class Transaction:
    gtid: str  # "0-1-101", "uuid:23" (lower-case), "" without GTIDs
    server_id: int
    when: datetime | None  # header time of its first event, naive
    file: str
    start: int  # "# at N" of its first event
    end: int  # end_log_pos of its last event
    text: str  # its lines as printed, replayable after the file's preamble
    statements: list[str] = field(default_factory=list)  # readable SQL, no BEGIN/COMMIT, no BINLOG blobs
    rows: list[RowChange] = field(default_factory=list)
    ddl: bool = False
    # Session-setting lines in effect before it (printed by earlier events): what render_sql
    # needs to replay it without its predecessors. "" for the first transaction of a file.
    context: str = ""
    # The statements that replay it, exactly, in order (no delimiters): cut at the event
    # boundaries the position chain proved, a Query event's statement kept whole.
    replay: list[str] = field(default_factory=list)


@dataclass
class BinlogDump:
    file: str
    flavor: str  # "mariadb" | "mysql"
    preamble: str
    trailer: str
    transactions: list[Transaction]
    gtid_list: str  # MariaDB "Gtid list" / MySQL Previous-GTIDs at the file start, "" if none
    end: int = 0  # end_log_pos of the last event read (the file's size when read whole)


@dataclass(frozen=True)
class RowProbe:
    schema: str
    table: str
    key: tuple[str, ...]  # primary-key values in pk order (or the whole image without a pk)
    expect: dict[int, str] | None  # the row the change expects now; None = must be absent
    gtid: str  # transaction of the first touch


# ------------------------------------------------------------------ line shapes

_AT = re.compile(r"# at (\d+)\s*$")
_HEADER = re.compile(
    r"#(\d\d)(\d\d)(\d\d)\s+(\d{1,2}):(\d\d):(\d\d)\s+server id (\d+)\s+end_log_pos (\d+)"
    r"(?: CRC32 0x[0-9a-fA-F]+)?\s+(.*)$"
)
_MARIADB_GTID = re.compile(r"GTID (\d+-\d+-\d+)(.*)$")
_GTID_NEXT = re.compile(r"SET @@SESSION\.GTID_NEXT= '([^']*)'")
_SERVER_VERSION = re.compile(r"server v (\S+)")
_ROW_HEAD = re.compile(r"### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`")
# mysqlbinlog -vv appends the column type: "@1=5 /* INT meta=0 nullable=0 is_null=0 */"
_TYPE_NOTE = re.compile(r"\s+/\* [A-Za-z][^*]* meta=\d+ nullable=\d is_null=\d \*/$")
_CTX_SET = re.compile(r"(?:/\*M?!\d+ )?SET @@session\.(\w+)=")
# lines that end the tool's output (or close a transaction the file does not finish)
_TAIL_START = re.compile(
    r"DELIMITER ;|ROLLBACK /\* added by mysqlbinlog \*/|"
    r"SET @@SESSION\.GTID_NEXT= 'AUTOMATIC' /\* added by mysqlbinlog \*/|# End of log file"
)
_GROUP_START = re.compile(r"(?:BEGIN|START TRANSACTION)\s*$|XA START\b", re.I)
_GROUP_END = re.compile(r"(?:COMMIT|ROLLBACK)\s*$|XA (?:COMMIT|ROLLBACK)\b", re.I)
_SESSION_STMT = re.compile(
    r"SET (?:TIMESTAMP|INSERT_ID|LAST_INSERT_ID|@@session\.|@@SESSION\.|@)|use `|/\*!\\C |/\*M?!\d+ SET @@session\."
)
# matched after leading comments are skipped (_is_dml): a pattern that skips them itself
# backtracks exponentially on many "/**/"
_DML = re.compile(
    r"(?:INSERT|UPDATE|DELETE|REPLACE|LOAD\s+DATA|SAVEPOINT|RELEASE|ROLLBACK\s+TO|"
    r"XA\s|CALL|DO|SELECT|WITH|TRUNCATE\s+TEMPORARY)\b",
    re.I,
)
# per-transaction values: never part of the carried-over session state
_PER_TRX = frozenset(
    {
        "gtid_seq_no",
        "original_commit_timestamp",
        "immediate_commit_timestamp",
        "original_server_version",
        "immediate_server_version",
    }
)
# events that are never part of a transaction
_META = (
    "Start:",
    "Gtid list",
    "Binlog checkpoint",
    "Rotate to",
    "Previous-GTIDs",
    "Stop",
    "Incident",
    "Heartbeat",
    "Format_desc",
)
_DELIM = "/*!*/;"
# an event's kind by how its header's description starts; the first that matches wins
_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("GTID", "Anonymous_GTID"), "gtid"),
    (("Query",), "query"),
    (("Xid", "XA PREPARE"), "end"),
    (("Annotate_rows",), "annotate"),
    (("Rows_query",), "rows_query"),
    (("Previous-GTIDs",), "prev_gtids"),
    (("User var",), "user_var"),
    (_META, "meta"),
)
# an event starting with no other letter is a plain "event" at once (a Table_map, a Write_rows)
_KIND_FIRST = frozenset(p[0] for prefixes, _ in _KINDS for p in prefixes)
_KIND = {"INSERT INTO": "insert", "UPDATE": "update", "DELETE FROM": "delete"}


def _when(key: tuple[str, ...]) -> datetime | None:
    yy, mo, dd, hh, mi, ss = (int(v) for v in key)
    try:
        return datetime(1900 + yy if yy >= 70 else 2000 + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None


class _Clock:
    """_when, remembered for the last second seen: thousands of transactions share it."""

    __slots__ = ("key", "value")

    def __init__(self) -> None:
        self.key: tuple[str, ...] | None = None
        self.value: datetime | None = None

    def when(self, key: tuple[str, ...]) -> datetime | None:
        """The time of a header's six fields (YY, MM, DD, hh, mm, ss as printed)."""
        if key != self.key:
            self.key, self.value = key, _when(key)
        return self.value


def _ctx_key(line: str) -> str | None:
    """Key of a session-setting line the tool prints only when the value changes."""
    if not line.startswith(("SET", "use", "/*")):
        return None  # no session setting (START TRANSACTION, COMMIT...)
    if line.startswith("SET TIMESTAMP="):
        return "timestamp"
    if line.startswith("use `"):
        return "use"
    if line.startswith("/*!\\C "):
        return "\\C"
    m = _CTX_SET.match(line)
    if m and m[1] not in _PER_TRX:
        return m[1]
    return None


def _joined(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def _unquote(name: str) -> str:
    return name.replace("``", "`")


class _Trx:
    """A transaction being read."""

    __slots__ = (
        "gtid",
        "server_id",
        "when",
        "start",
        "end",
        "lines",
        "statements",
        "rows",
        "ddl",
        "group",
        "done",
        "tentative",
        "context",
        "replay",
    )

    def __init__(self, gtid: str, server_id: int, when: datetime | None, start: int, context: str):
        self.gtid = gtid
        self.server_id = server_id
        self.when = when
        self.start = start
        self.end = start
        self.lines: list[str] = []
        self.statements: list[str] = []
        self.rows: list[RowChange] = []
        self.ddl = False
        self.group = False  # saw BEGIN / START TRANSACTION: ends at Xid or COMMIT
        self.done = False
        self.tentative = False  # opened by a Query without GTID: may turn out an orphan COMMIT
        self.context = context
        self.replay: list[str] = []


# events whose body holds text the server got from a client, printed verbatim: the statement
# after the tool's session lines is one statement, whatever lines it holds
_VERBATIM = frozenset({"query", "user_var"})
_ROWS_EVENT = re.compile(r"(?:Write|Update|Delete)_rows")


def _session_line(line: str) -> bool:
    """One of the tool's own session-setting lines (one line, ends with the delimiter)."""
    return line.endswith(_DELIM) and bool(_SESSION_STMT.match(line))


def _event_statements(kind: str, body: list[str]) -> tuple[list[str], str | None]:
    """(statements, verbatim statement or None) of one event's body, delimiters removed.

    The tool's session lines come first, one statement a line. In a Query or User_var event
    the rest, up to its last delimiter, is one statement (it may hold delimiter-shaped lines
    of its own); in the other events the tool prints only its own text, a statement ending at
    each delimiter. Comment lines outside a statement (``# ...``, ``### ...``) are not SQL."""
    out: list[str] = []
    i, n = 0, len(body)
    if n == 1 and kind not in _VERBATIM:
        # the common one-line body (COMMIT/*!*/; after an Xid): one statement or none
        line = body[0]
        if not line.endswith(_DELIM) or line[:1] == "#":
            return out, None
        stmt = line[: -len(_DELIM)].strip()
        return ([stmt] if stmt else out), None
    while i < n:
        line = body[i]
        if not line.strip() or line[:1] == "#":
            i += 1
        elif _session_line(line):
            out.append(line[: -len(_DELIM)])
            i += 1
        else:
            break
    if i >= n:
        return out, None
    if kind in _VERBATIM:
        last = n - 1
        while last >= i and not body[last].endswith(_DELIM):
            last -= 1
        if last < i:
            return out, None  # cut short: no delimiter after the statement
        text = "\n".join(body[i : last + 1])[: -len(_DELIM)].rstrip()
        if text:
            out.append(text)
        return out, text or None
    buf: list[str] = []
    for line in body[i:]:
        if not buf and (not line.strip() or line[:1] == "#"):
            continue
        if line.endswith(_DELIM):
            buf.append(line[: -len(_DELIM)])
            stmt = "\n".join(buf).strip()
            if stmt:
                out.append(stmt)
            buf = []
        else:
            buf.append(line)
    return out, None


# ------------------------------------------------------------------ the row-transaction lane
#
# Most of a MariaDB dump is one shape: a GTID event opening a transaction, then Annotate_rows,
# Table_map and row events the tool printed itself, then an Xid. _LANE matches such a
# transaction whole (only text the line-by-line reader would read the same way: every line of
# it is a `# at`, a header, or a body line of the tool's own kinds), and _Parser._lane applies
# it as the reader would, event by event, after checking its positions against the chain. Any
# other text, and any transaction whose positions do not fit, goes through the line-by-line
# reader, which raises what it raises: the lane is a shortcut, never a second set of rules.
# Numbers the lane converts are at most 20 digits (a position is below 2**64): a longer one is
# left to the line reader, which refuses it as the chain check does.
_LANE_HEADER = (
    r"#(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d) +server id (\d{1,20}) +end_log_pos (\d{1,20})"
    r"(?: CRC32 0x[0-9a-fA-F]+)?[ \t]+"
)
_LANE_HEADER_END = (
    r"#\d{6} +\d{1,2}:\d\d:\d\d +server id \d{1,20} +end_log_pos (\d{1,20})(?: CRC32 0x[0-9a-fA-F]+)?[ \t]+"
)
_LANE_SESSION = r"/\*M?!\d+ SET @@session\.\w+=[^\n]*\*//\*!\*/;\n"
_LANE_ROWS_EVENT = (
    r"(?:Annotate_rows:\n(?:#Q>[^\n]*\n)*"
    r"|Table_map: [^\n]*\n"
    r"|(?:Write|Update|Delete)_rows[^\n]*\n\nBINLOG '\n(?:[A-Za-z0-9+/=]+\n)+'/\*!\*/;\n(?:###[^\n]*\n)*"
    r"(?:# Number of rows: \d+\n)?)"
)
_LANE = re.compile(
    r"# at (\d{1,20})\n" + _LANE_HEADER + r"GTID (\d+-\d+-\d+)(?: cid=\d+)? trans\n"
    r"((?:" + _LANE_SESSION + r")*)START TRANSACTION\n/\*!\*/;\n"
    r"((?:# at \d{1,20}\n|#\d{6} +\d{1,2}:\d\d:\d\d +server id \d{1,20} +end_log_pos \d{1,20}"
    r"(?: CRC32 0x[0-9a-fA-F]+)?[ \t]+" + _LANE_ROWS_EVENT + r")*)"
    r"(# at (\d{1,20}))\n(" + _LANE_HEADER_END + r"(Xid = \d+))\n"
    # its COMMIT, when the next event's header follows at once (the reader then finishes it)
    r"(?:(COMMIT/\*!\*/;\n)(?=# at \d+\n#\d{6} +\d{1,2}:\d\d:\d\d +server id \d{1,20} +end_log_pos \d+"
    r"(?: CRC32 0x[0-9a-fA-F]+)?[ \t]))?"
)
# one `# at` line or one event of _LANE's middle part: (at, end, annotate, #Q> lines, table map,
# BINLOG statement, ### lines); the part has matched _LANE, so these tile it exactly
_LANE_TOKEN = re.compile(
    r"# at (\d{1,20})\n|" + _LANE_HEADER_END + r"(?:(Annotate_rows):\n((?:#Q>[^\n]*\n)*)"
    r"|(Table_map): [^\n]*\n"
    r"|(?:Write|Update|Delete)_rows[^\n]*\n\n(BINLOG '\n(?:[A-Za-z0-9+/=]+\n)+')/\*!\*/;\n((?:###[^\n]*\n)*)"
    r"(?:# Number of rows: \d+\n)?)"
)
# the commonest transaction of all, one statement (Annotate_rows, Table_map, one row event), with
# every position captured: read without _LANE_TOKEN
_LANE1 = re.compile(
    r"# at (\d{1,20})\n" + _LANE_HEADER + r"GTID (\d+-\d+-\d+)(?: cid=\d+)? trans\n"
    r"((?:" + _LANE_SESSION + r")*)START TRANSACTION\n/\*!\*/;\n"
    r"# at (\d{1,20})\n# at (\d{1,20})\n"
    + _LANE_HEADER_END
    + r"Annotate_rows:\n((?:#Q>[^\n]*\n)*)"
    + _LANE_HEADER_END
    + r"Table_map: [^\n]*\n"
    r"# at (\d{1,20})\n" + _LANE_HEADER_END + r"(?:Write|Update|Delete)_rows[^\n]*\n\n"
    r"(BINLOG '\n(?:[A-Za-z0-9+/=]+\n)+')/\*!\*/;\n((?:###[^\n]*\n)*)(?:# Number of rows: \d+\n)?"
    r"(# at (\d{1,20}))\n(" + _LANE_HEADER_END + r"(Xid = \d+))\n"
    r"(?:(COMMIT/\*!\*/;\n)(?=# at \d+\n#\d{6} +\d{1,2}:\d\d:\d\d +server id \d{1,20} +end_log_pos \d+"
    r"(?: CRC32 0x[0-9a-fA-F]+)?[ \t]))?"
)
# where such a transaction may start (the `\n` before it is part of the match)
_LANE_START = re.compile(r"\n# at \d+\n#\d{6} +\d{1,2}:\d\d:\d\d +server id \d+ +end_log_pos \d+[^\n]*\tGTID \d")
_LANE_START_AT = re.compile(_LANE_START.pattern[2:])
_ROW_START = ("### I", "### U", "### D")
# text read per call from a file; a lane candidate waiting for more text is given up (read line
# by line) once this much follows it: a transaction bigger than that is read the slow way
_CHUNK = 1 << 20
_LANE_WAIT = 16 << 20


_IMAGE = re.compile(  # names within one line, as _ROW_HEAD reads them line by line
    r"### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`\n]|``)*)`\.`((?:[^`\n]|``)*)`\n"
    r"(?:### WHERE\n((?:###   @\d{1,9}=[^\n]*\n)*))?(?:### SET\n((?:###   @\d{1,9}=[^\n]*\n)*))?"
)
_IMAGE_VALUE = re.compile(r"###   @(\d{1,9})=([^\n]*)\n")


def _image(section: str | None) -> dict[int, str] | None:
    if section is None:
        return None
    image: dict[int, str] = {}
    for k, v in _IMAGE_VALUE.findall(section):
        image[int(k)] = v
    if section.find("*/\n") >= 0:  # a -vv type note after some value
        for k, v in image.items():
            if v.endswith("*/"):
                image[k] = _TYPE_NOTE.sub("", v)
    return image


def _annotated(queries: str) -> str:
    """The statement of an Annotate_rows event's ``#Q>`` lines (each ends with a newline)."""
    if queries.count("\n") == 1:
        return queries[4:-1] if queries[3:4] == " " else queries[3:-1]
    return "\n".join(q[4:] if q[3:4] == " " else q[3:] for q in queries.split("\n")[:-1])


def _images(block: str, out: list[RowChange]) -> None:
    """The row changes of one row event's ``###`` lines (each ended by a newline), the lane's
    and the line reader's alike."""
    # the tool's usual shape (a head, its WHERE and/or SET images, again), read a row at a time
    m = _IMAGE.match(block)
    if m is not None and m.end() == len(block):  # one row: most row events
        out.append(RowChange(_KIND[m[1]], _unquote(m[2]), _unquote(m[3]), _image(m[4]), _image(m[5])))
        return
    # anything else, a line at a time
    row: tuple[str, str, str] | None = None
    before: dict[int, str] | None = None
    after: dict[int, str] | None = None
    image: dict[int, str] | None = None
    for line in block.split("\n")[:-1]:
        if row is None and not line.startswith(_ROW_START):
            continue
        if line.startswith("###   @"):
            eq = line.find("=", 7)
            key = line[7:eq]
            # a column's position has 1-9 digits (at most 4096 columns): a longer "index" is not
            # the tool's line, ignored as other lines are
            if 7 < eq <= 16 and key.isdecimal() and image is not None:
                v = line[eq + 1 :]
                if v.endswith("*/"):
                    v = _TYPE_NOTE.sub("", v)
                image[int(key)] = v
        elif line == "### WHERE":
            before = image = {}
        elif line == "### SET":
            after = image = {}
        else:
            h = _ROW_HEAD.match(line)
            if h:
                if row is not None:
                    out.append(RowChange(row[0], row[1], row[2], before, after))
                row = (_KIND[h[1]], _unquote(h[2]), _unquote(h[3]))
                before = after = image = None
    if row is not None:
        out.append(RowChange(row[0], row[1], row[2], before, after))


def _what(info: str) -> str:
    return "`" + " ".join(info.split())[:60] + "`"


class _Chain:
    """The binlog's own position chain: each event starts where the one before it ended.

    ``stream`` accepts what reading several files from a server prints (a Rotate, then the
    next file's artificial Rotate and format description at 4); hatui reads one file at a
    time from disk and never needs it."""

    def __init__(self, file: str, stream: bool):
        self.file = file
        self.stream = stream
        self.state = "start"  # start | after_fd | running | rotated
        self.expect = 0
        self.last_line = 0
        # the last event, kept raw: its description is made only for an error message
        self.last: tuple[str, int, int] | None = None  # (info, position, line)

    @property
    def last_event(self) -> str:
        if self.last is None:
            return "the start of the dump"
        info, pos, lineno = self.last
        return f"the event {_what(info)} at {pos} (line {lineno})"

    def fail(self, lineno: int, message: str) -> BinlogIntegrityError:
        return BinlogIntegrityError(
            self.file,
            lineno,
            f"{message}. Event boundaries in this dump do not check out against the binlog's own "
            f"positions: text inside a statement imitates the binlog tool's event headers (a "
            f"forged event), or the file changed while it was read. Nothing from it is replayed",
        )

    def event(self, pos: int | None, end: int, info: str, lineno: int) -> None:
        if pos is None:
            raise self.fail(lineno, f"the event header {_what(info)} has no `# at` position of its own")
        state = self.state
        if state == "running" and pos == self.expect and end > pos and info[:1] not in "SFR":
            # the common case (every event inside a file after its start): no other check applies
            self.expect = end
            self.last_line = lineno
            self.last = (info, pos, lineno)
            return
        what = _what(info)
        fd = info.startswith(("Start:", "Format_desc"))
        if end == 0:  # an artificial event the tool makes up when reading from a server
            if self.stream and info.startswith("Rotate to"):
                self.state = "start"  # the next file of the stream begins
            elif state != "start":
                raise self.fail(lineno, f"an artificial event {what} after {self.last_event}")
            return
        if fd:
            if state != "start" or pos != 4:
                raise self.fail(
                    lineno,
                    f"a format description {what} at {pos}, after {self.last_event}; a file has exactly one, at 4",
                )
            self.state = "after_fd"
        elif state == "start":
            raise self.fail(lineno, f"the event {what} at {pos} comes before the file's format description")
        elif state == "rotated":
            raise self.fail(lineno, f"the event {what} at {pos} follows {self.last_event}, which ends the file")
        elif state == "after_fd":
            # --start-position: the tool jumps from the format description to the start
            if pos < self.expect:
                raise self.fail(lineno, f"the event {what} claims position {pos}, inside {self.last_event}")
            self.state = "running"
        elif pos != self.expect:
            raise self.fail(
                lineno, f"the event {what} claims position {pos}, but {self.last_event} ends at {self.expect}"
            )
        if end <= pos:
            raise self.fail(lineno, f"the event {what} at {pos} ends at {end}, not after its start")
        self.expect = end
        self.last_line = lineno
        self.last = (info, pos, lineno)
        if info.startswith("Rotate to"):
            self.state = "start" if self.stream else "rotated"

    def finish(self, expect_end: int | None, complete: bool, lineno: int) -> None:
        if expect_end is None:
            return
        if not complete:
            raise self.fail(lineno, "the dump ends without the binlog tool's closing lines: it is incomplete")
        if self.state != "start" and self.expect != expect_end:
            raise self.fail(
                self.last_line,
                f"the last event ends at {self.expect}, but the file is {expect_end} bytes long ({self.last_event})",
            )


class _Parser:
    def __init__(self, file: str, stream: bool = False, keep_text: bool = True):
        self.file = file
        self.keep_text = keep_text
        self.clock = _Clock()
        self.flavor: str | None = None
        self.gtid_list: str | None = None
        self.pre: list[str] = []
        self.inter: list[str] = []  # lines after the last finished transaction
        self.sink: list[str] = self.pre
        self.pending: list[str] = []  # "# at N" lines waiting to be written with their header
        self.positions: deque[int] = deque()  # "# at N" not yet taken by a header
        self.chain = _Chain(file, stream)
        self.lineno = 0
        self.cur: _Trx | None = None
        self.out: list[Transaction] = []
        self.seen_trx = False
        self.last_end = 0
        self.headers = 0  # event headers read: none in a text with content is not a dump we can read
        self.content = False
        # current event
        self.ev_kind = ""
        self.ev_rows = False  # a row event: its "###" lines are its row images
        self.ev_body = 0  # index in sink where its body starts
        self.ev_mark = 0  # index in sink where the event (its "# at" lines) starts
        # current row image
        self.images: list[str] = []  # the current row event's "###" lines, read at its end
        # session state
        self.ctx: dict[str, str] = {}
        self.ctx_text: str | None = ""
        self.buf = ""  # text fed but not read yet (a transaction the lane may read whole)
        self.lane = True  # False: every line through run() (the tests compare the two)
        self.laned = 0  # transactions the lane read

    # -------------------------------------------------------------- lines
    def run(self, lines: Iterable[str]) -> None:
        """Every line of the dump, in one loop (a dump of 100,000 transactions is 2.5 million
        lines: the per-line work is kept to a few local lookups; events do the rest)."""
        n = self.lineno
        positions, pending = self.positions, self.pending
        at_match, header_match = _AT.match, _HEADER.match
        keep_rows = self.keep_text  # "###" lines are comments: only the kept text needs them
        sink_append = self.sink.append
        for raw in lines:
            n += 1
            line = raw[:-1] if raw[-1:] == "\n" else raw
            if line[:1] == "#":
                if line.startswith("# at "):
                    digits = line[5:]
                    if digits.isdecimal():  # what _AT matches, without the regex (no spaces after)
                        positions.append(self._number(digits, n, "a `# at` position"))
                        pending.append(line)
                        continue
                    m = at_match(line)
                    if m:
                        positions.append(self._number(m[1], n, "a `# at` position"))
                        pending.append(line)
                        continue
                elif line.startswith("###") and self.ev_rows:
                    # a row event's image comments (in a Query event such a line is the client's
                    # own text: kept as any other)
                    self.images.append(line)
                    if not keep_rows:
                        continue
                elif line[1:2].isdigit():
                    m = header_match(line)
                    if m:
                        self.lineno = n
                        self._header(m, line)
                        sink_append = self.sink.append
                        continue
            if pending:
                self.sink.extend(pending)
                pending.clear()
            if not self.content and line.strip() and not line.startswith(("/*!", "DELIMITER", "#")):
                self.content = True
            sink_append(line)
        self.lineno = n

    def feed(self, text: str, final: bool) -> None:
        """Text of the dump, in order (any cut); `final` with the last of it. Transactions the
        lane matches are applied whole; everything else goes through :meth:`run`, a line at a
        time. Lines end at ``\n`` only."""
        buf = self.buf + text if self.buf else text
        self.buf = ""
        limit = len(buf) if final else buf.rfind("\n") + 1
        if not final and self.lane:
            # a `# at` line without its header yet may start a lane transaction: held back
            q = buf.rfind("\n# at ", 0, limit)
            last = q + 1 if q >= 0 else (0 if buf.startswith("# at ") else -1)
            if last >= 0 and buf.count("\n", last, limit) < 2:
                limit = last
        if not self.lane:
            if limit:
                self._lines(buf[:limit])
            self.buf = buf[limit:]
            return
        pos = 0
        lane_match, lane1_match, start_search = _LANE.match, _LANE1.match, _LANE_START.search
        while pos < limit:
            if buf.startswith("# at ", pos):
                s: int = pos
            else:
                found = start_search(buf, pos - 1 if pos else 0, limit)
                s = found.start() + 1 if found else limit
                if s > pos:
                    self._lines(buf[pos:s])
                    pos = s
                    continue
            m = lane1_match(buf, s, limit)
            if m is not None and self._lane1(m):
                pos = m.end()
                continue
            m = lane_match(buf, s, limit)
            if m is not None and self._lane(m):
                pos = m.end()
                continue
            # not a lane transaction, or one not yet read to its end: the text up to the next
            # candidate is read line by line, unless it may still grow into a lane transaction
            found = start_search(buf, s, limit)
            nxt = found.start() + 1 if found else limit
            if nxt == limit and not final and limit - s < _LANE_WAIT and _LANE_START_AT.match(buf, s, limit):
                break  # a transaction that may be read whole once more text comes
            self._lines(buf[s:nxt])
            pos = nxt
        self.buf = buf[pos:]

    def _lane(self, m: re.Match[str]) -> bool:
        """Apply a transaction _LANE matched, as :meth:`run` would read its lines; False (and
        nothing changed) when the reader's state or the positions are not what the lane assumes."""
        chain = self.chain
        if self.positions or self.pending or chain.state != "running":
            return False
        gtid_at, gtid_end = int(m[1]), int(m[9])
        if gtid_at != chain.expect or gtid_end <= gtid_at:
            return False
        tokens = _LANE_TOKEN.findall(m.string, m.start(12), m.end(12))
        # the position chain, as _Chain.event checks it: each header takes the oldest `# at`
        queue: list[int] = []
        taken, expect, headers = 0, gtid_end, 1
        for t in (*tokens, (m[14], ""), ("", m[16])):
            if t[0]:
                queue.append(int(t[0]))
                continue
            if taken == len(queue):
                return False  # a header with no `# at` of its own
            pos, end = queue[taken], int(t[1])
            taken += 1
            headers += 1
            if pos != expect or end <= pos:
                return False
            expect = end
        if taken != len(queue):
            return False
        statements: list[str] = []
        rows: list[RowChange] = []
        binlogs: list[str] = []
        for t in tokens:
            if t[2]:  # Annotate_rows
                if t[3]:
                    statements.append(_annotated(t[3]))
            elif t[5]:  # a row event: its BINLOG statement and row images
                binlogs.append(t[5])
                _images(t[6], rows)
        self._lane_apply(m, headers, expect, statements, rows, binlogs, 13)
        return True

    def _lane1(self, m: re.Match[str]) -> bool:
        """_lane for a transaction _LANE1 matched: its five events' positions checked in line."""
        chain = self.chain
        if self.positions or self.pending or chain.state != "running":
            return False
        (gtid_at, _, _, _, _, _, _, _, e0, _, _, a1, a2, e1, queries, e2, a3, e3, binlog, images, _, a4, _, e4) = (
            m.groups()[:24]
        )
        # "# at A1", "# at A2", Annotate (takes A1), Table_map (A2), "# at A3", rows, "# at A4", Xid
        ends = int(e0), int(e1), int(e2), int(e3), int(e4)
        if not (int(gtid_at) == chain.expect < ends[0] and int(a1) == ends[0] < ends[1]):
            return False
        if not (int(a2) == ends[1] < ends[2] and int(a3) == ends[2] < ends[3] and int(a4) == ends[3] < ends[4]):
            return False
        rows: list[RowChange] = []
        _images(images, rows)
        self._lane_apply(m, 5, ends[4], [_annotated(queries)] if queries else [], rows, [binlog], 21)
        return True

    def _lane_apply(
        self,
        m: re.Match[str],
        headers: int,
        expect: int,
        statements: list[str],
        rows: list[RowChange],
        binlogs: list[str],
        xid: int,
    ) -> None:
        """The reader's state after a lane transaction whose positions checked out: groups 1-11
        of `m` as in _LANE, the Xid's `# at` line, position, header, info and COMMIT from `xid`."""
        chain = self.chain
        gtid_at = int(m[1])
        self.laned += 1
        # the reader's state at the GTID header
        self.headers += headers
        if self.ev_kind:
            self._close_event()
        cur = self.cur
        if cur is not None and cur.done:
            self._finish()  # an unfinished one is dropped, as at any GTID
        context = self.ctx_text
        if context is None:
            context = self._context()
        if self.flavor is None:
            self.flavor = "mariadb"
        replay: list[str] = []
        ctx = self.ctx
        for line in m[11].split("\n")[:-1]:  # the GTID event's session lines
            replay.append(line[: -len(_DELIM)])
            # _ctx_key of a line _LANE_SESSION matched: the name between "@@session." and "="
            i = line.index("@@session.") + 10
            key = line[i : line.index("=", i)]
            if key not in _PER_TRX and ctx.get(key) != line:
                ctx[key] = line
                self.ctx_text = None
        replay.append("START TRANSACTION")
        replay += binlogs
        commit = m[xid + 5]
        self.lineno += m[0].count("\n")
        chain.expect = self.last_end = expect
        chain.last_line = lineno = self.lineno - (1 if commit else 0)
        chain.last = (m[xid + 4], int(m[xid + 1]), lineno)
        self.content = True
        when = self.clock.when(m.group(2, 3, 4, 5, 6, 7))
        if commit:
            # the COMMIT closes it and the next header follows: finished, as the reader would
            replay.append("COMMIT")
            self.out.append(
                Transaction(
                    m[10],  # gtid
                    int(m[8]),  # server_id
                    when,
                    self.file,
                    gtid_at,  # start
                    expect,  # end
                    m[0] if self.keep_text else "",  # text
                    statements,
                    rows,
                    False,  # ddl
                    context,
                    replay,
                )
            )
            self.cur = None
            self.seen_trx = True
            self.ev_kind = ""
            if self.inter or self.sink is not self.inter:
                self.sink = self.inter = []
            return
        # the Xid event stays open, as after its header: run() reads its COMMIT
        trx = self.cur = _Trx(m[10], int(m[8]), when, gtid_at, context)
        trx.group = True
        trx.replay, trx.statements, trx.rows = replay, statements, rows
        trx.lines = m[0].split("\n")[:-1] if self.keep_text else [m[xid], m[xid + 2]]
        trx.end = expect
        self.sink = trx.lines
        self.ev_kind = "end"
        self.ev_rows = False
        self.ev_mark = len(trx.lines) - 2
        self.ev_body = len(trx.lines)

    def _lines(self, text: str) -> None:
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ends with a newline: no line after it
        self.run(lines)

    def _number(self, digits: str, lineno: int, what: str) -> int:
        """A position, end or server id as printed: a binlog position is below 2**64 (20 digits),
        and a longer number is no event of the tool's (int() of thousands of digits would raise)."""
        if len(digits) > 20:
            raise self.chain.fail(lineno, f"{what} of {len(digits)} digits")
        return int(digits)

    def _context(self) -> str:
        if self.ctx_text is None:
            self.ctx_text = "".join(v + "\n" for v in self.ctx.values())
        return self.ctx_text

    def _note_ctx(self, line: str) -> None:
        key = _ctx_key(line)
        if key is not None and self.ctx.get(key) != line:
            self.ctx[key] = line
            self.ctx_text = None

    # -------------------------------------------------------------- events
    def _header(self, m: re.Match[str], line: str) -> None:
        self.headers += 1
        self._close_event()
        info = m[9]
        end = self._number(m[8], self.lineno, "an end_log_pos")
        server_id = self._number(m[7], self.lineno, "a server id")
        pos = self.positions.popleft() if self.positions else None
        self.chain.event(pos, end, info, self.lineno)
        cur = self.cur
        if cur is not None and cur.done:
            self._finish()
            cur = None
        start = pos if pos is not None else self.last_end
        kind = self._kind(info)
        if kind == "gtid":
            # a GTID inside an unfinished transaction: that one never completed here
            self.cur = cur = _Trx("", server_id, self.clock.when(m.group(1, 2, 3, 4, 5, 6)), start, self._context())
            gm = _MARIADB_GTID.match(info)
            if gm:
                cur.gtid = gm[1]
                cur.ddl = " ddl" in gm[2]
                self.flavor = self.flavor or "mariadb"
            else:
                self.flavor = self.flavor or "mysql"
            self.sink = cur.lines
        elif cur is not None:
            self.sink = cur.lines  # any event inside an open transaction is part of it
        elif kind == "query":
            self.cur = cur = _Trx("", server_id, self.clock.when(m.group(1, 2, 3, 4, 5, 6)), start, self._context())
            cur.tentative = True
            self.sink = cur.lines
        elif kind in ("meta", "prev_gtids"):
            self._meta(info)
            self.sink = self.inter if self.seen_trx else self.pre
        else:
            self.sink = []  # an event of a transaction the dump does not start: dropped
        if cur is not None:
            cur.end = end
        self.last_end = end or self.last_end
        self.ev_mark = len(self.sink)
        if self.pending:
            self.sink.extend(self.pending)
            self.pending.clear()
        self.sink.append(line)
        self.ev_kind = kind
        self.ev_rows = kind == "event" and bool(_ROWS_EVENT.match(info))
        self.ev_body = len(self.sink)

    @staticmethod
    def _kind(info: str) -> str:
        if info[:1] not in _KIND_FIRST:
            return "event"  # Table_map, Write_rows, ...: no prefix of _KINDS starts so
        for prefixes, kind in _KINDS:
            if info.startswith(prefixes):
                return kind
        return "event"  # Intvar, Rand, Update_rows, ...

    def _meta(self, info: str) -> None:
        if info.startswith("Start:"):
            v = _SERVER_VERSION.search(info)
            if v and self.flavor is None:
                self.flavor = "mariadb" if "mariadb" in v[1].lower() else "mysql"
        elif info.startswith("Gtid list") and not self.seen_trx and self.gtid_list is None:
            self.flavor = self.flavor or "mariadb"
            inner = info[len("Gtid list") :].strip()
            self.gtid_list = inner.strip("[]").strip()
        elif info.startswith("Previous-GTIDs"):
            self.flavor = self.flavor or "mysql"

    def _close_event(self) -> None:
        """Act on the body of the event that just ended."""
        kind = self.ev_kind
        if not kind:
            return
        self.ev_kind = ""
        cur = self.cur
        if self.images:
            if cur is not None and self.sink is cur.lines:
                _images("".join(line + "\n" for line in self.images), cur.rows)
            self.images = []
        if kind == "event" and self.ev_body == len(self.sink):
            return  # no body (a Table_map): no statement, nothing to note
        body = self.sink[self.ev_body :]
        if kind == "prev_gtids":
            # the set is printed as "# uuid:1-5,\n# uuid2:1-9" (or "# [empty]") under the header
            if self.gtid_list is None and self.sink is self.pre:
                text = "".join(b[2:].strip() for b in body if b.startswith("# "))
                self.gtid_list = "" if text == "[empty]" else text
            return
        if kind == "meta":
            return
        stmts, verbatim = _event_statements(kind, body)
        if kind in ("gtid", "query"):
            for st in stmts:  # the tool's session lines, as it printed them
                if st is not verbatim:
                    self._note_ctx(st + _DELIM)
        if cur is None or self.sink is not cur.lines:
            return
        cur.replay.extend(stmts)
        if kind == "gtid":
            for b in stmts:
                g = _GTID_NEXT.match(b + _DELIM)
                if g:
                    v = g[1].lower()
                    cur.gtid = "" if v == "anonymous" else v
                elif _GROUP_START.match(b):
                    cur.group = True
        elif kind == "query":
            sql = verbatim or ""
            if not sql:
                return  # every Query event carries a statement: this one is cut short
            if _GROUP_START.match(sql):
                cur.group = True
                cur.tentative = False
            elif _GROUP_END.match(sql):
                if cur.tentative and not cur.group:
                    self.cur = None  # a COMMIT whose transaction the dump does not hold
                    self.sink = []
                    return
                cur.done = True
            else:
                cur.tentative = False
                cur.statements.append(sql)
                if not _is_dml(sql):
                    cur.ddl = True
                if not cur.group:
                    cur.done = True
        elif kind == "end":
            cur.done = True
        elif kind == "annotate":
            q = [b[4:] if b.startswith("#Q> ") else b[3:] for b in body if b.startswith("#Q>")]
            if q:
                cur.statements.append("\n".join(q))
        elif kind == "rows_query":
            q = [b[2:] if b.startswith("# ") else b[1:] for b in body if b.startswith("#")]
            if q:
                cur.statements.append("\n".join(q))

    def _finish(self) -> None:
        cur = self.cur
        assert cur is not None
        self.out.append(
            Transaction(
                gtid=cur.gtid,
                server_id=cur.server_id,
                when=cur.when,
                file=self.file,
                start=cur.start,
                end=cur.end,
                text=_joined(cur.lines) if self.keep_text else "",
                statements=cur.statements,
                rows=cur.rows,
                ddl=cur.ddl,
                context=cur.context,
                replay=cur.replay,
            )
        )
        self.cur = None
        self.seen_trx = True
        self.inter = []
        self.sink = self.inter

    # -------------------------------------------------------------- end
    def result(self, expect_end: int | None) -> BinlogDump:
        # the tool's closing lines follow the last event's body: cut them off it
        tail: list[str] = []
        for i in range(self.ev_mark, len(self.sink)):
            if _TAIL_START.match(self.sink[i]):
                tail = self.sink[i:]
                del self.sink[i:]
                break
        complete = bool(tail)
        tail += self.pending  # "# at" of an event the output does not show
        self.pending = []
        last_kind = self.ev_kind
        self._close_event()
        self.chain.finish(expect_end, complete, self.lineno)
        if self.headers == 0 and self.content:
            raise BinlogIntegrityError(
                self.file,
                self.lineno,
                f"no event headers (`# at N` / `#YYMMDD ... end_log_pos N`) in {self.lineno} line(s): not the "
                "binlog tool's -v output (--short-form, or headers masked?): nothing can be read from it",
            )
        cur = self.cur
        if cur is not None:
            while len(cur.lines) > 1 and not cur.lines[-1].strip():
                cur.lines.pop()  # blank lines after the last event (a dump saved without its footer)
            # mid-stream the next header proves an event whole; at the end the tool's closing
            # lines do. Without them, only an event the tool wrote itself can be seen to be
            # whole (its last statement ends the text); a client's statement may hold lines
            # that end like one, so a dump cut inside it must not pass for a shorter statement.
            whole = (
                cur.done and cur.lines and cur.lines[-1].endswith(_DELIM) and (complete or last_kind not in _VERBATIM)
            )
            if whole:
                self._finish()
            else:
                self.cur = None  # unfinished: dropped (see module docstring)
        trailer = (self.inter if self.seen_trx else []) + tail
        return BinlogDump(
            file=self.file,
            flavor=self.flavor or "mariadb",
            preamble=_joined(self.pre),
            trailer=_joined(trailer),
            transactions=self.out,
            gtid_list=self.gtid_list or "",
            end=self.last_end,
        )


def _is_dml(sql: str) -> bool:
    """Whether a statement changes rows (after any leading comments), in linear time."""
    i, n = 0, len(sql)
    while True:
        while i < n and sql[i].isspace():
            i += 1
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                return False
            i = j + 2
        else:
            return bool(_DML.match(sql, i))


def parse_dump(
    lines: Iterable[str] | TextSource,
    file: str,
    *,
    expect_end: int | None = None,
    stream: bool = False,
    keep_text: bool = True,
) -> BinlogDump:
    """Parse one file's ``mariadb-binlog -v`` / ``mysqlbinlog -v`` (or ``-vv``) output.

    `lines`: the dump's lines (they may keep their ``\\n``), or a text file open for reading,
    read in chunks. A line ends at ``\\n`` only (a ``\\r`` inside a statement is part of it).
    Single pass, linear in the input. A transaction
    the output does not finish (truncated dump, or closed by the tool's own
    ``ROLLBACK /* added by mysqlbinlog */``) is dropped, as are events of a
    transaction the output starts in the middle of. Raises
    :class:`BinlogIntegrityError` when the event positions do not form the binlog's
    chain, or (``expect_end``, the file's size) the last event does not end the file.
    ``keep_text=False`` leaves each transaction's ``text`` empty (the replay needs only its
    ``replay`` statements; at 100,000 transactions the text was a third of the memory).
    """
    return _parse(lines, file, expect_end=expect_end, stream=stream, keep_text=keep_text)[0]


def _parse(
    lines: Iterable[str] | TextSource,
    file: str,
    *,
    expect_end: int | None = None,
    stream: bool = False,
    keep_text: bool = True,
    lane: bool = True,
) -> tuple[BinlogDump, int]:
    """parse_dump, and how many transactions the lane read; ``lane=False`` reads every line
    one at a time (the tests hold the two to the same result)."""
    p = _Parser(file, stream, keep_text)
    p.lane = lane
    if isinstance(lines, TextSource):  # a file: read in chunks, so most transactions go by the lane
        while chunk := lines.read(_CHUNK):
            _uncollected(p.feed, chunk, False)
        _uncollected(p.feed, "", True)
    else:
        _uncollected(p.feed, "\n".join(line[:-1] if line[-1:] == "\n" else line for line in lines), True)
    return p.result(expect_end), p.laned


def _uncollected(feed: Callable[[str, bool], None], text: str, final: bool) -> None:
    """feed(text, final) with the cyclic collector paused. Every transaction leaves a few
    containers it tracks, none in a cycle; at 100,000 transactions its passes over the growing
    heap were a third of the parse (1.0 of 3.3 s). Paused per chunk, not for the whole parse: a
    parse that follows a download waits between chunks, and the other threads' cycles are
    collected then (the collector catches up once per chunk, not every 700 allocations)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        feed(text, final)
    finally:
        if collecting:
            gc.enable()


# ------------------------------------------------------------------ render


_NOTE = "-- hatui: "


def _final_delimiter(text: str) -> str:
    d = ";"
    for line in text.splitlines():
        if line.startswith(("DELIMITER ", "delimiter ")):
            parts = line.split()
            if len(parts) > 1:
                d = parts[1]
    return d


def _delimiter(statements: list[str]) -> str:
    """A delimiter found in none of the statements (derived from them, so a script renders
    the same every time). At most 15 characters: the mariadb/mysql client keeps only the first
    15 of a longer one, and `mariadb < script` (the replay, and the way to run it by hand) then
    splits the script in the wrong places."""
    digest = hashlib.sha256("\x00".join(statements).encode("utf-8", "surrogateescape")).hexdigest()
    for i in range(0, len(digest) - 10):
        d = f"$$h{digest[i : i + 10]}$$"
        if not any(d in s for s in statements):
            return d
    raise ValueError("no delimiter fits these statements")  # 54 tries of 40 random bits


def render_sql(parts: list[tuple[BinlogDump, list[Transaction]]]) -> str:
    """A script replaying the chosen transactions of each dump (in the order given), GTIDs kept.

    Per dump with at least one chosen transaction: its preamble's statements, each chosen
    transaction's :attr:`~Transaction.replay` statements -- preceded by its ``context``
    when the transaction rendered before it is not its immediate predecessor in the file --
    and its trailer's. Every statement is followed by a line holding only the delimiter,
    a token none of them contains, so :func:`replay_statements` (and the ``mariadb`` client,
    by hand) cut the script exactly where the binlog's own event boundaries were: what runs
    is what this text shows. ``-- hatui:`` lines say where each transaction comes from.
    """
    chunks: list[tuple[str, str]] = []  # (note, statement)
    for dump, chosen in parts:
        if not chosen:
            continue
        note = f"{_NOTE}{dump.file}: the binlog tool's set-up"
        for st in split_statements(dump.preamble):
            chunks.append((note, st))
            note = ""
        prev_end: int | None = None
        for t in chosen:
            note = f"{_NOTE}transaction {t.gtid or '(no GTID)'} from {t.file}, bytes {t.start}-{t.end}"
            with_ctx = bool(t.context) and t.start != prev_end
            if with_ctx:
                note += "; first the session state printed before it in the file"
            # its rows, readable (the BINLOG statements below are what applies them)
            note += "".join(f"\n{_NOTE}  " + readable(r).replace("\n", "\\n").replace("\r", "\\r") for r in t.rows)
            if with_ctx:
                for line in t.context.splitlines():
                    chunks.append((note, line[: -len(_DELIM)] if line.endswith(_DELIM) else line))
                    note = ""
            for st in t.replay:
                chunks.append((note, st))
                note = ""
            prev_end = t.end
        note = f"{_NOTE}{dump.file}: the binlog tool's closing statements"
        # the trailer continues under the delimiter the preamble set
        trailer = list(split_statements(f"DELIMITER {_final_delimiter(dump.preamble)}\n{dump.trailer}"))
        if dump.flavor == "mysql" and not any("GTID_NEXT= 'AUTOMATIC'" in st for st in trailer):
            # the session would otherwise keep the last GTID_NEXT and refuse the next statement
            trailer.append("SET @@SESSION.GTID_NEXT= 'AUTOMATIC' /* added by hatui */")
        for st in trailer:
            chunks.append((note, st))
            note = ""
    if not chunks:
        return ""
    d = _delimiter([st for _, st in chunks])
    out = [
        f"{_NOTE}replay script: each round trip ends at a line holding only the delimiter below,\n",
        f"{_NOTE}which none of its statements contains (run by hand: mariadb < this file)\n",
        f"DELIMITER {d}\n",
    ]
    for notes, stmts in _rounds(chunks):
        out.extend(n + "\n" for n in notes)
        out.append(";\n".join(stmts) + "\n" + d + "\n")
    out.append("DELIMITER ;\n")
    return "".join(out)


# Statements that may share a round trip (one multi-statement query): the tool's session
# settings and transaction brackets, in shapes that hold no ";", comment or unbalanced quote, so
# joining them with ";\n" and cutting there again is exact; and a BINLOG statement's base64,
# always the last of its round (MariaDB 10.11 answers a BINLOG statement inside a
# multi-statement query without the "more results" flag, and the client would stop reading).
# Anything else (a Query event's own statement, the client's charset command) goes alone.
_PLAIN = re.compile(
    r"START TRANSACTION|BEGIN|COMMIT|ROLLBACK|/\*M?!\d* ?SET [\w@.=,+:' -]*\*/|SET [\w@.=,+:' -]*",
    re.ASCII,
)
_BINLOG_B64 = re.compile(r"BINLOG '\n[A-Za-z0-9+/=\n]*'")
_ROUND_STATEMENTS = 64  # a bound, not a tuning knob: a BINLOG statement ends a round long before


def _plain(st: str) -> bool:
    return _PLAIN.fullmatch(st) is not None and "--" not in st and st.count("'") % 2 == 0


def _rounds(chunks: list[tuple[str, str]]) -> Iterator[tuple[list[str], list[str]]]:
    """Pack (note, statement) pairs into round trips: plain statements (see _PLAIN) gather
    until a BINLOG statement closes the round; any other statement is a round of its own. A
    row-based transaction then costs one round trip ("COMMIT" of the one before, its GTID and
    "START TRANSACTION", its rows) instead of four."""
    notes: list[str] = []
    stmts: list[str] = []
    for note, st in chunks:
        plain = _plain(st)
        binlog = not plain and _BINLOG_B64.fullmatch(st) is not None
        if stmts and not (plain or binlog):
            yield notes, stmts
            notes, stmts = [], []
        if note:
            notes.append(note)
        stmts.append(st)
        if not plain or len(stmts) >= _ROUND_STATEMENTS:
            yield notes, stmts
            notes, stmts = [], []
    if stmts:
        yield notes, stmts


def row_based(t: Transaction) -> bool:
    """A transaction of row events only: every statement it replays is the tool's session
    settings, its brackets or a BINLOG statement (no DDL, no statement-based DML)."""
    return bool(t.rows) and not t.ddl and all(_plain(st) or _BINLOG_B64.fullmatch(st) for st in t.replay)


def _split_round(text: str) -> list[str]:
    """A round's statements: cut at ";\n" only when every piece has a shape _rounds joins."""
    parts = text.split(";\n")
    if len(parts) > 1 and all(_plain(p) for p in parts[:-1]):
        last = parts[-1]
        if _plain(last) or _BINLOG_B64.fullmatch(last):
            return parts
    return [text]


def replay_statements(script: str) -> Iterator[str]:
    """The statements of a :func:`render_sql` script, exactly as rendered, in order (each
    round trip of :func:`replay_rounds` in turn)."""
    for stmts in replay_rounds(script):
        yield from stmts


def replay_rounds(script: str) -> Iterator[list[str]]:
    """The round trips of a :func:`render_sql` script, each the list of its statements, as the
    ``mariadb`` client sends them (one query per delimited part): cut only at lines that hold
    nothing but the declared delimiter, never by reading quotes or comments, and a part into
    statements only where :func:`render_sql` joined them. ``-- hatui:`` notes before a part
    are dropped, and so is the client-only charset command ``/*!\\C utf8mb4 */`` (the session's
    charset is set by the statement after it). Raises ValueError on text that is not such a
    script (no delimiter, or an unended statement)."""
    delim: str | None = None
    buf: list[str] = []
    for line in script.split("\n"):
        if not buf:
            if line.startswith(_NOTE) or (delim is None and not line.strip()):
                continue
            if line.startswith("DELIMITER "):
                word = line[len("DELIMITER ") :].strip()
                delim = None if word == ";" else word
                continue
        if delim is None:
            if line.strip():
                raise ValueError(f"not a hatui replay script: text outside the delimited part: {line[:60]!r}")
            continue
        if line == delim:
            stmt = "\n".join(buf)
            buf = []
            if stmt.strip() and not _CLIENT_CHARSET.match(stmt.strip()):
                yield _split_round(stmt)
            continue
        buf.append(line)
    if any(x.strip() for x in buf):
        raise ValueError("the replay script ends inside a statement (no closing delimiter line)")


# ------------------------------------------------------------------ split

_CLIENT_CHARSET = re.compile(r"/\*!\\C\s+\S+\s*\*/$")


def split_statements(script: str) -> Iterator[str]:
    """Split a script the way the ``mysql``/``mariadb`` client does; yield each statement.

    Honours ``DELIMITER x`` lines, quotes (``'`` and ``"`` with backslash escapes,
    backticks), ``#``/``-- `` comments and ``/* */`` comments, which are removed --
    except ``/*! */``, ``/*M! */`` and ``/*+ */``, which the server executes. Empty
    statements are skipped, and so is the client-only charset command
    ``/*!\\C utf8mb4 */`` (the following ``SET @@session.character_set_client`` sets
    the session; the connection's own charset must match the bytes sent).
    """
    delim = ";"
    stmt: list[str] = []  # pieces of the statement being read
    quote = ""  # open quote character
    in_comment = False
    escaped = False  # a backslash ended the previous line inside a string
    started = False  # stmt holds more than whitespace

    def finish() -> Iterator[str]:
        text = "".join(stmt).strip()
        if text and not _CLIENT_CHARSET.match(text):
            yield text

    for line in script.split("\n"):
        if not quote and not in_comment and not started:
            s = line.strip()
            if not s or s.startswith("#") or s == "--" or s.startswith(("-- ", "--\t")):
                continue
            if s[:10].upper() == "DELIMITER " or s.upper() == "DELIMITER":
                parts = s.split()
                if len(parts) > 1:
                    delim = parts[1]
                continue
        i, n, seg = 0, len(line), 0
        while i < n:
            if in_comment:
                j = line.find("*/", i)
                if j < 0:
                    i = seg = n
                    break
                in_comment = False
                i = seg = j + 2
                continue
            if quote:
                if escaped:
                    escaped = False
                    i += 1
                    continue
                j = _next_in_quote(line, i, quote)
                if j < 0:
                    i = n
                    break
                if line[j] == "\\":
                    if j + 1 >= n:
                        escaped = True
                        i = n
                        break
                    i = j + 2
                    continue
                quote = ""
                i = j + 1
                continue
            if line.startswith(delim, i):
                stmt.append(line[seg:i])
                yield from finish()
                stmt.clear()
                started = False
                i = seg = i + len(delim)
                continue
            c = line[i]
            if c in "'\"`":
                quote = c
                started = True
            elif c == "#" or (c == "-" and line.startswith("--", i) and (i + 2 >= n or line[i + 2] in " \t")):
                stmt.append(line[seg:i])
                i = seg = n
                break
            elif c == "/" and line.startswith("/*", i) and not line.startswith(("/*!", "/*M!", "/*+"), i):
                stmt.append(line[seg:i])
                in_comment = True
                i += 2
                continue
            elif not c.isspace():
                started = True
            i += 1
        if seg < n:
            stmt.append(line[seg:])
        if started or quote:
            stmt.append("\n")
        else:
            stmt.clear()
    yield from finish()


_QUOTE_STOP = {"'": re.compile(r"['\\]"), '"': re.compile(r'["\\]'), "`": re.compile(r"`")}


def _next_in_quote(line: str, i: int, quote: str) -> int:
    m = _QUOTE_STOP[quote].search(line, i)
    return m.start() if m else -1


# ------------------------------------------------------------------ views


def _name(i: int, columns: list[str] | None) -> str:
    if columns and 0 < i <= len(columns):
        return columns[i - 1]
    return f"@{i}"


def _pairs(image: dict[int, str], columns: list[str] | None, keys: Iterable[int] | None = None) -> str:
    return ", ".join(f"{_name(i, columns)}={image[i]}" for i in (keys if keys is not None else sorted(image)))


def readable(change: RowChange, columns: list[str] | None = None) -> str:
    """One line for a DBA: ``INSERT s.t (id=1, v='x')``, ``UPDATE s.t SET v='y' WHERE id=1, v='x'``,
    ``DELETE s.t WHERE id=1, v='x'``. Column names by position when given, else ``@1``, ``@2``."""
    where = f"{change.schema}.{change.table}"
    before, after = change.before or {}, change.after or {}
    if change.kind == "insert":
        return f"INSERT {where} ({_pairs(after, columns)})"
    if change.kind == "delete":
        return f"DELETE {where} WHERE {_pairs(before, columns)}"
    if change.before is not None:
        changed = [i for i in sorted(after) if before.get(i) != after[i]]
        sets = _pairs(after, columns, changed) if changed else "(no change)"
    else:
        sets = _pairs(after, columns)
    return f"UPDATE {where} SET {sets} WHERE {_pairs(before, columns)}"


def _row_key(image: dict[int, str] | None, cols: list[int] | None) -> tuple[str, ...]:
    if not image:
        return ()
    if cols and all(i in image for i in cols):
        return tuple(image[i] for i in cols)
    return tuple(image[i] for i in sorted(image))  # no (usable) primary key: the whole image


def first_touches(transactions: list[Transaction], pk: dict[tuple[str, str], list[int]]) -> list[RowProbe]:
    """What the target must hold before replay, for each row the transactions touch.

    Only the first change of a row is probed (later ones see the earlier recovered
    changes): an insert expects the row absent, an update or delete its before
    image. An update that moves a primary key also expects the new key absent.
    Tables missing from ``pk`` are keyed by the full image. First-seen order.
    """
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    probes: list[RowProbe] = []
    for t in transactions:
        for ch in t.rows:
            cols = pk.get((ch.schema, ch.table))
            old = ch.after if ch.kind == "insert" else ch.before
            key = _row_key(old, cols)
            k = (ch.schema, ch.table, key)
            if k not in seen:
                seen.add(k)
                expect = None if ch.kind == "insert" else dict(ch.before or {})
                probes.append(RowProbe(ch.schema, ch.table, key, expect, t.gtid))
            if ch.kind == "update" and ch.after is not None:
                new = (ch.schema, ch.table, _row_key(ch.after, cols))
                if new not in seen:
                    seen.add(new)
                    if cols:  # duplicates are legal without a key: nothing to expect
                        probes.append(RowProbe(ch.schema, ch.table, new[2], None, t.gtid))
    return probes


def final_states(transactions: list[Transaction], pk: dict[tuple[str, str], list[int]]) -> list[RowProbe]:
    """What a server holds once the transactions have applied, for each row they touch: the
    row's last image, or None where they leave no row (a delete, the old key of an update that
    moved it). A transaction whose final states a server already holds changes nothing there
    when skipped (`hatui skip-applied`). First-seen order; tables missing from ``pk`` are keyed
    by the full image."""
    last: dict[tuple[str, str, tuple[str, ...]], RowProbe] = {}
    for t in transactions:
        for ch in t.rows:
            cols = pk.get((ch.schema, ch.table))
            if ch.kind == "delete" or ch.after is None:
                k = _row_key(ch.before, cols)
                last[(ch.schema, ch.table, k)] = RowProbe(ch.schema, ch.table, k, None, t.gtid)
                continue
            if ch.kind == "update" and cols:
                old = _row_key(ch.before, cols)
                if old != _row_key(ch.after, cols):
                    last[(ch.schema, ch.table, old)] = RowProbe(ch.schema, ch.table, old, None, t.gtid)
            k = _row_key(ch.after, cols)
            last[(ch.schema, ch.table, k)] = RowProbe(ch.schema, ch.table, k, dict(ch.after), t.gtid)
    return list(last.values())
