"""hatui.binlog.cache: a binlog read before, unchanged, is not downloaded and parsed again."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hatui.binlog.cache import KEEP, DumpCache, FileIdentity
from hatui.binlog.dump import parse_dump
from hatui.binlog.gap import Have
from hatui.binlog.locate import parse_sizes, parse_stats, sizes_command

FIX = Path(__file__).parent / "fixtures" / "binlog"


def ident(**kw) -> FileIdentity:
    base = dict(
        node="198.18.0.11:22",
        path="/var/lib/mysql/mysql-bin.000002",
        size=0,
        inode=1234,
        mtime=1765000000,
        head="0-1-5",
        tool="mariadb-binlog Ver 3.5",
    )
    return FileIdentity(**{**base, **kw})


def workload(tmp_path: Path):
    raw = tmp_path / "run1" / "mysql-bin.000002.txt"
    raw.parent.mkdir()
    raw.write_bytes((FIX / "mariadb-10.11-workload.txt").read_bytes())
    with open(raw, encoding="utf-8", errors="surrogateescape") as f:
        dump = parse_dump(f, "mysql-bin.000002", keep_text=False)
    return raw, dump


def cached(tmp_path: Path):
    """The workload's dump put in a fresh cache: (dump, cache, its identity)."""
    raw, dump = workload(tmp_path)
    (tmp_path / "cache").mkdir(mode=0o700)
    cache = DumpCache(tmp_path / "cache")
    i = ident(size=dump.end)
    cache.put(i, dump, raw)
    return dump, cache, i


def test_an_unchanged_binlog_comes_back_parsed_with_its_raw_text(tmp_path):
    raw, dump = workload(tmp_path)
    assert dump.transactions and all(t.text == "" and t.replay for t in dump.transactions)
    cache = DumpCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir(mode=0o700)
    i = ident(size=dump.end)
    assert cache.get(i) is None
    cache.put(i, dump, raw)
    got = cache.get(i)
    assert got is not None
    again, kept = got
    assert again == dump and kept.read_bytes() == raw.read_bytes()
    assert oct(kept.stat().st_mode & 0o777) == "0o600" or kept.stat().st_ino == raw.stat().st_ino


def test_anything_that_says_the_file_changed_is_a_miss(tmp_path):
    dump, cache, i = cached(tmp_path)
    for change in (
        {"size": dump.end + 10},  # it grew
        {"inode": 99},  # a new file of the same name (binlogs reset)
        {"mtime": 1765000001},
        {"head": "0-1-6"},
        {"node": "198.18.0.12:22"},
        {"tool": "mysqlbinlog Ver 8.0"},
    ):
        assert cache.get(dataclasses.replace(i, **change)) is None, change
    assert cache.get(i) is not None


def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path):
    dump, cache, i = cached(tmp_path)
    [entry] = list((tmp_path / "cache").glob("*.pickle"))
    entry.write_bytes(b"not a pickle")
    assert cache.get(i) is None and not entry.exists()


def test_a_repeat_run_reads_only_the_gtid_summary_and_a_damaged_or_missing_one_is_a_miss(tmp_path):
    dump, cache, i = cached(tmp_path)
    assert len(dump.transactions) > 3
    count, summary = cache.summary(i)
    assert count == len(dump.transactions)
    # a server covers the summary exactly when it has every transaction's GTID
    every = Have.of(True, ",".join(t.gtid for t in dump.transactions if t.gtid))
    assert every.covers(summary)
    last = dump.transactions[-1].gtid
    short = Have.of(True, ",".join(t.gtid for t in dump.transactions if t.gtid and t.gtid != last))
    assert not short.covers(summary) and not short.has(last)
    assert cache.summary(dataclasses.replace(i, size=dump.end + 1)) is None  # the file changed
    [index] = list((tmp_path / "cache").glob("*.gtids"))
    assert oct(index.stat().st_mode & 0o777) == "0o600"
    index.write_bytes(b"garbage")
    assert cache.summary(i) is None and not index.exists()
    assert cache.get(i) is not None  # the parsed dump itself is still good: the long way works
    cache.put(i, dump, tmp_path / "run1" / "mysql-bin.000002.txt")  # parsed again: indexed again
    assert cache.summary(i) == (count, summary)
    [entry] = list((tmp_path / "cache").glob("*.pickle"))
    entry.unlink()  # no parsed dump: no summary either
    assert cache.summary(i) is None


def test_the_cache_keeps_the_most_recent_entries_only(tmp_path):
    raw, dump = workload(tmp_path)
    (tmp_path / "cache").mkdir(mode=0o700)
    cache = DumpCache(tmp_path / "cache")
    for n in range(KEEP + 3):
        cache.put(ident(size=dump.end, inode=n + 1), dump, raw)
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == KEEP
    assert len(list((tmp_path / "cache").glob("*.txt"))) == KEEP
    assert len(list((tmp_path / "cache").glob("*.gtids"))) == KEEP


def test_stat_lines_give_size_inode_and_mtime_and_older_lines_still_parse():
    assert sizes_command(["/var/lib/mysql/mysql-bin.000002"]).startswith("stat -c '%s %i %Y %n' -- ")
    text = "1261 393228 1765012345 /var/lib/mysql/mysql bin.000009\n907 /x/mysql-bin.000008\n"
    st = parse_stats(text)
    assert st["/var/lib/mysql/mysql bin.000009"].size == 1261
    assert st["/var/lib/mysql/mysql bin.000009"].inode == 393228
    assert st["/x/mysql-bin.000008"].inode == 0  # no identity: never cached
    assert parse_sizes(text) == {"/var/lib/mysql/mysql bin.000009": 1261, "/x/mysql-bin.000008": 907}


def test_two_runs_in_one_second_each_keep_their_own_folder_and_raw_dumps(tmp_path):
    """A split-brain and the rejoin it hands over to (or a dry run and the run) can start in the
    same second: each gets its own recovery folder, so the later one neither overwrites the
    earlier one's saved transactions nor trips over its links into the cache."""
    from hatui.runbook import recovery
    from tests.fake_access import cluster

    dump, cache, i = cached(tmp_path)
    kept = cache.raw_path(i)
    c = cluster("keepalived")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    first = recovery.run_folder(state, c, "db1-errant")
    second = recovery.run_folder(state, c, "db1-errant")
    assert first != second and first.is_dir() and second.is_dir()
    assert sorted(first.parent.glob("*-db1-errant")) == [first, second]  # the later sorts last
    assert oct(second.stat().st_mode & 0o777) == "0o700"
    for folder in (first, second):
        dest = folder / "mysql-bin.000002.txt"
        recovery._keep_raw(kept, dest)
        assert dest.read_bytes() == kept.read_bytes()
    # the same run keeping a file twice, or over a stale file, ends with the cache's text
    dest = second / "mysql-bin.000002.txt"
    recovery._keep_raw(kept, dest)
    dest.unlink()
    dest.write_bytes(b"stale")
    recovery._keep_raw(kept, dest)
    assert dest.read_bytes() == kept.read_bytes()
