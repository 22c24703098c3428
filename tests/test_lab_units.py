"""Lab pieces that need no root: renderers, preflight messages, PID records."""

from __future__ import annotations

import subprocess
import time

import pytest

from hatui.cluster import load_cluster_text
from hatui.lab import configs, preflight, procs
from hatui.lab.spec import LabOptions, default_spec
from hatui.lint.cli import lint_local


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
    cnfs = {n.name: configs.my_cnf(spec, n) for n in spec.nodes}
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


# ------------------------------------------------------------------ every topology and option

COMBOS = [
    ("dual-master", LabOptions()),
    ("primary-replicas", LabOptions()),
    ("mmm", LabOptions()),
    ("dual-master", LabOptions(gtid=False, vip_mover="flag-file", unicast=True, old_host=True)),
    ("dual-master", LabOptions(dual_vip=True, vip_mover="none")),
    ("primary-replicas", LabOptions(dual_vip=True, unicast=True)),
]


@pytest.mark.parametrize("topology, options", COMBOS, ids=lambda x: x if isinstance(x, str) else x.describe())
def test_every_topology_gives_a_valid_cluster_file_and_lint_clean_configs(topology, options, tmp_path):
    spec = default_spec(topology=topology, options=options, state_dir=tmp_path / "lab")
    cluster = load_cluster_text(configs.cluster_yaml(spec), "lab.yml")
    assert cluster.topology == topology and set(cluster.nodes) == {n.name for n in spec.nodes}
    assert {str(v.address) for v in cluster.vips} == {v.address for v in spec.vips}
    # each node's keepalived.conf, with the scripts it names, read by hatui lint as a node's /etc
    root = tmp_path / "root"
    (root / "etc" / "keepalived").mkdir(parents=True)
    for name, text in (
        ("check_mysql.sh", configs.check_script()),
        ("check_replica.sh", configs.check_script()),
        ("check_router.sh", configs.router_check_script()),
        ("notify_mysql.sh", configs.notify_script()),
    ):
        (root / "etc" / "keepalived" / name).write_text(text)
    args = []
    for n in spec.nodes:
        if n.keepalived:
            (root / "etc" / "keepalived" / f"{n.name}.conf").write_text(configs.keepalived_conf(spec, n))
            args.append(f"{n.name}=/etc/keepalived/{n.name}.conf")
    findings = lint_local(args, root=str(root))
    assert [f for f in findings if f.severity != "info"] == [], [(f.node, f.code, f.message) for f in findings]


def test_router_topology_routes_writes_to_the_primary_and_reads_to_the_replicas():
    spec = default_spec(topology="primary-replicas")
    assert spec.writer == "db1" and [n.name for n in spec.nodes if n.router] == ["r1", "r2"]
    cfg = configs.haproxy_cfg(spec, spec.node("r1"))
    rw = cfg.split("\nbackend rw")[1].split("\nbackend ro")[0]
    ro = cfg.split("\nbackend ro")[1]
    assert "server db1 198.18.0.11:3306 check" in rw and "disabled" not in rw.split("server db1")[1].split("\n")[0]
    assert "server db2" in rw and rw.count(" disabled") == 2  # movable at run time
    assert "server db2" in ro and "server db3" in ro and "db1" not in ro and "balance roundrobin" in ro
    assert "bind *:7001" in cfg and "bind *:7002" in cfg and "stats socket /run/haproxy.sock" in cfg
    assert "read_only = OFF" in configs.my_cnf(spec, spec.node("db1"))
    assert "read_only = ON" in configs.my_cnf(spec, spec.node("db2"))


def test_options_change_what_keepalived_is_given():
    plain = configs.keepalived_conf(default_spec(), default_spec().node("db1"))
    assert "track_file hatui_priority" in plain and "nopreempt" in plain and "unicast_peer" not in plain
    spec = default_spec(options=LabOptions(vip_mover="flag-file", unicast=True))
    flag = configs.keepalived_conf(spec, spec.node("db1"))
    assert 'script "/usr/bin/[ ! -f /etc/keepalived/hatui-down ]"' in flag and "weight -30" in flag
    assert "nopreempt" not in flag  # the flag needs preemption to move the VIP
    assert "unicast_src_ip 198.18.0.11" in flag and "198.18.0.12" in flag.split("unicast_peer")[1]
    none = configs.keepalived_conf(default_spec(options=LabOptions(vip_mover="none")), default_spec().node("db1"))
    assert "track_file" not in none and "chk_flag" not in none
    mmm = default_spec(topology="mmm")
    c3 = configs.keepalived_conf(mmm, mmm.node("db3"))
    assert "vrrp_instance VI_R3" in c3 and "vrrp_instance VI_R2" in c3 and "VI_W" not in c3
    assert "chk_replica" in c3 and "notify_master" not in c3


