"""Files each lab node is given. Pure functions: spec in, text out."""

from __future__ import annotations

import shlex
import sys

from .spec import LabNode, LabSpec

# Paths as a node sees them (its private mounts make these its own).
NODE_MYCNF = "/etc/mysql/my.cnf"
NODE_KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
NODE_CHECK_SCRIPT = "/etc/keepalived/check_mysql.sh"
NODE_NOTIFY_SCRIPT = "/etc/keepalived/notify_mysql.sh"
NODE_KEEPALIVED_LOG = "/var/log/keepalived.log"
# keepalived adds this file's number to the node's priority; below -253 the node goes to FAULT.
# hatui's switchover writes it to move the VIP through keepalived in milliseconds.
NODE_PRIORITY_FILE = "/etc/keepalived/hatui_priority"
NODE_SOCKET = "/run/mysqld/mysqld.sock"
# `hatui check-mysql`'s option file (the monitor account; mode 0600) and its maintenance flag:
# while the flag exists the check fails, so keepalived moves the VIP off the node.
NODE_CHECK_CNF = "/etc/keepalived/hatui-check.cnf"
NODE_MAINTENANCE_FILE = "/etc/keepalived/hatui-maintenance"
CHECK_TIMEOUT = 1.5  # below the vrrp_script's `timeout 2`, so the check says why it failed

MONITOR_USER = "hatui_monitor"
ADMIN_USER = "hatui_admin"
REPL_USER = "repl"
APP_USER = "hatui_app"
APP_DB = "labdb"


def my_cnf(node: LabNode) -> str:
    return f"""\
# {node.name}: written by `hatui lab up`
[client-server]
socket = {NODE_SOCKET}

[mysqld]
user = mysql
server_id = {node.server_id}
report_host = {node.name}
bind_address = 0.0.0.0
port = 3306
datadir = /var/lib/mysql
pid_file = /run/mysqld/mysqld.pid
log_error = /var/log/mysql/error.log
skip_name_resolve = ON
# GTID replication with binlogs on every node, as in seed 000
log_bin = mysql-bin
binlog_format = ROW
log_slave_updates = ON
relay_log = relay-bin
# one GTID domain per server (MariaDB's advice for multi-master): a position then says exactly
# what a node has from each master, which failover, gap repair and rejoin depend on
gtid_domain_id = {node.server_id}
# two masters never hand out the same auto-increment value (seed 000)
auto_increment_increment = 2
auto_increment_offset = {node.auto_increment_offset}
# Every server starts read-only; keepalived's notify script makes the VRRP master writable.
# A restarted or standby master then never takes writes that conflict with the writer's.
read_only = ON
# small footprint: three servers share two cores
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
max_connections = 60
"""


def check_script(python: str | None = None) -> str:
    """keepalived's vrrp_script: `hatui check-mysql` run by the Python that runs the lab.

    A wrapper in /etc/keepalived (root-owned), because enable_script_security refuses a script
    under a writable path such as a venv in /tmp. Healthy only when mysqld answers a real query
    (seed 000's check only looked for a process)."""
    python = python or sys.executable
    return f"""\
#!/bin/sh
# vrrp_script of the hatui lab: exit 0 when the local mysqld answers a query within {CHECK_TIMEOUT} s.
# `touch {NODE_MAINTENANCE_FILE}` fails it at once: keepalived then moves the VIP away.
# compiled modules make each run ~25 ms faster; keep them even if the lab's caller turned them off
unset PYTHONDONTWRITEBYTECODE
exec {shlex.quote(python)} -m hatui.checkmysql --defaults-file {NODE_CHECK_CNF} \\
    --timeout {CHECK_TIMEOUT} --maintenance-file {NODE_MAINTENANCE_FILE}
"""


def check_cnf(monitor_password: str) -> str:
    """The option file of `hatui check-mysql`: the monitor account over the local socket."""
    pw = monitor_password.replace("\\", "\\\\").replace('"', '\\"')
    return f"""\
# hatui check-mysql's account, written by `hatui lab up` (mode 0600: it holds a password)
[client]
user = {MONITOR_USER}
password = "{pw}"
socket = {NODE_SOCKET}
"""


def notify_script() -> str:
    # Only the node holding the writer VIP takes writes: MASTER lifts read_only, anything else
    # (BACKUP, FAULT, STOP) sets it. Idempotent, so a repeated notification is harmless.
    return """\
#!/bin/sh
# notify script of the hatui lab: keepalived calls it as: notify_mysql.sh STATE
case "$1" in
  master) v=OFF ;;
  backup|fault|stop) v=ON ;;
  *) exit 0 ;;
esac
exec /usr/bin/timeout 5 /usr/bin/mariadb --connect-timeout=2 -e "SET GLOBAL read_only=$v" >/dev/null 2>&1
"""


