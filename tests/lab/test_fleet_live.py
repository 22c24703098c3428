"""`hatui lab up --clusters N`: independent clusters side by side in one lab, each its own cluster
file, VIP and VRIDs; a fault in one leaves the others alone; `lab down` removes all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hatui.lab import Lab, network
from hatui.lab.lab import saved_spec

from .support import lab_spec, leftovers, own_lab, recorded, require_lab, wait_until


def hatui(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hatui", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_two_clusters_side_by_side_each_with_its_own_file_vip_and_fate():
    require_lab()
    prefix, state = own_lab("fleet")
    state_dir = f"/var/lib/hatui-lab-{state}"
    env = dict(os.environ, HATUI_LAB_PREFIX=prefix, HATUI_LAB_DIR=state_dir)
    lab = Lab(saved_spec(lab_spec(prefix, state)))
    pids = []
    try:
        up = hatui("lab", "up", "--clusters", "2", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        files = up.stdout.split()[-2:]
        assert [os.path.basename(f) for f in files] == ["lab-c1.yml", "lab-c2.yml"]
        lab = Lab(saved_spec(lab_spec(prefix, state)))  # now as built: two clusters
        assert [c.name for c in lab.spec.clusters] == ["lab-c1", "lab-c2"]
        pids = recorded(lab)
        st = json.loads(hatui("lab", "status", "--json", env=env).stdout)
        assert st["up"] and st["options"]["check_interval"] == 5 and len(st["nodes"]) == 6

        def status(path: str) -> dict:
            res = hatui("status", "--json", "--cluster", path, env=env, timeout=60)
            assert "Traceback" not in res.stderr, res.stderr
            return json.loads(res.stdout)

        for k, path in enumerate(files, start=1):
            s = status(path)
            assert s["cluster"] == f"lab-c{k}" and s["writer"] == f"c{k}-db1"
            assert [n["name"] for n in s["nodes"]] == [f"c{k}-db1", f"c{k}-db2", f"c{k}-db3"]
            assert s["exit_code"] == 0 and s["alerts"] == [], s["alerts"]
        c1, c2 = lab.spec.clusters
        assert c1.vip != c2.vip

        def holders(address: str) -> list[str]:
            return [n.name for n in lab.spec.nodes if address in network.addresses(lab.spec.node_ns(n.name))]

        assert holders(c1.vip) == ["c1-db1"] and holders(c2.vip) == ["c2-db1"]
        # a fault in one cluster moves its VIP only (keepalived of the other cluster sees the
        # adverts on the shared bridge, but its own VRID is not theirs)
        assert hatui("lab", "fault", "stop-keepalived", "c1-db1", env=env).returncode == 0
        wait_until("c1's VIP on c1-db2", lambda: holders(c1.vip) == ["c1-db2"], 20)
        assert holders(c2.vip) == ["c2-db1"]
        s2 = status(files[1])
        assert s2["exit_code"] == 0 and s2["writer"] == "c2-db1", s2["alerts"]
    finally:
        down = hatui("lab", "down", env=env)
        assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers(lab, pids) == []
