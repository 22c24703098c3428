"""keepalived.conf parser and model: the seeds' real configs, the grammar's corners, bad text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hatui.keepalived.conf_model import load
from hatui.keepalived.conf_parse import LocalSource, TextSource, include_patterns, parse, split_glued

SEEDS = Path(__file__).parent / "fixtures" / "keepalived" / "seeds"
SAMPLES = Path(__file__).parent.parent / "sample_clusters"


def _conf(name: str):
    if name.startswith("003-include"):
        return load("/etc/keepalived/keepalived.conf", LocalSource(SEEDS / "003-include"))
    return load(SEEDS / name)


def _summary(conf):
    return [
        (i.name, i.state, i.interface, i.vrid, i.priority, i.advert_int, i.nopreempt, tuple(v.address for v in i.vips))
        for i in conf.instances
    ]


# Every keepalived config in the seeds (copied verbatim into fixtures/keepalived/seeds, see its
# README), and what its author meant it to say. Seed 004 is MMM: it has no keepalived config.
SEED_INSTANCES = {
    "000-darren1.conf": [("VI_23", "BACKUP", "eth0", 23, 100, 5.0, True, ("192.168.11.100",))],
    "000-darren2.conf": [("VI_22", "BACKUP", "eth0", 23, 90, 5.0, True, ("192.168.91.100",))],
    "001-mysql-ha.conf": [("VI_1", "BACKUP", "eth0", 60, 100, 1.0, True, ("192.168.1.200", "192.168.1.300"))],
    # markdown bold (`**`) survived the copy: keepalived ignores those lines, so does the model
    "002-router01.conf": [("VI_1", None, None, 51, None, 1.0, False, ("**172.168.1.20",))],
    "002-router02.conf": [("VI_1", None, "eth1**", 51, None, 1.0, False, ("**",))],
    "002-node1.conf": [("VI_NODE", "MASTER", "eth0", 100, 200, 5.0, False, ("192.168.1.206",))],
    "002-node2.conf": [("VI_NODE", "BACKUP", "eth0", 100, 100, 5.0, False, ("192.168.1.206",))],
    "003-include/etc/keepalived/keepalived.conf": [
        ("VI_1", "MASTER", "eth0", 51, 100, 1.0, False, ("192.168.183.100",))
    ],
    "003-nopreempt-ka2.conf": [("VI_1", "BACKUP", "eth0", 51, 80, 1.0, True, ("192.168.183.100",))],
    "003-preempt-delay.conf": [("VI_1", "BACKUP", "eth0", 20, 100, 1.0, False, ("172.25.254.100",))],
    "003-unicast.conf": [("VI_1", "BACKUP", "eth0", 51, 100, 1.0, True, ("192.168.183.100",))],
    "003-notify.conf": [("VI_1", "BACKUP", "eth0", 51, 100, 1.0, True, ("192.168.183.100",))],
    "003-master-master-ka1.conf": [
        ("VI_1", "MASTER", "eth0", 51, 100, 1.0, True, ("192.168.183.100",)),
        ("VI_60", "BACKUP", "eth0", 52, 80, 1.0, False, ("192.168.183.200",)),
    ],
    "003-master-master-ka2.conf": [
        ("VI_1", "BACKUP", "eth0", 51, 80, 1.0, True, ("192.168.183.100",)),
        ("VI_2", "MASTER", "eth0", 52, 100, 1.0, True, ("192.168.183.200",)),
    ],
    # the `#   nopreempt` the author commented out stays commented out
    "003-check-script.conf": [("VI_1", "MASTER", "eth0", 51, 100, 1.0, False, ("192.168.183.100",))],
    "003-lvs-dr.conf": [],
    "003-router-vs.conf": [],
}


def test_every_seed_config_is_in_the_table():
    on_disk = {str(p.relative_to(SEEDS)) for p in SEEDS.rglob("*.conf") if "conf.d" not in p.parts}
    assert on_disk == set(SEED_INSTANCES)


@pytest.mark.parametrize("name", sorted(SEED_INSTANCES))
def test_seed_configs_parse_to_what_their_authors_meant(name):
    conf = _conf(name)
    assert _summary(conf) == SEED_INSTANCES[name]


def test_seed_000_script_and_tracking():
    conf = _conf("000-darren1.conf")
    sc = conf.scripts["vs_mysql_23"]
    assert sc.script == "/etc/keepalived/checkMySQL.py -h 192.168.91.23 -P 3306"
    assert sc.interval == 60 and (sc.at.line, conf.instances[0].track_scripts[0].name) == (1, "vs_mysql_23")
    assert conf.instances[0].auth_type == "PASS"


def test_seed_001_virtual_server_and_checks():
    conf = _conf("001-mysql-ha.conf")
    (vs,) = conf.virtual_servers
    assert (vs.address, vs.port, vs.lb_algo, vs.lb_kind, vs.protocol) == ("192.168.1.200", "3306", "wrr", "DR", "TCP")
    (rs,) = vs.real_servers
    assert rs.address == "`192.168.1.201`" and rs.weight == 3  # markdown backticks, kept as written
    (check,) = rs.checks
    assert check.kind == "TCP_CHECK" and check.params["connect_port"] == "3306"
    assert check.at.line == 39


def test_seed_003_flattened_lines_become_statements_and_are_reported():
    conf = _conf("003-unicast.conf")
    inst = conf.instances[0]
    assert inst.unicast_peers and inst.unicast_peers[0][0] == "192.168.183.60"
    assert inst.unicast_src_ip is None  # `unicast_src-ip` is a typo keepalived ignores too
    codes = sorted((p.code, p.line) for p in conf.problems)
    assert codes == [("flattened-line", 1), ("unknown-keyword", 1)]
    assert any("unicast_src_ip" in p.message for p in conf.problems)  # did you mean


def test_seed_003_lvs_flattened_real_servers():
    conf = _conf("003-router-vs.conf")
    (vs,) = conf.virtual_servers
    assert (vs.address, vs.port, vs.lb_algo, vs.lb_kind) == ("192.168.183.200", "3306", "rr", "DR")
    assert [(r.address, r.port, r.weight, [c.kind for c in r.checks]) for r in vs.real_servers] == [
        ("192.168.183.10", "3306", 1, ["TCP_CHECK"]),
        ("192.168.183.20", "3306", 1, ["TCP_CHECK"]),
    ]
    assert vs.real_servers[0].checks[0].params == {
        "connect_timeout": "10",
        "retry": "3",
        "delay_before_retry": "5",
        "connect_port": "3306",
    }


def test_seed_003_include_is_followed_relative_to_root():
    conf = _conf("003-include/etc/keepalived/keepalived.conf")
    assert conf.files == ["/etc/keepalived/keepalived.conf", "/etc/keepalived/conf.d/router.conf"]
    assert conf.instances[0].at.file == "/etc/keepalived/conf.d/router.conf"
    assert conf.global_defs.router_id == "KA1.cll.org"
    assert conf.global_defs.vrrp_strict is False  # `#   vrrp_strict` stays a comment


def test_seed_003_truncated_config_reports_the_open_block():
    conf = _conf("003-master-master-ka2.conf")
    assert ("unclosed-block", 6) in [(p.code, p.line) for p in conf.problems]


@pytest.mark.parametrize(
    "word,parts",
    [
        ("MASTERinterface", ["MASTER", "interface"]),
        ("eth0virtual_router_id", ["eth0", "virtual_router_id"]),
        ("100nopreemptadvert_int", ["100", "nopreempt", "advert_int"]),
        ("keepalived@KA1.cll.orgsmtp_server", ["keepalived@KA1.cll.org", "smtp_server"]),
        ("virtual_router_id", ["virtual_router_id"]),  # a keyword stays whole (router_id inside)
        ("192.168.183.100/24", ["192.168.183.100/24"]),
    ],
)
def test_split_glued(word, parts):
    assert split_glued(word) == parts


def test_braces_are_tokens_and_quotes_keep_spaces(tmp_path):
    f = tmp_path / "k.conf"
    f.write_text(
        'vrrp_script chk{\nscript "/bin/check mysql --x"\n}\nvrrp_instance VI_1\n{\n'
        'virtual_router_id 7\nnotify_master "/n.sh master"\n}\n'
    )
    conf = load(f)
    assert conf.scripts["chk"].script == "/bin/check mysql --x"
    assert conf.instances[0].vrid == 7 and conf.instances[0].notify == {"notify_master": "/n.sh master"}
    assert conf.instances[0].at.line == 4 and conf.problems == []


def test_comment_chars_start_a_comment_anywhere_outside_quotes_as_keepalived_2_0_9_reads_them(tmp_path):
    f = tmp_path / "k.conf"
    f.write_text(
        "vrrp_instance VI_1 { # the instance\n  ! note\n  auth_type_x 1\n"
        "  authentication {\n    auth_pass ab#cd!e  # trailing\n  }\n}\n"
    )
    assert load(f).instances[0].auth_pass == "ab"  # lib/parser.c decomment(): mid-word too
    f.write_text('vrrp_instance VI_1 {\n  authentication {\n    auth_pass "ab#cd!e"\n  }\n}\n')
    assert load(f).instances[0].auth_pass == "ab#cd!e"  # inside double quotes: kept
    f.write_text("vrrp_instance VI_1 {\n  authentication {\n    auth_pass ab\\#cd\\!e\n  }\n}\n")
    assert load(f).instances[0].auth_pass == "ab#cd!e"  # escaped: the characters themselves


def test_a_comment_glued_to_a_word_hides_the_brace_after_it_as_keepalived_does():
    # `p@q.r v@w.x# y}`: keepalived reads `p@q.r v@w.x`; the `}` is part of the comment
    text = "global_defs {\n notification_email {\n  p@q.r v@w.x# y}\n }\n router_id a\n}\n"
    conf = load("/k.conf", TextSource({"/k.conf": text}))
    assert [p.code for p in conf.problems] == [] and conf.global_defs.router_id == "a"


def test_auth_pass_with_a_comment_glued_is_the_same_password_keepalived_uses():
    from hatui.lint.rules import NodeConfig, lint

    inst = "vrrp_instance VI_1 {\n state BACKUP\n interface eth0\n virtual_router_id 51\n priority %d\n"
    inst += " authentication {\n  auth_type PASS\n  auth_pass %s\n }\n virtual_ipaddress {\n  10.0.0.100\n }\n}\n"
    a = NodeConfig("a", load("/a.conf", TextSource({"/a.conf": inst % (100, "abc#1")})))
    b = NodeConfig("b", load("/b.conf", TextSource({"/b.conf": inst % (90, "abc")})))
    assert not [f for f in lint([a, b]) if f.code == "auth-mismatch"]


def test_prose_in_comments_is_not_taken_for_lost_line_breaks(tmp_path):
    f = tmp_path / "k.conf"
    f.write_text(
        "# see no-script-security and equal-priority@2 in the docs\n"
        "#   unicast_peer{\n#    10.0.0.1}\nglobal_defs {\n}\n"
    )
    conf = load(f)
    assert conf.problems == [] and conf.instances == []


def test_conditional_lines_follow_the_config_id(tmp_path):
    f = Path(__file__).parent / "fixtures" / "keepalived" / "broken" / "conditional" / "keepalived.conf"
    one = load(f, config_id="db1").instances[0]
    two = load(f, config_id="db2").instances[0]
    assert (one.priority, one.nopreempt) == (100, False)
    assert (two.priority, two.nopreempt) == (90, True)


def test_include_relative_glob_sorted_and_nested():
    files = {
        "/etc/keepalived/keepalived.conf": "include conf.d/*.conf\n",
        "/etc/keepalived/conf.d/20-b.conf": "vrrp_instance B {\n virtual_router_id 2\n}\n",
        "/etc/keepalived/conf.d/10-a.conf": "include ../more/x.conf\nvrrp_instance A {\n virtual_router_id 1\n}\n",
        "/etc/keepalived/more/x.conf": "vrrp_script s {\n script /bin/true\n}\n",
        "/etc/keepalived/conf.d/sub/30-c.conf": "vrrp_instance C {\n}\n",  # `*` does not cross `/`
    }
    conf = load("/etc/keepalived/keepalived.conf", TextSource(files))
    assert [i.name for i in conf.instances] == ["A", "B"]
    assert "s" in conf.scripts and conf.scripts["s"].at.file == "/etc/keepalived/more/x.conf"
    assert include_patterns("/etc/keepalived/keepalived.conf", files["/etc/keepalived/keepalived.conf"], None) == [
        "/etc/keepalived/conf.d/*.conf"
    ]


def test_include_loop_is_cut():
    files = {"/k/a.conf": "include b.conf\n", "/k/b.conf": "include a.conf\n"}
    conf = load("/k/a.conf", TextSource(files))
    assert [p.code for p in conf.problems] == ["include-loop"]


def test_unreadable_file_is_a_problem_not_an_exception(tmp_path):
    conf = load(tmp_path / "missing.conf")
    assert [(p.code, p.file) for p in conf.problems] == [("config-unreadable", str(tmp_path / "missing.conf"))]


def test_sample_clusters_keepalived_configs_parse():
    confs = sorted(SAMPLES.rglob("*.conf"))
    assert confs, "sample_clusters/ ships keepalived configs next to its cluster files"
    for path in confs:
        conf = load(path)
        assert conf.instances and not [p for p in conf.problems if p.severity == "error"], path


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            list('{}#!"@ \n\tab_0123456789.^')
            + ["state ", "vrrp_instance ", "include ", "virtual_ipaddress ", "MASTERinterface", "$X=1"]
        ),
        max_size=120,
    )
)
def test_parser_never_raises(pieces):
    text = "".join(pieces)
    parsed = parse("/k.conf", TextSource({"/k.conf": text}))
    for p in parsed.problems:
        assert p.file == "/k.conf" and p.line >= 0


# ---------------------------------------------------------------- parameters (keepalived >= 2.0)
def _text_conf(text: str):
    return load("/k.conf", TextSource({"/k.conf": text}))


def test_parameters_are_expanded_as_keepalived_does():
    text = """$PRI=150
