"""Files each lab node is given. Pure functions: spec in, text out."""

from __future__ import annotations

import shlex
import sys

from .spec import ROUTER_PORTS, LabNode, LabSpec

# Paths as a node sees them (its private mounts make these its own).
NODE_MYCNF = "/etc/mysql/my.cnf"
NODE_KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
NODE_CHECK_SCRIPT = "/etc/keepalived/check_mysql.sh"
NODE_REPLICA_CHECK_SCRIPT = "/etc/keepalived/check_replica.sh"
NODE_ROUTER_CHECK_SCRIPT = "/etc/keepalived/check_router.sh"
# seed 003's flag: while it exists the node's priority drops by 30 (--vip-mover flag-file)
NODE_FLAG_FILE = "/etc/keepalived/hatui-down"
# --vip-mover none (keepalived 1.x hosts, no file to move the VIP): keepalived is a service the
# switchover stops and starts; in the lab a loop keeps it running unless this file exists
NODE_KEEPALIVED_DOWN = "/run/hatui-keepalived.down"
NODE_KEEPALIVED_PID = "/run/keepalived.pid"
NODE_HAPROXY_SOCKET = "/run/haproxy.sock"
# the binlogs' own volume, as production puts them: a size-limited tmpfs in the node's mount
# namespace, so `fill-binlog` fills it (MariaDB's writes then wait for space) and never the
# machine's disk
NODE_BINLOG_DIR = "/var/lib/mysql-binlog"
NODE_BINLOG_FILLER = f"{NODE_BINLOG_DIR}/hatui-fill"
BINLOG_VOLUME = "512m"
# old hosts (--old-host): keepalived keeps its pid files here, not in /run
NODE_OLD_PID_FILE = "/var/run/keepalived/keepalived.pid"
REPLICA_MAX_LAG = 30  # a reader VIP leaves a replica this far behind (MMM's REPLICATION_DELAY)
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
HAPROXY_CHECK_USER = "haproxy_check"


def my_cnf(spec: LabSpec, node: LabNode) -> str:
    # with a router layer (seed 002) nothing flips read_only: the primary is writable as built
    writable = spec.topology == "primary-replicas" and node.name == spec.writer
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
# binlogs on every node, as in seed 000 (GTIDs are MariaDB's own; without --gtid off the
# replicas also use them to position themselves)
log_bin = {NODE_BINLOG_DIR}/mysql-bin
binlog_format = ROW
log_slave_updates = ON
relay_log = relay-bin
# one GTID domain per server (MariaDB's advice for multi-master): a position then says exactly
# what a node has from each master, which failover, gap repair and rejoin depend on
gtid_domain_id = {node.server_id}
# two masters never hand out the same auto-increment value (seed 000)
auto_increment_increment = 2
auto_increment_offset = {node.auto_increment_offset}
# Every server starts read-only; keepalived's notify script makes the VRRP master writable
# (behind a router, only the primary is writable).
# A restarted or standby master then never takes writes that conflict with the writer's.
read_only = {"OFF" if writable else "ON"}
# small footprint: many servers share two cores
innodb_buffer_pool_size = 32M
innodb_log_file_size = 16M
performance_schema = OFF
max_connections = 60

# as Debian's my.cnf does: drop-in option files (hatui failover fences a replaced writer there)
!includedir /etc/mysql/conf.d/
"""


def check_script(extra: str = "", python: str | None = None) -> str:
    """keepalived's vrrp_script: `hatui check-mysql` run by the Python that runs the lab.

    A wrapper in /etc/keepalived (root-owned), because enable_script_security refuses a script
    under a writable path such as a venv in /tmp. Healthy only when mysqld answers a real query
    (seed 000's check only looked for a process); `extra` adds options (the reader VIPs'
    replication check)."""
    python = python or sys.executable
    return f"""\
#!/bin/sh
# vrrp_script of the hatui lab: exit 0 when the local mysqld answers a query within {CHECK_TIMEOUT} s.
# `touch {NODE_MAINTENANCE_FILE}` fails it at once: keepalived then moves the VIP away.
# compiled modules make each run ~25 ms faster; keep them even if the lab's caller turned them off
unset PYTHONDONTWRITEBYTECODE
exec {shlex.quote(python)} -m hatui.checkmysql --defaults-file {NODE_CHECK_CNF} \\
    --timeout {CHECK_TIMEOUT} --maintenance-file {NODE_MAINTENANCE_FILE}{extra}
"""


def client_check_script() -> str:
    """The light vrrp_script (`check: client`): one client query, as the seeds' checks do."""
    return f"""\
#!/bin/sh
# vrrp_script of the hatui lab: exit 0 when the local mysqld answers a query within {CHECK_TIMEOUT} s.
# `touch {NODE_MAINTENANCE_FILE}` fails it at once: keepalived then moves the VIP away.
[ -e {NODE_MAINTENANCE_FILE} ] && exit 1
exec /usr/bin/timeout {CHECK_TIMEOUT} /usr/bin/mariadb --defaults-extra-file={NODE_CHECK_CNF} \\
    --connect-timeout=1 --batch --skip-column-names -e 'SELECT 1' >/dev/null 2>&1
"""


