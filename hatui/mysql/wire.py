"""A lean reader of text-protocol result sets on a pymysql connection, for the 1 s status poll.

pymysql parses every column definition of every result into Python objects each time: the poll's
85 columns (17 variables, SHOW ALL SLAVES STATUS's 62, the binlog status) cost more CPU than the
rest of a reading, a second per node. Here the bytes of a column definition are looked up in a
cache of the ones already seen (the same statements describe the same columns every second), and
a whole answer is taken from the socket in as few reads as it arrived in.

The connection stays pymysql's: it logs in, and runs every other statement. Values come out as
pymysql gives them (integers as int, text as str, binary as bytes, DECIMAL as Decimal, floating
point as float), so the status parsers see the same rows either way.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

from pymysql import err
from pymysql.constants import COMMAND, CR, FIELD_TYPE, SERVER_STATUS

__all__ = ["ColumnCache", "Incomplete", "Rows", "Tap", "answers_in", "command", "may_end", "query_batch"]

Rows = list[dict[str, Any]]


class Tap(Protocol):
    """The server end of a connection whose client sits in another thread (an SSH forward's
    relay): between two of the client's commands, its answers can be taken here, in the event
    loop, instead of crossing a local socket to the client's thread."""

    def take(self, data: Callable[[bytes], None], ended: Callable[[], None]) -> bool:
        """Answers go to `data` from now, and the end of the connection to `ended`; False when
        the connection is not open."""
        ...

    def send(self, data: bytes) -> None: ...

    def give_back(self) -> None:
        """Answers go to the client again."""
        ...


Convert = Callable[[bytes], Any]

_INTS = {FIELD_TYPE.TINY, FIELD_TYPE.SHORT, FIELD_TYPE.LONG, FIELD_TYPE.LONGLONG, FIELD_TYPE.INT24, FIELD_TYPE.YEAR}
_FLOATS = {FIELD_TYPE.FLOAT, FIELD_TYPE.DOUBLE}
_DECIMALS = {FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL}
# pymysql's TEXT_TYPES: with the binary character set their values stay bytes
_TEXT = {
    FIELD_TYPE.BIT,
    FIELD_TYPE.BLOB,
    FIELD_TYPE.LONG_BLOB,
    FIELD_TYPE.MEDIUM_BLOB,
    FIELD_TYPE.STRING,
    FIELD_TYPE.TINY_BLOB,
    FIELD_TYPE.VAR_STRING,
    FIELD_TYPE.VARCHAR,
    FIELD_TYPE.GEOMETRY,
}
_BINARY_CHARSET = 63


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _decimal(raw: bytes) -> Decimal:
    return Decimal(raw.decode("ascii"))


def _float(raw: bytes) -> float:
    return float(raw)


def _bytes(raw: bytes) -> bytes:
    return raw


def _lenenc(buf: bytes | memoryview, i: int) -> tuple[int, int]:
    """A length-encoded integer at `i`: (value, index after it)."""
    b = buf[i]
    if b < 0xFB:
        return b, i + 1
    if b == 0xFC:
        return buf[i + 1] | buf[i + 2] << 8, i + 3
    if b == 0xFD:
        return buf[i + 1] | buf[i + 2] << 8 | buf[i + 3] << 16, i + 4
    if b == 0xFE:
        return int.from_bytes(buf[i + 1 : i + 9], "little"), i + 9
    raise err.InternalError(f"bad length-encoded integer 0x{b:02x}")


def _column(payload: bytes) -> tuple[str, Convert]:
    """A column definition (Protocol::ColumnDefinition41): its name and how its values convert."""
    i = 0
    for _ in range(4):  # catalog, schema, table, org_table
        n, i = _lenenc(payload, i)
        i += n
    n, i = _lenenc(payload, i)
    name = payload[i : i + n].decode("utf-8", "replace")
    i += n
    n, i = _lenenc(payload, i)  # org_name
    i += n
    _, i = _lenenc(payload, i)  # length of the fixed fields (0x0c)
    charset = payload[i] | payload[i + 1] << 8
    kind = payload[i + 6]
    if kind in _INTS:
        conv: Convert = int
    elif kind in _FLOATS:
        conv = _float
    elif kind in _DECIMALS:
        conv = _decimal
    elif charset == _BINARY_CHARSET and kind in _TEXT:
        conv = _bytes
    else:
        conv = _text
    return name, conv


