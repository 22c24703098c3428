"""hatui enters the network namespace its cluster file names: in place when it runs alone (no
second interpreter start), by `ip netns exec` when threads already run (they would stay out)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SNIPPET = textwrap.dedent(
    """
    import os, sys, threading
    from hatui.netns_exec import in_namespace, reexec_in
    ns, cluster, threaded = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    if threaded:  # a thread that would be left outside: hatui must start again inside instead
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
    print("before", in_namespace(ns), flush=True)
    reexec_in(ns, ["validate", "--cluster", cluster])
    print("after", os.getpid(), in_namespace(ns), flush=True)
    """
)


def run(lab, threaded: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HATUI_IN_NETNS"}
    return subprocess.run(
        [sys.executable, "-c", SNIPPET, lab.spec.operator_ns, str(lab.spec.cluster_file), "1" if threaded else "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_a_lone_process_enters_in_place(lab):
    res = run(lab, threaded=False)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "before False"  # it started outside
    assert lines[1].startswith("after ") and lines[1].endswith(" True")  # and goes on inside, same process


def test_a_process_with_threads_starts_again_inside(lab):
    res = run(lab, threaded=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "before False"
    assert not any(x.startswith("after") for x in lines)  # replaced: the snippet never went on
    assert "ok: cluster" in res.stdout  # the command, run again inside the namespace
