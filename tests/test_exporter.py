"""`hatui exporter`'s metrics from recorded states (no I/O), and its Prometheus rules file checked
by Prometheus' own promtool. tests/lab/test_exporter_live.py scrapes it with a real Prometheus."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hatui.exporter import Exporter, parse_listen
from hatui.views.feed import RecordedFeed, live_feed
from tests.recorded import lab_cluster, lab_state

RULES = Path(__file__).parent.parent / "docs" / "prometheus" / "hatui.rules.yml"


def scrape(**state) -> dict[str, list[tuple[dict[str, str], float]]]:
    cluster = lab_cluster()
    ex = Exporter([cluster], feeds=[RecordedFeed(lab_state(cluster, **state))])
    ex.tick()
    text = generate_latest(ex.registry).decode()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):  # Prometheus' own parser reads it
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(m, name: str, **labels: str) -> float | None:
    for lab, v in m.get(name, []):
        if all(lab.get(k) == x for k, x in labels.items()):
            return v
    return None


def test_a_healthy_cluster_as_metrics():
    m = scrape()
    assert value(m, "hatui_mysql_writer", node="db1") == 1 and value(m, "hatui_mysql_writer", node="db2") == 0
    assert value(m, "hatui_mysql_read_only", node="db2") == 1
    assert value(m, "hatui_vip_holders", address="198.18.0.100", role="writer") == 1
    assert value(m, "hatui_vip_on_writer", address="198.18.0.100") == 1
    assert value(m, "hatui_vrrp_state", node="db1", instance="VI_1", state="MASTER") == 1
    assert value(m, "hatui_vrrp_state", node="db1", instance="VI_1", state="BACKUP") == 0
    assert value(m, "hatui_replication_io_running", node="db3", source="198.18.0.11") == 1
    assert value(m, "hatui_replication_lag_seconds", node="db3") == 0
    assert value(m, "hatui_incidents") == 0 and value(m, "hatui_alerts", severity="critical") == 0
    assert value(m, "hatui_mysql_gtid_executed_transactions", node="db1") == 42
    assert all(lab["cluster"] == lab_cluster().name for fam in m.values() for lab, _ in fam)


def test_a_split_brain_is_an_incident_and_two_holders():
    m = scrape(split_brain=True)
    assert value(m, "hatui_vip_holders", address="198.18.0.100") == 2
    assert value(m, "hatui_vip_held", address="198.18.0.100", node="db2") == 1
    assert value(m, "hatui_incident", code="split_brain") == 1
    assert value(m, "hatui_alert", code="vip.split_brain", severity="critical") == 1
    assert value(m, "hatui_alerts", severity="critical") >= 1


def test_the_exporter_is_read_only_like_the_wallboard():
    ex = Exporter([lab_cluster()])
    assert all(f.read_only is not None for f in ex.feeds)  # every command through the allowlist
    assert type(ex.feeds[0]) is type(live_feed(lab_cluster(), watch=True))


def test_listen_addresses():
    assert parse_listen("9877") == ("127.0.0.1", 9877)
    assert parse_listen("0.0.0.0:9100") == ("0.0.0.0", 9100)
    assert parse_listen("[::1]:9100") == ("::1", 9100)
    with pytest.raises(ValueError, match="ADDR:PORT"):
        parse_listen("localhost")


def test_the_rules_file_passes_promtool():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("HATUI_REQUIRE_LAB"):
            pytest.fail("promtool is missing: dev/install.sh installs Debian's prometheus")
        pytest.skip("promtool is missing (Debian's prometheus package)")
    r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 10 rules found" in r.stdout
