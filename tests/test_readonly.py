"""Watch mode's allowlist: every read the sources make passes; anything else is refused."""

from __future__ import annotations

import pytest

from hatui.cluster import load_cluster_text
from hatui.collect.logs import LogSource
from hatui.collect.monitor import Monitor
from hatui.collect.nodeprobe import probe_command
from hatui.collect.vrrpdump import dump_command
from hatui.mysql.dialect import dialect_for
from hatui.mysql.reader import VERSION_SQL
from hatui.mysql.version import detect_version
from hatui.readonly import ReadOnlyPolicy, ReadOnlyViolation

YAML = """
name: c
topology: dual-master
nodes:
  db1: {host: 10.0.0.11, roles: [mysql, keepalived], keepalived: {log: {file: /var/log/keepalived.log}}}
  db2: {host: 10.0.0.12, roles: [mysql, keepalived], keepalived: {log: {journald: keepalived}}}
"""


@pytest.fixture
def policy():
    return ReadOnlyPolicy(load_cluster_text(YAML, "c.yml"), record=[])


def test_every_read_the_sources_make_is_allowed(policy):
    c = policy.cluster
    for name, node in c.nodes.items():
        src = LogSource(node)
        cmds = [probe_command(True), probe_command(False), src.backlog_command(), src.follow_command()]
        src.take_backlog(b"1234 5678\nx\n" if name == "db1" else b'{"__CURSOR": "s=ab12;i=9f;b=77"}\n')
        cmds.append(src.follow_command())
        src.take_line(b"@@hatui-log 0 999")
        cmds.append(src.follow_command())
        for cmd in cmds:
            policy.check_command(name, cmd)
    for v in ("5.7.44", "8.0.36", "8.4.3", "10.11.19-MariaDB", "11.4.2-MariaDB"):
        d = dialect_for(detect_version(v))
        for sql in (
            VERSION_SQL,
            d.variables_sql(),
            d.replica_status_sql,
            d.binlog_status_sql,
            d.global_status_sql,
            d.semi_sync_variables_sql,
            d.session_read_only_sql,
        ):
            policy.check_sql("db1", sql)
    assert policy.violations() == [] and len(policy.record) > 20


def test_the_routers_streamed_stats_are_allowed_at_any_interval_and_nothing_else_rides_on_them():
    from hatui.collect.routers import haproxy_command, haproxy_stream_command

    yaml = (
        YAML
        + """  r1:
    host: 10.0.0.21
    roles: [router]
    router: {kind: haproxy, stats_socket: /run/haproxy.sock}
"""
    )
    policy = ReadOnlyPolicy(load_cluster_text(yaml, "c.yml"), record=[])
    router = policy.cluster.nodes["r1"].router
    for cmd in (haproxy_command(router), haproxy_stream_command(router, 1.0), haproxy_stream_command(router, 0.5)):
        policy.check_command("r1", cmd)
    bad = haproxy_stream_command(router, 1.0).replace("sleep 1;", "sleep 1; rm -f /run/haproxy.sock;")
    with pytest.raises(ReadOnlyViolation):
        policy.check_command("r1", bad)
    with pytest.raises(ReadOnlyViolation):
        policy.check_command("r1", haproxy_stream_command(router, 1.0).replace("show stat", "disable server rw/db1"))
    with pytest.raises(ReadOnlyViolation):  # a database node has no stats socket to read
        policy.check_command("db1", haproxy_stream_command(router, 1.0))


@pytest.mark.parametrize(
    "sql",
    [
        "SET GLOBAL read_only=0",
        "STOP SLAVE",
        "SHOW MASTER STATUS; DROP TABLE t",
        "KILL 12",
        "SELECT 1 INTO OUTFILE '/tmp/x'",
        "FLUSH LOGS",
        "show master status",
    ],
)
def test_writes_and_anything_unlisted_are_refused(policy, sql):
    with pytest.raises(ReadOnlyViolation, match="refusing SQL on db1"):
        policy.check_sql("db1", sql)
    assert policy.violations() == [("sql", "db1", sql)]


def test_the_wallboard_never_signals_keepalived_nor_removes_its_files(policy):
    # a VRRP dump signals keepalived and removes its previous dump file: not a read
    for kind in ("json", "data"):
        with pytest.raises(ReadOnlyViolation):
            policy.check_command("db1", dump_command(kind))
    m = Monitor(policy.cluster, read_only=policy)
    assert all(c._dump_kind is None for c in m.collectors.values())  # VRRP state from the log
    assert all(c._dump_kind == "json" for c in Monitor(policy.cluster).collectors.values())


def test_a_position_cannot_close_the_quote_it_sits_in(policy):
    # the file position's inode sits inside `sh -c '...'`: a quoted value there would close that
    # quote and run the rest in the login shell
    src = LogSource(policy.cluster.nodes["db1"])
    src.take_backlog(b"10 77\n")
    follow = src.follow_command()
    assert '"$2" = 77 ]' in follow
    forged = follow.replace('"$2" = 77 ]', "\"$2\" = 'x;reboot;' ]", 1)  # old shape let this through
    with pytest.raises(ReadOnlyViolation):
        policy.check_command("db1", forged)


def test_commands_that_change_anything_are_refused_even_inside_an_allowed_shape(policy):
    src = LogSource(policy.cluster.nodes["db1"])
    src.take_backlog(b"10 77\n")
    follow = src.follow_command()
    bad = [
        ("db1", "systemctl stop keepalived"),
        ("db1", "exec sh -c 'rm -rf /var/lib/mysql'"),
        ("db1", probe_command(True) + "; reboot"),
        ("db1", follow.replace("-ge 10", "-ge 10; rm -f /x")),
        ("db2", "exec journalctl -u keepalived -f -o json --no-pager --after-cursor=x;reboot"),
        ("db2", "exec journalctl -u keepalived -f -o json --no-pager --after-cursor=x --rotate"),
    ]
    for node, cmd in bad:
        with pytest.raises(ReadOnlyViolation, match=f"refusing to run on {node}"):
            policy.check_command(node, cmd)


def test_a_watch_monitor_puts_the_guards_on_every_session_and_probe(policy):
    made = {}

    class Probe:
        def __init__(self, *a, name="", guard=None, **kw):
            made[name] = guard

    m = Monitor(policy.cluster, read_only=policy, mysql_probe_factory=Probe)
    for name in policy.cluster.nodes:
        with pytest.raises(ReadOnlyViolation):
            m.pool[name].command_guard("touch /tmp/x")
        m.collectors[name]._mysql_factory("h", 3306, "u", "p", name=name)
        with pytest.raises(ReadOnlyViolation):
            made[name]("SET GLOBAL read_only=OFF")
