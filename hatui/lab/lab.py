"""`hatui lab up | down | status | fault`: a real cluster in network namespaces, one of the seeds'
deployments (hatui.lab.spec.TOPOLOGIES, with LabOptions)."""

from __future__ import annotations

import fcntl
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from . import configs, network, procs
from .preflight import LabError, LabRefused, check, find
from .spec import LabNode, LabOptions, LabSpec, fleet_spec
from .state import LabState, load, save

Say = Callable[[str], None]
TEMPLATE_CACHE = Path(os.environ.get("HATUI_LAB_CACHE", "/var/cache/hatui-lab"))

# host dir inside the node's folder -> where the node sees it
NODE_MOUNTS = {
    "tmp": "/tmp",
    "run": "/run",
    "log": "/var/log",
    "keepalived": "/etc/keepalived",
    "etc-mysql": "/etc/mysql",
    "mysql": "/var/lib/mysql",
}
DAEMONS = ("sshd", "mysqld", "haproxy", "keepalived")  # started in this order, stopped in reverse
OLD_HOST_MOUNT = ("usr-local-sbin", "/usr/local/sbin")  # first on root's PATH: the old-host tools


def _shell_rc_files() -> list[Path]:
    """The start-up files bash reads for the lab's SSH user (root) that exist on this machine."""
    home = Path(os.path.expanduser("~root"))
    return [home / f for f in (".bashrc", ".bash_profile", ".bash_login", ".profile") if (home / f).is_file()]


def node_daemons(n: LabNode) -> tuple[str, ...]:
    """The daemons a node runs: a database (sshd, mysqld, maybe keepalived) or a router (sshd,
    HAProxy, keepalived)."""
    want = {"sshd", "haproxy" if n.router else "mysqld"} | ({"keepalived"} if n.keepalived else set())
    return tuple(d for d in DAEMONS if d in want)


def saved_spec(spec: LabSpec) -> LabSpec:
    """`spec` with the topology and options the lab in its folder was built with (a lab command
    other than `up` works on whatever is up, whatever flags it is given)."""
    st = load(spec.state_file)
    if st is None or not st.topology:
        return spec
    return fleet_spec(st.topology, LabOptions(**st.options), spec, st.clusters)


def _quiet(_: str) -> None:
    pass


