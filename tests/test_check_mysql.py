"""`hatui check-mysql`, keepalived's health check, without a server: option files, password
handling, the replication verdict on real SHOW SLAVE/REPLICA STATUS output, and the real CLI
against sockets that refuse, hang or drip, so the hard deadline is proven, not assumed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hatui import checkmysql as cm
from hatui.exitcodes import Exit
from hatui.lab import configs
from hatui.lab.spec import default_spec
from hatui.mysql.cli_output import parse_any

FIXTURES = Path(__file__).parent / "fixtures" / "mysql"
ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout: float = 20, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    res = subprocess.run(
        [sys.executable, "-m", "hatui.checkmysql", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    return res, time.monotonic() - t0


def fixture_rows(rel: str) -> list[dict]:
    return parse_any((FIXTURES / rel).read_text())


# ---------------------------------------------------------------- option files


def test_option_file_groups_quotes_comments_and_precedence():
    text = """\
# Debian-style file
[hatui-check-mysql]
user = checker            # this group wins over [client] though it comes first
[client]
user = root
password = "p#ss w\\"rd"
loose-socket = /run/a.sock
port=3307
host
[mysqld]
user = mysql
password = not-for-us
[Client]
socket = '/run/b.sock'   # a later line in the same group wins
"""
    parsed = cm.parse_option_text(text, "x.cnf")
    assert parsed["client"] == {
        "user": "root",
        "password": 'p#ss w"rd',
        "socket": "/run/b.sock",
        "port": "3307",
        "host": None,
    }
    assert "mysqld" not in parsed
    merged = cm.merge_groups(parsed)
    assert merged["user"] == "checker" and merged["password"] == 'p#ss w"rd'


def test_unquoted_value_stops_at_a_comment_and_dashes_equal_underscores():
    parsed = cm.parse_option_text("[client]\nuser=mon # the monitor\nde-fault_x = 1\n", "f")
    assert parsed["client"] == {"user": "mon", "de_fault_x": "1"}


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("user = x\n", 1, "outside any [group]"),
        ("[client]\npassword = 'abc\n", 2, "unterminated"),
        ("[client\n", 1, "bad group header"),
        ("[client]\n!bogus x\n", 2, "unknown directive"),
    ],
)
def test_option_file_errors_name_the_file_and_line(text, line, what):
    with pytest.raises(cm.CheckError, match=rf"^/etc/my\.cnf:{line}: .*{re.escape(what)}"):
        cm.parse_option_text(text, "/etc/my.cnf")


def test_option_file_includes(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.cnf").write_text("[client]\nuser = from-dir\n")
    (tmp_path / "conf.d" / "ignored.txt").write_text("[client]\nuser = no\n")
    (tmp_path / "pw.cnf").write_text("[client]\npassword = included\n")
    main = tmp_path / "main.cnf"
    main.write_text("[client]\nuser = first\n!includedir conf.d\n!include pw.cnf\nsocket = /s\n")
    main.chmod(0o600)
    assert cm.merge_groups(cm.read_option_file(str(main))) == {
        "user": "from-dir",
        "password": "included",
        "socket": "/s",
    }


def test_missing_unreadable_or_world_writable_option_file_fails_naming_it(tmp_path, capsys):
    missing = tmp_path / "nope.cnf"
    assert cm.main(["--defaults-file", str(missing), "--socket", "/nonexistent"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("check-mysql: FAIL: ") and f"option file {missing} does not exist" in err
    assert err.count("\n") == 1

    ww = tmp_path / "ww.cnf"
    ww.write_text("[client]\nuser = x\n")
    ww.chmod(0o666)
    with pytest.raises(cm.CheckError, match=f"{ww} is world-writable"):
        cm.read_option_file(str(ww))
    with pytest.raises(cm.CheckError, match=f"option file {tmp_path} is a directory"):
        cm.read_option_file(str(tmp_path))


def test_bad_port_in_option_file_names_the_file():
    with pytest.raises(cm.CheckError, match=r"option file /x\.cnf: port 'abc' is not a number"):
        cm.resolve_target({"port": "abc"}, source="option file /x.cnf")
    with pytest.raises(cm.CheckError, match=r"option file /x\.cnf: port 0 is out of range"):
        cm.resolve_target({"port": "0"}, source="option file /x.cnf")


# ---------------------------------------------------------------- passwords


def test_password_file_first_line_and_permission_refusal(tmp_path, capsys):
    pw = tmp_path / "monitor.pw"
    pw.write_text("s3cret-Value\nsecond line\n")
    pw.chmod(0o600)
    assert cm.read_password_file(str(pw)) == "s3cret-Value"
    for mode in (0o640, 0o604, 0o620):
        pw.chmod(mode)
        with pytest.raises(
            cm.CheckError,
            match=rf"password file {pw} is readable or writable by group/other "
            rf"\(mode 0{mode:o}\); refusing it",
        ):
            cm.read_password_file(str(pw))
    pw.chmod(0o644)
    assert cm.main(["--password-file", str(pw), "--socket", "/nonexistent"]) == 1
    err = capsys.readouterr().err
    assert "refusing it" in err and "s3cret" not in err
    with pytest.raises(cm.CheckError, match="does not exist"):
        cm.read_password_file(str(tmp_path / "none"))


def test_there_is_no_password_option_and_a_password_is_never_echoed(capsys):
    options = {s for a in cm.build_parser()._actions for s in a.option_strings}
    assert not {"--password", "-p"} & options
    assert {"--password-env", "--password-file", "--defaults-file"} <= options
    for argv in (["--password", "Hunter2x"], ["--password=Hunter2x"], ["-pHunter2x"], ["-p", "Hunter2x"]):
        assert cm.main(argv) == Exit.USAGE
        err = capsys.readouterr().err
        assert "no --password" in err and "Hunter2x" not in err
    # and argparse's abbreviations do not turn --password into one of the other options
    assert cm.build_parser().allow_abbrev is False


def test_password_env_unset_is_a_clear_failure(capsys, monkeypatch):
    monkeypatch.delenv("HATUI_NO_SUCH_VAR", raising=False)
    assert cm.main(["--password-env", "HATUI_NO_SUCH_VAR", "--socket", "/nonexistent"]) == 1
    assert "environment variable HATUI_NO_SUCH_VAR (--password-env) is not set" in capsys.readouterr().err


def test_target_never_shows_its_password():
    t = cm.resolve_target({"user": "mon", "password": "TopSecret1"})
    assert "TopSecret1" not in repr(t) and "TopSecret1" not in t.where


# ---------------------------------------------------------------- where to connect


def test_flags_override_the_option_file_and_localhost_means_the_socket():
    opts = {"user": "file-user", "password": "file-pw", "socket": "/run/file.sock", "port": "3307"}
    t = cm.resolve_target(opts)
    assert (t.user, t.password, t.socket, t.host) == ("file-user", "file-pw", "/run/file.sock", "localhost")
    t = cm.resolve_target(opts, user="flag-user", password="flag-pw", socket="/run/flag.sock")
    assert (t.user, t.password, t.socket) == ("flag-user", "flag-pw", "/run/flag.sock")
    assert t.where == "socket /run/flag.sock, user flag-user"
    # any other host is TCP, as with the mysql client: the socket is ignored
    t = cm.resolve_target(opts, host="127.0.0.1")
    assert (t.host, t.port, t.socket, t.where) == ("127.0.0.1", 3307, None, "127.0.0.1:3307, user file-user")
    t = cm.resolve_target({"host": "10.0.0.1"}, port=3310)
    assert (t.host, t.port) == ("10.0.0.1", 3310)


def test_default_socket_is_the_first_usual_path_that_exists():
    t = cm.resolve_target({}, socket_exists=lambda p: p == "/var/lib/mysql/mysql.sock")
    assert t.socket == "/var/lib/mysql/mysql.sock"
    assert cm.resolve_target({}, socket_exists=lambda p: False).socket == "/run/mysqld/mysqld.sock"


# ---------------------------------------------------------------- replication verdict


def test_healthy_replicas_on_every_flavor_pass():
    for rel in (
        "mariadb-10.11/show-all-slaves-status.txt",
        "mysql-8.0/show-replica-status.txt",
        "mysql-8.4/show-replica-status.txt",
        "mysql-5.7/show-slave-status.txt",
    ):
        rows = fixture_rows(rel)
        assert rows, rel
        assert cm.replication_problems(rows, max_lag=10) == [], rel


def test_no_channel_is_healthy():
    assert cm.replication_problems([], max_lag=0) == []


def test_sql_error_fails_and_says_why():
    (problem,) = cm.replication_problems(fixture_rows("mysql-5.7/show-slave-status-sql-error.txt"))
    assert problem.startswith("replication from ") and "SQL thread not running (error 1060:" in problem
    assert "Duplicate column name" in problem


def test_io_thread_connecting_to_a_dead_source_is_healthy():
    rows = fixture_rows("mysql-5.7/show-slave-status-io-connecting.txt")
    assert rows[0]["Slave_IO_Running"] == "Connecting"
    assert cm.replication_problems(rows, max_lag=5) == []


def mysql8_row(**kw) -> dict:
    """A MySQL 8 SHOW REPLICA STATUS row as PyMySQL's DictCursor gives it (ints, None)."""
    row = {
        "Channel_Name": "",
        "Source_Host": "10.0.0.1",
        "Source_Port": 3306,
        "Replica_IO_Running": "Yes",
        "Replica_SQL_Running": "Yes",
        "Last_IO_Errno": 0,
        "Last_IO_Error": "",
        "Last_SQL_Errno": 0,
        "Last_SQL_Error": "",
        "Seconds_Behind_Source": 0,
    }
    row.update(kw)
    return row


