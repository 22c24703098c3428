"""The server's side of MySQL's text protocol, for tests: result sets, OK and error packets as a
server sends them (Protocol::ColumnDefinition41, EOF packets: the client does not ask for
CLIENT_DEPRECATE_EOF), so the lean reader is tested on bytes, not on a fake of itself."""

from __future__ import annotations

import io
import struct
from typing import Any

from pymysql.constants import FIELD_TYPE, SERVER_STATUS

MORE = SERVER_STATUS.SERVER_MORE_RESULTS_EXISTS
UTF8MB4, BINARY = 45, 63


def lenenc(n: int) -> bytes:
    if n < 0xFB:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little")
    return b"\xfe" + n.to_bytes(8, "little")


def lenstr(b: bytes) -> bytes:
    return lenenc(len(b)) + b


def column(name: str, kind: int, charset: int) -> bytes:
    fixed = struct.pack("<HIBHB", charset, 255, kind, 0, 0) + b"\0\0"
    return b"".join(lenstr(x) for x in (b"def", b"", b"", b"", name.encode(), name.encode())) + lenenc(12) + fixed


def _kind(v: Any) -> tuple[int, int]:
    if isinstance(v, (bool, int)):
        return FIELD_TYPE.LONGLONG, BINARY
    if isinstance(v, float):
        return FIELD_TYPE.DOUBLE, BINARY
    if isinstance(v, bytes):
        return FIELD_TYPE.VAR_STRING, BINARY
    return FIELD_TYPE.VAR_STRING, UTF8MB4


def _value(v: Any) -> bytes:
    if v is None:
        return b"\xfb"
    if isinstance(v, bytes):
        return lenstr(v)
    return lenstr(str(int(v) if isinstance(v, bool) else v).encode())


def eof(status: int = 0) -> bytes:
    return b"\xfe" + struct.pack("<HH", 0, status)


def ok(status: int = 0) -> bytes:
    return b"\x00" + lenenc(0) + lenenc(0) + struct.pack("<HH", status, 0)


def error(code: int, message: str, sqlstate: str = "HY000") -> bytes:
    return b"\xff" + struct.pack("<h", code) + b"#" + sqlstate.encode() + message.encode()


def result_set(rows: list[dict[str, Any]], more: bool, names: list[str] | None = None) -> list[bytes]:
    """The payloads of one statement's answer: the column count, definitions, EOF, rows, EOF."""
    names = names if names is not None else (list(rows[0]) if rows else ["x"])
    kinds = [_kind(next((r[n] for r in rows if r.get(n) is not None), "")) for n in names]
    out = [lenenc(len(names))] + [column(n, k, c) for n, (k, c) in zip(names, kinds, strict=True)] + [eof()]
    out += [b"".join(_value(r.get(n)) for n in names) for r in rows]
    return out + [eof(MORE if more else 0)]


def packets(payloads: list[bytes], first_seq: int = 1) -> bytes:
    out = b""
    for i, p in enumerate(payloads):
        out += len(p).to_bytes(3, "little") + bytes([(first_seq + i) % 256]) + p
    return out


class WireConnection:
    """Enough of a pymysql Connection for hatui.mysql.wire: a command is recorded and answered
    with the bytes `respond(sql)` gives; closing is recorded."""

    def __init__(self, respond):
        self.respond = respond
        self.executed: list[str] = []
        self.closed = False
        self.force_closed = False
        self._read_timeout = self._current_timeout = 1.0
        self._rfile: io.BytesIO | None = None

    def _execute_command(self, command: int, sql: str) -> None:
        self.executed.append(sql)
        self._rfile = io.BytesIO(self.respond(sql))

    def _force_close(self) -> None:
        self.force_closed = True

    def close(self) -> None:
        self.closed = True