def router_check_script() -> str:
    """The routers' vrrp_script: the router answers on its stats socket (a live process, not
    just a pid)."""
    return f"""\
#!/bin/sh
# vrrp_script of the hatui lab's routers: HAProxy answers on its stats socket within 1 s
echo "show info" | /usr/bin/timeout 1 socat -t 1 - UNIX-CONNECT:{NODE_HAPROXY_SOCKET} 2>/dev/null | grep -q '^Pid: '
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


_CHECKS = {
    "mysql": ("chk_mysql", NODE_CHECK_SCRIPT),
    "replica": ("chk_replica", NODE_REPLICA_CHECK_SCRIPT),
    "router": ("chk_router", NODE_ROUTER_CHECK_SCRIPT),
}


def keepalived_conf(spec: LabSpec, node: LabNode) -> str:
    o = spec.options
    insts = spec.instances_of(node.name)
    scripts = []
    for kind in sorted({v.check for v in insts}):
        name, path = _CHECKS[kind]
        scripts.append(f"""\
vrrp_script {name} {{
    script "{path}"
    interval {o.check_interval}
    timeout 2
    fall 2
    rise 2
}}
""")
    if o.vip_mover == "flag-file":
        scripts.append(f"""\
# seed 003's way to move the VIP on purpose, and keepalived 1.x's: `touch {NODE_FLAG_FILE}` and
# this node's priority drops by 30, below the other node's (the gap is 10), which takes over
vrrp_script chk_flag {{
    script "/usr/bin/[ ! -f {NODE_FLAG_FILE} ]"
    interval 1
    weight -30
}}
""")
    if o.vip_mover == "track-file":
        scripts.append(f"""\
# hatui's switchover writes a number here: +N raises this node's priority (a short skew
# time, so it takes over fast); -254 puts it in FAULT (it sends priority 0 and the VIP leaves
# at once). Reset to 0 at every start, so a restart never keeps a switchover's leftovers.
track_file hatui_priority {{
    file "{NODE_PRIORITY_FILE}"
    weight 1
    init_file 0 overwrite
}}
""")
    blocks = []
    for v in insts:
        # The writer's VIP never goes back by itself (nopreempt: a repaired master must not grab
        # the writes back); the other VIPs follow their preferred node. keepalived ignores
        # nopreempt unless the state is BACKUP. The flag-file mover needs preemption to work.
        keep = v.role == "writer" and o.vip_mover != "flag-file"
        peers = [spec.node(x).address for x in v.nodes if x != node.name]
        unicast = (
            f"    unicast_src_ip {node.address}\n    unicast_peer {{\n"
            + "".join(f"        {a}\n" for a in peers)
            + "    }\n"
            if o.unicast
            else ""
        )
        tracks = "".join(
            f"        {s}\n" for s in [_CHECKS[v.check][0]] + (["chk_flag"] if o.vip_mover == "flag-file" else [])
        )
        notify = (
            "".join(f'    notify_{st} "{NODE_NOTIFY_SCRIPT} {st}"\n' for st in ("master", "backup", "fault", "stop"))
            if v.notify
            else ""
        )
        track_file = "    track_file {\n        hatui_priority\n    }\n" if o.vip_mover == "track-file" else ""
        blocks.append(f"""\
vrrp_instance {v.instance} {{
    state BACKUP
{"    nopreempt" + chr(10) if keep else ""}    interface eth0
    virtual_router_id {v.vrid}
    priority {v.priority(node.name)}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass {spec.vrrp_pass}
    }}
{unicast}    track_script {{
{tracks}    }}
{track_file}{notify}    virtual_ipaddress {{
        {v.address}/{spec.prefixlen} dev eth0
    }}
}}
""")
    return f"""\
! {node.name}: written by `hatui lab up` ({spec.topology}; {o.describe()})
global_defs {{
    router_id {node.name}
    enable_script_security
    script_user root
}}

""" + "\n".join(scripts + blocks)


def haproxy_cfg(spec: LabSpec, node: LabNode) -> str:
    """The router (seed 002's MySQL Router, played by HAProxy): read-write port to the primary,
    read-only port balanced over the replicas. Every database is a server of the rw backend, all
    but the primary disabled, so the rw target can be moved at run time (stats socket)."""
    dbs = spec.mysql_nodes
    rw = "".join(
        f"    server {n.name} {n.address}:3306 check inter 1s fall 2 rise 2"
        f"{'' if n.name == spec.writer else ' disabled'}\n"
        for n in dbs
    )
    ro = "".join(
        f"    server {n.name} {n.address}:3306 check inter 1s fall 2 rise 2\n" for n in dbs if n.name != spec.writer
    )
    return f"""\
# {node.name}: written by `hatui lab up` (the router layer of seed 002)
global
    stats socket {NODE_HAPROXY_SOCKET} mode 600 level admin
    log stdout format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    # a MySQL handshake, not just a TCP connect (user without password and privileges)
    option mysql-check user {HAPROXY_CHECK_USER} post-41

frontend rw
    bind *:{ROUTER_PORTS["writer"]}
    default_backend rw

frontend ro
    bind *:{ROUTER_PORTS["reader"]}
    default_backend ro

backend rw
{rw}
backend ro
    balance roundrobin
{ro}"""


def ip_wrapper() -> str:
    """An `ip` that refuses -j the way iproute2 before 4.13 does (CentOS 6/7)."""
    return """\
#!/bin/sh
# the hatui lab's old-host `ip`: iproute2 < 4.13 has no JSON output
for a in "$@"; do
  case "$a" in
    -j|-json|--json|-j*) echo 'Option "'"$a"'" is unknown, try "ip -help".' >&2; exit 255 ;;
  esac