$IF=eth1
$ID=7
$AUTH=authentication { \\
  auth_type PASS \\
  auth_pass hatuipw \\
}
vrrp_instance VI_1_${ID} {
  state BACKUP
  interface $IF
  virtual_router_id 5${ID}
  priority $PRI
  $AUTH
  virtual_ipaddress {
    10.0.0.100/24 dev ${IF} label ${IF}:0
  }
}
"""
    conf = _text_conf(text)
    assert [p.code for p in conf.problems] == []
    (inst,) = conf.instances
    assert (inst.name, inst.interface, inst.vrid, inst.priority) == ("VI_1_7", "eth1", 57, 150)
    assert [(v.address, v.prefix, v.dev) for v in inst.vips] == [("10.0.0.100", 24, "eth1")]
    # a multi-line value used at the end of a line: its lines are statements of their own
    assert (inst.auth_type, inst.auth_pass) == ("PASS", "hatuipw")


def test_seq_and_lst_repeat_a_line_per_value():
    text = """~SEQ(n, 1, 3) vrrp_instance VI_$n { virtual_router_id 5$n }
~LST(ip, 10.0.0.7, 10.0.0.8) static_ipaddress { $ip }
"""
    conf = _text_conf(text)
    assert [(i.name, i.vrid) for i in conf.instances] == [("VI_1", 51), ("VI_2", 52), ("VI_3", 53)]


def test_parameter_rules_keepalived_keeps():
    # `$NAME` needs a space, tab, comma, `)` or the end after it; `${NAME}` works inside a word;
    # an undefined one stays as written (and is named); a space before `=` is no definition
    text = """$P=100
$X = 1
vrrp_instance VI_1 {
  priority $P
  virtual_router_id ${P}
  advert_int $Px
}
"""
    conf = _text_conf(text)
    (inst,) = conf.instances
    assert inst.priority == 100
    codes = sorted(p.code for p in conf.problems)
    assert "unknown-keyword" in codes  # `$X = 1` is read as a statement `$X`
    assert "undefined-parameter" in codes and "bad-value" in codes  # advert_int $Px
    # a definition's comment is no part of its value, like anywhere else
    assert (
        _text_conf("$PW=abc#1\nvrrp_instance V {\n authentication {\n  auth_pass $PW\n }\n}\n").instances[0].auth_pass
        == "abc"
    )
