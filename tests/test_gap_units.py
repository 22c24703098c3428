"""Unit tests of the binlog gap repair's pure parts: where the old writer's binlogs are
(hatui.binlog.locate) and which of its transactions the new writer lacks, what they touch and
whether replaying them would overwrite something (hatui.binlog.gap). No lab, no network: the
shell commands are run against local stand-ins of mysqlbinlog / mysqld at most."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hatui.binlog.dump import RowChange, RowProbe, Transaction, first_touches, parse_dump
from hatui.binlog.gap import (
    Conflict,
    Have,
    Preview,
    after_position,
    check_probe,
    choose_start,
    conflicting_transactions,
    format_state,
    held_by_old,
    literal_value,
    maria_state,
    missing,
    preview,
    same_value,
)
from hatui.binlog.locate import (
    Head,
    ServerFiles,
    alive_command,
    coalesced,
    dump_command,
    heads_command,
    parse_defaults,
    parse_heads,
    parse_index,
    parse_sizes,
    sizes_command,
)
from hatui.gtid import GtidSet

FIX = Path(__file__).parent / "fixtures" / "binlog"
OLD = "3e11fa47-71ca-11e1-9e33-c80aa9429562"  # the old writer's server_uuid
NEW = "7f4be0b0-09b9-11ef-9bc6-0242ac130002"  # the new writer's server_uuid
FILES = ServerFiles(
    "/var/lib/mysql", "/var/lib/mysql/mysql-bin", "/var/lib/mysql/mysql-bin.index", "/run/mysqld/mysqld.pid"
)
WHEN = dt.datetime(2026, 11, 21, 17, 47, 44)


maria_states = st.dictionaries(
    st.tuples(st.integers(0, 5), st.integers(1, 2**32 - 1)), st.integers(1, 2**64 - 1), max_size=8
)


def trx(
    gtid: str,
    *,
    file: str = "/var/lib/mysql/mysql-bin.000002",
    start: int = 4,
    server_id: int = 1,
    when: dt.datetime | None = WHEN,
    rows: list[RowChange] | None = None,
    statements: list[str] | None = None,
    ddl: bool = False,
) -> Transaction:
    return Transaction(
        gtid=gtid,
        server_id=server_id,
        when=when,
        file=file,
        start=start,
        end=start + 100,
        text="",
        statements=list(statements or []),
        rows=list(rows or []),
        ddl=ddl,
        context="",
    )


def workload() -> list[Transaction]:
    """The lab's MariaDB 10.11 workload (tests/fixtures/binlog/README.md): 0-1-2 .. 0-1-13."""
    text = (FIX / "mariadb-10.11-workload.txt").read_text(encoding="utf-8", errors="surrogateescape")
    return parse_dump(text.splitlines(keepends=True), "/var/lib/mysql/mysql-bin.000002").transactions


def sh(command: str, cwd: Path | None = None) -> str:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, cwd=cwd).stdout


# ====================================================================== locate: option files
def test_relative_log_bin_is_in_the_datadir():
    f = parse_defaults("--user=mysql\n--datadir=/srv/mysql/\n--log_bin=mysql-bin\n--server-id=1\n", hostname="db1")
    assert f.datadir == "/srv/mysql"
    assert f.basename == "/srv/mysql/mysql-bin"
    assert f.index == "/srv/mysql/mysql-bin.index"
    assert f.pid_file == "/srv/mysql/db1.pid"  # mysqld's default: <datadir>/<hostname>.pid


def test_absolute_log_bin_keeps_its_directory_and_the_index_goes_next_to_it():
    f = parse_defaults(
        "--datadir=/var/lib/mysql\n--log-bin=/binlogs/db1/mariadb-bin\n--pid-file=/run/mysqld/mysqld.pid\n"
    )
    assert f.basename == "/binlogs/db1/mariadb-bin"
    assert f.index == "/binlogs/db1/mariadb-bin.index"
    assert f.pid_file == "/run/mysqld/mysqld.pid"


def test_bare_log_bin_is_named_after_the_host():
    f = parse_defaults("--datadir=/var/lib/mysql\n--log-bin\n", hostname="db2")
    assert f.basename == "/var/lib/mysql/db2-bin"
    assert f.index == "/var/lib/mysql/db2-bin.index"
    assert parse_defaults("--log-bin\n").basename == "/var/lib/mysql/mysql-bin"  # no host name known


def test_log_bin_index_and_pid_file_relative_to_the_datadir_or_absolute():
    f = parse_defaults("--datadir=/data\n--log-bin=/binlogs/bin\n--log-bin-index=bin.index\n--pid-file=db.pid\n")
    assert (f.index, f.pid_file) == ("/data/bin.index", "/data/db.pid")
    f = parse_defaults("--log_bin=bin\n--log_bin_index=/idx/bin.index\n")
    assert f.datadir == "/var/lib/mysql"  # the compiled-in default
    assert (f.basename, f.index) == ("/var/lib/mysql/bin", "/idx/bin.index")


def test_a_later_option_file_overrides_an_earlier_one():
    # my.cnf, then conf.d/50-server.cnf: my_print_defaults prints both, mysqld takes the last
    text = "--datadir=/var/lib/mysql\n--log-bin=mysql-bin\n--datadir=/data/mysql\n--log-bin=/binlogs/db1-bin\n"
    f = parse_defaults(text)
    assert (f.datadir, f.basename) == ("/data/mysql", "/binlogs/db1-bin")