def test_replication_without_gtids_starts_at_the_source_position():
    spec = default_spec(options=LabOptions(gtid=False))
    sql = configs.replication_sql(spec, spec.node("db3"), "pw", ("mysql-bin.000001", 329))
    assert "MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=329, MASTER_USE_GTID=no" in sql
    with pytest.raises(ValueError, match="needs the source's binlog position"):
        configs.replication_sql(spec, spec.node("db3"), "pw")
    assert "MASTER_USE_GTID=slave_pos" in configs.replication_sql(default_spec(), default_spec().node("db3"), "pw")


def test_unknown_topologies_and_movers_are_refused():
    with pytest.raises(ValueError, match="unknown topology 'galera'"):
        default_spec(topology="galera")
    with pytest.raises(ValueError, match="unknown VIP mover"):
        default_spec(options=LabOptions(vip_mover="magic"))


@pytest.mark.parametrize("topology", ["dual-master", "primary-replicas", "mmm"])
def test_a_fleet_is_independent_clusters_each_with_its_own_names_addresses_vrids_and_file(topology, tmp_path):
    from hatui.lab.spec import fleet_spec

    base = default_spec(subnet="198.18.0.0/24", state_dir=tmp_path / "lab", prefix="hatui-")
    spec = fleet_spec(topology, LabOptions(dual_vip=topology != "mmm", check_interval=5), base, 15)
    assert len(spec.clusters) == 15 and [c.name for c in spec.clusters[:2]] == ["lab-c1", "lab-c2"]
    names = [n.name for n in spec.nodes]
    addresses = [n.address for n in spec.nodes] + [v.address for v in spec.vips] + [spec.operator_address]
    assert len(set(names)) == len(names) and len(set(addresses)) == len(addresses)  # nothing shared
    vrids = [v.vrid for v in spec.vips]
    assert len(set(vrids)) == len(vrids) and max(vrids) <= 255
    assert len(set(spec.cluster_files)) == 15 and spec.cluster_files[0].name == "lab-c1.yml"
    assert len(spec.all_namespaces) == 2 + len(names)  # one bridge and one operator for all
    for c in spec.clusters:
        own = {n.name for n in c.nodes}
        assert all(n.source is None or n.source in own for n in c.nodes)  # replication stays inside
        cluster = load_cluster_text(configs.cluster_yaml(c), c.cluster_file.name)
        assert set(cluster.nodes) == own and cluster.name == c.name
        for n in c.nodes:
            assert spec.cluster_of(n.name) is c
            if n.keepalived:
                conf = configs.keepalived_conf(c, n)
                assert "interval 5" in conf
                # its instances name only its own cluster's VRIDs and VIPs
                assert {int(x.split()[1]) for x in conf.splitlines() if "virtual_router_id" in x} <= {
                    v.vrid for v in c.vips
                }
    c7 = spec.clusters[6]
    assert c7.writer.startswith("c7-") and c7.writer_vip.address.startswith("198.18.0.")


def test_a_fleet_too_big_for_its_subnet_names_the_subnet_it_needs():
    with pytest.raises(
        ValueError, match=r"holds 15 clusters .* 20 need a /23 or larger \(e.g. --subnet 198.18.0.0/23\)"
    ):
        default_spec(subnet="198.18.0.0/24", clusters=20)
    with pytest.raises(ValueError, match="between 1 and 80"):
        default_spec(subnet="198.18.0.0/16", clusters=81)
    with pytest.raises(ValueError, match="check interval"):
        default_spec(options=LabOptions(check_interval=0))
    assert len(default_spec(subnet="198.18.0.0/22", clusters=40).nodes) == 120
