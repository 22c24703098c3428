"""A recording stand-in for a runbook's write access, answering like the servers would, and the
cluster the runbook tests use (shared by tests/test_runbook_ops.py and tests/test_repoint.py).
The statements themselves come from the dialects (tests/test_mysql_dialect.py holds those to the
manuals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hatui.cluster import load_cluster_text
from hatui.collect.vrrpdump import MARK
from hatui.mysql.dialect import Statement
from hatui.mysql.status import MysqlStatus, ReplicationChannel
from hatui.mysql.version import detect_version
from hatui.runbook.model import Action

VERSIONS = {
    "mariadb-10.5": "10.5.27-MariaDB",
    "mariadb-10.11": "10.11.19-MariaDB-0+deb12u1-log",
    "mariadb-11.4": "11.4.2-MariaDB",
    "mysql-5.7": "5.7.44-log",
    "mysql-8.0.21": "8.0.21",
    "mysql-8.0.30": "8.0.30",
    "mysql-8.4": "8.4.3",
}
MOVERS = ("track-file", "flag-file", "restart", "router")

CLUSTER = """
name: t
topology: TOPOLOGY
defaults:
  mysql:
    monitor: {user: hatui_monitor, password_env: X}
    admin: {user: hatui_admin, password_env: X}
    replication: {user: repl, password_env: HATUI_TEST_REPL_PW}
  keepalived:
    log: {file: /var/log/keepalived.log}
    priority_file: /etc/keepalived/hatui_priority
    flag_file: /etc/keepalived/hatui-down
    stop_command: service keepalived stop
    start_command: service keepalived start
nodes:
  db1: {host: 10.0.0.11, roles: [mysql, KA]}
  db2: {host: 10.0.0.12, roles: [mysql, KA]}
  db3: {host: 10.0.0.13, roles: [mysql]}
  r1: {host: 10.0.0.21, roles: [router, keepalived], router: {kind: haproxy, stats_socket: /run/haproxy.sock}}
vips:
  - {address: 10.0.0.100, instance: VI_1, role: writer, port: PORT, nodes: [NODES]}
"""


def cluster(mover: str):
    routers = mover == "router"
    text = (
        CLUSTER.replace("TOPOLOGY", "primary-replicas" if routers else "dual-master")
        .replace("KA", "mysql" if routers else "keepalived")
        .replace("PORT", "7001" if routers else "3306")
        .replace("NODES", "r1" if routers else "db1, db2")
    )
    return load_cluster_text(text, "t.yml")


@dataclass
class FakeSql:
    x: FakeAccess
    node: str
    read_only: int = 1
    source: str = "10.0.0.12"  # where its channel points (every channel at the new writer at first)

    async def execute(self, stmt: Statement | str, *, timeout: float = 10.0, show: str | None = None, benign=None):
        text = stmt.redacted() if isinstance(stmt, Statement) else stmt
        self.x.sent.append(Action(self.node, "sql", show or text))
        sql = stmt.sql if isinstance(stmt, Statement) else stmt
        if "_HOST='" in text:
            self.source = text.split("_HOST='", 1)[1].split("'", 1)[0]
        if "read_only = ON" in sql:
            self.read_only = 1
        elif "read_only = OFF" in sql:
            self.read_only = 0
        if "_WAIT(" in sql or "WAIT_FOR_EXECUTED" in sql:
            return [{"reached": 0}]
        if "gtid_binlog_pos AS b" in sql:
            return [{"b": "0-1-100,1-2-7", "s": "0-1-90,1-2-7"}]
        if "gtid_binlog_pos" in sql or "gtid_executed" in sql:
            pos = "0-1-100" if self.x.mariadb else "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100"
            return [{"pos": pos}]
        if "STATUS" in sql and ("MASTER" in sql or "BINARY LOG" in sql):
            return [{"File": f"{self.node}-bin.000007", "Position": 4242}]
        return []

    async def query(self, sql: str, args: Any = None, *, timeout: float = 10.0):
        if "PROCESSLIST" in sql:
            return [{"ID": 41, "USER": "app", "HOST": "10.0.0.50:5000"}, {"ID": 42, "USER": "app", "HOST": "x"}]
        if "read_only" in sql:
            return [{"ro": self.read_only}]
        if "server_id" in sql:
            return [{"id": 2}]
        return []

    async def status(self, *, timeout: float = 10.0) -> MysqlStatus:
        ch = ReplicationChannel(name="", source_host=self.source, io_running=True, sql_running=True, io_state="Yes")
        return MysqlStatus(
            up=True, version=detect_version(self.x.version), channels=(ch,), read_only=bool(self.read_only)
        )


@dataclass
class FakeArmed:
    x: FakeAccess
    node: str
    show: str

    def fire(self) -> None:
        self.x.sent.append(Action(self.node, "ssh", self.show))

    async def result(self, timeout: float) -> str:
        return ""

    def close(self) -> None:
        pass


KEEPALIVED_DUMPS = Path(__file__).parent / "fixtures" / "keepalived" / "lab-2.2.7"


@dataclass
class FakeAccess:
    version: str
    sent: list[Action] = field(default_factory=list)
    _sql: dict[str, FakeSql] = field(default_factory=dict)
    # keepalived's data dump of db2 (recorded in the lab): MASTER once it holds the VIP
    dump: str = "db2-master.data"

    @property
    def mariadb(self) -> bool:
        return detect_version(self.version).is_mariadb

    def sql(self, node: str) -> FakeSql:
        return self._sql.setdefault(node, FakeSql(self, node, 0 if node == "db1" else 1))

    async def ssh(self, node, command, *, timeout=10.0, show=None, read=False, sudo=False) -> str:
        if not read:
            self.sent.append(Action(node, "ssh", show or command))
        if MARK.strip() in command:  # keepalived's own dump, as the node would print it
            return f"{MARK}data\n" + (KEEPALIVED_DUMPS / self.dump).read_text()
        if command.startswith("command -v arping"):
            return "/usr/sbin/arping\n"
        return '"10.0.0.100"' if node == "db2" else ""  # `ip -j addr`: the writer holds the VIP

    async def arm(self, node, command, *, show, sudo=False):
        return FakeArmed(self, node, show)

    async def query_via(self, node, host, port, sql, *, timeout=10.0):
        return [{"id": 2, "ro": 0}]


@dataclass
class Ctx:
    access: FakeAccess
    notes: list[str] = field(default_factory=list)

    def note(self, text: str, **data: Any) -> None:
        self.notes.append(text)