def test_no_log_bin_means_nothing_to_read():
    with pytest.raises(ValueError, match="log_bin"):
        parse_defaults("--datadir=/var/lib/mysql\n--server-id=1\n--gtid-domain-id=1\n")
    with pytest.raises(ValueError):
        parse_defaults("")


def test_an_extension_on_log_bin_is_dropped_like_the_server_does():
    f = parse_defaults("--datadir=/var/lib/mysql\n--log_bin=/var/log/mysql/mysql-bin.log\n")
    assert f.basename == "/var/log/mysql/mysql-bin"
    assert f.index == "/var/log/mysql/mysql-bin.index"


# ====================================================================== locate: index
def test_index_entries_resolve_against_the_datadir():
    assert FILES.resolve("./mysql-bin.000001") == "/var/lib/mysql/mysql-bin.000001"
    assert FILES.resolve("/binlogs/mysql-bin.000009\r") == "/binlogs/mysql-bin.000009"
    assert FILES.resolve("mysql-bin.000002") == "/var/lib/mysql/mysql-bin.000002"


def test_parse_index_keeps_the_server_order_and_skips_blank_lines():
    text = "./mysql-bin.000007\n./mysql-bin.000008\n\n/var/lib/mysql/mysql-bin.000009\n"
    assert parse_index(text, FILES) == [
        "/var/lib/mysql/mysql-bin.000007",
        "/var/lib/mysql/mysql-bin.000008",
        "/var/lib/mysql/mysql-bin.000009",
    ]
    assert parse_index("", FILES) == []


# ====================================================================== locate: file heads
MARIA_HEADS = (
    "=== hatui binlog /var/lib/mysql/mysql-bin.000007\n"
    "#261121 17:47:43 server id 1  end_log_pos 299 CRC32 0xd8f85cf9 \tGtid list [0-1-1]\n"
    "# at 299\n"
    "#261121 17:47:43 server id 1  end_log_pos 342 CRC32 0x664d6d57 \tBinlog checkpoint mysql-bin.000007\n"
    "# at 342\n"
    "=== hatui binlog /var/lib/mysql/mysql-bin.000008\n"
    "#261121 18:02:11 server id 1  end_log_pos 327 CRC32 0x0c2a91e4 \tGtid list [0-1-1500,\n"
    "# 0-2-420,\n"
    "# 1-3-77]\n"
    "# at 327\n"
    "=== hatui binlog /var/lib/mysql/mysql-bin.000009\n"
    "#261121 18:02:30 server id 1  end_log_pos 256 CRC32 0x88441386 \tGtid list []\n"
    "# at 256\n"
)


def test_mariadb_heads_read_the_gtid_list_of_each_file():
    heads = parse_heads(MARIA_HEADS)
    assert [h.path for h in heads] == [f"/var/lib/mysql/mysql-bin.00000{n}" for n in (7, 8, 9)]
    assert heads[0] == Head("/var/lib/mysql/mysql-bin.000007", "0-1-1")
    # mariadb-binlog wraps a list of several domain-server pairs onto "# " lines
    assert maria_state(heads[1].gtids) == {(0, 1): 1500, (0, 2): 420, (1, 3): 77}
    assert not heads[1].error
    assert heads[2] == Head("/var/lib/mysql/mysql-bin.000009", "")  # nothing before it


def test_mysql_heads_read_previous_gtids_and_its_continuation_lines():
    text = (
        "=== hatui binlog /var/lib/mysql/binlog.000004\n"
        "#240424 10:32:55 server id 1  end_log_pos 198 CRC32 0xec0df8cd \tPrevious-GTIDs\n"
        f"# {OLD}:1-7\n"
        "# at 198\n"
        "#240424 10:33:55 server id 1  end_log_pos 275 CRC32 0xd15fee75 \tGTID\tlast_committed=0\n"
        "=== hatui binlog /var/lib/mysql/binlog.000005\n"
        "#240424 10:58:23 server id 1  end_log_pos 262 CRC32 0x910adac0 \tPrevious-GTIDs\n"
        f"# {OLD}:1-14,\n"
        f"# {NEW}:1-3:5\n"
        "# at 262\n"
    )
    a, b = parse_heads(text)
    assert (a.path, a.gtids, a.error) == ("/var/lib/mysql/binlog.000004", f"{OLD}:1-7", "")
    assert GtidSet.parse(b.gtids) == GtidSet.parse(f"{OLD}:1-14,{NEW}:1-3:5")  # "# at 262" is not part of it


uuids = st.sampled_from([OLD, NEW, "5a5a5a5a-0000-4000-8000-000000000001", "6b6b6b6b-0000-4000-8000-000000000002"])
gtid_sets = st.dictionaries(
    uuids,
    st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 1000)), min_size=1, max_size=3),
    min_size=1,
    max_size=4,
).map(lambda d: GtidSet.from_intervals({u: [(a, a + n) for a, n in ivs] for u, ivs in d.items()}))


@given(gtid_sets)
def test_parse_heads_reads_any_previous_gtids_set_mysqlbinlog_prints(gtids):
    # mysqlbinlog: "\tPrevious-GTIDs\n# " + the set with ",\n# " between UUIDs
    text = (
        "=== hatui binlog /var/lib/mysql/binlog.000031\n"
        "#240424 10:58:23 server id 1  end_log_pos 262 CRC32 0x910adac0 \tPrevious-GTIDs\n"
        "# " + gtids.format(multiline=True).replace("\n", "\n# ") + "\n# at 262\n"
    )
    (h,) = parse_heads(text)
    assert not h.error and GtidSet.parse(h.gtids) == gtids