def mariadb_row(**kw) -> dict:
    row = {
        "Connection_name": "",
        "Master_Host": "198.18.0.11",
        "Master_Port": 3306,
        "Slave_IO_Running": "Yes",
        "Slave_SQL_Running": "Yes",
        "Last_IO_Errno": 0,
        "Last_IO_Error": "",
        "Last_SQL_Errno": 0,
        "Last_SQL_Error": "",
        "Seconds_Behind_Master": 0,
    }
    row.update(kw)
    return row


@pytest.mark.parametrize("make", [mysql8_row, mariadb_row])
def test_io_errors_about_reaching_the_source_never_fail(make):
    io_col = "Replica_IO_Running" if make is mysql8_row else "Slave_IO_Running"
    for errno, msg in (
        (2003, "error connecting to master 'repl@10.0.0.1:3306' - retry-time: 60"),
        (2013, "Lost connection to MySQL server"),
        (2005, "Unknown MySQL server host"),
        (1045, "Access denied for user 'repl'"),
    ):
        for state in ("Connecting", "No"):
            row = make(
                **{
                    io_col: state,
                    "Last_IO_Errno": errno,
                    "Last_IO_Error": msg,
                    ("Seconds_Behind_Source" if make is mysql8_row else "Seconds_Behind_Master"): None,
                }
            )
            assert cm.replication_problems([row], max_lag=5) == [], (errno, state)


