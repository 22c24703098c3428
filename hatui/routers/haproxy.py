"""HAProxy's stats socket: `show stat` (CSV) read into routes.

The CSV's header names its columns (`# pxname,svname,...`), and HAProxy has added columns over
the years (`addr` only since 1.7; CentOS 7 ships 1.5), so columns are found by name, never by
position. One route per backend; FRONTEND/BACKEND rows are summaries, the rest are servers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from hatui.errors import InputError
from hatui.routers.model import Route, RouteServer, ServerState

STATS_COMMAND = "show stat"
_SUMMARY = ("FRONTEND", "BACKEND")


class RouterReadError(InputError):
    """A router answered with something that is not what was asked for."""


def server_state(status: str) -> ServerState:
    """HAProxy's status column: 'UP', 'UP 1/2' (up, one failed check of two before DOWN),
    'DOWN 1/2', 'NOLB', 'MAINT', 'MAINT (via rw/db1)', 'DRAIN', 'no check'."""
    word = status.split(" ", 1)[0].upper()
    return {
        "UP": ServerState.UP,
        "DOWN": ServerState.DOWN,
        "MAINT": ServerState.MAINT,
        "DRAIN": ServerState.DRAIN,
        "NOLB": ServerState.DRAIN,  # up, answers 404 to `http-check`: no new connections
    }.get(word, ServerState.UNKNOWN)


def split_addr(addr: str) -> tuple[str | None, int | None]:
    """'10.0.0.1:3306' / '[2001:db8::1]:3306' -> (host, port)."""
    addr = addr.strip()
    if not addr:
        return None, None
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        return addr.strip("[]"), None
    return host.strip("[]") or None, int(port)


def parse_show_stat(text: str, role_of: Callable[[str], str | None]) -> tuple[Route, ...]:
    """Routes (one per backend) from `show stat` output. role_of maps a backend name to
    'writer' / 'reader' / None. Raises RouterReadError when the text is not a stats CSV."""
    lines = text.lstrip().splitlines()
    if not lines or not lines[0].startswith("# pxname,svname,"):
        first = lines[0][:80] if lines else "(nothing)"
        raise RouterReadError(f"expected HAProxy's `show stat` CSV (# pxname,svname,...), got: {first}")
    header = lines[0][2:].split(",")
    col = {name: i for i, name in enumerate(header) if name}
    if "status" not in col:
        raise RouterReadError("HAProxy's `show stat` header has no status column")

    def field(row: list[str], name: str) -> str:
        i = col.get(name)
        return row[i] if i is not None and i < len(row) else ""

    servers: dict[str, list[RouteServer]] = {}
    backend_status: dict[str, str] = {}
    order: list[str] = []
    for row in csv.reader(io.StringIO("\n".join(lines[1:]))):
        if not row or row[0].startswith("#") or len(row) < 2:
            continue
        px, sv = row[0], row[1]
        if sv == "FRONTEND":
            continue
        if px not in servers:
            servers[px] = []
            order.append(px)
        if sv == "BACKEND":
            backend_status[px] = field(row, "status")
            continue
        status = field(row, "status")
        host, port = split_addr(field(row, "addr"))
        words = [status, field(row, "check_status"), field(row, "last_chk")]
        servers[px].append(
            RouteServer(
                name=sv,
                address=host,
                port=port,
                state=server_state(status),
                detail=" ".join(w for w in words if w),
                backup=field(row, "bck") == "1",
            )
        )
    routes = []
    for px in order:
        if px not in backend_status:
            continue  # a frontend-only proxy (stats page, a redirect): not a route to MySQL
        st = backend_status[px]
        routes.append(Route(px, role_of(px), tuple(servers[px]), alive=server_state(st) == ServerState.UP, detail=st))
    return tuple(routes)
