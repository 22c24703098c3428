"""`hatui lint --cluster` against the real lab: the lab's configs are clean, and a deliberate
drift, an included process-only check or a broken interface is found exactly, with the node's
own `keepalived -t` verdict. Edits are made to the config files only (keepalived is not
reloaded) and undone after each test."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest


def lint(lab, *extra: str) -> tuple[list[dict], int]:
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "lint", "--cluster", str(lab.spec.cluster_file), "--json", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        return json.loads(res.stdout), res.returncode
    except json.JSONDecodeError:
        pytest.fail(f"lint printed no JSON (exit {res.returncode}):\n{res.stdout}\n{res.stderr}")


def conf_dir(lab, node: str) -> Path:
    # the node's /etc/keepalived is a private mount of this host folder
    return lab.spec.node_dir(node) / "keepalived"


@contextmanager
def edited(path: Path, change):
    before = path.read_bytes() if path.exists() else None
    try:
        path.write_text(change(before.decode() if before is not None else ""))
        yield
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_lab_configs_are_clean(lab):
    findings, code = lint(lab)
    assert (findings, code) == ([], 0)
    res = subprocess.run(
        [sys.executable, "-m", "hatui", "lint", "--cluster", str(lab.spec.cluster_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0 and "cluster lab: no findings" in res.stdout


def test_advert_int_drift_on_one_node_is_exactly_what_is_found(lab):
    conf = conf_dir(lab, "db2") / "keepalived.conf"
    line = line_of(conf, "advert_int 1")
    with edited(conf, lambda t: t.replace("advert_int 1", "advert_int 2", 1)):
        findings, code = lint(lab)
    got = [(f["severity"], f["node"], f["file"], f["line"], f["code"]) for f in findings]
    # two nodes that disagree: both lines are named, each with the other's value
    assert got == [
        ("error", "db1", "/etc/keepalived/keepalived.conf", line, "advert-int-mismatch"),
        ("error", "db2", "/etc/keepalived/keepalived.conf", line, "advert-int-mismatch"),
    ]
    assert "advert_int 2 here, but advert_int 1 on db1" in findings[1]["message"]
    assert code == 2
    assert lint(lab) == ([], 0)  # undone


def test_included_process_only_check_is_read_from_the_node(lab):
    d = conf_dir(lab, "db1")
    (d / "conf.d").mkdir(exist_ok=True)
    try:
        script = d / "conf.d" / "chk_proc.sh"
        script.write_text("#!/bin/sh\n# seed 000's idea of a health check\npidof mariadbd >/dev/null\n")
        script.chmod(0o755)
        extra = d / "conf.d" / "extra.conf"
        extra.write_text('vrrp_script chk_proc {\n    script "/etc/keepalived/conf.d/chk_proc.sh"\n    interval 2\n}\n')
        with edited(d / "keepalived.conf", lambda t: t + "include conf.d/*.conf\n"):
            findings, code = lint(lab)
    finally:
        for f in (d / "conf.d").iterdir():
            f.unlink()
        (d / "conf.d").rmdir()
    got = [(f["node"], f["file"], f["line"], f["code"]) for f in findings if f["code"] != "keepalived-t"]
    assert got == [("db1", "/etc/keepalived/conf.d/extra.conf", 2, "check-process-only")]
    assert code == 1


def test_broken_interface_is_found_by_hatui_and_by_keepalived_t_on_the_node(lab):
    conf = conf_dir(lab, "db2") / "keepalived.conf"
    line = line_of(conf, "interface eth0")
    with edited(conf, lambda t: t.replace("interface eth0", "interface eth9", 1)):
        findings, code = lint(lab)
        no_t, _ = lint(lab, "--no-keepalived-t")
    got = {(f["node"], f["line"], f["code"]) for f in findings}
    assert ("db2", line, "interface-missing") in got
    t = [f for f in findings if f["code"] == "keepalived-t"]
    assert t and all(f["node"] == "db2" and f["severity"] == "error" for f in t)
    assert any("eth9" in f["message"] for f in t)  # keepalived's own words, from the node
    assert not [f for f in no_t if f["code"] == "keepalived-t"]
    assert code == 2


def test_unreachable_node_degrades_to_a_finding(lab):
    lab.fault("stop-sshd", "db2")
    findings, code = lint(lab)
    assert code == 3
    assert [(f["node"], f["code"]) for f in findings] == [("db2", "node-unreachable")]
