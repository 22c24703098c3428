"""The `hatui` command as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hatui import cli
from hatui.exitcodes import Exit
from hatui.lab import preflight

from .ptyrun import PtyApp, hatui_argv

SAMPLES = Path(__file__).parent.parent / "sample_clusters"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hatui", *args], capture_output=True, text=True, timeout=60)


def test_help_documents_every_subcommand():
    out = run("--help").stdout
    for words in (
        "--cluster",
        "--watch",
        "validate --cluster FILE",
        "lab up",
        "lab down",
        "lab status",
        "lab fault KIND NODE",
        "lab console",
        "kill-mysqld",
        "partition",
    ):
        assert words in out, words
    lab_help = run("lab", "fault", "--help").stdout
    assert "kill-keepalived" in lab_help and "start-sshd" in lab_help


def test_validate_accepts_the_samples():
    res = run("validate", "--cluster", str(SAMPLES / "dual-master.yml"))
    assert res.returncode == 0, res.stderr
    assert "ok: cluster" in res.stdout and "dual-master" in res.stdout


def test_validate_and_console_report_a_broken_file_with_its_location(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\ntopology: dual_master\nnodes:\n  db1: {host: 10.0.0.1, roles: [mysql]}\n")
    for args in (("validate", "--cluster", str(bad)), ("--cluster", str(bad))):
        res = run(*args)
        assert res.returncode == Exit.UNKNOWN  # the one table: a file that does not load
        assert f"{bad}:2:" in res.stderr and "dual_master" in res.stderr
        assert "Traceback" not in res.stderr


def test_a_missing_cluster_file_is_a_clear_error(tmp_path):
    res = run("--cluster", str(tmp_path / "nope.yml"))
    assert res.returncode == Exit.UNKNOWN and "nope.yml" in res.stderr and "Traceback" not in res.stderr


def test_lab_without_root_says_why_and_exits_nonzero(monkeypatch, capsys):
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    for action in (["up"], ["down"], ["status"], ["fault", "kill-mysqld", "db1"]):
        assert cli.main(["lab", *action]) == Exit.WARNING  # refused: nothing was done
        err = capsys.readouterr().err
        assert "needs root" in err and "network namespaces" in err and "Traceback" not in err


def test_unknown_fault_is_refused_by_the_parser():
    res = run("lab", "fault", "explode", "db1")
    assert res.returncode == Exit.USAGE and "invalid choice: 'explode'" in res.stderr


LOOPBACK_CLUSTER = """\
# Every address is loopback with nothing listening on port 1: the console really connects,
# is refused at once, and no packet leaves this machine (the tests' network rule).
name: loop
topology: dual-master
defaults:
  ssh: {port: 1, connect_timeout: 1}
  mysql: {monitor: {user: m, password_env: HATUI_TEST_NO_SUCH_VAR}}
  keepalived: {log: {file: /var/log/keepalived.log}}
nodes:
  db1: {host: 127.0.0.1, roles: [mysql, keepalived]}
  db2: {host: 127.0.0.2, roles: [mysql, keepalived]}
vips:
  - {address: 127.0.0.100, instance: VI_1, role: writer}
"""


def test_console_starts_on_a_cluster_file_shows_unreachable_nodes_and_quits_with_q(tmp_path):
    f = tmp_path / "loop.yml"
    f.write_text(LOOPBACK_CLUSTER)
    app = PtyApp(hatui_argv("--cluster", str(f)))
    try:
        app.read_until(["db1", "db2", "ssh.unreachable", "CRITICAL"])
        app.send("q")
        assert app.wait() == 0
    finally:
        app.close()


def test_lab_fault_lists_exactly_the_faults_the_lab_can_inject():
    # the parser names them without importing the lab's machinery; the lab does each one
    from hatui.lab import FAULTS
    from hatui.lab.spec import FAULT_KINDS

    assert tuple(FAULTS) == FAULT_KINDS


def test_a_command_starts_without_the_labs_machinery():
    # pyroute2 and the lab's set-up cost 0.25 s of every command's start; only `lab` needs them
    code = (
        "import sys; from hatui.cli import _parser; _parser(); import hatui.runbook.cli; "
        "print(sorted(m for m in sys.modules if m == 'pyroute2' or m == 'hatui.lab.lab'))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
