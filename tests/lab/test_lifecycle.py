"""`lab up` and `lab down` leave nothing behind: not after success, a failed up, or a failing test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatui.lab import Lab, LabError, procs

from .support import lab_spec, leftovers, own_lab, recorded, require_lab

HERE = Path(__file__).parent


def test_up_then_down_leaves_nothing_and_both_are_idempotent():
    require_lab()
    lab = Lab(lab_spec(*own_lab("l")))
    try:
        assert lab.up() is True
        pids = recorded(lab)
        assert len(pids) == 3 + 3 + 3 + 2  # holders, sshd, mysqld, keepalived on the two masters
        assert all(procs.is_alive(r) for r in pids)
        assert lab.up() is False
        seen_while_up = " ".join(leftovers(lab, pids))
        # the detector sees namespaces, processes and the nodes' private mounts while up
        assert f"namespace {lab.spec.prefix}db1" in seen_while_up and "process db1-mysqld" in seen_while_up
        assert "on /etc/keepalived" in seen_while_up
    finally:
        assert lab.down() in (True, False)
    assert leftovers(lab, pids) == []
    assert lab.down() is False  # nothing left to remove


def test_a_failed_up_removes_what_it_built(monkeypatch):
    require_lab()
    lab = Lab(lab_spec(*own_lab("f")))
    seen: list[procs.ProcRecord] = []

    def broken(self, db, timeout=30.0):
        seen.extend(recorded(self))  # by now namespaces, holders, sshd and mysqld all exist
        raise LabError("injected failure")

    monkeypatch.setattr(Lab, "_wait_replicated", broken)
    with pytest.raises(LabError, match="injected failure"):
        lab.up()
    assert len(seen) == 9
    assert leftovers(lab, seen) == []


def test_the_lab_suite_cleans_up_after_a_failing_test(tmp_path):
    require_lab()
    prefix, name = own_lab("s")
    env = {**os.environ, "HATUI_TEST_PREFIX": prefix, "HATUI_TEST_NAME": name}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "selfcheck_failing.py")],
        env=env,
        cwd=HERE.parent.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "1 failed" in res.stdout, res.stdout[-2000:]
    lab = Lab(lab_spec(prefix, name))
    assert leftovers(lab, []) == []


def test_a_failing_lab_test_that_breaks_replication_does_not_fail_the_next(tmp_path):
    """The cascade that once turned one failure into 13: the next test starts from a verified
    canonical lab, and the summary names the test that left it broken."""
    require_lab()
    prefix, name = own_lab("c")
    env = {**os.environ, "HATUI_TEST_PREFIX": prefix, "HATUI_TEST_NAME": name}
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "selfcheck_cascade.py")],
        env=env,
        cwd=HERE.parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = res.stdout
    assert "1 failed, 1 passed" in out, out[-3000:]
    assert "FAILED tests/lab/selfcheck_cascade.py::test_breaks_replication_and_fails" in out
    summary = out.split("lab tests that left the lab otherwise than they found it", 1)[1]
    assert "selfcheck_cascade.py::test_breaks_replication_and_fails: the lab was" in summary
    assert "db3's replication from db1: IO Yes, SQL No (Could not execute Write_rows" in summary
    assert leftovers(Lab(lab_spec(prefix, name)), []) == []
