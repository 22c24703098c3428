"""`hatui lint`: the broken-config corpus gives exactly the findings each file announces, and the
checks that need more than files (interfaces, the cluster file, keepalived -t) do their job."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hatui.exitcodes import Exit
from hatui.keepalived.conf_model import load
from hatui.keepalived.conf_parse import TextSource
from hatui.lint.cli import lint_local, render_text
from hatui.lint.collect import _glob_command, keepalived_t_findings, parse_ip_addr
from hatui.lint.findings import CATALOGUE, exit_code
from hatui.lint.rules import ClusterFacts, NodeConfig, lint
from hatui.lint.scripts import classify

BROKEN = Path(__file__).parent / "fixtures" / "keepalived" / "broken"
SEEDS = Path(__file__).parent / "fixtures" / "keepalived" / "seeds"


def _expected(path: Path) -> set[tuple[str, int]]:
    head = path.read_text().splitlines()[0]
    assert head.startswith("# expect:"), path
    items = [x.strip() for x in head.split(":", 1)[1].split(",") if x.strip()]
    return {(code, int(line)) for code, line in (x.split("@") for x in items)}


def _cases() -> list[Path]:
    return sorted(
        p for p in BROKEN.iterdir() if p.suffix == ".conf" or (p.is_dir() and p.name not in ("include", "conditional"))
    )


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_broken_corpus_gives_exactly_the_announced_findings(case):
    files = [case] if case.is_file() else sorted(case.glob("*.conf"))
    args = [f"{f.stem}={f}" for f in files]
    findings = [f for f in lint_local(args) if f.severity != "info"]
    for f in files:
        got = {(x.code, x.line) for x in findings if x.file == str(f)}
        assert got == _expected(f), f"{f.name}: {sorted(got)}"
    assert {x.file for x in findings} <= {str(f) for f in files}


def test_include_corpus_reads_included_files_and_the_script_under_root():
    findings = lint_local(["/keepalived.conf"], root=str(BROKEN / "include"))
    got = {(Path(f.file).name, f.code, f.line) for f in findings}
    assert got == {
        ("keepalived.conf", "include-no-match", 7),
        ("10-script.conf", "check-process-only", 3),
        ("20-instance.conf", "nopreempt-with-master", 4),
    }


def test_every_code_has_why_and_every_finding_names_node_file_line():
    findings = lint_local(
        [f"db2={BROKEN / 'advert-int-drift' / 'db2.conf'}", f"db1={BROKEN / 'advert-int-drift' / 'db1.conf'}"]
    )
    # two nodes that disagree: nobody can tell which one drifted, so both lines are named
    one, two = [x for x in findings if x.severity != "info"]  # sorted by node
    assert (two.node, two.code, two.line, one.node, one.line) == ("db2", "advert-int-mismatch", 16, "db1", 16)
    assert "advert_int 2 here, but advert_int 1 on db1" in two.message
    assert "advert_int 1 here, but advert_int 2 on db2" in one.message
    assert two.why and two.fix
    for code, (why, _fix) in CATALOGUE.items():
        assert why, code


def test_passwords_never_appear_in_findings(tmp_path):
    secret = "Sup3rSecretPassw0rd"
    text = render_text(lint_local([str(BROKEN / "auth-pass-long.conf")]), "x")
    assert "19 characters" in text and secret not in text and secret[:8] not in text
    pair = lint_local([str(BROKEN / "auth-drift" / "db1.conf"), str(BROKEN / "auth-drift" / "db2.conf")])
    out = render_text(pair, "x")
    assert "a different auth_pass" in out and "hatuipw" not in out and "otherpw" not in out


def test_seed_000_pair_shows_the_mistyped_vip():
    findings = lint_local([f"A={SEEDS / '000-darren1.conf'}", f"B={SEEDS / '000-darren2.conf'}"])
    errors = [(f.node, f.code, f.line) for f in findings if f.severity == "error"]
    # VI_23/VI_22: one VRID; and its checkMySQL.py runs without enable_script_security
    assert errors == [
        ("A", "no-script-security", 1),
        ("A", "vip-mismatch", 19),
        ("B", "no-script-security", 1),
        ("B", "vip-mismatch", 19),
    ]


def test_seed_003_master_master_gets_flattened_and_nopreempt_findings():
    findings = lint_local(
        [f"ka1={SEEDS / '003-master-master-ka1.conf'}", f"ka2={SEEDS / '003-master-master-ka2.conf'}"]
    )
    got = {(f.node, f.code, f.line) for f in findings}
    assert ("ka1", "nopreempt-with-master", 1) in got and ("ka2", "nopreempt-with-master", 6) in got
    assert ("ka2", "unclosed-block", 6) in got
    assert not [f for f in findings if f.code.endswith("-mismatch")]  # VI_60 and VI_2 pair by VIP


def _nc(node, text, **kw):
    conf = load(f"/{node}.conf", TextSource({f"/{node}.conf": text}))
    return NodeConfig(node, conf, **kw)


INSTANCE = """global_defs {
 enable_script_security
}
vrrp_instance VI_1 {
 state BACKUP
 interface eth0
 virtual_router_id 51
 priority %s
 virtual_ipaddress {
  %s
 }
}
"""


def _but_no_check(findings):
    """INSTANCE has no check script on purpose; its no-health-check is tested on its own."""
    return [f for f in findings if f.code != "no-health-check"]


def test_interface_checks_need_the_nodes_interfaces():
    eth0 = {"eth0": [ipaddress.ip_interface("10.0.0.11/24")], "lo": [ipaddress.ip_interface("127.0.0.1/8")]}
    ok = _nc("db1", INSTANCE % (100, "10.0.0.100/24"), interfaces=eth0)
    outside = _nc("db1", INSTANCE % (100, "10.9.0.100/24 dev eth0"), interfaces=eth0)
    missing = _nc("db1", (INSTANCE % (100, "10.0.0.100")).replace("eth0", "eth7"), interfaces=eth0)
    assert _but_no_check(lint([ok])) == []
    assert [(f.code, f.line) for f in _but_no_check(lint([outside]))] == [("vip-outside-subnet", 10)]
    (f,) = _but_no_check(lint([missing]))
    assert (f.code, f.line) == ("interface-missing", 6) and "eth7" in f.message and "eth0, lo" in f.message


def test_cluster_facts_real_servers_and_vips():
    text = (
        INSTANCE % (100, "10.0.0.100")
        + """virtual_server 10.0.0.100 3306 {
 real_server 10.0.0.11 3306 {
  TCP_CHECK {
   connect_port 3306
  }
 }
 real_server 10.0.0.99 3306 {
 }
}
"""
    )
    facts = ClusterFacts({"db1": {"10.0.0.11"}, "db2": {"10.0.0.12"}}, [("10.0.0.100", "VI_1"), ("10.0.0.200", "VI_1")])
    got = [(f.code, f.line) for f in _but_no_check(lint([_nc("db1", text)], facts))]
    assert got == [("real-server-not-node", 19), ("cluster-vip-missing", 4)]


def test_weight_that_moves_the_vip_is_fine():
    script = "vrrp_script chk {\n script \"/usr/bin/mariadb -e 'SELECT 1'\"\n weight -20\n}\n"
    track = " track_script {\n  chk\n }\n"
    a = _nc(
        "db1", script + (INSTANCE % (100, "10.0.0.100")).replace(" virtual_ipaddress", track + " virtual_ipaddress")
    )
    b = _nc("db2", script + (INSTANCE % (90, "10.0.0.100")).replace(" virtual_ipaddress", track + " virtual_ipaddress"))
    assert lint([a, b]) == []


def test_remote_script_missing_is_an_error(tmp_path):
    text = 'global_defs {\n enable_script_security\n}\nvrrp_script chk {\n script "/etc/keepalived/chk.sh"\n}\n'
    nc = _nc("db1", text, scripts={"/etc/keepalived/chk.sh": None}, remote=True)
    assert [(f.severity, f.code, f.line) for f in lint([nc])] == [("error", "script-missing", 5)]


@pytest.mark.parametrize(
    "command,text,kind",
    [
        ("killall -0 mysqld", None, "process"),
        ("/etc/keepalived/chk.sh", "#!/bin/sh\npidof mysqld >/dev/null\n", "process"),
        ("/etc/keepalived/chk.sh", "#!/bin/sh\nps aux | grep -v grep | grep -q mysqld\n", "process"),
        ("/etc/keepalived/chk.sh", "#!/bin/sh\n# was: pidof mysqld\nmysql -e 'SELECT 1'\n", "query"),
        ("/chk.py", "import MySQLdb\nc = MySQLdb.connect(host='x')\nc.cursor().execute('select 1')\n", "query"),
        ("/usr/bin/mysqladmin ping", None, "query"),
        ("/usr/local/bin/hatui check-mysql --timeout 2", None, "query"),
        ("/etc/keepalived/chk.sh", "#!/bin/sh\n[ ! -f /mnt/cll ]\n", "unknown"),  # seed 003's flag file
    ],
)
def test_classify_health_checks(command, text, kind):
    assert classify(command, text) == kind


def test_keepalived_t_output_becomes_findings():
    out = (
        "(/etc/keepalived/keepalived.conf: Line 2) WARNING - interface eth9 for vrrp_instance X doesn't exist\n"
        "Non-existent interface specified in configuration\n"
    )
    fs = keepalived_t_findings("db1", "/etc/keepalived/keepalived.conf", 5, out)
    assert [(f.severity, f.file, f.line) for f in fs] == [
        ("error", "/etc/keepalived/keepalived.conf", 2),
        ("error", "/etc/keepalived/keepalived.conf", None),
    ]
    assert keepalived_t_findings("db1", "/k", 0, "") == []
    # a loaded node: keepalived -t says its process was scheduled late; not a config finding
    notice = "NOTICE: setting config option max_auto_priority should result in better keepalived performance\n"
    assert keepalived_t_findings("db1", "/k", 0, notice) == []
    assert "config errors" in keepalived_t_findings("db1", "/k", 5, "")[0].message


def test_ip_json_parses():
    text = json.dumps(
        [
            {
                "ifname": "eth0",
                "addr_info": [{"local": "10.0.0.11", "prefixlen": 24}, {"local": "10.0.0.100", "prefixlen": 32}],
            },
            {"ifname": "lo", "addr_info": []},
        ]
    )
    got = parse_ip_addr(text)
    assert [str(a) for a in got["eth0"]] == ["10.0.0.11/24", "10.0.0.100/32"] and got["lo"] == []
    assert parse_ip_addr("not json") == {}


def test_remote_glob_never_executes_the_pattern(tmp_path):
    (tmp_path / "a.conf").write_text("x")
    (tmp_path / "b.conf").write_text("y")
    marker = tmp_path / "pwned"
    pattern = f"{tmp_path}/*.conf $(touch {marker}) `touch {marker}`"
    res = subprocess.run(["sh", "-c", _glob_command(pattern)], capture_output=True, text=True)
    assert not marker.exists()
    res = subprocess.run(["sh", "-c", _glob_command(f"{tmp_path}/*.conf")], capture_output=True, text=True)
    assert res.stdout.splitlines() == [f"{tmp_path}/a.conf", f"{tmp_path}/b.conf"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hatui", "lint", *args], capture_output=True, text=True)


def test_cli_json_shape_and_exit_codes():
    res = _cli("--json", str(BROKEN / "vrid-drift" / "db1.conf"), str(BROKEN / "vrid-drift" / "db2.conf"))
    assert res.returncode == 2
    data = json.loads(res.stdout)
    assert {k for d in data for k in d} >= {"severity", "node", "file", "line", "code", "message"}
    assert [(d["node"], d["code"], d["line"]) for d in data if d["severity"] == "error"] == [
        ("db1", "vrid-mismatch", 14),
        ("db2", "vrid-mismatch", 14),
    ]
    assert _cli(str(BROKEN / "clean-pair" / "db1.conf"), str(BROKEN / "clean-pair" / "db2.conf")).returncode in (0,)
    assert _cli(str(BROKEN / "auth-pass-long.conf")).returncode == 1
    res = _cli("/nonexistent/keepalived.conf")
    assert res.returncode == 2 and "cannot read /nonexistent/keepalived.conf" in res.stdout
    res = _cli()
    assert res.returncode == Exit.USAGE and "either --cluster" in res.stderr


def test_exit_code_unreachable_node_is_unknown():
    from hatui.lint.findings import finding

    assert exit_code([finding("error", "db1", None, None, "node-unreachable", "x")]) == 3
    assert exit_code([]) == 0


def test_text_output_lists_where_what_why_fix():
    text = render_text(lint_local([f"db1={BROKEN / 'no-accept.conf'}"]), "1 file(s)")
    assert re.search(r"ERROR\s+db1: .*no-accept.conf:7\s+\[vip-refuses-traffic\]", text)
    assert "why: " in text and "fix: " in text and text.endswith("1 file(s): 1 error, 1 warning")


def test_seed_001s_vip_moved_only_by_an_lvs_check_and_seed_000s_minute_long_check():
    # seed 001: no vrrp_script at all; a real_server's notify_down runs `pkill keepalived`
    f = [x for x in lint_local([f"db={SEEDS / '001-mysql-ha.conf'}"]) if x.code == "no-health-check"]
    assert len(f) == 1 and "a dead mysqld keeps the VIP" in f[0].message
    assert "notify_down (`/usr/local/mysql/bin/mysql.sh`)" in f[0].message
    # seed 000: `interval 60`: a dead database keeps the VIP for a minute
    slow = [x for x in lint_local([f"A={SEEDS / '000-darren1.conf'}"]) if x.code == "slow-detection"]
    assert [(x.line, x.severity) for x in slow] == [(3, "warning")] and "up to 60 s" in slow[0].message
    # a check every 2 s, 3 failures in a row: 6 s, fine
    script = 'vrrp_script chk {\n script "/bin/true"\n interval 2\n fall 3\n}\n'
    track = " track_script {\n  chk\n }\n"
    ok = _nc(
        "db1", script + (INSTANCE % (100, "10.0.0.100")).replace(" virtual_ipaddress", track + " virtual_ipaddress")
    )
    assert not [x for x in lint([ok]) if x.code in ("slow-detection", "no-health-check")]


def test_preempt_delay_0_and_the_address_owner_under_vrrp_strict_are_not_mistakes():
    text = (INSTANCE % (255, "10.0.0.100")).replace("state BACKUP", "state MASTER\n preempt_delay 0")
    strict = text.replace(" enable_script_security", " enable_script_security\n vrrp_strict")
    codes = {x.code for x in lint([_nc("db1", strict)])}
    assert "preempt-delay-with-master" not in codes and "vip-refuses-traffic" not in codes
    # not the owner: vrrp_strict drops traffic to the VIP on it
    codes = {x.code for x in lint([_nc("db1", strict.replace("priority 255", "priority 100"))])}
    assert "vip-refuses-traffic" in codes


def _inst(name, vrid, *, iface="eth0", prio=100, uni=None, src=None, group=None, vip="10.0.0.100"):
    peers = f" unicast_src_ip {src}\n" if src else ""
    if uni:
        peers += " unicast_peer {\n" + "".join(f"  {p}\n" for p in uni) + " }\n"
    if group:
        peers += f" mcast_dst_ip {group}\n"
    return (
        f"vrrp_instance {name} {{\n state BACKUP\n interface {iface}\n virtual_router_id {vrid}\n priority {prio}\n"
        f"{peers} virtual_ipaddress {{\n  {vip}\n }}\n}}\n"
    )


def test_vrid_reuse_follows_keepalived_s_own_conflict_rule():
    def reused(text):
        return [f.line for f in lint([_nc("db1", text)]) if f.code == "vrid-reused"]

    # multicast, one interface, one group: keepalived refuses to start
    assert reused(_inst("A", 51) + _inst("B", 51, vip="10.0.0.101")) != []
    # unicast and multicast are separate VRID spaces
    assert reused(_inst("A", 51) + _inst("B", 51, uni=["10.0.0.12"], vip="10.0.0.101")) == []
    # unicast with different peers, or a different source address: no conflict
    assert reused(_inst("A", 51, uni=["10.0.0.12"]) + _inst("B", 51, uni=["10.0.0.13"], vip="10.0.0.101")) == []
    two_src = _inst("A", 51, uni=["10.0.0.12"], src="10.0.0.11")
    two_src += _inst("B", 51, uni=["10.0.0.12"], src="10.0.0.21", vip="10.0.0.101")
    assert reused(two_src) == []
    # ... but the same source and a shared peer: refused
    assert reused(_inst("A", 51, uni=["10.0.0.12"]) + _inst("B", 51, uni=["10.0.0.12"], vip="10.0.0.101")) != []
    # a different multicast group (mcast_dst_ip) or interface: no conflict
    assert reused(_inst("A", 51) + _inst("B", 51, group="224.0.0.19", vip="10.0.0.101")) == []
    assert reused(_inst("A", 51) + _inst("B", 51, iface="eth1", vip="10.0.0.101")) == []


def test_multicast_group_drift_between_nodes_is_an_error():
    a = _nc("db1", "global_defs {\n vrrp_mcast_group4 224.0.0.18\n}\n" + _inst("VI_1", 51))
    b = _nc("db2", "global_defs {\n vrrp_mcast_group4 224.0.0.88\n}\n" + _inst("VI_1", 51, prio=90))
    found = [(f.node, f.code, f.line) for f in lint([a, b]) if f.code == "mcast-group-mismatch"]
    assert found == [("db1", "mcast-group-mismatch", 2), ("db2", "mcast-group-mismatch", 2)]
    c = _nc("db2", "global_defs {\n vrrp_mcast_group4 224.0.0.18\n}\n" + _inst("VI_1", 51, prio=90))
    assert not [f for f in lint([a, c]) if f.code == "mcast-group-mismatch"]


def test_keywords_keepalived_2_2_accepts_are_known_and_the_ones_it_lacks_are_not():
    text = """net_namespace blue