@pytest.mark.parametrize("make", [mysql8_row, mariadb_row])
def test_io_thread_stopped_by_a_real_error_fails(make):
    io_col = "Replica_IO_Running" if make is mysql8_row else "Slave_IO_Running"
    row = make(
        **{
            io_col: "No",
            "Last_IO_Errno": 1236,
            "Last_IO_Error": "Got fatal error 1236 from master when reading data from binary log",
        }
    )
    (p,) = cm.replication_problems([row])
    assert "IO thread stopped with error 1236: Got fatal error 1236" in p
    # stopped by hand (no error): the source is simply not being read, this node is fine
    assert cm.replication_problems([make(**{io_col: "No"})]) == []


def test_sql_thread_stopped_or_erroring_fails_on_both_flavors():
    (p,) = cm.replication_problems([mysql8_row(Replica_SQL_Running="No")])
    assert p == "replication from 10.0.0.1:3306: SQL thread not running"
    (p,) = cm.replication_problems([mariadb_row(Last_SQL_Errno=1062, Last_SQL_Error="Duplicate entry '3'")])
    assert p == "replication from 198.18.0.11:3306: SQL thread error 1062: Duplicate entry '3'"


def test_lag_threshold_and_null_lag():
    rows = fixture_rows("mysql-8.0/show-slave-status-lagging.txt")  # Seconds_Behind_Master: 214
    (p,) = cm.replication_problems(rows, max_lag=60)
    assert "214 s behind its source (limit 60 s)" in p
    assert cm.replication_problems(rows, max_lag=214) == []
    assert cm.replication_problems(rows, max_lag=None) == []
    assert cm.replication_problems([mysql8_row(Seconds_Behind_Source=31)], max_lag=30)
    # NULL lag with the applier running (IO reconnecting): not a lag failure
    assert (
        cm.replication_problems([mysql8_row(Seconds_Behind_Source=None, Replica_IO_Running="Connecting")], max_lag=0)
        == []
    )
    # NULL lag with the applier down: one failure, for the applier, not two
    assert (
        len(cm.replication_problems([mariadb_row(Slave_SQL_Running="No", Seconds_Behind_Master=None)], max_lag=0)) == 1
    )


