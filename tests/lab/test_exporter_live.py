"""`hatui exporter` scraped by a real Prometheus (Debian's) on the lab, both in the lab's
operator namespace: after `kill-mysqld` on the writer, a Prometheus query returns the incident
within two scrape intervals of the exporter publishing it, and the rules file loads."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .support import SLACK, heal, in_operator_ns, vip_holders, wait_until
from .support import stop_process as stop

RULES = Path(__file__).parent.parent.parent / "docs" / "prometheus" / "hatui.rules.yml"
SCRAPE = 1.0  # seconds


# never through a proxy from the environment: only the operator namespace's own loopback
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str) -> str:
    with _OPENER.open(url, timeout=3) as r:
        return r.read().decode()


def query(lab, port: int, promql: str) -> list[dict]:
    with in_operator_ns(lab):
        body = get(f"http://127.0.0.1:{port}/api/v1/query?query=" + urllib.parse.quote(promql))
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]["result"]


def metrics(lab, port: int) -> str:
    with in_operator_ns(lab):
        return get(f"http://127.0.0.1:{port}/metrics")


def test_prometheus_sees_the_dead_writer_incident_within_two_scrapes(lab, tmp_path):
    if not Path("/usr/bin/prometheus").exists():
        pytest.fail("Debian's prometheus is missing: dev/install.sh installs it")
    port = random.randint(20000, 29000)
    pport = port + 1
    exporter = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hatui",
            "exporter",
            "--cluster",
            str(lab.spec.cluster_file),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, HATUI_STATE_DIR=str(tmp_path / "state")),
    )
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(
        f"global:\n  scrape_interval: {SCRAPE:g}s\n  evaluation_interval: {SCRAPE:g}s\n"
        f"rule_files: [{RULES}]\n"
        f"scrape_configs:\n  - job_name: hatui\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    prom = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            lab.spec.operator_ns,
            "/usr/bin/prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{pport}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    (writer,) = vip_holders(lab)
    try:
        wait_until(
            "Prometheus to have the writer from hatui",
            lambda: [r for r in _safe(query, lab, pport, "hatui_mysql_writer == 1") if r["metric"]["node"] == writer],
            30 * SLACK,
            every=0.2,
        )
        rules = json.loads(_in_ns(lab, f"http://127.0.0.1:{pport}/api/v1/rules"))
        assert sum(len(g["rules"]) for g in rules["data"]["groups"]) == 10  # the rules file loaded

        lab.fault("kill-mysqld", writer)
        t_kill = time.monotonic()
        wait_until(
            "the exporter to publish the incident",
            lambda: "hatui_incident{" in _safe(metrics, lab, port, default="") and "dead_writer" in metrics(lab, port),
            30 * SLACK,
            every=0.05,
        )
        t_exported = time.monotonic()
        wait_until(
            "Prometheus to return the incident",
            lambda: [
                r for r in _safe(query, lab, pport, 'hatui_incident{code=~"dead_writer.*"}') if r["value"][1] == "1"
            ],
            10 * SLACK,
            every=0.05,
        )
        t_prom = time.monotonic()
        print(f"kill -> exporter {t_exported - t_kill:.2f} s; exporter -> Prometheus query {t_prom - t_exported:.2f} s")
        assert t_prom - t_exported <= 2 * SCRAPE * SLACK + 0.5  # within two scrape intervals
    finally:
        stop(exporter)
        stop(prom)
        lab.fault("start-mysqld", writer)
        heal(lab)
    out = exporter.stdout.read() if exporter.stdout else ""
    assert "Traceback" not in out, out


def _safe(fn, *args, default=()):
    try:
        return fn(*args)
    except OSError:
        return default  # not listening yet


def _in_ns(lab, url: str) -> str:
    with in_operator_ns(lab):
        return get(url)
