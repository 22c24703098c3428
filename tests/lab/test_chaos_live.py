"""The chaos soak, short (bench/chaos.py --minutes 2 on the suite's lab): a seeded schedule of the
lab's faults under a writing client, with the console and the wallboard watching. Every fault must
raise the right incident and clear after its repair, neither app may die, and no row the client
was told committed may be missing from the writer. The 30-minute soaks are run by hand (README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hatui.lab.chaos import CLEAR_WITHIN, DETECT_WITHIN

from .support import SLACK

ROOT = Path(__file__).resolve().parents[2]
# a fixed schedule, so a red run can be replayed; HATUI_CHAOS_SEED tries another. This one puts a
# writer's and a standby's faults, keepalived's, sshd's and a hung mysqld in the first cycles; a
# full binlog volume (a minute to clear: MariaDB's retry) comes sixth, after two minutes on most
# machines (test_status_live has a test of its own for it)
SEED = int(os.environ.get("HATUI_CHAOS_SEED", "20261213"))
MINUTES = float(os.environ.get("HATUI_CHAOS_MINUTES", "2"))


@pytest.mark.timeout(int(MINUTES * 60) + 600)
def test_a_two_minute_chaos_soak_sees_every_fault_loses_no_row_and_no_app_dies(lab, tmp_path):
    spec = lab.spec
    env = dict(
        os.environ,
        HATUI_LAB_PREFIX=spec.prefix,
        HATUI_LAB_DIR=str(spec.state_dir),
        HATUI_LAB_SUBNET=spec.subnet,
    )
    out = tmp_path / "report.json"
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--use-lab", "--minutes", str(MINUTES)]
        + ["--seed", str(SEED), "--json", str(out), "--out", str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=MINUTES * 60 + 540,
        env=env,
    )
    print(r.stdout[-20000:], r.stderr[-5000:])
    assert out.exists(), f"the soak wrote no report (exit {r.returncode}): {r.stderr[-2000:]}"
    rep = json.loads(out.read_text())
    faults = [f for c in rep["cycles"] for f in c["faults"]]
    summary = "\n".join(line for line in r.stdout.splitlines() if line.startswith(("chaos soak", "  ")))
    assert rep["console_crashes"] == 0 and rep["wallboard_crashes"] == 0, summary
    assert [c["error"] for c in rep["cycles"] if c["error"]] == [], summary
    assert len(faults) >= 3, summary  # two minutes hold a few cycles even on a busy machine
    lost = [(c["number"], c["lost"], c["lost_gtids"]) for c in rep["cycles"] if c["lost"]]
    assert lost == [], summary
    assert sum(c["acked"] for c in rep["cycles"]) > 100, summary
    for f in faults:
        if f["quiet"] is not None:  # sshd stopped: the console's sessions live on, nothing to show
            assert f["quiet"] and f["cleared"] is not None, (f, summary)
            continue
        assert f["detected"] is not None and f["detected"] <= DETECT_WITHIN + SLACK, (f, summary)
        assert f["wallboard"] is not None, (f, summary)
        # a full binlog volume's bound is MariaDB's minute between retries (FaultKind.clear_within)
        bound = f.get("clear_within", CLEAR_WITHIN)
        assert f["cleared"] is not None and f["cleared"] <= bound + SLACK, (f, summary)
    assert [c["stuck"] for c in rep["cycles"] if c["stuck"]] == [], summary
    assert r.returncode == 0, summary
