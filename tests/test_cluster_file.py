"""The cluster file as an operator meets it: samples that load, broken files that explain
themselves (every problem, located, in one go), defaults that merge, secrets that stay secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hatui.cluster import (
    Account,
    Cluster,
    ClusterFileError,
    InsecureSecretFileWarning,
    JumpHost,
    Node,
    Problem,
    Role,
    SecretError,
    Topology,
    load_cluster,
    load_cluster_text,
    parse_option_file,
    resolve_password,
)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_clusters"
LINE_RE = re.compile(r"^prod\.yml(:\d+:\d+)?: (error|warning): \S.*$")

# ----------------------------------------------------------------------------- samples

SAMPLE_EXPECTATIONS = {
    "dual-master.yml": (
        Topology.DUAL_MASTER,
        ["A", "B"],
        [("192.168.91.100", 3306, "writer", "VI_23")],
    ),
    "router-replicas.yml": (
        Topology.PRIMARY_REPLICAS,
        ["master01", "slave01", "slave02", "router01", "router02"],
        [("172.168.1.20", 7001, "writer", "VI_1"), ("172.168.1.20", 7002, "reader", "VI_1")],
    ),
    "mmm.yml": (
        Topology.MMM,
        ["db1", "db2", "db3", "db4"],
        [("192.168.1.113", 3306, "writer", None)]
        + [(f"192.168.1.{n}", 3306, "reader", None) for n in (111, 112, 114, 115)],
    ),
}


def test_every_sample_has_expectations():
    assert sorted(p.name for p in SAMPLES.glob("*.yml")) == sorted(SAMPLE_EXPECTATIONS)


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.yml")), ids=lambda p: p.name)
def test_sample_cluster_loads(path):
    topology, nodes, vips = SAMPLE_EXPECTATIONS[path.name]
    cluster = load_cluster(path)
    assert cluster.topology is topology
    assert list(cluster.nodes) == nodes
    assert [(str(v.address), v.port, v.role.value, v.instance) for v in cluster.vips] == vips
    assert cluster.warnings == []  # samples keep secrets out of the file
    assert cluster.source == path.absolute()
    for node in cluster.nodes.values():
        assert node.mysql.monitor is not None and node.mysql.monitor.source == "password_env"
        assert node.mysql.admin is not None and node.mysql.admin.source == "password_file"


def test_notify_section_loads_with_its_defaults():
    cluster = load_cluster_text(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
notify:
  bell: true
  rate_limit: {max_events: 5}
  hooks:
    - command: /etc/hatui/mail.sh
      events: [role, alert_raised]
      min_severity: critical
    - command: [/usr/bin/logger, -t, hatui]
      timeout: 3
""",
        "prod.yml",
    )
    n = cluster.notify
    assert (n.bell, n.toast, n.rate_limit.max_events, n.rate_limit.per_seconds) == (True, True, 5, 60.0)
    mail, logger = n.hooks
    assert mail.argv == ("/bin/sh", "-c", "/etc/hatui/mail.sh") and mail.label == "mail.sh"
    assert mail.events == {"role", "alert_raised"} and mail.min_severity == "critical" and mail.timeout == 10.0
    assert logger.argv == ("/usr/bin/logger", "-t", "hatui") and logger.timeout == 3.0
    assert (
        logger.events
        == {"role", "alert_raised", "alert_cleared", "incident_raised", "incident_changed", "incident_cleared"}
        and logger.min_severity == "warning"
    )
    quiet = load_cluster_text(
        "name: x\ntopology: mmm\nnodes: {db1: {host: h, roles: [mysql]}}\n"
        "vips: [{address: 10.0.0.1, role: writer}]\nnotify:\n",
        "prod.yml",
    ).notify
    assert quiet.hooks == () and not quiet.bell and quiet.toast


def test_dual_master_sample_reads_keepalived_from_syslog_file():
    cluster = load_cluster(SAMPLES / "dual-master.yml")
    assert {n.host for n in cluster.nodes.values()} == {"192.168.91.23", "192.168.91.22"}
    for node in cluster.nodes.values():
        assert node.keepalived.log.file == PurePosixPath("/var/log/messages")
        assert node.roles == {Role.MYSQL, Role.KEEPALIVED}


def test_router_sample_roles():
    cluster = load_cluster(SAMPLES / "router-replicas.yml")
    assert [n.name for n in cluster.nodes_with_role("router")] == ["router01", "router02"]
    assert [n.name for n in cluster.nodes_with_role(Role.MYSQL)] == ["master01", "slave01", "slave02"]
    assert cluster.nodes["router02"].roles == {Role.ROUTER, Role.KEEPALIVED}


# ----------------------------------------------------------------------------- broken files

