"""Which server we talk to: flavor and version, read from `@@version` and `@@version_comment`.

Examples of real `@@version` strings: "10.11.19-MariaDB-0+deb12u1-log" (Debian's MariaDB),
"5.5.5-10.11.6-MariaDB" (MariaDB's protocol handshake prefix), "11.4.2-MariaDB", "5.7.44-log",
"8.0.36", "8.4.3", "8.0.32-24" (Percona Server, whose `@@version_comment` says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Flavor", "ServerVersion", "detect_version"]


class Flavor(StrEnum):
    MARIADB = "mariadb"
    MYSQL = "mysql"
    # Percona Server speaks MySQL's dialect of the same version; kept apart only for display.
    PERCONA = "percona"


@dataclass(frozen=True, order=False)
class ServerVersion:
    flavor: Flavor
    major: int
    minor: int
    patch: int
    raw: str

    @property
    def is_mariadb(self) -> bool:
        return self.flavor is Flavor.MARIADB

    @property
    def number(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def at_least(self, major: int, minor: int = 0, patch: int = 0) -> bool:
        return self.number >= (major, minor, patch)

    def __str__(self) -> str:
        name = {Flavor.MARIADB: "MariaDB", Flavor.MYSQL: "MySQL", Flavor.PERCONA: "Percona Server"}
        return f"{name[self.flavor]} {self.major}.{self.minor}.{self.patch}"


_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,4})(?=$|[-_+~.a-zA-Z])")
# MariaDB 10+ presents itself as "5.5.5-10.x.y-MariaDB" in the handshake (old clients choke on 10)
_RPL_HACK = re.compile(r"^5\.5\.5-(?=\d+\.\d+\.\d+)")


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def detect_version(version: str | bytes, version_comment: str | bytes | None = None) -> ServerVersion:
    """Flavor and version from `@@version` (and `@@version_comment`, which names Percona).

    Raises ValueError, naming the string it could not read, when `version` is not of the
    MAJOR.MINOR.PATCH[-suffix] form every MySQL and MariaDB release uses.
    """
    raw = _text(version).strip()
    comment = _text(version_comment).strip()
    text = _RPL_HACK.sub("", raw) if "mariadb" in raw.lower() else raw
    m = _VERSION.match(text)
    if not m:
        raise ValueError(
            f"cannot read a server version from @@version {raw!r}: "
            "expected MAJOR.MINOR.PATCH, as in '8.0.36' or '10.11.6-MariaDB'"
        )
    major, minor, patch = (int(g) for g in m.groups())
    lowered = f"{text} {comment}".lower()
    if "mariadb" in lowered:
        flavor = Flavor.MARIADB
        if major < 5 or (major == 5 and minor < 5):
            raise ValueError(f"@@version {raw!r} is not a MariaDB release hatui knows (5.5 or later)")
    else:
        flavor = Flavor.PERCONA if "percona" in lowered else Flavor.MYSQL
        if major < 5 or (major == 5 and minor < 5) or 5 < major < 8:
            raise ValueError(f"@@version {raw!r} is not a MySQL release hatui knows (5.5, 5.6, 5.7, 8.x or later)")
    return ServerVersion(flavor, major, minor, patch, raw)