@given(maria_states.filter(bool))
def test_parse_heads_reads_any_gtid_list_mariadb_binlog_prints(state):
    # mariadb-binlog: "\tGtid list [" + entries joined by ",\n# " + "]"
    text = (
        "=== hatui binlog /var/lib/mysql/mysql-bin.000031\n"
        "#261121 18:02:11 server id 1  end_log_pos 327 CRC32 0x0c2a91e4 \tGtid list ["
        + format_state(state).replace(",", ",\n# ")
        + "]\n# at 327\n"
    )
    (h,) = parse_heads(text)
    assert not h.error and maria_state(h.gtids) == state


def test_mysql_first_binlog_with_an_empty_previous_gtids_starts_at_nothing():
    text = (
        "=== hatui binlog /var/lib/mysql/binlog.000001\n"
        "#240512  8:56:10 server id 1  end_log_pos 157 CRC32 0x1d88746f \tPrevious-GTIDs\n"
        "# [empty]\n"
        "# at 157\n"
    )
    (h,) = parse_heads(text)
    assert (h.gtids, h.error) == ("", "")
    assert choose_start([h], Have.of(False, f"{NEW}:1-3")).index == 0


def test_a_binlog_the_tool_cannot_read_is_reported_with_the_tool_error():
    text = (
        "=== hatui binlog /var/lib/mysql/mysql-bin.000003\n"
        "ERROR: Error in Log_event::read_log_event(): 'Found invalid event in binary log', "
        "data_len: 0, event_type: 0\n"
        "=== hatui binlog /var/lib/mysql/mysql-bin.000004\n"
        "ERROR: cannot read /var/lib/mysql/mysql-bin.000004\n"
        "=== hatui binlog /var/lib/mysql/notes.txt\n"
        "some text that is no binlog\n"
    )
    a, b, c = parse_heads(text)
    assert "Found invalid event" in a.error and not a.gtids
    assert b.error == "ERROR: cannot read /var/lib/mysql/mysql-bin.000004"
    assert "no GTID list" in c.error


# ====================================================================== locate: commands
@pytest.fixture
def fake_binlog_tool(tmp_path: Path) -> str:
    """A stand-in for mysqlbinlog that prints the file it is given (its last argument)."""
    tool = tmp_path / "fake binlog"
    tool.write_text('#!/bin/sh\nfor a; do f=$a; done\ncat "$f"\n')
    tool.chmod(0o755)
    return str(tool)  # a path, as `command -v` prints it: the commands quote it


def test_heads_command_runs_per_file_and_survives_spaces_in_paths(tmp_path: Path, fake_binlog_tool: str):
    d = tmp_path / "bin logs"
    d.mkdir()
    (d / "mysql-bin.000007").write_text(
        "# at 4\n#261121 17:47:43 server id 1  end_log_pos 256 CRC32 0x1 \tStart: binlog v 4\n"
        "# at 256\n#261121 17:47:43 server id 1  end_log_pos 299 CRC32 0xd8f85cf9 \tGtid list [0-1-41]\n"
        "# at 299\n"
    )
    (d / "mysql-bin.000008").write_text(
        "# at 256\n#261121 17:50:02 server id 1  end_log_pos 299 CRC32 0xd8f85cf9 \tGtid list [0-1-42]\n"
    )
    paths = [str(d / "mysql-bin.000007"), str(d / "mysql-bin.000008"), str(d / "mysql-bin.000009")]
    heads = parse_heads(sh(heads_command(fake_binlog_tool, paths)))
    assert [h.path for h in heads] == paths
    assert [h.gtids for h in heads[:2]] == ["0-1-41", "0-1-42"]
    assert heads[2].error == f"ERROR: cannot read {paths[2]}"  # absent: said so, not skipped


def test_commands_quote_paths_with_spaces_and_shell_characters():
    path = "/data/my sql/$(touch pwned) `id` bin.000001"
    for command in (
        heads_command("mysqlbinlog", [path]),
        dump_command("mysqlbinlog", path, 120),
        sizes_command([path]),
        alive_command(ServerFiles("/data", "/data/b", "/data/b.index", path)),
    ):
        words = shlex.split(command)
        assert path in words or any(w.rstrip(";") == path for w in words), command
    assert shlex.split(dump_command("/opt/mysql 8/bin/mysqlbinlog", path, 120)) == [
        "/opt/mysql 8/bin/mysqlbinlog",
        "-v",
        "--stop-position=120",
        path,
    ]


def test_shell_characters_in_paths_are_never_executed(tmp_path: Path, fake_binlog_tool: str):
    d = tmp_path / "$(touch pwned) `touch pwned2`"
    d.mkdir()
    binlog = d / "mysql-bin.000001"
    binlog.write_text("#261121 17:47:43 server id 1  end_log_pos 299 CRC32 0x1 \tGtid list [0-1-41]\n")
    files = ServerFiles(str(d), str(d / "mysql-bin"), str(d / "mysql-bin.index"), str(d / "mysqld.pid"))
    (h,) = parse_heads(sh(heads_command(fake_binlog_tool, [str(binlog)]), cwd=tmp_path))
    assert (h.path, h.gtids) == (str(binlog), "0-1-41")
    assert "Gtid list [0-1-41]" in sh(dump_command(str(tmp_path / "fake binlog"), str(binlog), 99), cwd=tmp_path)
    assert parse_sizes(sh(sizes_command([str(binlog)]), cwd=tmp_path)) == {str(binlog): binlog.stat().st_size}
    assert sh(alive_command(files), cwd=tmp_path).split() == ["none"]
    assert not list(tmp_path.glob("pwned*"))