# Each broken file and the exact lines an operator sees: every problem at once, in file order,
# each at the line:col to edit (values at the value, unknown keys at the key, missing keys at
# the mapping lacking them, inherited mistakes at the defaults entry that holds them).
BROKEN = [
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
    mysql:
      monitor:
        user: hatui_monitor
        pasword_env: HATUI_MONITOR_PASSWORD
""",
        [
            "prod.yml:10:9: error: nodes.db1.mysql.monitor: unknown key 'pasword_env'; did you mean 'password_env'?",
        ],
        id="unknown_key_did_you_mean",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
colour: blue
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
""",
        [
            "prod.yml:3:1: error: top level: unknown key 'colour'; expected one of name, topology, namespace, thresholds, nodes, vips, notify, defaults",
        ],
        id="unknown_key_no_close_match",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
  db2:
    host: 198.18.0.12
    roles: [mysql]
  db1:
    host: 198.18.0.13
    roles: [mysql]
""",
        [
            "prod.yml:10:3: error: nodes: duplicate key 'db1' (first on line 4, again on line 10); expected each key once",
        ],
        id="duplicate_node",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual_master
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
""",
        [
            "prod.yml:2:11: error: topology: found 'dual_master'; expected one of dual-master, primary-replicas, mmm",
        ],
        id="bad_enum",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
  db2:
    host: 198.18.0.12
    ssh: {port: twenty-two}
    roles: [mysql]
""",
        [
            "prod.yml:9:17: error: nodes.db2.ssh.port: found 'twenty-two'; expected an integer 1-65535",
        ],
        id="bad_port_type",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
defaults:
  roles: [mysql]
  mysql:
    port: 70000
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.12}
""",
        [
            "prod.yml:6:11: error: defaults.mysql.port: found 70000; expected an integer 1-65535",
        ],
        id="port_out_of_range",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
  db3:
    roles: [mysql]
""",
        [
            "prod.yml:7:3: error: nodes.db3: missing required key 'host'",
        ],
        id="missing_host",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
    mysql:
      admin:
        user: hatui_admin
        password_env: HATUI_ADMIN_PASSWORD
        password_file: /etc/hatui/admin.pw
""",
        [
            "prod.yml:11:9: error: nodes.db1.mysql.admin: found password_env and password_file; expected exactly one password source",
        ],
        id="two_password_sources",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual-master
defaults:
  roles: [mysql, keepalived]
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.12}
vips:
  - address: 198.18.0.100
    instance: VI_1
    role: writer
    nodes: [db1, db_2]
""",
        [
            "prod.yml:12:18: error: vips[0].nodes[1]: unknown node 'db_2'; did you mean 'db2'?",
        ],
        id="vip_unknown_node",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
thresholds:
  lag_warning: 30
  lag_critical: 10
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
""",
        [
            "prod.yml:5:17: error: thresholds.lag_critical: found 10; expected a number greater than lag_warning (30)",
        ],
        id="critical_not_above_warning",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
thresholds:
  lag_warning: 60
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
""",
        [
            "prod.yml:3:1: error: thresholds.lag_critical: found 30; expected a number greater than lag_warning (60)",
        ],
        id="critical_default_below_warning",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
\thost: 198.18.0.11
""",
        [
            "prod.yml:5:1: error: YAML syntax: found character '\\t' that cannot start any token; indent with spaces, YAML does not allow tabs",
        ],
        id="yaml_tab",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql, keepalived
  db2:
    host: 198.18.0.12
""",
        [
            "prod.yml:7:6: error: YAML syntax: expected ',' or ']', but got ':' (while parsing a flow sequence at line 6, column 12)",
        ],
        id="yaml_unclosed_bracket",
    ),
    pytest.param(
        "",
        [
            "prod.yml: error: the file is empty; expected a mapping with name, topology and nodes",
        ],
        id="empty_file",
    ),
    pytest.param(
        "# to do\n\n",
        [
            "prod.yml: error: the file is empty; expected a mapping with name, topology and nodes",
        ],
        id="comments_only",
    ),
    pytest.param(
        """\
- name: prod-orders
- topology: mmm
""",
        [
            "prod.yml:1:1: error: top level: found a list; expected a mapping with name, topology and nodes",
        ],
        id="top_level_list",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual-master
thresholds: {lag_warning: 5, lag_critical: 5}
defaults:
  roles: [mysql, keepalived]
  ssh:
    usr: admin
nodes:
  db1:
    host: 198.18.0.11
    ssh: {port: 0}
  db2:
    roles: [mysql, keepalive]
  db3:
    host: 198.18.0.300
vips:
  - address: 198.18.0.100/24
    instance: VI_1
    role: writer
    nodes: [db1, db4]
""",
        [
            "prod.yml:3:44: error: thresholds.lag_critical: found 5; expected a number greater than lag_warning (5)",
            "prod.yml:7:5: error: defaults.ssh: unknown key 'usr'; did you mean 'user'?",
            "prod.yml:11:17: error: nodes.db1.ssh.port: found 0; expected an integer 1-65535",
            "prod.yml:12:3: error: nodes.db2: missing required key 'host'",
            "prod.yml:13:20: error: nodes.db2.roles[1]: found 'keepalive'; expected one of mysql, keepalived, router",
            "prod.yml:15:11: error: nodes.db3.host: found '198.18.0.300'; expected a hostname or IP address",
            "prod.yml:17:14: error: vips[0].address: found '198.18.0.100/24'; expected an IP address without /prefix",
            "prod.yml:20:18: error: vips[0].nodes[1]: unknown node 'db4'; expected one of db1, db2, db3",
        ],
        id="many_errors_at_once",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual-master