class ColumnCache:
    """Column definitions already seen, by their bytes. Bounded: a server only ever describes the
    poll's few result sets, but nothing here trusts that."""

    __slots__ = ("_known",)
    LIMIT = 1024

    def __init__(self) -> None:
        self._known: dict[bytes, tuple[str, Convert]] = {}

    def get(self, payload: bytes) -> tuple[str, Convert]:
        got = self._known.get(payload)
        if got is None:
            got = _column(payload)
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            self._known[payload] = got
        return got


class Incomplete(Exception):
    """The bytes so far end inside the answer."""


class _Packets:
    """The server's packets: read from the connection's buffered socket file in large reads, or
    (conn None) from bytes already received, raising Incomplete where they end."""

    __slots__ = ("_conn", "_buf", "_pos")

    def __init__(self, conn: Any, data: bytes = b"") -> None:
        self._conn = conn
        self._buf = data
        self._pos = 0

    def _fill(self, need: int) -> None:
        conn = self._conn
        while len(self._buf) - self._pos < need:
            if conn is None:
                raise Incomplete
            try:
                chunk = conn._rfile.read1(65536)
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                conn._force_close()
                raise err.OperationalError(
                    CR.CR_SERVER_LOST, f"Lost connection to MySQL server during query ({exc})"
                ) from exc
            except BaseException:
                conn._force_close()
                raise
            if not chunk:
                conn._force_close()
                raise err.OperationalError(CR.CR_SERVER_LOST, "Lost connection to MySQL server during query")
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0

    def next(self) -> bytes:
        p, buf = self._pos, self._buf
        if len(buf) - p >= 4:  # the usual case: the whole packet is here already
            size = buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16
            end = p + 4 + size
            if end <= len(buf) and size < 0xFFFFFF:
                self._pos = end
                return buf[p + 4 : end]
        payload = b""
        while True:
            self._fill(4)
            p, buf = self._pos, self._buf
            size = buf[p] | buf[p + 1] << 8 | buf[p + 2] << 16
            self._fill(4 + size)
            p, buf = self._pos, self._buf
            payload += buf[p + 4 : p + 4 + size]
            self._pos = p + 4 + size
            if size < 0xFFFFFF:  # a payload of 16 MB or more continues in the next packet
                return payload


def _is_eof(payload: bytes) -> bool:
    return payload[:1] == b"\xfe" and len(payload) < 9


def _status_flags(payload: bytes) -> int:
    """Server status of an EOF (0xfe, warnings, status) or OK (0x00, lenenc, lenenc, status) packet."""
    if payload[0] == 0xFE:
        return payload[3] | payload[4] << 8
    _, i = _lenenc(payload, 1)
    _, i = _lenenc(payload, i)
    return payload[i] | payload[i + 1] << 8


def _result(packets: _Packets, columns: ColumnCache) -> tuple[Rows | err.MySQLError, bool]:
    """One statement's answer: its rows (or its error) and whether more answers follow."""
    first = packets.next()
    head = first[0]
    if head == 0xFF:
        try:
            err.raise_mysql_exception(first)
        except err.MySQLError as exc:
            return exc, False  # the server stops a batch at its first error
    if head == 0x00:
        return [], bool(_status_flags(first) & SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS)
    if head == 0xFB:
        raise err.InternalError("LOAD DATA LOCAL requested by the server: refused")
    count, _ = _lenenc(first, 0)
    cols = [columns.get(packets.next()) for _ in range(count)]
    if not _is_eof(packets.next()):
        raise err.InternalError("protocol error: no EOF after the column definitions")
    rows: Rows = []
    while True:
        payload = packets.next()
        if _is_eof(payload):
            return rows, bool(_status_flags(payload) & SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS)
        if payload[0] == 0xFF:
            try:
                err.raise_mysql_exception(payload)
            except err.MySQLError as exc:
                return exc, False
        row: dict[str, Any] = {}
        i = 0
        for name, conv in cols:
            if payload[i] == 0xFB:
                row[name] = None
                i += 1
                continue
            n, i = _lenenc(payload, i)
            row[name] = conv(payload[i : i + n])
            i += n
        rows.append(row)