def test_heads_command_quotes_a_path_with_a_single_quote(tmp_path: Path, fake_binlog_tool: str):
    path = "/var/lib/mysql/o'brien-bin.000001"
    words = shlex.split(heads_command("mysqlbinlog", [path]))
    assert path in words
    (h,) = parse_heads(sh(heads_command(fake_binlog_tool, [str(tmp_path / "o'brien-bin.000001")])))
    assert h.error.startswith("ERROR: cannot read")


def test_a_previous_gtids_set_of_many_uuids_is_read_whole(tmp_path: Path, fake_binlog_tool: str):
    uuids = [f"{n}{n}{n}{n}{n}{n}{n}{n}-{n}{n}{n}{n}-{n}{n}{n}{n}-{n}{n}{n}{n}-{n * 12}" for n in "12345"]
    binlog = tmp_path / "binlog.000012"
    binlog.write_text(
        "# at 4\n#240512  8:56:10 server id 1  end_log_pos 126 CRC32 0x1 \tStart: binlog v 4, server v 8.0.36\n"
        "# at 126\n#240512  8:56:10 server id 1  end_log_pos 357 CRC32 0x1d88746f \tPrevious-GTIDs\n"
        + ",\n".join(f"# {u}:1-7" for u in uuids)
        + "\n# at 357\n"
    )
    (h,) = parse_heads(sh(heads_command(fake_binlog_tool, [str(binlog)])))
    # the new writer lacks uuid 5's 6-7, which were in a purged file before this one
    have = Have.of(False, ",".join(f"{u}:1-7" for u in uuids[:4]) + f",{uuids[4]}:1-5")
    assert choose_start([h], have).index is None


def test_a_gtid_list_of_many_domain_server_pairs_is_read_whole(tmp_path: Path, fake_binlog_tool: str):
    pairs = ["0-1-1500", "0-2-420", "0-3-12", "1-1-77", "1-2-5", "2-3-9"]
    binlog = tmp_path / "mysql-bin.000012"
    binlog.write_text(
        "# at 4\n#261121 17:47:43 server id 2  end_log_pos 256 CRC32 0x1 \tStart: binlog v 4, server v 10.11.6\n"
        "# at 256\n#261121 17:47:43 server id 2  end_log_pos 375 CRC32 0x2 \tGtid list ["
        + ",\n# ".join(pairs)
        + "]\n# at 375\n"
    )
    (h,) = parse_heads(sh(heads_command(fake_binlog_tool, [str(binlog)])))
    assert not h.error
    assert maria_state(h.gtids) == maria_state(",".join(pairs))


def test_dump_command_reads_one_file_verbosely_up_to_its_size():
    assert shlex.split(dump_command("mariadb-binlog", "/var/lib/mysql/mysql-bin.000002", 4937)) == [
        "mariadb-binlog",
        "-v",
        "--stop-position=4937",
        "/var/lib/mysql/mysql-bin.000002",
    ]