nodes:
  db1: {host: 198.18.0.11, roles: [mysql, keepalived]}
  router1: {host: 198.18.0.21, roles: [router, keepalived]}
vips:
  - {address: 198.18.0.100, instance: VI_1, role: writer}
""",
        [
            "prod.yml:2:11: error: topology: found 'dual-master' with 1 mysql node (db1); expected at least two nodes with the mysql role",
        ],
        id="dual_master_one_mysql_node",
    ),
    pytest.param(
        """\
name: prod-orders
topology: mmm
defaults: {roles: [mysql]}
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.12}
vips:
  - {address: 198.18.0.111, role: reader}
""",
        [
            "prod.yml:2:11: error: topology: found 'mmm' without a writer VIP; expected a vips entry with role: writer",
        ],
        id="mmm_without_writer_vip",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual-master
defaults: {roles: [mysql, keepalived]}
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.100}
vips:
  - {address: 198.18.0.100, instance: VI_1, role: writer}
""",
        [
            "prod.yml:6:15: error: nodes.db2.host: found 198.18.0.100, the address of vips[0]; expected the node's own address (a VIP moves between nodes)",
        ],
        id="node_host_is_a_vip",
    ),
    pytest.param(
        """\
name: prod-orders
topology: dual-master
defaults: {roles: [mysql, keepalived]}
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.12}
vips:
  - address: 198.18.0.100
    role: writer
""",
        [
            "prod.yml:8:5: error: vips[0]: missing required key 'instance' (keepalived moves this VIP in a dual-master cluster)",
        ],
        id="vip_without_instance",
    ),
    pytest.param(
        "namespace: hatui-op\n",
        [
            "prod.yml:1:1: error: top level: missing required key 'name'",
            "prod.yml:1:1: error: top level: missing required key 'nodes'",
            "prod.yml:1:1: error: top level: missing required key 'topology'",
        ],
        id="missing_top_level_keys",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
    mysql:
      monitor: {user: monitor, password: 147258}
""",
        [
            "prod.yml:8:32: warning: nodes.db1.mysql.monitor: found an inline password; expected password_env or password_file (keeps the secret out of this file)",
            "prod.yml:8:42: error: nodes.db1.mysql.monitor.password: found a number; expected a quoted string (YAML turns unquoted digits into a number)",
        ],
        id="unquoted_numeric_password",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
defaults:
  roles: [mysql]
  ssh: {user: root, prot: 2222}
nodes:
  db1: {host: 198.18.0.11}
  db2: {host: 198.18.0.12}
  db3: {host: 198.18.0.13}
""",
        [
            "prod.yml:5:21: error: defaults.ssh: unknown key 'prot'; did you mean 'port'?",
        ],
        id="defaults_mistake_reported_once",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
defaults:
  roles: [mysql]
  mysql:
    monitor: {password_env: HATUI_MONITOR_PASSWORD}
nodes:
  db1:
    host: 198.18.0.11
    mysql:
      monitor: {user: hatui_monitor}
  db2:
    host: 198.18.0.12
""",
        [
            "prod.yml:6:5: error: defaults.mysql.monitor: missing required key 'user'",
        ],
        id="monitor_without_user_after_merge",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql, keepalived]
    keepalived:
      log: {journald: keepalived, file: /var/log/messages}
""",
        [
            "prod.yml:8:35: error: nodes.db1.keepalived.log: found journald and file; expected exactly one of journald, file",
        ],
        id="keepalived_log_two_choices",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db 1:
    host: 198.18.0.11
    roles: [mysql]
    ssh: {jump_host: "admin@:22"}
""",
        [
            "prod.yml:4:3: error: nodes.db 1: found 'db 1'; expected a node name of letters, digits, '_', '.', '-' starting with a letter or digit",
            "prod.yml:7:22: error: nodes.db 1.ssh.jump_host: found 'admin@:22'; expected [user@]host[:port]",
        ],
        id="bad_jump_host_and_node_name",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: !vault abc123
    roles: []
""",
        [
            "prod.yml:5:11: error: nodes.db1.host: found YAML tag '!vault'; expected plain YAML (no tags)",
            "prod.yml:6:12: error: nodes.db1.roles: found an empty list; expected at least one role (mysql, keepalived, router)",
        ],
        id="yaml_tag_and_empty_roles",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
source: /etc/hatui/prod.yml
defaults:
  host: 198.18.0.10
nodes:
  db1: {name: primary, host: 198.18.0.11, roles: [mysql]}
""",
        [
            "prod.yml:3:1: error: top level: unknown key 'source'; expected one of name, topology, namespace, thresholds, nodes, vips, notify, defaults",
            "prod.yml:5:3: error: defaults: unknown key 'host'; expected one of roles, ssh, mysql, keepalived, router",
            "prod.yml:7:9: error: nodes.db1: unknown key 'name'; expected one of host, roles, ssh, mysql, keepalived, router",
        ],
        id="reserved_keys",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
defaults:
  roles: [mysql]
  ssh: {sudo: maybe}
nodes: {}
""",
        [
            "prod.yml:5:15: error: defaults.ssh.sudo: found 'maybe'; expected true or false",
            "prod.yml:6:1: error: nodes: found an empty mapping; expected at least one node",
        ],
        id="no_nodes_and_bad_defaults",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
defaults: {roles: [mysql]}
nodes:
  db1: {host: 198.18.0.11}
vips:
  - {address: 198.18.0.100, instance: VI_1, role: writer, port: 7001}
  - {address: 198.18.0.100, instance: VI_1, role: reader, port: 7002}
  - {address: 198.18.0.100, instance: VI_1, role: reader, port: 7002}
""",
        [
            "prod.yml:9:15: error: vips[2].address: found 198.18.0.100 port 7002 again (also vips[1]); expected each address:port once",
        ],
        id="duplicate_vip",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1: 198.18.0.11
""",
        [
            "prod.yml:4:8: error: nodes.db1: found '198.18.0.11'; expected a mapping",
        ],
        id="node_not_a_mapping",
    ),
    pytest.param(
        """\
name: prod-orders
topology: mmm
thresholds: 5
nodes: [db1, db2]
vips: {address: 198.18.0.113, role: writer}
""",
        [
            "prod.yml:3:13: error: thresholds: found 5; expected a mapping",
            "prod.yml:4:8: error: nodes: found a list; expected a mapping of node names to nodes",
            "prod.yml:5:1: error: vips: found a mapping; expected a list of VIPs",
        ],
        id="wrong_shapes",
    ),
    pytest.param(
        "name: prod-orders\n---\nname: prod-orders-2\n",
        [
            "prod.yml:2:1: error: YAML syntax: expected a single document in the stream (line 1, column 1), but found another document",
        ],
        id="two_documents",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql, keepalived]
    mysql:
      via: tunnel
      monitor: {user: hatui_monitor, password_env: HATUI-PW}
      admin: {user: hatui_admin, password_env: HATUI_ADMIN_PASSWORD, option_group: hatui}
    keepalived:
      log: {}
      config: keepalived.conf
