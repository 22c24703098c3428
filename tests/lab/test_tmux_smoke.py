"""Smoke test: the real `hatui --cluster` in a real terminal (tmux), read back with capture-pane."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen_until(session: str, needles: list[str], timeout: float) -> str:
    t0 = time.monotonic()
    text = ""
    while time.monotonic() - t0 < timeout:
        text = tmux("capture-pane", "-t", session, "-p")
        if all(n in text for n in needles):
            return text
        time.sleep(0.2)
    pytest.fail(f"never saw {needles} on the terminal; it showed:\n{text}")


def test_console_in_tmux_shows_the_lab_takes_keys_and_quits_cleanly(lab, tmp_path):
    session = f"hatui-smoke-{uuid.uuid4().hex[:6]}"
    status = tmp_path / "exit"
    cmd = f"{sys.executable} -m hatui --cluster {lab.spec.cluster_file}; echo $? > {status}; sleep 30"
    tmux("new-session", "-d", "-s", session, cmd)  # 80x24, the smallest size we support
    try:
        text = screen_until(session, ["hatui · lab", "writer", "MASTER", "Replication"], 20)
        assert "db1" in text and "db3" in text and "Traceback" not in text
        tmux("send-keys", "-t", session, "Down")  # moves the node table's cursor
        time.sleep(0.5)
        tmux("send-keys", "-t", session, "q")
        t0 = time.monotonic()
        # ~0.5 s here; a MySQL poll in flight is waited for (up to its read timeout) on a busy machine
        while not status.exists() and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        print(f"quit took {time.monotonic() - t0:.1f} s")
        assert status.exists() and status.read_text().strip() == "0", tmux("capture-pane", "-t", session, "-p")
        after = tmux("capture-pane", "-t", session, "-p")
        assert "Traceback" not in after
    finally:
        tmux("kill-session", "-t", session)