def test_alive_command_tells_a_live_mysqld_from_a_stale_pid_file(tmp_path: Path):
    pid_file = tmp_path / "run dir" / "mysqld.pid"
    pid_file.parent.mkdir()
    files = ServerFiles(str(tmp_path), str(tmp_path / "bin"), str(tmp_path / "bin.index"), str(pid_file))
    assert sh(alive_command(files)).split() == ["none"]  # clean shutdown: no pid file
    # a server killed with -9 leaves its pid file; the pid is now some other program (this test)
    pid_file.write_text(f"{os.getpid()}\n")
    assert sh(alive_command(files)).split() == ["stale", str(os.getpid())]
    # a process whose name is mysqld owns the pid: alive
    fake = tmp_path / "mysqld"
    shutil.copy(shutil.which("sleep"), fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        for _ in range(50):  # until exec has renamed it
            if Path(f"/proc/{proc.pid}/comm").read_text().strip() == "mysqld":
                break
            time.sleep(0.02)
        pid_file.write_text(f"{proc.pid}\n")
        assert sh(alive_command(files)).split() == ["alive", str(proc.pid)]
        # killed -9 and not reaped yet (a zombie: its parent has not waited): it can never
        # commit again, so it is stale (seen in the lab: a killed mysqld whose parent is init)
        proc.kill()
        for _ in range(100):
            if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        assert sh(alive_command(files)).split() == ["stale", str(proc.pid)]
    finally:
        proc.kill()
        proc.wait()


# ====================================================================== gap: what a server holds
def test_maria_state_is_the_union_of_binlog_state_and_slave_pos_per_domain_and_server():
    binlog_state = "0-1-1500,0-2-420,\n1-3-77"
    slave_pos = "0-2-433,2-5-9"  # applied as a replica without log_slave_updates
    assert maria_state(binlog_state, slave_pos) == {(0, 1): 1500, (0, 2): 433, (1, 3): 77, (2, 5): 9}
    assert maria_state(None, "", " ") == {}
    assert format_state(maria_state(binlog_state, slave_pos)) == "0-1-1500,0-2-433,1-3-77,2-5-9"


@given(maria_states)
def test_format_state_and_maria_state_round_trip(state):
    assert maria_state(format_state(state)) == state


@given(maria_states, maria_states)
def test_maria_state_of_two_texts_keeps_the_highest_seq_of_each(a, b):
    merged = maria_state(format_state(a), format_state(b))
    assert merged == {k: max(a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys()}


def test_have_mariadb_compares_per_domain_and_server():
    have = Have.of(True, "0-1-1500,0-2-420", "1-3-77")
    assert have.has("0-1-1500") and have.has("0-1-42")
    assert not have.has("0-1-1501")
    assert not have.has("0-3-1")  # a server it never replicated from
    # its slave position is a position: in domain 1 it holds everything up to 77, any server
    assert have.has("1-3-77") and have.has("1-5-60") and not have.has("1-3-78")
    assert have.covers("0-1-1400,0-2-420") and have.covers("")
    assert not have.covers("0-1-1400,0-2-421")
    assert have.lacking("0-1-1600,0-2-400,2-9-5") == "0-1-1600,2-9-5"
    assert str(have) == "0-1-1500,0-2-420; position 1-?-77"


def test_have_mysql_uses_exact_gtid_sets():
    have = Have.of(False, f"{OLD}:1-100:103,\n{NEW}:1-12", None)
    assert have.has(f"{OLD}:100") and have.has(f"{OLD}:103")
    assert not have.has(f"{OLD}:101")  # a hole: MySQL sets are exact, unlike MariaDB positions
    assert not have.has(f"{NEW.upper()}:13")
    assert have.covers(f"{OLD}:1-100") and have.covers("")
    assert not have.covers(f"{OLD}:1-103")
    assert GtidSet.parse(have.lacking(f"{OLD}:1-105,{NEW}:1-5")) == GtidSet.parse(f"{OLD}:101-102:104-105")


# ====================================================================== gap: which files to read
def heads_of(*states: str) -> list[Head]:
    return [Head(f"/var/lib/mysql/mysql-bin.{n:06d}", s) for n, s in enumerate(states, start=7)]


def test_reading_starts_at_the_newest_file_the_new_writer_has_everything_before():
    heads = heads_of("0-1-1000", "0-1-1200", "0-1-1400", "0-1-1600")
    start = choose_start(heads, Have.of(True, "0-1-1450,0-2-30"))
    assert start.index == 2
    assert "mysql-bin.000009" in start.reason and "0-1-1400" in start.reason


def test_a_new_writer_that_has_everything_reads_only_the_last_file():
    heads = heads_of("0-1-1000", "0-1-1200")
    assert choose_start(heads, Have.of(True, "0-1-1250")).index == 1


def test_a_gap_whose_oldest_binlog_starts_after_the_new_writer_is_refused_naming_the_purged_gtids():
    heads = heads_of("0-1-1000,0-2-40", "0-1-1200,0-2-40")
    start = choose_start(heads, Have.of(True, "0-1-900,0-2-40"))
    assert start.index is None
    assert "mysql-bin.000007" in start.reason  # the oldest file left
    assert "0-1-1000" in start.reason and "0-2-40" not in start.reason
    assert "purged" in start.reason


def test_mysql_gap_after_a_purge_is_refused_too():
    heads = [Head("/var/lib/mysql/binlog.000004", f"{OLD}:1-500"), Head("/var/lib/mysql/binlog.000005", f"{OLD}:1-800")]
    start = choose_start(heads, Have.of(False, f"{OLD}:1-499,{NEW}:1-3"))
    assert start.index is None
    assert f"{OLD}:500" in start.reason and "purged" in start.reason
    assert choose_start(heads, Have.of(False, f"{OLD}:1-650")).index == 0


def test_an_unreadable_head_stops_the_choice():
    heads = heads_of("0-1-1000", "0-1-1200") + [Head("/var/lib/mysql/mysql-bin.000009", "", "ERROR: bad magic")]
    start = choose_start(heads, Have.of(True, "0-1-1300"))
    assert start.index is None
    assert "mysql-bin.000009" in start.reason and "bad magic" in start.reason
    assert choose_start([], Have.of(True, "0-1-1")).index is None


@st.composite
def binlog_history(draw, mariadb: bool):
    """An old writer's GTIDs in commit order, cut into files (the first ones purged), and how far
    the new writer got (a prefix of that order) plus its own writes since."""
    n = draw(st.integers(1, 60))
    if mariadb:
        keys = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=4, unique=True))
        picks = draw(st.lists(st.sampled_from(keys), min_size=n, max_size=n))
        seq: dict[tuple[int, int], int] = {}
        gtids = []
        for d, s in picks:
            seq[(d, s)] = seq.get((d, s), 0) + 1
            gtids.append(f"{d}-{s}-{seq[(d, s)]}")
    else:
        uuids = [OLD, "5a5a5a5a-0000-4000-8000-000000000001", "6b6b6b6b-0000-4000-8000-000000000002"]
        picks = draw(st.lists(st.sampled_from(uuids), min_size=n, max_size=n))
        seq2: dict[str, int] = {}
        gtids = []
        for u in picks:
            seq2[u] = seq2.get(u, 0) + 1
            gtids.append(f"{u}:{seq2[u]}")
    cuts = sorted(draw(st.sets(st.integers(0, n), min_size=1, max_size=6)))  # file starts, index order
    upto = draw(st.integers(0, n))  # the new writer executed gtids[:upto]
    return gtids, cuts, upto


def _head_text(gtids: list[str], mariadb: bool) -> str:
    return format_state(maria_state(",".join(gtids))) if mariadb else str(GtidSet.parse(",".join(gtids)))