""",
        [
            "prod.yml:8:12: error: nodes.db1.mysql.via: found 'tunnel'; expected one of ssh-tunnel, direct",
            "prod.yml:9:52: error: nodes.db1.mysql.monitor.password_env: found 'HATUI-PW'; expected an environment variable name (letters, digits, '_')",
            "prod.yml:10:70: error: nodes.db1.mysql.admin: found option_group without option_file; expected option_group only with option_file",
            "prod.yml:12:7: error: nodes.db1.keepalived.log: found neither journald nor file; expected exactly one of journald, file",
            "prod.yml:13:15: error: nodes.db1.keepalived.config: found 'keepalived.conf'; expected an absolute path on the node",
        ],
        id="account_and_log_choices",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
notify:
  bel: true
  toast: 1
  rate_limit: {max_events: 0, per_seconds: soon, burst: 3}
  hooks:
    - command: /etc/hatui/mail.sh
      events: [role, alert]
      min_severity: info
      timeout: -1
      shell: bash
    - events: []
    - command: [/usr/bin/logger, -p, 3]
""",
        [
            "prod.yml:6:3: error: notify: unknown key 'bel'; did you mean 'bell'?",
            "prod.yml:7:10: error: notify.toast: found 1; expected true or false",
            "prod.yml:8:28: error: notify.rate_limit.max_events: found 0; expected an integer 1-100000",
            "prod.yml:8:44: error: notify.rate_limit.per_seconds: found 'soon'; expected a number of seconds > 0",
            "prod.yml:8:50: error: notify.rate_limit: unknown key 'burst'; expected one of max_events, per_seconds",
            "prod.yml:11:22: error: notify.hooks[0].events[1]: found 'alert'; expected one of role, alert_raised, alert_cleared, incident_raised, incident_changed, incident_cleared",
            "prod.yml:12:21: error: notify.hooks[0].min_severity: found 'info'; expected one of warning, critical",
            "prod.yml:13:16: error: notify.hooks[0].timeout: found -1; expected a number of seconds > 0",
            "prod.yml:14:7: error: notify.hooks[0]: unknown key 'shell'; expected one of command, events, min_severity, timeout",
            "prod.yml:15:7: error: notify.hooks[1]: missing required key 'command'",
            "prod.yml:15:15: error: notify.hooks[1].events: found an empty list; expected at least one event (role, alert_raised, alert_cleared, incident_raised, incident_changed, incident_cleared)",
            "prod.yml:16:16: error: notify.hooks[2].command: found a list with a non-string item; expected a command: a string run with /bin/sh -c, or a list of program and arguments (each a non-empty string; quote numbers)",
        ],
        id="notify_section",
    ),
    pytest.param(
        """\
name: prod-orders
topology: primary-replicas
nodes:
  db1: {host: 198.18.0.11, roles: [mysql]}
notify:
  hooks: {command: /etc/hatui/mail.sh}
""",
        [
            "prod.yml:6:3: error: notify.hooks: found a mapping; expected a list of hooks",
        ],
        id="notify_hooks_not_a_list",
    ),
]