def test_multi_source_channels_are_named():
    rows = [
        mariadb_row(Connection_name="from_db2", Master_Host="198.18.0.12"),
        mariadb_row(Connection_name="from_db4", Master_Host="198.18.0.14", Slave_SQL_Running="No"),
    ]
    assert cm.replication_problems(rows) == ["channel 'from_db4' from 198.18.0.14:3306: SQL thread not running"]


# ---------------------------------------------------------------- command line


def test_usage_errors_exit_with_the_usage_code():
    for args in (
        ["--max-lag", "5"],
        ["--gateway", "10.0.0"],
        ["--gateway", "gw.example"],
        ["--timeout", "0"],
        ["--port", "70000"],
        ["--password-env", "A", "--password-file", "/x"],
    ):
        res, _ = run_cli(*args)
        assert res.returncode == Exit.USAGE, (args, res.stderr)
        assert "hatui check-mysql: error:" in res.stderr


def test_help_explains_the_options():
    res, _ = run_cli("--help")
    assert res.returncode == 0
    for word in (
        "--defaults-file",
        "--password-file",
        "--password-env",
        "--timeout",
        "--replication",
        "--max-lag",
        "--writable",
        "--gateway",
        "--maintenance-file",
        "no --password flag",
        "exit codes",
        "vrrp_script",
    ):
        assert word in res.stdout, word


def test_maintenance_flag_fails_at_once_without_connecting(tmp_path):
    flag = tmp_path / "hatui-maintenance"
    flag.touch()
    res, took = run_cli(
        "--socket",
        str(tmp_path / "no.sock"),
        "--maintenance-file",
        str(flag),
        "--defaults-file",
        str(tmp_path / "not-read.cnf"),
    )
    assert res.returncode == 1
    assert res.stderr == f"check-mysql: FAIL: maintenance flag {flag} present\n"
    assert res.stdout == ""
    flag.unlink()
    res, _ = run_cli("--socket", str(tmp_path / "no.sock"), "--maintenance-file", str(flag))
    assert res.returncode == 1 and "maintenance flag" not in res.stderr
    assert (
        res.stderr == f"check-mysql: FAIL: cannot connect to mysqld (socket {tmp_path / 'no.sock'}): "
        "No such file or directory\n"
    )


def test_connection_refused_fails_fast():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    res, took = run_cli("--host", "127.0.0.1", "--port", str(port), "--timeout", "5")
    assert res.returncode == 1
    assert res.stderr == f"check-mysql: FAIL: cannot connect to mysqld (127.0.0.1:{port}): Connection refused\n"
    assert took < 2.0