@pytest.mark.parametrize("mariadb", [True, False], ids=["mariadb", "mysql"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_choose_start_never_skips_a_transaction_the_new_writer_lacks(mariadb, data):
    gtids, cuts, upto = data.draw(binlog_history(mariadb))
    heads = [Head(f"/var/lib/mysql/mysql-bin.{i + 1:06d}", _head_text(gtids[:c], mariadb)) for i, c in enumerate(cuts)]
    own = "9-9-5" if mariadb else f"{NEW}:1-5"  # its own writes since the failover (own domain)
    have = Have.of(mariadb, _head_text(gtids[:upto], mariadb), own)
    start = choose_start(heads, have)
    if upto < cuts[0]:  # it lacks something from before the oldest file
        assert start.index is None and "purged" in start.reason
        return
    assert start.index is not None
    i = start.index
    assert all(have.covers(h.gtids) for h in heads[: i + 1])  # every earlier head is held too
    assert i == len(heads) - 1 or not have.covers(heads[i + 1].gtids)  # and it is the newest such
    # everything the new writer lacks is in the chosen file or later
    assert all(have.has(g) for g in gtids[: cuts[i]])


# ====================================================================== gap: which transactions
def test_missing_keeps_what_the_new_writer_lacks_and_drops_gtid_less_events():
    txs = [trx("0-1-1499"), trx("0-1-1500"), trx("0-1-1501"), trx("0-2-421"), trx("")]
    assert [t.gtid for t in missing(txs, Have.of(True, "0-1-1500,0-2-420"))] == ["0-1-1501", "0-2-421"]
    my = [trx(f"{OLD}:{n}") for n in (99, 100, 101, 102)]
    assert [t.gtid for t in missing(my, Have.of(False, f"{OLD}:1-100:102"))] == [f"{OLD}:101"]


def test_after_position_starts_at_the_last_executed_position_of_the_old_writer():
    files = ["/var/lib/mysql/mysql-bin.000007", "/var/lib/mysql/mysql-bin.000008", "/var/lib/mysql/mysql-bin.000009"]
    txs = [
        trx("", file=files[0], start=4000),
        trx("", file=files[1], start=256),
        trx("", file=files[1], start=1815),
        trx("", file=files[1], start=2200),
        trx("", file=files[2], start=256),
    ]
    # Relay_Master_Log_File=mysql-bin.000008, Exec_Master_Log_Pos=1815: executed up to there
    got = after_position(txs, files, "mysql-bin.000008", 1815)
    assert [(t.file[-6:], t.start) for t in got] == [("000008", 1815), ("000008", 2200), ("000009", 256)]
    assert after_position(txs, files, "/var/lib/mysql/mysql-bin.000009", 300) == []


def test_after_position_refuses_a_file_already_purged():
    with pytest.raises(ValueError, match="mysql-bin.000006.*purged"):
        after_position([], ["/var/lib/mysql/mysql-bin.000007"], "mysql-bin.000006", 4)


def test_held_by_old_adds_the_transactions_read_to_the_last_file_head():
    txs = [trx("0-1-1601"), trx("0-1-1602"), trx("")]
    assert held_by_old("0-1-1600,0-2-420", [t.gtid for t in txs], True).state == {(0, 1): 1602, (0, 2): 420}
    my = held_by_old(f"{OLD}:1-800", [f"{OLD}:801", f"{OLD}:802"], False)
    assert my.gtids == GtidSet.parse(f"{OLD}:1-802")


# ====================================================================== gap: preview
def test_preview_of_the_lab_workload_counts_rows_per_table_and_lists_ddl():
    p = preview(workload(), {("labdb", "bl_item"): ["id", "name", "price", "note", "created", "data", "qty"]})
    assert (p.count, p.first, p.last) == (12, "0-1-2", "0-1-13")
    assert (p.since, p.until) == (dt.datetime(2026, 11, 21, 17, 47, 44), dt.datetime(2026, 11, 21, 17, 47, 56))
    assert p.tables == {
        "labdb.bl_item": {"insert": 4, "update": 3, "delete": 1},
        "labdb.bl_pair": {"insert": 2, "update": 2},
        "labdb.bl_log": {"insert": 4, "delete": 1},
    }
    assert len(p.ddl) == 4 and p.ddl[-1] == "ALTER TABLE labdb.bl_item ADD COLUMN qty INT NOT NULL DEFAULT 0"
    # readable lines use the column names where known, positions elsewhere
    assert (
        "    INSERT labdb.bl_item (id=2, name='中文', price=2.00, note='x', created='2026-11-21 10:00:01', "
        "data=NULL)" in p.lines
    )
    assert "    INSERT labdb.bl_pair (@1=1, @2='a', @3=5)" in p.lines
    assert p.lines[0] == "0-1-2  2026-11-21 17:47:44  server 1"
    summary = p.summary()
    assert summary[0] == "12 transaction(s) to recover: 0-1-2 … 0-1-13"
    assert summary[1] == "committed on the old writer between 2026-11-21 17:47:44 – 2026-11-21 17:47:56"
    assert "  labdb.bl_item: 1 delete, 4 insert, 3 update" in summary
    assert summary[-1].startswith("  4 DDL statement(s): CREATE TABLE labdb.bl_item") and summary[-1].endswith(" …")


def test_preview_without_gtids_or_times_names_positions():
    txs = [trx("", start=1815, when=None, rows=[RowChange("delete", "shop", "orders", {1: "7"}, None)])]
    p = preview(txs, {})
    assert (p.first, p.last, p.since, p.until) == ("", "", None, None)
    assert p.lines[0] == "/var/lib/mysql/mysql-bin.000002:1815  ?  server 1"
    assert p.lines[1] == "    DELETE shop.orders WHERE @1=7"
    assert "between unknown" in p.summary()[1]
    assert not p.ddl


def test_an_empty_preview_says_there_is_nothing_to_recover():
    p = preview([], {})
    assert p.summary() == ["nothing to recover: the new writer has every transaction of the old one"]
    assert isinstance(p, Preview) and p.count == 0


# ====================================================================== gap: values
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("NULL", None),
        ("42", Decimal(42)),
        ("-7", Decimal(-7)),
        ("1.50", Decimal("1.50")),
        ("1.5e+10", Decimal("1.5e10")),
        ("-1 (4294967295)", Decimal(4294967295)),  # INT UNSIGNED 4294967295
        ("-2 (18446744073709551614)", Decimal(18446744073709551614)),  # BIGINT UNSIGNED
        ("'O'Brien'", "O'Brien"),  # printed raw, not escaped
        ("''", ""),
        ("'中文'", "中文"),
        (r"'\x00ab\x10'", "\x00ab\x10"),  # control bytes as \xNN
        ("'2026-11-21 10:00:00'", "2026-11-21 10:00:00"),
    ],
)
def test_literal_value_reads_what_mysqlbinlog_prints(text, value):
    got = literal_value(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["b'0101'", "'unterminated", "x'00ff'", ""])