@pytest.mark.parametrize(("text", "lines"), BROKEN)
def test_broken_file_reports_every_problem(text, lines):
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text(text, "prod.yml")
    assert str(info.value).splitlines() == lines
    assert [str(p) for p in info.value.problems] == lines


def test_problem_fields_and_format():
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text("name: x\ntopology: mmm\nnodes:\n  db1: {host: h1, roles: [mysql], sssh: {}}\n", "prod.yml")
    assert info.value.problems == [
        Problem(
            "prod.yml",
            2,
            11,
            "error",
            "topology: found 'mmm' without a writer VIP; expected a vips entry with role: writer",
        ),
        Problem("prod.yml", 4, 35, "error", "nodes.db1: unknown key 'sssh'; did you mean 'ssh'?"),
    ]
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    assert str(Problem("f.yml", None, None, "error", "boom")) == "f.yml: error: boom"
    assert str(Problem("f.yml", 3, 7, "warning", "hm")) == "f.yml:3:7: warning: hm"


def test_filename_is_used_as_given():
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text("topology: mmm\n", "clusters/../prod.yml")
    assert str(info.value).splitlines() == [
        "clusters/../prod.yml:1:1: error: top level: missing required key 'name'",
        "clusters/../prod.yml:1:1: error: top level: missing required key 'nodes'",
        "clusters/../prod.yml:1:11: error: topology: found 'mmm' without a writer VIP; expected a vips entry with role: writer",
    ]


# ----------------------------------------------------------------------------- reading the file


def test_file_not_found(tmp_path):
    path = tmp_path / "nope.yml"
    with pytest.raises(ClusterFileError) as info:
        load_cluster(path)
    assert str(info.value) == f"{path}: error: cannot read the cluster file: no such file"


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ClusterFileError) as info:
        load_cluster(str(tmp_path))
    assert (
        str(info.value) == f"{tmp_path}: error: cannot read the cluster file: it is a directory; expected a YAML file"
    )


def test_not_utf8_names_line_and_column(tmp_path):
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"name: prod\ntopology: caf\xe9\n")
    with pytest.raises(ClusterFileError) as info:
        load_cluster(path)
    assert str(info.value) == f"{path}:2:14: error: found byte 0xe9, which is not UTF-8; expected a UTF-8 text file"


def test_utf8_bom_and_crlf_are_fine(tmp_path):
    path = tmp_path / "windows.yml"
    path.write_bytes(
        b"\xef\xbb\xbfname: prod\r\ntopology: primary-replicas\r\nnodes:\r\n  db1: {host: h1, roles: [mysql]}\r\n"
    )
    assert list(load_cluster(path).nodes) == ["db1"]


def test_control_character_is_located():
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text("name: prod\ntopology: \x07mmm\n", "prod.yml")
    assert (
        str(info.value)
        == "prod.yml:2:11: error: YAML syntax: found character U+0007; expected printable text (no control characters)"
    )


def test_yaml_anchors_and_merge_keys_work():
    text = """\
name: prod
topology: dual-master
x-node: &node {roles: [mysql, keepalived], ssh: {port: 2222}}
nodes:
  db1: {<<: *node, host: 198.18.0.11}
  db2: {<<: *node, host: 198.18.0.12, ssh: {port: 22}}
vips: [{address: 198.18.0.100, instance: VI_1, role: writer}]
"""
    # x-node is not a cluster key: anchors live elsewhere in YAML, so this file is rejected...
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text(text, "prod.yml")
    assert str(info.value) == "prod.yml:3:1: error: top level: unknown key 'x-node'; did you mean 'nodes'?"
    # ...but an anchor defined on the first node and merged into the second is fine
    text = text.replace("x-node: &node {roles: [mysql, keepalived], ssh: {port: 2222}}\n", "")
    text = text.replace("db1: {<<: *node,", "db1: &node {roles: [mysql, keepalived], ssh: {port: 2222},")
    cluster = load_cluster_text(text, "prod.yml")
    assert cluster.nodes["db1"].ssh.port == 2222
    assert cluster.nodes["db2"].ssh.port == 22  # explicit keys win over merged ones
    assert cluster.nodes["db2"].host == "198.18.0.12"
    assert cluster.nodes["db2"].roles == {Role.MYSQL, Role.KEEPALIVED}