@contextmanager
def _locked(spec: LabSpec) -> Iterator[None]:
    """One lab command at a time (a test and a person must not both rebuild it)."""
    lock = Path(str(spec.state_dir) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------- daemons


def daemon_argv(spec: LabSpec, node: LabNode, daemon: str) -> tuple[list[str], Path]:
    nd = spec.node_dir(node.name)
    if daemon == "sshd":
        return [
            find("sshd") or "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
            str(nd / "ssh" / "sshd_config"),
        ], nd / "log" / "sshd.log"
    if daemon == "mysqld":
        return [
            find("mariadbd") or "/usr/sbin/mariadbd",
            f"--defaults-file={configs.NODE_MYCNF}",
        ], nd / "log" / "mysql" / "mariadbd.out"
    if daemon == "keepalived":
        # -n foreground, -l log to the console (our log file), -D detailed VIP/ARP lines
        argv = [find("keepalived") or "/usr/sbin/keepalived", "-n", "-l", "-D", "-f", configs.NODE_KEEPALIVED_CONF]
        if spec.options.old_host:
            # as some RPM builds do: the pid files under /var/run/keepalived, not /run
            d = configs.NODE_OLD_PID_FILE.rsplit("/", 1)[0]
            argv += ["-p", configs.NODE_OLD_PID_FILE, "-r", f"{d}/vrrp.pid", "-c", f"{d}/checkers.pid"]
        if spec.options.vip_mover == "none":
            # a service the switchover stops and starts (its stop/start commands in the cluster
            # file): this loop runs keepalived unless the node's down file exists
            # (the lab's own stop, a SIGTERM to the loop, stops keepalived with it)
            down = configs.NODE_KEEPALIVED_DOWN
            loop = (
                "c=; trap '[ -n \"$c\" ] && kill -TERM $c && wait $c; exit 0' TERM; "
                f"while :; do if [ ! -e {down} ]; then {shlex.join(argv)} & c=$!; wait $c; c=; fi; sleep 0.2; done"
            )
            argv = ["sh", "-c", loop]
        return argv, nd / "log" / "keepalived.log"
    if daemon == "haproxy":
        # -db: foreground, no daemon; it logs to stdout (our log file)
        return [
            find("haproxy") or "/usr/sbin/haproxy",
            "-db",
            "-f",
            str(nd / "haproxy" / "haproxy.cfg"),
        ], nd / "log" / "haproxy.log"
    raise LabError(f"unknown daemon {daemon!r}")


class Lab:
    def __init__(self, spec: LabSpec, say: Say = _quiet):
        self.spec = spec
        self.say = say

    # ------------------------------------------------------------ records
    def state(self) -> LabState | None:
        return load(self.spec.state_file)

    def _save(self, st: LabState) -> None:
        save(self.spec.state_file, st)

    def is_up(self) -> bool:
        st = self.state()
        if st is None or st.phase != "up":
            return False
        return all(procs.is_alive(r) for r in st.holders.values()) and set(
            network.existing(self.spec.all_namespaces)
        ) == set(self.spec.all_namespaces)

    def _holder(self, node: str) -> int:
        st = self.state()
        if st is None or node not in st.holders or not procs.is_alive(st.holders[node]):
            raise LabRefused("the lab is not up: run `hatui lab up` first")
        return st.holders[node].pid

    def sql(self, node: str, query: str, *, timeout: float = 20.0, check: bool = True) -> str:
        """Run SQL as root over the node's unix socket (root authenticates by socket)."""
        res = procs.run_in_node(
            self._holder(node), ["mariadb", "--batch", "--skip-column-names", "-e", query], timeout=timeout, check=False
        )
        if check and res.returncode != 0:
            raise LabError(f"{node}: SQL failed: {res.stderr.strip()}")
        return res.stdout

    def rows(self, node: str, query: str, *, timeout: float = 20.0) -> list[dict[str, str]]:
        """A query's rows as column -> value (`mariadb --batch` escapes tabs and newlines in
        values, so a line is a row); [] when the server does not answer."""
        res = procs.run_in_node(self._holder(node), ["mariadb", "--batch", "-e", query], timeout=timeout, check=False)
        lines = res.stdout.splitlines() if res.returncode == 0 else []
        if not lines:
            return []
        head = lines[0].split("\t")
        return [dict(zip(head, line.split("\t"))) for line in lines[1:]]

    def node_run(self, node: str, argv: list[str], timeout: float = 20.0) -> subprocess.CompletedProcess:
        return procs.run_in_node(self._holder(node), argv, timeout=timeout, check=False)

    # ------------------------------------------------------------ up
    def up(self) -> bool:
        """Bring the lab up; False when it already was (idempotent)."""
        check()
        with _locked(self.spec):
            if self.is_up():
                self.say(f"lab is already up; {self._files()}")
                return False
            if self.state() is not None or network.existing(self.spec.all_namespaces):
                self.say("found a half-built lab: removing it first")
                self._down()
            t0 = time.monotonic()
            st = LabState(
                topology=self.spec.topology,
                options=vars(self.spec.options).copy(),
                clusters=len(self.spec.clusters),
            )
            try:
                self._build(st)
            except BaseException as exc:
                self.say(f"lab up failed ({exc}); removing what was built")
                self._down()
                if isinstance(exc, LabError):
                    raise
                raise LabError(f"lab up failed: {exc}") from exc
            self.say(f"lab is up in {time.monotonic() - t0:.1f} s; {self._files()}")
            return True

    def _files(self) -> str:
        files = self.spec.cluster_files
        if len(files) == 1:
            return f"cluster file: {files[0]}"
        return f"{len(files)} cluster files: {files[0].parent}/lab-c*.yml"

    def _build(self, st: LabState) -> None:
        spec = self.spec
        self._save(st)
        passwords = self._write_files()
        self.say("network namespaces and bridge")
        for ns in spec.all_namespaces:
            network.create_namespace(ns)
            st.namespaces.append(ns)
            self._save(st)
        network.create_bridge(spec.bridge_ns)
        network.attach_host(spec.bridge_ns, "op", spec.operator_ns, spec.operator_address, spec.prefixlen)
        for n in spec.nodes:
            network.attach_host(spec.bridge_ns, n.name, spec.node_ns(n.name), n.address, spec.prefixlen)

        self.say("node namespaces (hostname, private /tmp /run /var/log /etc/keepalived)")
        for n in spec.nodes:
            holder = procs.start_holder(spec.node_ns(n.name))
            st.holders[n.name] = procs.record(f"{n.name}-holder", holder, ["sleep", "infinity"])
            self._save(st)
            procs.wait_holder_ready(holder)
            self._mount_node(n, holder.pid)

        dbs = spec.mysql_nodes
        self.say("sshd on every node, mariadbd on the databases")
        for n in spec.nodes:
            st.daemons[n.name] = {}
            self._start_daemon(st, n, "sshd")
        for n in dbs:
            self._start_daemon(st, n, "mysqld")
        with ThreadPoolExecutor(min(len(dbs), 16)) as pool:
            list(pool.map(lambda n: self._wait_mysqld(n.name), dbs))

        how = "GTID" if spec.options.gtid else "binlog file/position"
        for c in spec.clusters:
            edges = ", ".join(f"{n.name} <- {n.source}" for n in c.mysql_nodes if n.source)
            self.say(f"accounts and {how} replication ({edges})")
            for n in c.mysql_nodes:
                self.sql(n.name, configs.users_sql(passwords))
            # without GTIDs a channel starts where its source's binlog is now (nothing written yet)
            positions = {n.name: self.master_position(n.name) for n in c.mysql_nodes} if not spec.options.gtid else {}
            for n in c.mysql_nodes:
                if n.source:
                    self.sql(n.name, configs.replication_sql(c, n, passwords["repl"], positions.get(n.source)))
            self.sql(c.writer, f"CREATE DATABASE IF NOT EXISTS `{configs.APP_DB}`")
        self._wait_replicated(configs.APP_DB)

        routers = [n for n in spec.nodes if n.router]
        if routers:
            self.say("HAProxy on the routers (rw :7001 -> the primary, ro :7002 -> the replicas)")
            for n in routers:
                self._start_daemon(st, n, "haproxy")
        self.say("keepalived (each VIP's first node takes it, then the others start as BACKUP)")
        # every cluster's writer-VIP node first, all clusters at once, then the others
        firsts = {c.writer_vip.nodes[0]: c for c in spec.clusters}
        kas = [n for n in spec.nodes if n.keepalived]
        for n in kas:
            if n.name in firsts:
                self._start_daemon(st, n, "keepalived")
        for first, c in firsts.items():
            self._wait_vip_on(c.writer_vip.address, first, 15.0)
            if c.writer_vip.notify:
                self._wait_writable(first, 10.0)
        for n in kas:
            if n.name not in firsts:
                self._start_daemon(st, n, "keepalived")
        for v in spec.vips:
            self._wait_vip_on(v.address, v.nodes[0], 15.0)
        for n in spec.nodes:
            self._wait_sshd(n)
        st.phase = "up"
        self._save(st)

    def master_position(self, node: str) -> tuple[str, int]:
        """The node's binlog file and offset now (SHOW MASTER STATUS)."""
        rows = self.rows(node, "SHOW MASTER STATUS")
        if not rows:
            raise LabError(f"{node}: SHOW MASTER STATUS returned nothing (no binlog?)")
        return rows[0]["File"], int(rows[0]["Position"])

    def _write_files(self) -> dict[str, str]:
        spec = self.spec
        for d in (spec.state_dir, spec.ssh_dir, spec.secrets_dir):
            d.mkdir(parents=True, exist_ok=True)
            d.chmod(0o700 if d != spec.state_dir else 0o755)
        key = spec.ssh_dir / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hatui-lab", "-f", str(key)], check=True)
        (spec.ssh_dir / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
        (spec.ssh_dir / "authorized_keys").chmod(0o600)

        passwords = {k: secrets.token_urlsafe(18) for k in ("repl", "monitor", "admin", "app")}
        for k, v in passwords.items():
            p = spec.secrets_dir / f"{k}.pw"
            p.touch(mode=0o600)
            p.write_text(v + "\n")

        template = self._mariadb_template()
        known = []
        for n in spec.nodes:
            c = spec.cluster_of(n.name)  # the node's own cluster: its configs name only its peers
            nd = spec.node_dir(n.name)
            for sub in NODE_MOUNTS:
                (nd / sub).mkdir(parents=True, exist_ok=True)
            (nd / "tmp").chmod(0o1777)
            (nd / "ssh").mkdir(exist_ok=True)
            (nd / "run" / "sshd").mkdir(exist_ok=True)
            if spec.options.old_host:
                (nd / "run" / "keepalived").mkdir(exist_ok=True)  # /var/run is /run on Debian
            hk = nd / "ssh" / "ssh_host_ed25519_key"
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{n.name}", "-f", str(hk)], check=True
            )
            known.append(
                f"{n.address} {Path(f'{hk}.pub').read_text().split(' ')[0]} "
                f"{Path(f'{hk}.pub').read_text().split(' ')[1]}"
            )
            (nd / "ssh" / "sshd_config").write_text(configs.sshd_config(spec, n))
            if n.keepalived:
                (nd / "keepalived" / "keepalived.conf").write_text(configs.keepalived_conf(c, n))
                (nd / "keepalived" / "keepalived.conf").chmod(0o600)  # it holds the VRRP password
                scripts = {
                    "check_mysql.sh": configs.check_script()
                    if spec.options.check == "hatui"
                    else configs.client_check_script(),
                    "check_replica.sh": configs.check_script(
                        f" \\\n    --replication --max-lag {configs.REPLICA_MAX_LAG}"
                    ),
                    "check_router.sh": configs.router_check_script(),
                    "notify_mysql.sh": configs.notify_script(),
                }
                for script, text in scripts.items():
                    (nd / "keepalived" / script).write_text(text)
                    (nd / "keepalived" / script).chmod(0o755)
                if n.mysql:
                    # the check's account: made 0600 before the password goes in
                    cnf = nd / "keepalived" / Path(configs.NODE_CHECK_CNF).name
                    cnf.touch(mode=0o600)
                    cnf.chmod(0o600)
                    cnf.write_text(configs.check_cnf(passwords["monitor"]))
            if spec.options.old_host:
                tools = nd / OLD_HOST_MOUNT[0]
                tools.mkdir(exist_ok=True)
                for tool, text in (("ip", configs.ip_wrapper()), ("keepalived", configs.keepalived_wrapper())):
                    (tools / tool).write_text(text)
                    (tools / tool).chmod(0o755)
            if n.router:
                (nd / "haproxy").mkdir(exist_ok=True)
                (nd / "haproxy" / "haproxy.cfg").write_text(configs.haproxy_cfg(c, n))
                continue  # no database here (its /var/lib/mysql stays empty)
            (nd / "etc-mysql" / "my.cnf").write_text(configs.my_cnf(c, n))
            (nd / "etc-mysql" / "conf.d").mkdir(exist_ok=True)  # as on Debian: my.cnf includes it
            shutil.rmtree(nd / "mysql")
            shutil.copytree(template, nd / "mysql", symlinks=True)
            for sub in ("run/mysqld", "log/mysql"):
                (nd / sub).mkdir(parents=True, exist_ok=True)
            for sub in ("mysql", "run/mysqld", "log/mysql"):
                subprocess.run(["chown", "-R", "mysql:mysql", str(nd / sub)], check=True)
        (spec.ssh_dir / "known_hosts").write_text("\n".join(known) + "\n")
        for c in spec.clusters:
            c.cluster_file.write_text(configs.cluster_yaml(c))
        return passwords

    def _mariadb_template(self) -> Path:
        """An initialised, empty datadir, made once and copied per node (saves ~5 s a node)."""
        version = (
            subprocess.run(
                [find("mariadbd") or "mariadbd", "--version"], capture_output=True, text=True
            ).stdout.split()[2]
            if find("mariadbd")
            else "unknown"
        )
        # its redo log already the size my.cnf asks for (16 MB, not the default 96 MB): a node's
        # copy is then ~14 MB, which a fleet of a hundred nodes copies in seconds
        template = TEMPLATE_CACHE / f"datadir-{version}-log16m"
        if (template / "mysql").is_dir():
            return template
        self.say("initialising a MariaDB datadir template (once)")
        tmp = TEMPLATE_CACHE / f".building-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        subprocess.run(["chown", "mysql:mysql", str(tmp)], check=True)
        res = subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                "--user=mysql",
                f"--datadir={tmp}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                "--innodb-log-file-size=16M",
                # --force: go on when the host name does not resolve (grants then use
                # addresses); safe, the template is always built in a new empty folder
                "--force",
            ],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            said = (res.stdout + res.stderr).strip()[-800:]
            raise LabError(f"mariadb-install-db failed (exit {res.returncode}):\n{said}")
        os.replace(tmp, template)
        return template

    def _mount_node(self, n: LabNode, holder_pid: int) -> None:
        nd = self.spec.node_dir(n.name)
        lines = [f"hostname {n.name}"]
        mounts = dict(NODE_MOUNTS)
        if self.spec.options.old_host:
            mounts[OLD_HOST_MOUNT[0]] = OLD_HOST_MOUNT[1]
        for sub, target in mounts.items():
            # the Python running the lab (keepalived's check runs it in the node) stays visible
            # even when it lives under a path the node gets privately, e.g. a checkout in /tmp
            for path in _hidden_by(target):
                stage = nd / sub / path.relative_to(target)
                lines.append(
                    f"mkdir -p {shlex.quote(str(stage))} && mount --bind {shlex.quote(str(path))} "
                    f"{shlex.quote(str(stage))}"
                )
            lines.append(f"mkdir -p {target} && mount --rbind {nd / sub} {target}")
        if n.mysql:
            d = configs.NODE_BINLOG_DIR
            lines.append(
                f"mkdir -p {d} && mount -t tmpfs -o size={configs.BINLOG_VOLUME},mode=0750 hatui-binlog {d} && "
                f"chown mysql:mysql {d}"
            )
        # root's shell start-up files on this machine (a developer's pyenv init: two process
        # spawns on every SSH exec, and a stale rehash lock stalled every node's commands) are
        # not the node's: an empty file over each, so a node's shell starts as a fresh host's
        empty = nd / "empty-rc"
        empty.write_text("")
        for rc in _shell_rc_files():
            lines.append(f"mount --bind {shlex.quote(str(empty))} {shlex.quote(str(rc))}")
        res = procs.run_in_node(holder_pid, ["sh", "-ec", "\n".join(lines)], timeout=10, check=False)
        if res.returncode != 0:
            raise LabError(f"{n.name}: could not set up its private mounts: {res.stderr.strip()}")

    def _start_daemon(self, st: LabState, n: LabNode, daemon: str) -> procs.ProcRecord:
        argv, log = daemon_argv(self.spec, n, daemon)
        rec = procs.spawn_in_node(st.holders[n.name].pid, f"{n.name}-{daemon}", argv, log)
        st.daemons.setdefault(n.name, {})[daemon] = rec
        self._save(st)
        return rec

    # ------------------------------------------------------------ waits
    def _wait(self, what: str, ok: Callable[[], bool], timeout: float, every: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            time.sleep(every)
        raise LabError(f"timed out after {timeout:.0f} s waiting for {what}")

    def _wait_mysqld(self, node: str, timeout: float = 40.0) -> None:
        def ok() -> bool:
            r = self.node_run(node, ["mariadb", "--connect-timeout=1", "-e", "SELECT 1"], timeout=5)
            return r.returncode == 0

        try:
            self._wait(f"mariadbd on {node}", ok, timeout, 0.2)
        except LabError:
            log = self.spec.node_dir(node) / "log" / "mysql" / "error.log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else "(no error log)"
            raise LabError(f"mariadbd on {node} did not answer within {timeout:.0f} s; error log:\n{tail}") from None

    def _wait_sshd(self, n: LabNode, timeout: float = 10.0) -> None:
        # probe from inside the node with bash's /dev/tcp, so no traffic leaves the lab
        probe = ["bash", "-c", f"exec 3<>/dev/tcp/{n.address}/22"]
        self._wait(f"sshd on {n.name}", lambda: self.node_run(n.name, probe, timeout=3).returncode == 0, timeout, 0.1)

    def _wait_replicated(self, db: str, timeout: float = 30.0) -> None:
        for n in self.spec.mysql_nodes:

            def has_db(name: str = n.name) -> bool:
                return db in self.sql(name, "SHOW DATABASES").split()

            self._wait(f"database {db} to replicate to {n.name}", has_db, timeout, 0.2)

    def _wait_writable(self, node: str, timeout: float) -> None:
        self._wait(
            f"keepalived's notify script to make {node} writable",
            lambda: self.sql(node, "SELECT @@read_only").strip() == "0",
            timeout,
            0.1,
        )

    def _wait_vip_on(self, address: str, node: str, timeout: float) -> None:
        self._wait(
            f"the VIP {address} on {node}",
            lambda: address in network.addresses(self.spec.node_ns(node)),
            timeout,
            0.1,
        )

    # ------------------------------------------------------------ down
    def down(self) -> bool:
        """Remove everything the lab made; False when there was nothing to remove."""
        check()
        with _locked(self.spec):
            return self._down()

    def _down(self) -> bool:
        spec = self.spec
        st = self.state()
        present = network.existing(spec.all_namespaces)
        if st is None and not present and not spec.state_dir.exists():
            self.say("lab is already down")
            return False
        if st is not None:
            # each kind on every node at once, in reverse start order
            for name in reversed(DAEMONS):
                procs.stop_all([d[name] for d in st.daemons.values() if name in d], timeout=20.0)
            for rec in st.holders.values():
                procs.signal_rec(rec, signal.SIGKILL)
                procs.wait_gone(rec, 5.0)
        # Anything still running in the lab's namespaces was started there by the lab (ssh
        # sessions, check scripts, a console): stop it by PID, found by the namespace's name.
        for _ in range(3):
            left = {p for pids in network.pids_in(present).values() for p in pids if p != os.getpid()}
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        for ns in spec.all_namespaces:
            network.remove_namespace(ns)
        if _mounted_under(spec.state_dir):
            raise LabError(f"something is still mounted under {spec.state_dir}; not deleting it")
        shutil.rmtree(spec.state_dir, ignore_errors=True)
        self.say("lab is down")
        return True

    # ------------------------------------------------------------ status
    def status(self) -> dict:
        check()  # reading other namespaces' addresses needs root too
        spec = self.spec
        st = self.state()
        present = set(network.existing(spec.all_namespaces))
        out: dict = {
            "up": self.is_up(),
            "topology": spec.topology,
            "options": vars(spec.options).copy(),
            "cluster_file": str(spec.cluster_files[0]),
            "cluster_files": [str(f) for f in spec.cluster_files],
            "namespaces": {ns: ns in present for ns in spec.all_namespaces},
            "vip": spec.vip,
            "vip_holders": [],
            "vips": {v.address: {"instance": v.instance, "role": v.role, "holders": []} for v in spec.vips},
            "nodes": {},
        }
        for n in spec.nodes:
            info: dict = {"address": n.address, "role": "router" if n.router else "database"}
            if st is not None:
                for d in node_daemons(n):
                    rec = st.daemons.get(n.name, {}).get(d)
                    info[d] = {"pid": rec.pid, "running": procs.is_alive(rec)} if rec else None
            if spec.node_ns(n.name) in present:
                held = network.addresses(spec.node_ns(n.name))
                if spec.vip in held:
                    out["vip_holders"].append(n.name)
                for v in spec.vips:
                    if v.address in held:
                        out["vips"][v.address]["holders"].append(n.name)
                if spec.bridge_ns in present:
                    info["partitioned"] = network.is_partitioned(spec.bridge_ns, n.name)
            out["nodes"][n.name] = info
        return out

    # ------------------------------------------------------------ faults
    def fault(self, kind: str, node: str) -> str:
        check()
        if kind not in FAULTS:
            raise LabRefused(f"unknown fault {kind!r}; expected one of: {', '.join(FAULTS)}")
        try:
            n = self.spec.node(node)
        except KeyError:
            names = ", ".join(x.name for x in self.spec.nodes)
            raise LabRefused(f"unknown node {node!r}; the lab has {names}") from None
        with _locked(self.spec):
            if not self.is_up():
                raise LabRefused("the lab is not up: run `hatui lab up` first")
            return FAULTS[kind](self, n)

    def _current(self, n: LabNode, daemon: str) -> tuple[LabState, procs.ProcRecord | None]:
        """The lab's record and the daemon's record (None if it never ran) for a fault."""
        st = self.state()
        if st is None:
            raise LabRefused("the lab is not up: run `hatui lab up` first")
        if daemon not in node_daemons(n):
            raise LabRefused(f"{n.name} runs no {daemon} in the lab")
        return st, st.daemons.get(n.name, {}).get(daemon)

    def _stop(self, n: LabNode, daemon: str, hard: bool) -> str:
        _, rec = self._current(n, daemon)
        if rec is None or not procs.is_alive(rec):
            return f"{daemon} on {n.name} is not running"
        if hard:
            # the whole process group at once: keepalived's children get no chance to drop the VIP
            procs.signal_rec(rec, signal.SIGKILL, group=True)
            procs.wait_gone(rec, 5.0)
            return f"killed {daemon} on {n.name} (SIGKILL, pid {rec.pid})"
        procs.stop(rec, timeout=30.0)
        return f"stopped {daemon} on {n.name} (pid {rec.pid})"

    def _freeze(self, n: LabNode, daemon: str, frozen: bool) -> str:
        """SIGSTOP/SIGCONT: the process stays, holds its sockets and answers nothing (a hung
        server: connections open and then time out, unlike a dead one that refuses them)."""
        _, rec = self._current(n, daemon)
        if rec is None or not procs.is_alive(rec):
            return f"{daemon} on {n.name} is not running"
        sig = signal.SIGSTOP if frozen else signal.SIGCONT
        procs.signal_rec(rec, sig)
        return f"{'froze' if frozen else 'thawed'} {daemon} on {n.name} ({sig.name}, pid {rec.pid})"

    def _start(self, n: LabNode, daemon: str) -> str:
        st, rec = self._current(n, daemon)
        if rec is not None and procs.is_alive(rec):
            return f"{daemon} on {n.name} is already running (pid {rec.pid})"
        if daemon == "keepalived":
            # A killed keepalived leaves its pid files; when another process has since got one
            # of those pids (this machine's pid_max is 32768: they come round in minutes),
            # keepalived says "daemon is already running" and exits. Ours is dead: they are stale.
            d = configs.NODE_OLD_PID_FILE.rsplit("/", 1)[0]
            stale = [configs.NODE_KEEPALIVED_PID, "/run/vrrp.pid", "/run/checkers.pid"]
            stale += [configs.NODE_OLD_PID_FILE, f"{d}/vrrp.pid", f"{d}/checkers.pid"]
            self.node_run(n.name, ["rm", "-f", *stale])
        rec = self._start_daemon(st, n, daemon)
        if daemon == "mysqld":
            self._wait_mysqld(n.name)
        if daemon == "sshd":
            self._wait_sshd(n)
        return f"started {daemon} on {n.name} (pid {rec.pid})"

    def _binlog_volume(self, n: LabNode, fill: bool) -> str:
        """Fill the node's binlog volume (a tmpfs of its own) with one file, or remove it: the
        server's next binlog write waits for space ("Waiting for someone to free space")."""
        if not n.mysql:
            raise LabRefused(f"{n.name} runs no mysqld in the lab")
        d, f = configs.NODE_BINLOG_DIR, configs.NODE_BINLOG_FILLER
        if not fill:
            self.node_run(n.name, ["rm", "-f", f])
            return f"freed {n.name}'s binlog volume ({d})"
        script = (
            f"set -- $(stat -f -c '%a %S' {d}); "
            f"fallocate -l $(($1 * $2)) {f} 2>/dev/null || dd if=/dev/zero of={f} bs=1M 2>/dev/null; "
            f"stat -f -c %a {d}"
        )
        res = self.node_run(n.name, ["sh", "-c", script])
        left = res.stdout.strip().splitlines()[-1:] or ["?"]
        if left != ["0"]:
            raise LabError(f"{n.name}: could not fill {d}: {left[0]} blocks left; {res.stderr.strip()}")
        return f"filled {n.name}'s binlog volume ({d}, {configs.BINLOG_VOLUME})"

    def _partition(self, n: LabNode, cut: bool) -> str:
        network.set_partitioned(self.spec.bridge_ns, n.name, cut)
        return f"{'cut' if cut else 'reconnected'} {n.name} {'off' if cut else 'to'} the lab network"


FAULTS: dict[str, Callable[[Lab, LabNode], str]] = {
    "kill-mysqld": lambda lab, n: lab._stop(n, "mysqld", hard=True),
    "stop-mysqld": lambda lab, n: lab._stop(n, "mysqld", hard=False),
    "start-mysqld": lambda lab, n: lab._start(n, "mysqld"),
    "freeze-mysqld": lambda lab, n: lab._freeze(n, "mysqld", frozen=True),
    "thaw-mysqld": lambda lab, n: lab._freeze(n, "mysqld", frozen=False),
    "kill-keepalived": lambda lab, n: lab._stop(n, "keepalived", hard=True),
    "stop-keepalived": lambda lab, n: lab._stop(n, "keepalived", hard=False),
    "start-keepalived": lambda lab, n: lab._start(n, "keepalived"),
    "kill-haproxy": lambda lab, n: lab._stop(n, "haproxy", hard=True),
    "stop-haproxy": lambda lab, n: lab._stop(n, "haproxy", hard=False),
    "start-haproxy": lambda lab, n: lab._start(n, "haproxy"),
    "stop-sshd": lambda lab, n: lab._stop(n, "sshd", hard=False),
    "start-sshd": lambda lab, n: lab._start(n, "sshd"),
    "fill-binlog": lambda lab, n: lab._binlog_volume(n, fill=True),
    "free-binlog": lambda lab, n: lab._binlog_volume(n, fill=False),
    "partition": lambda lab, n: lab._partition(n, True),
    "heal": lambda lab, n: lab._partition(n, False),
}


def _hidden_by(target: str) -> list[Path]:
    """This Python's environment and hatui's source, where a node's private `target` would hide
    them (the outermost of each)."""
    import hatui

    paths = {Path(sys.prefix).resolve(), Path(hatui.__file__).resolve().parent.parent}
    under = sorted(p for p in paths if p.is_relative_to(target) and p != Path(target))
    return [p for p in under if not any(p != q and p.is_relative_to(q) for q in under)]


def _mounted_under(path: Path) -> bool:
    p = str(path.resolve()) if path.exists() else str(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == p or line.split()[4].startswith(p + "/") for line in f)