done
exec /usr/sbin/ip "$@"
"""


def keepalived_wrapper() -> str:
    """A `keepalived` that answers like 1.x: no --signum (no JSON dump)."""
    return """\
#!/bin/sh
# the hatui lab's old-host keepalived: 1.x has no --signum and no JSON dump
for a in "$@"; do
  case "$a" in
    --signum*) echo "keepalived: unrecognized option '$a'" >&2; exit 1 ;;
  esac
done
exec /usr/sbin/keepalived "$@"
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
CREATE USER IF NOT EXISTS '{HAPROXY_CHECK_USER}'@'%';
"""


def replication_sql(spec: LabSpec, node: LabNode, repl_password: str, position: tuple[str, int] | None = None) -> str:
    """The node's channel from its source: by GTID, or (`--gtid off`, seed 001) from `position`,
    the source's binlog file and offset."""
    source = spec.node(node.source) if node.source else None
    if source is None:
        return ""
    pw = repl_password.replace("\\", "\\\\").replace("'", "\\'")
    if spec.options.gtid:
        where = "MASTER_USE_GTID=slave_pos"
    else:
        if position is None:
            raise ValueError(f"{node.name}: replication without GTIDs needs the source's binlog position")
        where = f"MASTER_LOG_FILE='{position[0]}', MASTER_LOG_POS={int(position[1])}, MASTER_USE_GTID=no"
    # By the source's real address, never the VIP (seed 004's advice)
    return f"""\
CHANGE MASTER TO MASTER_HOST='{source.address}', MASTER_PORT=3306, MASTER_USER='{REPL_USER}',
  MASTER_PASSWORD='{pw}', {where}, MASTER_CONNECT_RETRY=1;
START SLAVE;
"""


def cluster_yaml(spec: LabSpec) -> str:
    def roles(n: LabNode) -> str:
        r = ["router"] if n.router else ["mysql"]
        return ", ".join(r + (["keepalived"] if n.keepalived else []))

    def router(n: LabNode) -> str:
        if not n.router:
            return ""
        return (
            f"\n    router:\n      kind: haproxy\n      stats_socket: {NODE_HAPROXY_SOCKET}\n"
            f"      routes: {{rw: writer, ro: reader}}"
        )

    nodes = "\n".join(f"  {n.name}:\n    host: {n.address}\n    roles: [{roles(n)}]{router(n)}" for n in spec.nodes)
    vips = []
    for v in spec.vips:
        if spec.topology == "primary-replicas":
            # one address, the router's two ports: each its own VIP entry (seed 002)
            for port in v.ports:
                role = "writer" if port == ROUTER_PORTS["writer"] else "reader"
                vips.append(
                    f"  - address: {v.address}\n    instance: {v.instance}\n    role: {role}\n"
                    f"    port: {port}\n    nodes: [{', '.join(v.nodes)}]"
                )
        else:
            vips.append(
                f"  - address: {v.address}\n    instance: {v.instance}\n    role: {v.role}\n"
                f"    port: {v.ports[0]}\n    nodes: [{', '.join(v.nodes)}]"
            )
    mover = spec.options.vip_mover
    if mover == "track-file":
        pf = f"\n    priority_file: {NODE_PRIORITY_FILE}"
    elif mover == "flag-file":
        pf = f"\n    flag_file: {NODE_FLAG_FILE}"
    else:  # a service stopped and started (the lab's loop, see daemon_argv)
        pid = NODE_OLD_PID_FILE if spec.options.old_host else NODE_KEEPALIVED_PID
        pf = (
            f"\n    stop_command: 'touch {NODE_KEEPALIVED_DOWN} && kill -TERM \"$(cat {pid})\"'"
            f"\n    start_command: 'rm -f {NODE_KEEPALIVED_DOWN}'"
        )
    return f"""\
# The hatui lab cluster, written by `hatui lab up` ({spec.topology}; {spec.options.describe()}).
# Use it as is:
#   hatui --cluster {spec.cluster_file}
# The console re-runs itself inside the operator namespace below, so its traffic stays in the lab.
name: {spec.name}
topology: {spec.topology}
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
    config: {NODE_KEEPALIVED_CONF}{pf}
nodes:
{nodes}
vips:
{chr(10).join(vips)}
"""
