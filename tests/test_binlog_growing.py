"""hatui.binlog.growing: a dump is parsed while it downloads, to the same result as after."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from hatui.binlog.dump import BinlogDump, parse_dump
from hatui.binlog.growing import GrowingFile, parse_growing

FIX = Path(__file__).parent / "fixtures" / "binlog"


def write_slowly(path: Path, data: bytes, src: GrowingFile, piece: int) -> threading.Thread:
    def run() -> None:
        with open(path, "wb") as f:
            for i in range(0, len(data), piece):
                f.write(data[i : i + piece])
                f.flush()
                src.grew()
                time.sleep(0.002)
        src.finish()

    t = threading.Thread(target=run)
    t.start()
    return t


def parse_while_written(tmp_path: Path, data: bytes, piece: int) -> BinlogDump:
    """The workload's dump parsed as repair-gap parses a download, `piece` bytes at a time."""
    path = tmp_path / "growing.txt"
    path.write_bytes(b"")
    src = GrowingFile(path)
    writer = write_slowly(path, data, src, piece)
    try:
        return parse_growing(src, "mysql-bin.000002", 4937)
    finally:
        writer.join()


def test_a_reader_gets_every_byte_and_the_end_only_after_the_writer_is_done(tmp_path):
    path = tmp_path / "d.txt"
    path.write_bytes(b"")
    src = GrowingFile(path)
    data = bytes(range(256)) * 300 + b"\r\nlast line without end"
    writer = write_slowly(path, data, src, 997)  # pieces that cut lines and \r\n in two
    with src, io.BufferedReader(src) as f:
        got = f.read()
    writer.join()
    assert got == data


def test_the_end_comes_when_the_writer_fails_midway(tmp_path):
    path = tmp_path / "d.txt"
    path.write_bytes(b"")
    src = GrowingFile(path)
    path.write_bytes(b"half a dump")
    src.grew()
    threading.Timer(0.2, src.finish).start()  # the download failed: the reader must not hang
    t0 = time.monotonic()
    with src, io.BufferedReader(src) as f:
        assert f.read() == b"half a dump"
    assert time.monotonic() - t0 < 5


def test_parsing_while_it_grows_gives_the_dump_parsing_after_gives(tmp_path):
    data = (FIX / "mariadb-10.11-workload.txt").read_bytes()  # raw bytes, not all UTF-8
    whole = tmp_path / "whole.txt"
    whole.write_bytes(data)
    with open(whole, encoding="utf-8", errors="surrogateescape") as f:
        after = parse_dump(f, "mysql-bin.000002", keep_text=False)
    during = parse_while_written(tmp_path, data, 61)
    assert during == after and len(after.transactions) > 3


def test_a_carriage_return_inside_a_statement_is_replayed_as_it_ran(tmp_path):
    """The download is read untranslated: a "\\r" in a DDL statement (or a string of a
    statement-based INSERT) stays a "\\r", not a line break that would change what runs."""
    ddl = "CREATE TABLE labdb.bl_log (msg VARCHAR(100) NULL"
    data = (FIX / "mariadb-10.11-workload.txt").read_bytes().replace(ddl.encode(), (ddl + " /*\r*/").encode())
    dump = parse_while_written(tmp_path, data, 997)
    (stmt,) = [s for t in dump.transactions for s in t.replay if s.startswith(ddl)]
    assert stmt == ddl + " /*\r*/, n INT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