def test_errors_inside_a_merged_anchor_point_at_the_anchor():
    text = """\
name: prod
topology: primary-replicas
nodes:
  db1: &node {host: 198.18.0.11, roles: [mysql], ssh: {port: 0}}
  db2: {<<: *node, host: 198.18.0.12}
"""
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text(text, "prod.yml")
    assert str(info.value).splitlines() == [
        "prod.yml:4:62: error: nodes.db1.ssh.port: found 0; expected an integer 1-65535",
        "prod.yml:4:62: error: nodes.db2.ssh.port: found 0; expected an integer 1-65535",
    ]


# ----------------------------------------------------------------------------- defaults merge

MERGE = """\
name: prod
topology: dual-master
defaults:
  roles: [mysql, keepalived]
  ssh:
    user: deploy
    port: 22
    identity: keys/id_ed25519
    known_hosts: ~/.ssh/known_hosts
    jump_host: admin@bastion:2222
    sudo: true
  mysql:
    port: 3306
    monitor: {user: hatui_monitor, password_env: HATUI_MONITOR_PASSWORD}
    admin: {user: hatui_admin, password_file: /etc/hatui/admin.pw}
  keepalived:
    log: {journald: keepalived}
nodes:
  db1:
    host: 198.18.0.11
    ssh: {port: 2222}
    mysql:
      port: 3307
      admin: {password_env: HATUI_ADMIN_PASSWORD}
    keepalived:
      log: {file: /var/log/keepalived.log}
  db2:
    host: db2.example.net
    ssh:
  router1:
    host: 198.18.0.21
    roles: [router, keepalived]
vips:
  - {address: 198.18.0.100, instance: VI_1, role: writer, nodes: [db1, db2]}
"""


@pytest.fixture
def merged(tmp_path):
    return load_cluster_text(MERGE, str(tmp_path / "prod.yml"))


def test_node_override_wins_and_untouched_defaults_are_inherited(merged, tmp_path):
    db1, db2 = merged.nodes["db1"], merged.nodes["db2"]
    assert db1.ssh.port == 2222 and db2.ssh.port == 22
    assert db1.ssh.user == db2.ssh.user == "deploy"
    assert db1.ssh.sudo is True
    assert db1.ssh.jump_host == JumpHost(user="admin", host="bastion", port=2222)
    assert db1.ssh.identity == tmp_path / "keys" / "id_ed25519"  # relative to the cluster file
    assert db1.ssh.known_hosts == Path(os.path.expanduser("~/.ssh/known_hosts"))


def test_deep_merge_in_mysql_accounts(merged):
    db1, db2 = merged.nodes["db1"], merged.nodes["db2"]
    assert db1.mysql.port == 3307 and db2.mysql.port == 3306
    assert db1.mysql.monitor.model_dump() == db2.mysql.monitor.model_dump()  # inherited whole
    assert (db1.mysql.monitor.label, db2.mysql.monitor.label) == ("nodes.db1.mysql.monitor", "nodes.db2.mysql.monitor")
    # the node's own password source replaces the default's instead of adding a second one
    assert db1.mysql.admin.user == "hatui_admin"
    assert db1.mysql.admin.password_env == "HATUI_ADMIN_PASSWORD"
    assert db1.mysql.admin.password_file is None
    assert db2.mysql.admin.password_file == Path("/etc/hatui/admin.pw")


def test_lists_and_choices_are_replaced_not_merged(merged):
    assert merged.nodes["router1"].roles == {Role.ROUTER, Role.KEEPALIVED}
    assert merged.nodes["db1"].keepalived.log.file == PurePosixPath("/var/log/keepalived.log")
    assert merged.nodes["db1"].keepalived.log.journald is None
    assert merged.nodes["db2"].keepalived.log.journald == "keepalived"


def test_defaults_apply_when_file_says_nothing():
    cluster = load_cluster_text(
        "name: p\ntopology: primary-replicas\nnodes: {db1: {host: h1, roles: [mysql]}}\n", "p.yml"
    )
    node = cluster.nodes["db1"]
    assert (node.ssh.user, node.ssh.port, node.ssh.sudo, node.ssh.connect_timeout) == ("root", 22, False, 5.0)
    assert node.ssh.known_hosts is None and node.ssh.identity is None
    assert node.mysql.port == 3306 and node.mysql.via == "ssh-tunnel" and node.mysql.monitor is None
    assert node.keepalived.log.journald == "keepalived"
    assert node.keepalived.config == PurePosixPath("/etc/keepalived/keepalived.conf")
    assert (cluster.thresholds.lag_warning, cluster.thresholds.lag_critical) == (5.0, 30.0)
    assert cluster.vips == [] and cluster.namespace is None


