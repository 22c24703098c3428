"""Regressions for the security audit (issue: a forged binlog escalates privileges through gap
repair, and eleven more findings). Each test reproduces the attack and failed before its fix.
The forged-binlog tests are in test_binlog_dump.py (real tool output) and tests/lab/test_gap_live.py
(end to end); the markup crash in test_app.py; `%` in identifiers in test_rejoin_units.py; the
wallboard's reads in test_readonly.py."""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest

from hatui.cluster import ClusterFileError, load_cluster, load_cluster_text
from hatui.keepalived.conf_parse import MAX_DEPTH, parse
from hatui.keepalived.dump import DumpParseError, parse_json_dump
from hatui.keepalived.redact import redact, redact_config
from hatui.lint.cli import lint_local
from hatui.lint.scripts import classify
from hatui.notify import hook_base_env
from hatui.privatefs import PrivatePathError
from hatui.runbook.audit import AuditLog, operator, read_audit
from hatui.runbook.journal import Journal
from hatui.runbook.lock import RunbookLock
from hatui.runbook.runner import cluster_dir, private_cluster_dir

CLUSTER = """\
name: {name}
topology: dual-master
defaults:
  mysql:
    monitor: {{user: hatui_monitor, password_env: {env}_MONITOR_PW}}
  keepalived:
    priority_file: {pf}
nodes:
  db1: {{host: 198.18.0.11, roles: [mysql, keepalived]}}
  db2: {{host: 198.18.0.12, roles: [mysql, keepalived]}}
"""


def cluster(name="lab", env="A", pf="/etc/keepalived/hatui_priority"):
    return load_cluster_text(CLUSTER.format(name=name, env=env, pf=pf), f"{name}.yml")


# ------------------------------------------------------------------ root shell injection (rejoin)


@pytest.mark.parametrize(
    "pf",
    [
        "'/etc/keepalived/p; touch /tmp/pwned'",
        "'/etc/keepalived/$(id)'",
        "'/etc/keepalived/p`id`'",
        "/etc/../etc/shadow",
        "relative/path",
    ],
)
def test_a_priority_file_that_is_not_a_plain_path_is_refused_with_its_line(pf):
    # rejoin sent `printf ... > {pf}` unquoted through sudo: `;` ran a root command
    with pytest.raises(ClusterFileError) as err:
        cluster(pf=pf)
    text = str(err.value)
    assert "lab.yml:7:" in text and "absolute path on the node" in text


# ------------------------------------------------------------------ state files


def test_state_folders_and_files_are_private(tmp_path):
    base = tmp_path / "state"
    d = private_cluster_dir(base, cluster())
    j = Journal(d / "journal.json", "switchover", {"to": "db2"}, "run1", operator())
    j.save()
    AuditLog(d / "audit.log", cluster="lab", run_id="run1").write("check", text="x")
    RunbookLock(d / "runbook.lock").acquire({"runbook": "switchover"})
    for p in (base, d):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700
    for p in d.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_planted_symlinks_are_never_written_through(tmp_path):
    base = tmp_path / "shared"
    d = private_cluster_dir(base, cluster())
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (d / "audit.log").symlink_to(victim)
    with pytest.raises(PrivatePathError, match="symbolic link"):
        AuditLog(d / "audit.log", cluster="lab", run_id="r").write("check", text="x")
    (d / "journal.json").symlink_to(victim)
    Journal(d / "journal.json", "switchover", {}, "r", "me").save()  # replaces the link itself
    assert victim.read_text() == "untouched" and not (d / "journal.json").is_symlink()
    for name in ("journal.tmp", ".journal.json.tmp"):  # the old fixed temporary name
        (d / name).symlink_to(victim)
    Journal(d / "journal.json", "switchover", {}, "r", "me").save()
    assert victim.read_text() == "untouched"