def keepalived_conf(spec: LabSpec, node: LabNode) -> str:
    return f"""\
! {node.name}: written by `hatui lab up`
global_defs {{
    router_id {node.name}
    enable_script_security
    script_user root
}}

vrrp_script chk_mysql {{
    script "{NODE_CHECK_SCRIPT}"
    interval 1
    timeout 2
    fall 2
    rise 2
}}

# hatui's switchover writes a number here: +N raises this node's priority (a short skew
# time, so it takes over fast); -254 puts it in FAULT (it sends priority 0 and the VIP leaves
# at once). Reset to 0 at every start, so a restart never keeps a switchover's leftovers.
track_file hatui_priority {{
    file "{NODE_PRIORITY_FILE}"
    weight 1
    init_file 0 overwrite
}}

vrrp_instance {spec.instance} {{
    state BACKUP            # both BACKUP + nopreempt: a repaired master does not grab the VIP back
    nopreempt
    interface eth0
    virtual_router_id {spec.vrid}
    priority {node.priority}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass {spec.vrrp_pass}
    }}
    track_script {{
        chk_mysql
    }}
    track_file {{
        hatui_priority
    }}
    notify_master "{NODE_NOTIFY_SCRIPT} master"
    notify_backup "{NODE_NOTIFY_SCRIPT} backup"
    notify_fault "{NODE_NOTIFY_SCRIPT} fault"
    notify_stop "{NODE_NOTIFY_SCRIPT} stop"
    virtual_ipaddress {{
        {spec.vip}/{spec.prefixlen} dev eth0
    }}
}}
"""


def sshd_config(spec: LabSpec, node: LabNode) -> str:
    host_key = spec.node_dir(node.name) / "ssh" / "ssh_host_ed25519_key"
    return f"""\
# {node.name}: written by `hatui lab up`. Key-only logins.
ListenAddress {node.address}
Port 22
HostKey {host_key}
PidFile /run/sshd.pid
AuthorizedKeysFile {spec.ssh_dir / "authorized_keys"}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
ClientAliveInterval 15
Subsystem sftp internal-sftp
"""


def users_sql(passwords: dict[str, str]) -> str:
    """Accounts on every node, kept out of the binlog so no node starts with an errant GTID."""

    def q(s: str) -> str:
        return s.replace("\\", "\\\\").replace("'", "\\'")

    return f"""\
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS '{REPL_USER}'@'%' IDENTIFIED BY '{q(passwords["repl"])}';
GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'%';
CREATE USER IF NOT EXISTS '{MONITOR_USER}'@'%' IDENTIFIED BY '{q(passwords["monitor"])}';
GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR, SELECT ON *.* TO '{MONITOR_USER}'@'%';
CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'%' IDENTIFIED BY '{q(passwords["admin"])}';
GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '{APP_USER}'@'%' IDENTIFIED BY '{q(passwords["app"])}';
GRANT ALL PRIVILEGES ON `{APP_DB}`.* TO '{APP_USER}'@'%';
"""


def replication_sql(spec: LabSpec, node: LabNode, repl_password: str) -> str:
    source = spec.node(node.source) if node.source else None
    if source is None:
        return ""
    pw = repl_password.replace("\\", "\\\\").replace("'", "\\'")
    # By the source's real address, never the VIP (seed 004's advice)
    return f"""\
CHANGE MASTER TO MASTER_HOST='{source.address}', MASTER_PORT=3306, MASTER_USER='{REPL_USER}',
  MASTER_PASSWORD='{pw}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
"""


def cluster_yaml(spec: LabSpec) -> str:
    nodes = "\n".join(
        f"  {n.name}:\n    host: {n.address}\n    roles: [{'mysql, keepalived' if n.keepalived else 'mysql'}]"
        for n in spec.nodes
    )
    holders = ", ".join(n.name for n in spec.nodes if n.keepalived)
    return f"""\
# The hatui lab cluster, written by `hatui lab up`. Use it as is:
#   hatui --cluster {spec.cluster_file}
# The console re-runs itself inside the operator namespace below, so its traffic stays in the lab.
name: lab
topology: dual-master
namespace: {spec.operator_ns}
thresholds:
  lag_warning: 5
  lag_critical: 30
defaults:
  ssh:
    user: root
    port: 22
    identity: {spec.ssh_dir / "id_ed25519"}
    known_hosts: {spec.ssh_dir / "known_hosts"}
  mysql:
    port: 3306
    via: ssh-tunnel
    monitor:
      user: {MONITOR_USER}
      password_file: {spec.secrets_dir / "monitor.pw"}
    admin:
      user: {ADMIN_USER}
      password_file: {spec.secrets_dir / "admin.pw"}
    replication:
      user: {REPL_USER}
      password_file: {spec.secrets_dir / "repl.pw"}
  keepalived:
    log:
      file: {NODE_KEEPALIVED_LOG}
    config: {NODE_KEEPALIVED_CONF}
    priority_file: {NODE_PRIORITY_FILE}
nodes:
{nodes}
vips:
  - address: {spec.vip}
    instance: {spec.instance}
    role: writer
    port: 3306
    nodes: [{holders}]
"""