def test_models_are_frozen(merged):
    with pytest.raises(ValidationError):
        merged.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        merged.nodes["db1"].host = "elsewhere"  # type: ignore[misc]


def test_cluster_built_in_code_checks_the_same_rules():
    node = Node(name="db1", host="198.18.0.11", roles=["mysql"])
    with pytest.raises(ValidationError, match="topology: found 'dual-master' with 1 mysql node"):
        Cluster(name="x", topology="dual-master", nodes={"db1": node})
    assert Cluster(name="x", topology="primary-replicas", nodes={"db1": node}).nodes["db1"] is node


def test_jump_host_forms():
    def parse(s):
        text = f"name: p\ntopology: primary-replicas\nnodes: {{db1: {{host: h1, roles: [mysql], ssh: {{jump_host: '{s}'}}}}}}\n"
        return load_cluster_text(text, "p.yml").nodes["db1"].ssh.jump_host

    assert parse("bastion") == JumpHost(user=None, host="bastion", port=22)
    assert parse("ops@10.0.0.128:2222") == JumpHost(user="ops", host="10.0.0.128", port=2222)
    assert parse("[2001:db8::1]:2200") == JumpHost(user=None, host="2001:db8::1", port=2200)
    assert str(parse("ops@[2001:db8::1]:2200")) == "ops@[2001:db8::1]:2200"


# ----------------------------------------------------------------------------- secrets

INLINE = """\
name: prod
topology: primary-replicas
nodes:
  db1:
    host: 198.18.0.11
    roles: [mysql]
    mysql:
      monitor:
        user: monitor
        password: "m0n1tor-S3cret"
"""


def test_inline_password_is_a_warning_with_its_line():
    cluster = load_cluster_text(INLINE, "prod.yml")
    assert [str(w) for w in cluster.warnings] == [
        "prod.yml:10:9: warning: nodes.db1.mysql.monitor: found an inline password; expected password_env or password_file (keeps the secret out of this file)"
    ]
    assert resolve_password(cluster.nodes["db1"].mysql.monitor) == "m0n1tor-S3cret"


def test_inline_password_never_shown():
    cluster = load_cluster_text(INLINE, "prod.yml")
    assert "m0n1tor-S3cret" not in repr(cluster)
    assert "m0n1tor-S3cret" not in str(cluster)
    assert "m0n1tor-S3cret" not in cluster.model_dump_json()
    assert "m0n1tor-S3cret" not in str(cluster.model_dump())
    assert all("m0n1tor-S3cret" not in str(w) for w in cluster.warnings)
    broken = INLINE.replace("roles: [mysql]", "roles: [mysql]\n    ssh: {port: x}").replace(
        '"m0n1tor-S3cret"', '"m0n1tor-S3cret"\n        password_env: M'
    )
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text(broken, "prod.yml")
    assert len(info.value.problems) == 3
    assert "m0n1tor-S3cret" not in str(info.value)
    assert "m0n1tor-S3cret" not in repr(info.value.problems)


def test_numeric_password_is_never_echoed():
    with pytest.raises(ClusterFileError) as info:
        load_cluster_text(INLINE.replace('"m0n1tor-S3cret"', "8675309"), "prod.yml")
    assert "8675309" not in str(info.value)


def _account(cluster_text_account: str, tmp_path: Path) -> Account:
    text = INLINE.replace('        user: monitor\n        password: "m0n1tor-S3cret"\n', cluster_text_account)
    return load_cluster_text(text, str(tmp_path / "prod.yml")).nodes["db1"].mysql.monitor


def test_password_from_env(tmp_path):
    account = _account("        user: monitor\n        password_env: HATUI_MONITOR_PASSWORD\n", tmp_path)
    assert resolve_password(account, env={"HATUI_MONITOR_PASSWORD": "from-env"}) == "from-env"


def test_missing_env_var_names_the_account_and_variable(tmp_path):
    account = _account("        user: monitor\n        password_env: HATUI_MONITOR_PASSWORD\n", tmp_path)
    with pytest.raises(SecretError) as info:
        resolve_password(account, env={"OTHER": "x"})
    assert (
        str(info.value)
        == "nodes.db1.mysql.monitor: environment variable HATUI_MONITOR_PASSWORD (password_env) is not set"
    )
    with pytest.raises(SecretError, match="is empty"):
        resolve_password(account, env={"HATUI_MONITOR_PASSWORD": ""})


def test_password_from_file_first_line(tmp_path):
    pw = tmp_path / "monitor.pw"
    pw.write_text("  spaced secret \nsecond line\n")
    pw.chmod(0o600)
    account = _account("        user: monitor\n        password_file: monitor.pw\n", tmp_path)
    assert account.password_file == pw  # relative to the cluster file
    assert resolve_password(account) == "  spaced secret "