child_wait_time 5
global_defs {
 nftables hatui
 nftables_counters
 reload_repeat
 reload_file /run/keepalived.reload
 min_auto_priority_delay 1000
 no_checker_emails
 checker_log_all_failures
 vrrp_nftables x
 vrrp_nftables_counters
}
vrrp_instance VI_1 {
 state BACKUP
 interface eth0
 virtual_router_id 51
 priority 100
 mcast_dst_ip 224.0.0.19
 promote_secondaries
 garp_extra_if eth1
 vrf blue
 lvs_sync_daemon_interface eth0
 track_script {
  chk
 }
 virtual_ipaddress {
  10.0.0.100
 }
}
vrrp_script chk {
 script "/bin/true"
}
virtual_server 10.0.0.100 3306 {
 ip_family inet
 snmp_name mysql
 real_server 10.0.0.11 3306 {
  snmp_name db1
  TCP_CHECK {
   log_all_failures
   connect_timeout 3
  }
 }
}
"""
    found = {(f.code, f.line) for f in lint([_nc("db1", text)]) if f.severity != "info"}
    unknown = sorted(line for code, line in found if code == "unknown-keyword")
    assert unknown == [11, 12]  # vrrp_nftables*: keepalived has no such keyword
    assert ("deprecated-keyword", 23) in found  # still applied, but keepalived complains


def test_what_keepalived_t_rejects_in_its_own_samples_is_an_error_here_too():
    samples = Path(__file__).parent / "fixtures" / "keepalived" / "samples-2.2.7"

    def errors(name):
        return {f.code for f in lint_local([str(samples / name)]) if f.severity == "error"}

    assert "ah-with-master" in errors("keepalived.conf.SSL_GET")  # keepalived: cleared to BACKUP
    assert "script-unset" in errors("keepalived.conf.conditional_conf")  # its `script` is on another id's line
    assert "fwmark-protocol" in errors("keepalived.conf.fwmark")
    assert "no-script-security" in errors("keepalived.conf.vrrp.localcheck")
    assert {"route-no-interface", "route-deprecated"} <= errors("keepalived.conf.vrrp.routes")
    assert {"rule-no-preference", "rule-invalid"} <= errors("keepalived.conf.vrrp.rules")
    assert errors("keepalived.conf.vrrp") == set()  # and what it accepts is clean
    bad = _nc("db1", (INSTANCE % (910, "10.0.0.100")).replace(" interface eth0\n", ""))
    assert {f.code for f in lint([bad])} >= {"priority-out-of-range", "interface-unset"}