def query_batch(
    conn: Any,
    sql: str,
    columns: ColumnCache,
    enough: Callable[[list[Rows | err.MySQLError]], bool] | None = None,
) -> tuple[list[Rows | err.MySQLError], bool]:
    """Send `sql` (one statement, or several on a multi-statement connection) and read every
    answer: each statement's rows, in order. A failing statement's error ends the list (the
    server runs none after it), and so does a failed connection's (closed by then).
    `enough(answers so far)` true: the rest are not read and the connection is closed (its
    answers are still to come). Returns (answers, abandoned)."""
    conn._execute_command(COMMAND.COM_QUERY, sql)
    if conn._current_timeout != conn._read_timeout:
        conn._sock.settimeout(conn._read_timeout)
        conn._current_timeout = conn._read_timeout
    packets = _Packets(conn)
    out: list[Rows | err.MySQLError] = []
    try:
        abandoned = _answers(packets, columns, enough, out)
    except err.MySQLError as exc:  # the connection failed (closed by now): what came stays
        out.append(exc)
        return out, False
    if abandoned:
        with contextlib.suppress(Exception):
            conn.close()
    return out, abandoned


def _answers(
    packets: _Packets,
    columns: ColumnCache,
    enough: Callable[[list[Rows | err.MySQLError]], bool] | None,
    out: list[Rows | err.MySQLError],
) -> bool:
    """Every answer into `out`; True when `enough` said to stop before the last."""
    while True:
        rows, more = _result(packets, columns)
        out.append(rows)
        if not more:
            return False
        if enough is not None and enough(out):
            return True


def may_end(data: bytes | bytearray) -> bool:
    """Whether `data` could end a result set: it ends with a complete packet that is an EOF,
    an error or an OK (an EOF or an error cannot be a row; an OK could be a row whose first
    value is empty, and the parse then says it was not the end). Packet headers only: cheap, so
    an answer arriving in pieces is parsed at the ends of its result sets, not once a piece."""
    pos, last = 0, -1
    n = len(data)
    while pos + 4 <= n:
        size = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
        if pos + 4 + size > n:
            return False
        last, pos = pos, pos + 4 + size
    if last < 0 or pos != n:
        return False
    size = data[last] | data[last + 1] << 8 | data[last + 2] << 16
    head = data[last + 4] if size else -1
    return head in (0xFF, 0x00) or (head == 0xFE and size < 9)


def answers_in(
    data: bytes,
    columns: ColumnCache,
    enough: Callable[[list[Rows | err.MySQLError]], bool] | None = None,
) -> tuple[list[Rows | err.MySQLError], bool] | None:
    """query_batch's answers from the bytes received so far, or None while they end inside them
    (the caller reads on). A complete answer is (answers, abandoned)."""
    out: list[Rows | err.MySQLError] = []
    try:
        abandoned = _answers(_Packets(None, data), columns, enough, out)
    except Incomplete:
        return None
    return out, abandoned


def command(sql: str) -> bytes:
    """COM_QUERY as the client sends it (sequence 0); a statement under 16 MB."""
    body = sql.encode("utf-8")
    if len(body) + 1 >= 0xFFFFFF:
        raise ValueError("statement too long for one packet")
    return (len(body) + 1).to_bytes(3, "little") + b"\x00" + bytes([COMMAND.COM_QUERY]) + body