class Listener:
    """A local TCP or unix listener that accepts and then says nothing (or drips a byte now and
    then): a hung mysqld, as one that is SIGSTOPped, seen from the client."""

    def __init__(self, drip: float | None = None, path: str | None = None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(path)
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.drip = drip
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
                if self.drip:
                    c.send(b"\xff\xff\x00\x00")  # a handshake packet of 65535 bytes is coming...
            except OSError:
                pass
            if self.drip:
                for c in self.conns:
                    try:
                        c.send(b"\x0a")  # ...one byte at a time, never finishing
                    except OSError:
                        pass
                time.sleep(self.drip)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("drip", [None, 0.2])
def test_a_server_that_never_answers_is_cut_off_by_the_deadline(drip):
    # drip: a byte every 0.2 s defeats a per-read socket timeout; only the hard deadline holds
    lst = Listener(drip=drip)
    port = lst.port
    try:
        res, took = run_cli("--host", "127.0.0.1", "--port", str(port), "--timeout", "1")
    finally:
        lst.close()
    assert res.returncode == 1, res.stderr
    assert res.stderr == (
        f"check-mysql: FAIL: timed out after 1.0 s: mysqld did not complete the connection (127.0.0.1:{port})\n"
    )
    assert took < 1.0 + 0.5, f"took {took:.2f} s"


def test_a_hung_server_on_the_unix_socket_is_cut_off_too(tmp_path):
    path = str(tmp_path / "mysqld.sock")
    lst = Listener(path=path)
    try:
        res, took = run_cli("--socket", path, "--timeout", "0.8", "--user", "mon")
    finally:
        lst.close()
    assert res.returncode == 1
    assert res.stderr == (
        f"check-mysql: FAIL: timed out after 0.8 s: mysqld did not complete the connection (socket {path}, user mon)\n"
    )
    assert took < 0.8 + 0.5


def test_icmp_echo_packets():
    req = cm.icmp_echo_request(0x1234, 1, v6=False)
    assert req[0] == 8 and cm._icmp_checksum(req) == 0  # a valid checksum sums to zero
    assert cm.icmp_echo_request(7, 1, v6=True)[0] == 128
    reply = bytes([0]) + req[1:]
    ip_header = bytes([0x45]) + bytes(19)
    assert cm.is_echo_reply(ip_header + reply, 0x1234, v6=False, raw=True)
    assert not cm.is_echo_reply(ip_header + reply, 0x4321, v6=False, raw=True)  # someone else's
    assert not cm.is_echo_reply(ip_header + req, 0x1234, v6=False, raw=True)  # our own request
    assert cm.is_echo_reply(reply, None, v6=False, raw=False)  # ping socket
    assert cm.is_echo_reply(bytes([129]) + req[1:], None, v6=True, raw=True)


def test_gateway_ping_answers_on_loopback():
    try:
        pings = cm._Pings(["127.0.0.1", "::1"])
    except cm.CheckError as e:
        pytest.skip(f"no way to send ICMP here: {e}")
    try:
        t0 = time.monotonic()
        assert pings.answered(time.monotonic() + 2) in ("127.0.0.1", "::1")
        assert time.monotonic() - t0 < 0.5
    finally:
        pings.close()


def test_gateway_check_runs_beside_the_mysql_check():
    # mysqld is unreachable here, so the run fails; the gateway part must not add to it or hang
    res, took = run_cli("--socket", "/nonexistent/mysqld.sock", "--gateway", "127.0.0.1", "--timeout", "1")
    assert res.returncode == 1 and "cannot connect to mysqld" in res.stderr
    assert "gateway" not in res.stderr and took < 1.5


# ---------------------------------------------------------------- import hygiene and speed

HEAVY = (
    "textual",
    "asyncssh",
    "pydantic",
    "yaml",
    "cryptography",
    "hatui.engine",
    "hatui.cluster",
    "hatui.lab",
    "hatui.mysql",
)


def _probe(code: str) -> list[str]:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()


def test_imports_only_stdlib_and_pymysql_directly_and_through_the_cli():
    heavy = repr(HEAVY)
    direct = _probe(f"""
import sys
from hatui.checkmysql import main
rc = main(['--socket', '/nonexistent/mysqld.sock'])
assert rc == 1, rc
assert 'pymysql' in sys.modules
print(*[m for m in sys.modules if m.startswith({heavy})])
""")
    assert direct == []
    via_cli = _probe(f"""
import sys
from hatui.cli import main
rc = main(['check-mysql', '--socket', '/nonexistent/mysqld.sock'])
assert rc == 1, rc
print(*[m for m in sys.modules if m.startswith({heavy})])
""")
    assert via_cli == []


def test_importtime_of_the_module_run():
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hatui.checkmysql", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert res.returncode == 0
    mods = {line.rsplit("|", 1)[1].strip() for line in res.stderr.splitlines() if "|" in line}
    assert "hatui" in mods and "argparse" in mods
    assert not {m for m in mods if m.split(".")[0] in ("textual", "asyncssh", "pydantic", "yaml", "pymysql")}


def test_rsa_password_exchange_still_works_once_cryptography_is_needed():
    # PyMySQL is imported without `cryptography` (saves ~35 ms a run); the RSA exchange of
    # sha256/caching_sha2 over plain TCP must import it on first use.
    out = _probe("""
import sys
from hatui.checkmysql import _import_pymysql
pymysql = _import_pymysql()
from pymysql import _auth
assert 'cryptography' not in sys.modules
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
enc = _auth.sha2_rsa_encrypt(b'pw', b'0123456789abcdefghij', pem)
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives import hashes
plain = key.decrypt(enc, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
print(plain == _auth._xor_password(b'pw' + b'\\0', b'0123456789abcdefghij'))
""")
    assert out == ["True"]


# ---------------------------------------------------------------- the lab's use of it


def test_lab_check_script_runs_hatui_check_mysql_with_its_option_file():
    script = configs.check_script(python="/opt/venv/bin/python")
    assert script.startswith("#!/bin/sh\n")
    assert (
        "exec /opt/venv/bin/python -m hatui.checkmysql --defaults-file /etc/keepalived/hatui-check.cnf \\\n"
        "    --timeout 1.5 --maintenance-file /etc/keepalived/hatui-maintenance\n"
    ) in script
    assert configs.NODE_CHECK_CNF == "/etc/keepalived/hatui-check.cnf"
    assert configs.NODE_MAINTENANCE_FILE == "/etc/keepalived/hatui-maintenance"
    assert f"exec {sys.executable} -m hatui.checkmysql" in configs.check_script()
    # the wrapper's arguments are valid for the real parser
    args = cm.build_parser().parse_args(
        [
            "--defaults-file",
            configs.NODE_CHECK_CNF,
            "--timeout",
            "1.5",
            "--maintenance-file",
            configs.NODE_MAINTENANCE_FILE,
        ]
    )
    assert args.timeout == 1.5


def test_lab_check_option_file_round_trips_any_password():
    tricky = 'a"b\\c#d e'
    opts = cm.merge_groups(cm.parse_option_text(configs.check_cnf(tricky), "hatui-check.cnf"))
    assert opts == {"user": configs.MONITOR_USER, "password": tricky, "socket": configs.NODE_SOCKET}


def test_lab_vrrp_script_block_is_unchanged():
    spec = default_spec()
    conf = configs.keepalived_conf(spec, spec.node("db1"))
    block = conf[conf.index("vrrp_script chk_mysql {") :]
    block = block[: block.index("}") + 1]
    assert block.split() == [
        "vrrp_script",
        "chk_mysql",
        "{",
        "script",
        f'"{configs.NODE_CHECK_SCRIPT}"',
        "interval",
        "1",
        "timeout",
        "2",
        "fall",
        "2",
        "rise",
        "2",
        "}",
    ]
    assert configs.CHECK_TIMEOUT < 2  # the check reports its own timeout before keepalived kills it