def test_readable_password_file_warns(tmp_path):
    pw = tmp_path / "monitor.pw"
    pw.write_text("sekrit\n")
    pw.chmod(0o644)
    account = _account(f"        user: monitor\n        password_file: {pw}\n", tmp_path)
    with pytest.warns(InsecureSecretFileWarning, match=r"nodes\.db1\.mysql\.monitor: password_file .* \(mode 0644\)"):
        assert resolve_password(account) == "sekrit"


def test_missing_password_file(tmp_path):
    account = _account("        user: monitor\n        password_file: /nonexistent/hatui.pw\n", tmp_path)
    with pytest.raises(SecretError) as info:
        resolve_password(account)
    assert str(info.value) == "nodes.db1.mysql.monitor: cannot read password_file /nonexistent/hatui.pw: no such file"
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_password_from_option_file(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text(
        "# client settings\n[client]\nuser = monitor\npassword = \"p#ss word\"  # quoted keeps '#'\n\n"
        "[hatui]\npassword=plain\\sspace # trailing comment\n!includedir /etc/mysql/conf.d/\n"
    )
    cnf.chmod(0o600)
    account = _account("        user: monitor\n        option_file: my.cnf\n", tmp_path)
    assert resolve_password(account) == "p#ss word"
    account = _account("        user: monitor\n        option_file: my.cnf\n        option_group: hatui\n", tmp_path)
    assert resolve_password(account) == "plain space"
    account = _account(
        "        user: monitor\n        option_file: my.cnf\n        option_group: mysqldump\n", tmp_path
    )
    with pytest.raises(SecretError) as info:
        resolve_password(account)
    assert str(info.value) == f"nodes.db1.mysql.monitor: option_file {cnf} has no [mysqldump] group"


def test_option_file_without_password_does_not_leak(tmp_path):
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[client]\npasswd-typo = hunter2\n")
    cnf.chmod(0o600)
    account = _account("        user: monitor\n        option_file: my.cnf\n", tmp_path)
    with pytest.raises(SecretError) as info:
        resolve_password(account)
    assert str(info.value) == f"nodes.db1.mysql.monitor: option_file {cnf} has no password= in [client]"
    assert "hunter2" not in str(info.value)


def test_parse_option_file_quirks():
    groups = parse_option_file("[Client]\nPass-Word='it''s'\nport=3306\nskip-ssl\n[x]\na = 'q\\tz' tail\nb = c\\d\n")
    assert groups == {"client": {"pass_word": "it", "port": "3306", "skip_ssl": ""}, "x": {"a": "q\tz", "b": "c\\d"}}


# ----------------------------------------------------------------------------- robustness

VOCAB = [
    "name",
    "topology",
    "namespace",
    "thresholds",
    "lag_warning",
    "lag_critical",
    "defaults",
    "roles",
    "ssh",
    "user",
    "port",
    "identity",
    "jump_host",
    "sudo",
    "mysql",
    "via",
    "monitor",
    "admin",
    "password_env",
    "password_file",
    "password",
    "option_file",
    "keepalived",
    "log",
    "journald",
    "file",
    "nodes",
    "db1",
    "db2",
    "host",
    "vips",
    "address",
    "instance",
    "role",
    "pasword",
    "source",
    "notify",
    "hooks",
    "command",
    "events",
    "min_severity",
    "timeout",
    "rate_limit",
    "max_events",
    "bell",
    "toast",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=True),
    st.sampled_from(
        [
            "mysql",
            "keepalived",
            "router",
            "dual-master",
            "mmm",
            "writer",
            "reader",
            "198.18.0.11",
            "198.18.0.100",
            "VI_1",
            "db1",
            "db2",
            "~/x",
            "/var/log/messages",
            "a@b:22",
            "",
        ]
    ),
    st.text(max_size=8),
)
DOCS = st.recursive(
    SCALARS,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(VOCAB), kids, max_size=6),
    max_leaves=40,
)


def _check_outcome(text: str) -> None:
    try:
        load_cluster_text(text, "prod.yml")
    except ClusterFileError as e:
        assert e.problems, "an error without problems"
        for line in str(e).splitlines():
            assert LINE_RE.match(line), line
        assert all(p.line is None or (p.line >= 1 and p.col >= 1) for p in e.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_garbage_text_only_ever_raises_cluster_file_error(text):
    _check_outcome(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCS)
def test_schema_shaped_nonsense_only_ever_raises_cluster_file_error(doc):
    _check_outcome(yaml.safe_dump(doc))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(SAMPLES.glob("*.yml"))), st.data())
def test_deleting_any_line_of_a_sample_never_crashes(path, data):
    lines = path.read_text().splitlines(keepends=True)
    i = data.draw(st.integers(0, len(lines) - 1))
    _check_outcome("".join(lines[:i] + lines[i + 1 :]))


def test_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(ClusterFileError, match="aliases expand to more than"):
        load_cluster_text(bomb, "prod.yml")


def test_engine_does_not_import_textual():
    code = "import sys, hatui.cluster; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