def test_literal_value_refuses_what_it_cannot_read(text):
    with pytest.raises(ValueError):
        literal_value(text)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (Decimal("1.50"), Decimal("1.50")),
        (Decimal("1.50"), Decimal("1.5")),
        (Decimal(42), 42),
        (Decimal(42), "42"),
        (Decimal(1), True),
        (Decimal(4294967295), 4294967295),
        ("2026-11-21 10:00:00", dt.datetime(2026, 11, 21, 10, 0, 0)),
        ("2026-11-21 10:00:00.250000", dt.datetime(2026, 11, 21, 10, 0, 0, 250000)),
        ("2026-11-21 10:00:00.250", dt.datetime(2026, 11, 21, 10, 0, 0, 250000)),  # DATETIME(3)
        ("2026-11-21", dt.date(2026, 11, 21)),
        ("10:30:05", dt.timedelta(hours=10, minutes=30, seconds=5)),
        ("-01:00:00", dt.timedelta(hours=-1)),
        ("838:59:59", dt.timedelta(hours=838, minutes=59, seconds=59)),
        ("bytes", b"bytes"),
        ("\x00\udcff\x10", b"\x00\xff\x10"),  # a BLOB's raw bytes
        ("中文", "中文"),
        (None, None),
    ],
)
def test_same_value_matches_what_the_server_returns(expected, actual):
    assert same_value(expected, actual)


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        (Decimal("1.50"), Decimal("2.50")),
        (Decimal(42), "forty-two"),
        ("2026-11-21 10:00:00", dt.datetime(2026, 11, 21, 10, 0, 1)),
        ("2026-11-21", dt.date(2026, 11, 22)),
        ("10:30:05", dt.timedelta(hours=10, minutes=30, seconds=6)),
        ("bytes", b"bytez"),
        (None, ""),
        ("", None),
        (None, 0),
        (Decimal(0), None),
    ],
)
def test_same_value_tells_changed_values_apart(expected, actual):
    assert not same_value(expected, actual)


def test_a_fractional_datetime_column_with_a_zero_fraction_is_unchanged():
    assert same_value("2026-11-21 10:00:00.000000", dt.datetime(2026, 11, 21, 10, 0, 0))
    assert same_value("2026-11-21 10:00:10.000", dt.datetime(2026, 11, 21, 10, 0, 10))


def test_a_fractional_time_column_is_compared_with_its_fraction():
    assert same_value("10:00:00.500000", dt.timedelta(hours=10, microseconds=500000))
    assert same_value("10:00:00.000000", dt.timedelta(hours=10))


# ====================================================================== gap: conflicts
def probe(expect, *, gtid="0-1-1501", key=("7",)) -> RowProbe:
    return RowProbe("shop", "orders", key, expect, gtid)


def test_a_recovered_insert_expects_the_row_absent():
    assert check_probe(probe(None), None) is None
    c = check_probe(probe(None), {1: 7, 2: "paid"})
    assert c == Conflict("0-1-1501", "shop.orders", ("7",), "the row exists on the new writer (inserted there since)")
    assert str(c).startswith("0-1-1501: shop.orders (7): the row exists")


def test_a_recovered_update_expects_its_before_image():
    before = {1: "7", 2: "'new'", 3: "19.90", 4: "NULL", 5: "'2026-11-21 10:00:00'"}
    row = {1: 7, 2: "new", 3: Decimal("19.90"), 4: None, 5: dt.datetime(2026, 11, 21, 10, 0, 0)}
    assert check_probe(probe(before), row) is None
    c = check_probe(probe(before), {**row, 2: "paid"})
    assert c is not None and c.gtid == "0-1-1501"
    assert "column 2" in c.why and "'paid'" in c.why and "'new'" in c.why  # what it is, what was expected
    gone = check_probe(probe(before), None)
    assert gone is not None and "deleted since" in gone.why


def test_an_unreadable_expected_value_is_a_conflict_not_a_guess():
    c = check_probe(probe({1: "7", 2: "b'0101'"}), {1: 7, 2: b"\x05"})
    assert c is not None and "cannot compare column 2" in c.why


