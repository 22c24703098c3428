"""Lab pieces that need no root: renderers, preflight messages, PID records."""

from __future__ import annotations

import subprocess
import time

import pytest

from hatui.cluster import load_cluster_text
from hatui.lab import configs, preflight, procs
from hatui.lab.spec import default_spec


def test_default_topology_is_the_seeds_dual_master_with_a_replica():
    spec = default_spec(subnet="198.18.0.0/24", state_dir="/x", prefix="hatui-")
    assert [(n.name, n.address, n.source) for n in spec.nodes] == [
        ("db1", "198.18.0.11", "db2"),
        ("db2", "198.18.0.12", "db1"),
        ("db3", "198.18.0.13", "db1"),
    ]
    assert spec.vip == "198.18.0.100" and spec.operator_address == "198.18.0.2"
    assert spec.all_namespaces == ["hatui-br", "hatui-op", "hatui-db1", "hatui-db2", "hatui-db3"]


def test_small_or_bad_subnets_are_refused():
    with pytest.raises(ValueError, match="too small"):
        default_spec(subnet="198.18.0.0/28")


def test_keepalived_config_follows_the_seeds():
    spec = default_spec()
    db1, db2 = spec.node("db1"), spec.node("db2")
    c1, c2 = configs.keepalived_conf(spec, db1), configs.keepalived_conf(spec, db2)
    for c in (c1, c2):
        assert "state BACKUP" in c and "nopreempt" in c and "advert_int 1" in c
        assert f"virtual_router_id {spec.vrid}" in c and "chk_mysql" in c
    assert "priority 100" in c1 and "priority 90" in c2
    assert len(spec.vrrp_pass) <= 8  # keepalived silently truncates longer passwords


def test_mysql_config_gives_each_node_its_own_identity():
    spec = default_spec()
    cnfs = {n.name: configs.my_cnf(n) for n in spec.nodes}
    assert "server_id = 1" in cnfs["db1"] and "server_id = 2" in cnfs["db2"]
    assert "auto_increment_offset = 1" in cnfs["db1"] and "auto_increment_offset = 2" in cnfs["db2"]
    # every server starts read-only: only keepalived's notify script makes the VRRP master writable
    assert all("read_only = ON" in c for c in cnfs.values())
    assert all("log_slave_updates = ON" in c and "log_bin" in c for c in cnfs.values())


def test_replication_points_at_real_addresses_never_the_vip():
    spec = default_spec()
    sql = configs.replication_sql(spec, spec.node("db3"), "pw")
    assert "MASTER_HOST='198.18.0.11'" in sql and spec.vip not in sql
    assert "MASTER_USE_GTID=slave_pos" in sql


def test_passwords_with_quotes_are_escaped_in_sql():
    sql = configs.users_sql({"repl": "a'b", "monitor": "m", "admin": "x\\y", "app": "p"})
    assert "IDENTIFIED BY 'a\\'b'" in sql and "IDENTIFIED BY 'x\\\\y'" in sql
    assert sql.startswith("SET SESSION sql_log_bin = 0;")


def test_the_generated_cluster_file_validates():
    spec = default_spec(state_dir="/var/lib/hatui-lab")
    cluster = load_cluster_text(configs.cluster_yaml(spec), "lab.yml")
    assert cluster.namespace == "hatui-op" and cluster.topology == "dual-master"
    assert sorted(cluster.nodes) == ["db1", "db2", "db3"]
    assert cluster.warnings == []  # no inline secrets


def test_not_root_gets_a_clear_message(monkeypatch):
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    with pytest.raises(preflight.LabError, match=r"the lab needs root: it creates network namespaces"):
        preflight.check()


def test_missing_packages_are_named_with_the_install_command(monkeypatch):
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 0)
    monkeypatch.setattr(preflight, "find", lambda b: None if b in ("keepalived", "mariadbd") else "/x")
    with pytest.raises(preflight.LabError) as err:
        preflight.check()
    assert "apt-get install -y keepalived mariadb-server" in str(err.value)


def test_a_reused_pid_is_not_mistaken_for_our_process():
    p = subprocess.Popen(["sleep", "30"])
    try:
        rec = procs.record("sleeper", p, ["sleep", "30"])
        assert procs.is_alive(rec)
        impostor = procs.ProcRecord("sleeper", rec.pid, rec.start_time + 1, rec.argv)
        assert not procs.is_alive(impostor)
        assert procs.signal_rec(impostor, 9) is False  # never signals a stranger
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
    assert not procs.is_alive(rec)


def test_stop_escalates_to_sigkill():
    p = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 30"], start_new_session=True)
    rec = procs.record("stubborn", p, [])
    time.sleep(0.1)
    t0 = time.monotonic()
    procs.stop(rec, timeout=0.5)
    assert not procs.is_alive(rec) and time.monotonic() - t0 < 5


def test_keepalived_notify_script_makes_only_the_master_writable():
    spec = default_spec()
    conf = configs.keepalived_conf(spec, spec.node("db1"))
    for state in ("master", "backup", "fault", "stop"):
        assert f'notify_{state} "{configs.NODE_NOTIFY_SCRIPT} {state}"' in conf
    script = configs.notify_script()
    assert "master) v=OFF" in script and "backup|fault|stop) v=ON" in script
