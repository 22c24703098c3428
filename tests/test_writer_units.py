"""The VIP writer's pure parts: error names, pause bookkeeping, row checks. No lab needed."""

from __future__ import annotations

import sys

import pymysql
import pytest

from hatui.lab.spec import default_spec
from hatui.lab.writer import PauseTracker, RowCheck, VipWriter, WriteReport, classify, row_check


def test_mysql_errors_are_named_by_code_and_others_by_type():
    assert (
        classify(pymysql.err.OperationalError(1290, "The MariaDB server is running with the --read-only option"))
        == "1290 read-only"
    )
    assert classify(pymysql.err.OperationalError(2013, "Lost connection")) == "2013 lost connection"
    assert classify(pymysql.err.OperationalError(2003, "Can't connect")) == "2003 can't connect"
    assert classify(pymysql.err.IntegrityError(1062, "Duplicate entry")) == "1062 duplicate key"
    # an unknown code keeps its number and says which kind of error it was
    assert classify(pymysql.err.ProgrammingError(1064, "syntax")) == "1064 ProgrammingError"
    assert classify(pymysql.err.InterfaceError("closed")) == "InterfaceError"
    assert classify(TimeoutError("timed out")) in ("timeout", "TimeoutError")
    assert classify(ConnectionResetError()) == "ConnectionResetError"


def test_pauses_count_from_start_and_only_long_gaps_are_listed():
    # binary fractions, so "exactly the threshold" is exact
    p = PauseTracker(start=100.0, threshold=0.125)
    assert p.longest == 0.0 and p.pauses == []
    p.ack(100.0625)  # start -> first ack
    p.ack(100.125)
    p.ack(100.625)  # a 0.5 s pause: listed
    p.ack(100.75)  # exactly the threshold: not a pause
    assert p.longest == 0.5
    assert p.pauses == [(100.125, 100.625)]


def test_a_slow_first_ack_is_a_pause_too():
    p = PauseTracker(start=0.0, threshold=0.1)
    p.ack(1.25)
    assert p.longest == 1.25 and p.pauses == [(0.0, 1.25)]


def test_row_check_finds_missing_extra_and_duplicate_rows():
    good = row_check("db1", 5, 5, 5, [1, 2, 3, 4, 5])
    assert good == RowCheck("db1", 5, (), (), 0) and good.ok
    behind = row_check("db3", 5, 3, 3, [1, 2, 4])
    assert behind.missing == (3, 5) and not behind.ok
    extra = row_check("db2", 3, 4, 4, [1, 2, 3, 4])
    assert extra.extra == (4,) and extra.missing == () and not extra.ok
    dup = RowCheck("db2", 4, (), (), 1)
    assert not dup.ok
    assert row_check("db1", 0, 0, 0, []).ok


def test_report_is_frozen_and_keeps_its_fields():
    r = WriteReport(
        acked=10,
        attempts=12,
        errors=2,
        reconnects=1,
        longest_pause=0.4,
        pauses=((1.0, 1.4),),
        error_kinds={"2013 lost connection": 2},
    )
    assert r.duplicate_acks == 0 and r.abandoned == 0
    with pytest.raises(AttributeError):
        r.acked = 11  # type: ignore[misc]


def test_table_names_are_plain_identifiers(tmp_path):
    spec = default_spec(state_dir=tmp_path, prefix="hatui-x-")
    spec.secrets_dir.mkdir(parents=True)
    (spec.secrets_dir / "app.pw").write_text("pw\n")

    class FakeLab:
        pass

    lab = FakeLab()
    lab.spec = spec  # type: ignore[attr-defined]
    VipWriter(lab, table="hatui_writes_1")  # type: ignore[arg-type]
    for bad in ("x`; DROP TABLE y", "a-b", "", "x" * 65):
        with pytest.raises(ValueError):
            VipWriter(lab, table=bad)  # type: ignore[arg-type]


def test_the_engine_module_does_not_import_textual():
    import subprocess

    code = "import sys, hatui.lab.writer; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