def test_probes_of_the_lab_workload_match_the_rows_they_left():
    txs = [t for t in workload() if t.gtid in ("0-1-6", "0-1-7")]  # the new writer had up to 0-1-5
    probes = first_touches(txs, {("labdb", "bl_item"): [1], ("labdb", "bl_pair"): [1, 2]})
    p1 = next(p for p in probes if p.table == "bl_item" and p.key == ("1",))
    row = {1: 1, 2: "O'Brien", 3: Decimal("1.50"), 4: None, 5: dt.datetime(2026, 11, 21, 10, 0, 0), 6: b"\x00\xff\x10"}
    assert check_probe(p1, row) is None
    changed = check_probe(p1, {**row, 3: Decimal("9.99")})
    assert changed is not None and "column 3" in changed.why and "1.50" in changed.why


def test_a_value_with_a_backslash_is_compared_as_printed():
    txs = [t for t in workload() if t.gtid == "0-1-6"]
    (p3,) = [p for p in first_touches(txs, {("labdb", "bl_item"): [1]}) if p.key == ("3",)]
    row = {
        1: 3,
        2: "plain",
        3: Decimal("3.25"),
        4: "semi;colon /*!*/ and \\ backslash",
        5: dt.datetime(2026, 11, 21, 10, 0, 2),
        6: b"bytes",
    }
    assert check_probe(p3, row) is None
    assert literal_value(r"'C:\new\table'") == "C:\\new\\table"


def conflict(gtid: str) -> Conflict:
    return Conflict(gtid, "shop.orders", ("7",), "row changed since")


def test_mariadb_holds_back_everything_after_the_first_conflict_of_the_same_server():
    txs = [trx(g) for g in ("0-1-1501", "0-1-1502", "0-1-1503", "0-1-1504", "0-2-30", "1-1-8", "")]
    held = conflicting_transactions(txs, [conflict("0-1-1503"), conflict("0-1-1504")], mariadb=True)
    # 1501-1502 can go; from 1503 on, the server's position cannot skip a hole
    assert held == {"0-1-1503", "0-1-1504"}
    held = conflicting_transactions(txs, [conflict("0-1-1502")], mariadb=True)
    assert held == {"0-1-1502", "0-1-1503", "0-1-1504"}  # other servers and domains are not held
    assert conflicting_transactions(txs, [], mariadb=True) == set()


def test_mysql_holds_back_only_the_conflicting_transactions():
    txs = [trx(f"{OLD}:{n}") for n in range(801, 806)]
    held = conflicting_transactions(txs, [conflict(f"{OLD}:802")], mariadb=False)
    assert held == {f"{OLD}:802"}


# ====================================================================== locate: gathered output
def _tool(tmp_path: Path, out_bytes: int, status: int) -> str:
    """A stand-in binlog tool writing `out_bytes` in many small writes, then exiting `status`."""
    tool = tmp_path / "tool"
    tool.write_text(
        "#!/bin/sh\n"
        f'i=0; while [ $i -lt {out_bytes // 100} ]; do printf "%099d\\n" $i; i=$((i+1)); done\n'
        'echo "tool: done" >&2\n'
        f"exit {status}\n"
    )
    tool.chmod(0o755)
    return str(tool)


@pytest.mark.parametrize("status", [0, 1, 7])
def test_gathered_output_is_the_tools_byte_for_byte_with_its_exit_status(tmp_path: Path, status: int):
    tool = _tool(tmp_path, 600_000, status)
    plain = subprocess.run(["sh", "-c", tool], capture_output=True, timeout=60)
    got = subprocess.run(["sh", "-c", coalesced(shlex.quote(tool))], capture_output=True, timeout=60)
    assert got.stdout == plain.stdout and len(got.stdout) == 600_000
    assert got.returncode == status  # the tool's, not dd's
    assert got.stderr == b"tool: done\n"  # the tool's messages still reach the caller; dd's do not


def test_gathered_output_without_a_gathering_dd_passes_through(tmp_path: Path):
    # a dd that does not know iflag=fullblock (BusyBox, old systems) fails before reading
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "dd").write_text("#!/bin/sh\necho 'dd: unknown operand iflag=fullblock' >&2\nexit 1\n")
    (bin_ / "dd").chmod(0o755)
    tool = _tool(tmp_path, 50_000, 3)
    env = {"PATH": f"{bin_}:/usr/bin:/bin"}
    got = subprocess.run(["sh", "-c", coalesced(shlex.quote(tool))], capture_output=True, timeout=60, env=env)
    assert len(got.stdout) == 50_000 and got.stdout.startswith(b"0" * 99 + b"\n")
    assert got.returncode == 3
    assert got.stderr == b"tool: done\n"


def test_gathered_output_writes_in_large_blocks(tmp_path: Path):
    # what it is for: sshd sends each read of the pipe as a packet; count the reads a reader
    # of the gathered output needs (a pipe read returns what one write put there, up to 64 KiB)
    tool = _tool(tmp_path, 2_000_000, 0)
    code = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen(['sh', '-c', sys.argv[1]], stdout=subprocess.PIPE, bufsize=0)\n"
        "n = b = 0\n"
        "while chunk := os.read(p.stdout.fileno(), 1 << 20):\n"
        "    n += 1; b += len(chunk)\n"
        "p.wait(); print(n, b)\n"
    )
    reads_plain, total_plain = map(int, subprocess.check_output([sys.executable, "-c", code, tool]).split())
    reads, total = map(int, subprocess.check_output([sys.executable, "-c", code, coalesced(tool)]).split())
    assert total == total_plain == 2_000_000
    assert reads * 5 < reads_plain, (reads, reads_plain)