def test_a_symlinked_or_foreign_state_folder_is_refused(tmp_path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    base = tmp_path / "state"
    base.mkdir()
    (base / "lab").symlink_to(real)
    with pytest.raises(PrivatePathError, match="symbolic link"):
        private_cluster_dir(base, cluster())
    if os.geteuid() == 0:  # a folder of another user (root can make one)
        other = tmp_path / "other"
        other.mkdir()
        os.chown(other, 65534, 65534)
        with pytest.raises(PrivatePathError, match="belongs to uid 65534"):
            private_cluster_dir(other, cluster())


@pytest.mark.parametrize("name", ["..", "."])
def test_a_cluster_named_dot_dot_cannot_escape_the_state_folder(name, tmp_path):
    with pytest.raises(ClusterFileError, match="cluster name"):
        cluster(name=name)
    c = cluster()
    object.__setattr__(c, "name", name)  # even past the model: the folder stays inside
    assert cluster_dir(tmp_path, c).parent == tmp_path and cluster_dir(tmp_path, c).name not in (".", "..")


def test_the_audit_records_the_real_account_not_just_sudo_user(tmp_path, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    who = operator()
    assert who.startswith(pwd.getpwuid(os.getuid()).pw_name + " (sudo from alice)@")
    log = AuditLog(tmp_path / "a" / "audit.log", cluster="lab", run_id="r")
    log.write("check", text="x")
    (entry,) = read_audit(tmp_path / "a" / "audit.log")
    assert entry["uid"] == os.getuid() and "(sudo from alice)" in entry["operator"]
    assert not entry["operator"].startswith("alice")


# ------------------------------------------------------------------ secrets


def test_lint_never_quotes_a_password(tmp_path):
    conf = tmp_path / "ka.conf"
    conf.write_text(
        "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n"
        "  priority 90\n  authentication {auth_type PASSauth_pass s3cr3t99}virtual_ipaddress {\n"
        "    10.0.0.100\n  }\n}\n"
    )
    findings = lint_local([f"db1={conf}"])
    assert any(f.code == "flattened-line" for f in findings)
    assert "s3cr3t99" not in json.dumps([f.__dict__ for f in findings])


@pytest.mark.parametrize(
    "text, secret",
    [
        ("$VRRP_PW=s3cr3t99\nvrrp_instance VI_1 {\n  authentication {\n    auth_pass $VRRP_PW\n", "s3cr3t99"),
        ("  auth_pass1111}", "1111"),
        ("$PASSWORD = hunter22", "hunter22"),
    ],
)
def test_redact_masks_parameter_definitions_and_glued_forms(text, secret):
    assert secret not in redact(text) and secret not in redact_config(text)


def test_redact_config_masks_a_parameter_auth_pass_uses_whatever_its_name():
    text = "$X=abc123\n$IF=eth0\nvrrp_instance VI_1 {\n  authentication {\n    auth_pass ${X}\n  }\n}\n"
    out = redact_config(text)
    assert "abc123" not in out and "$IF=eth0" in out


def test_keepalived_own_truncation_warning_is_not_masked():
    line = "(VI_1) Truncating auth_pass to 8 characters"
    assert redact(line) == line


def test_a_hook_sees_no_password_variable_of_any_open_cluster():
    a, b = cluster(name="a", env="A"), cluster(name="b", env="B")
    env = {"PATH": "/bin", "A_MONITOR_PW": "apw", "B_MONITOR_PW": "bpw"}
    base = hook_base_env(a, env, others=[a, b])
    assert "A_MONITOR_PW" not in base and "B_MONITOR_PW" not in base and base["PATH"] == "/bin"


# ------------------------------------------------------------------ hostile inputs


def test_deeply_nested_blocks_are_reported_not_a_crash(tmp_path, deadline):
    conf = tmp_path / "deep.conf"
    conf.write_text("vrrp_instance VI_1 {\n" + "a {\n" * 500 + "}\n" * 501)
    with deadline(10):
        parsed = parse(str(conf))
        findings = lint_local([str(conf)])
    assert any(p.code == "nesting-too-deep" for p in parsed.problems)
    assert any(f.code == "nesting-too-deep" and f.line == MAX_DEPTH + 1 for f in findings)


def test_a_deeply_nested_json_dump_is_a_parse_error():
    with pytest.raises(DumpParseError, match="nests too deeply"):
        parse_json_dump("[" * 10_000)


def test_includes_that_multiply_are_capped(tmp_path, deadline):
    for i in range(1, 7):
        (tmp_path / f"f{i}.conf").write_text("include f*.conf\n")
    (tmp_path / "main.conf").write_text("include f*.conf\n")
    with deadline(10):  # six files each including all six: 6^8 reads before the cap
        findings = lint_local([str(tmp_path / "main.conf")])
    assert any(f.code == "include-limit" for f in findings)


def test_a_long_one_line_script_is_classified_in_linear_time(deadline):
    script = "mysql " * 8000 + "\n" + "grep mysql " * 5000  # 48 KB and 55 KB lines
    with deadline(2):
        assert classify("/etc/keepalived/check.sh", script) == "process"


def test_a_cluster_file_that_never_ends_is_refused_not_read_whole(deadline):
    with deadline(10), pytest.raises(ClusterFileError, match="larger than 4 MB"):
        load_cluster(Path("/dev/zero"))


# ------------------------------------------------------------------ keepalived's dump file


class FakeKeepalived:
    """A process standing in for keepalived: its TMPDIR is `tmp`, and on SIGUSR1 it writes the
    dump there as keepalived does; `keepalived --signum=JSON` answers SIGUSR1's number."""

    def __init__(self, tmp: Path):
        import signal
        import subprocess
        import sys

        self.dir = tmp / "ka-tmp"
        self.dir.mkdir()
        code = (
            "import os, signal, time\n"
            "def dump(*_):\n"
            "    with open(os.path.join(os.environ['TMPDIR'], 'keepalived.json'), 'w') as f:\n"
            '        f.write(\'[{"iname": "VI_1"}]\')\n'
            "signal.signal(signal.SIGUSR1, dump)\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n"
        )
        env = {**os.environ, "TMPDIR": str(self.dir)}
        self.proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"
        self.pid_file = tmp / "keepalived.pid"
        self.pid_file.write_text(f"{self.proc.pid}\n")
        self.binary = tmp / "keepalived"
        self.binary.write_text(f"#!/bin/sh\necho {int(signal.SIGUSR1)}\n")
        self.binary.chmod(0o755)

    def dump(self):
        import subprocess

        from hatui.collect.vrrpdump import dump_command

        cmd = dump_command("json", pid_file=str(self.pid_file), keepalived=str(self.binary))
        return subprocess.run(["sh", "-c", cmd[len("exec ") :]], capture_output=True, text=True, timeout=10)

    def close(self):
        self.proc.kill()  # the process this test started, by its own handle
        self.proc.wait()


@pytest.fixture
def fake_keepalived(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the dump is read as root (the ownership check needs root to be meaningful)")
    ka = FakeKeepalived(tmp_path)
    yield ka
    ka.close()


def test_the_dump_is_read_from_keepaliveds_own_tmpdir(fake_keepalived):
    from hatui.collect.vrrpdump import split_dump

    res = fake_keepalived.dump()
    assert res.returncode == 0, res.stderr
    assert split_dump(res.stdout) == ("json", '[{"iname": "VI_1"}]')


def test_a_planted_link_at_the_dump_path_is_neither_removed_nor_followed(fake_keepalived, tmp_path):
    # the watch-mode finding: the dump ran as root, removed /tmp/keepalived.json and read whatever
    # stood at that fixed name; a link there pointed the root read (or removal) anywhere
    secret = tmp_path / "secret"
    secret.write_text("root's secret\n")
    link = fake_keepalived.dir / "keepalived.json"
    link.symlink_to(secret)
    res = fake_keepalived.dump()
    assert res.returncode == 7 and "not keepalived's" in res.stderr
    assert "root's secret" not in res.stdout
    assert link.is_symlink() and secret.read_text() == "root's secret\n"
    assert fake_keepalived.proc.poll() is None  # not signalled either


def test_a_dump_file_that_is_not_roots_is_not_read(fake_keepalived):
    planted = fake_keepalived.dir / "keepalived.json"
    planted.write_text('[{"iname": "FORGED"}]')
    os.chown(planted, pwd.getpwnam("nobody").pw_uid, -1)
    res = fake_keepalived.dump()
    assert res.returncode == 7 and "FORGED" not in res.stdout
    assert planted.exists()
