"""MySQL / MariaDB: version and dialect detection, typed status, and the async status probe."""

from .dialect import Dialect, Statement, dialect_for
from .reader import MysqlProbe, read_status
from .status import MysqlStatus, ReplicationChannel, SemiSync
from .version import Flavor, ServerVersion, detect_version

__all__ = [
    "Dialect",
    "Flavor",
    "MysqlProbe",
    "MysqlStatus",
    "ReplicationChannel",
    "SemiSync",
    "ServerVersion",
    "Statement",
    "detect_version",
    "dialect_for",
    "read_status",
]
