"""hatui.binlog.dump against real mariadb-binlog / mysqlbinlog output (tests/fixtures/binlog/README.md)."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path

import pytest

from hatui.binlog.dump import (
    BinlogDump,
    BinlogIntegrityError,
    RowChange,
    RowProbe,
    Transaction,
    _is_dml,  # the DML test itself, for the worst case
    first_touches,
    parse_dump,
    readable,
    render_sql,
    replay_rounds,
    replay_statements,
    split_statements,
)

FIX = Path(__file__).parent / "fixtures" / "binlog"
MYSQL_UUID = "7f4be0b0-09b9-11ef-9bc6-0242ac130002"


def text(name: str) -> str:
    # -v prints column values raw: the output is not necessarily UTF-8 (a BLOB here is not)
    return (FIX / name).read_text(encoding="utf-8", errors="surrogateescape")


def load(name: str) -> BinlogDump:
    return parse_dump(text(name).splitlines(keepends=True), name)


@pytest.fixture(scope="module")
def maria() -> BinlogDump:
    return load("mariadb-10.11-workload.txt")


@pytest.fixture(scope="module")
def mysql() -> BinlogDump:
    return load("mysql-8.0-gtid.txt")


def by_gtid(dump: BinlogDump) -> dict[str, Transaction]:
    return {t.gtid: t for t in dump.transactions}


# ------------------------------------------------------------------ MariaDB workload


def test_mariadb_transactions_in_order(maria: BinlogDump) -> None:
    assert maria.flavor == "mariadb"
    assert maria.file == "mariadb-10.11-workload.txt"
    assert maria.gtid_list == "0-1-1"
    assert [t.gtid for t in maria.transactions] == [f"0-1-{n}" for n in range(2, 14)]
    assert {t.server_id for t in maria.transactions} == {1}
    assert {t.file for t in maria.transactions} == {"mariadb-10.11-workload.txt"}
    first, last = maria.transactions[0], maria.transactions[-1]
    assert first.when == datetime(2026, 11, 21, 17, 47, 44)
    assert last.when == datetime(2026, 11, 21, 17, 47, 56)
    # offsets: "# at" of the GTID event .. end_log_pos of the Xid event
    t5 = by_gtid(maria)["0-1-5"]
    assert (t5.start, t5.end) == (1222, 1815)
    assert t5.text.startswith("# at 1222\n#261121 17:47:47 server id 1  end_log_pos 1264 ")
    assert t5.text.endswith("Xid = 146\nCOMMIT/*!*/;\n")
    # consecutive transactions tile the file
    for a, b in zip(maria.transactions, maria.transactions[1:]):
        assert a.end == b.start


def test_mariadb_parts_reassemble_the_output(maria: BinlogDump) -> None:
    # no events between transactions in this file: preamble + texts + trailer is the output itself
    whole = maria.preamble + "".join(t.text for t in maria.transactions) + maria.trailer
    assert whole == text("mariadb-10.11-workload.txt")
    assert "Gtid list [0-1-1]" in maria.preamble
    assert maria.preamble.count("BINLOG '") == 1  # the format description
    assert maria.trailer.splitlines()[1].endswith("Rotate to mysql-bin.000003  pos: 4")
    assert "DELIMITER ;" in maria.trailer


def test_mariadb_ddl_flag_and_statements(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    assert [t.gtid for t in maria.transactions if t.ddl] == ["0-1-2", "0-1-3", "0-1-4", "0-1-10"]
    assert g["0-1-2"].statements[0].startswith("CREATE TABLE labdb.bl_item (\n  id INT NOT NULL PRIMARY KEY,")
    assert g["0-1-10"].statements == ["ALTER TABLE labdb.bl_item ADD COLUMN qty INT NOT NULL DEFAULT 0"]
    assert g["0-1-10"].rows == []
    # annotate (#Q>) lines: the original statements, multi-line ones joined
    assert g["0-1-6"].statements == [
        "INSERT INTO labdb.bl_pair VALUES (1, 'a', 5)",
        "INSERT INTO labdb.bl_pair VALUES (1, 'b', 6)",
        "INSERT INTO labdb.bl_log VALUES ('hello', 1)",
        "UPDATE labdb.bl_item SET price = price + 1 WHERE id = 1",
        "DELETE FROM labdb.bl_item WHERE id = 3",
    ]
    assert g["0-1-5"].statements[0].splitlines()[1] == "  (1, 'O''Brien', 1.50, NULL, '2026-11-21 10:00:00', 0x00ff10),"
    # a statement-format DML Query event: its SQL, not DDL
    assert g["0-1-13"].statements == ["INSERT INTO labdb.bl_log VALUES ('stmt', 9)"]
    assert not g["0-1-13"].ddl and g["0-1-13"].rows == []
    for t in maria.transactions:
        assert not any(s.startswith(("BEGIN", "COMMIT", "START TRANSACTION", "BINLOG")) for s in t.statements)


def test_mariadb_row_changes(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    kinds = {t.gtid: [(r.kind, r.table) for r in t.rows] for t in maria.transactions}
    assert kinds["0-1-5"] == [("insert", "bl_item")] * 3  # one multi-row INSERT
    assert kinds["0-1-6"] == [
        ("insert", "bl_pair"),
        ("insert", "bl_pair"),
        ("insert", "bl_log"),
        ("update", "bl_item"),
        ("delete", "bl_item"),
    ]
    assert kinds["0-1-7"] == [("update", "bl_pair")] * 2  # one UPDATE of two rows
    assert kinds["0-1-8"] == [("insert", "bl_log")] * 3
    assert kinds["0-1-9"] == [("delete", "bl_log")]
    assert kinds["0-1-11"] == [("insert", "bl_item"), ("update", "bl_item")]
    assert all(r.schema == "labdb" for t in maria.transactions for r in t.rows)

    r1, r2, r3 = g["0-1-5"].rows
    assert r1.before is None
    # values exactly as -v prints them: quotes not escaped, bytes raw
    assert r1.after == {
        1: "1",
        2: "'O'Brien'",
        3: "1.50",
        4: "NULL",
        5: "'2026-11-21 10:00:00'",
        6: "'\\x00\udcff\\x10'",
    }
    assert r2.after[2] == "'中文'" and r2.after[3] == "2.00" and r2.after[6] == "NULL"
    assert r3.after[4] == "'semi;colon /*!*/ and \\ backslash'"

    upd = g["0-1-6"].rows[3]
    assert upd.before[3] == "1.50" and upd.after[3] == "2.50"
    dele = g["0-1-6"].rows[4]
    assert dele.after is None and dele.before[1] == "3"
    null_set = g["0-1-12"].rows[0]
    assert null_set.before[4] == "'x'" and null_set.after[4] == "NULL" and null_set.after[7] == "0"


def test_context_carries_session_state(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    assert g["0-1-2"].context == ""  # first of the file: prints everything itself
    ctx = g["0-1-8"].context.splitlines()
    assert "/*M!100001 SET @@session.server_id=1*//*!*/;" in ctx
    assert "/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;" in ctx
    assert "/*!\\C utf8mb4 *//*!*/;" in ctx
    assert not any("gtid_seq_no" in line for line in ctx)  # per transaction, never carried
    assert all(line.endswith("/*!*/;") for line in ctx)


# ------------------------------------------------------------------ render + split


def gtid_sets(script: str) -> list[str]:
    return re.findall(r"SET @@session\.gtid_seq_no=(\d+)\*/", script)


def test_render_subset(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    chosen = [g["0-1-5"], g["0-1-6"], g["0-1-8"], g["0-1-11"]]
    script = render_sql([(maria, chosen)])
    assert gtid_sets(script) == ["5", "6", "8", "11"]
    stmts = list(replay_statements(script))
    assert stmts[: len(split(maria.preamble))] == split(maria.preamble)
    assert stmts[-len(split(maria.trailer)) :] == split(maria.trailer)
    assert script.count("BINLOG '\nP9kBaw8BAAAA/AAAAAABAAAAAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9n") == 1
    for t in chosen:
        assert t.replay and "\n".join(t.replay) in "\n".join(stmts)
    # 0-1-6 follows 0-1-5 in the file: nothing in between; 0-1-5, 0-1-8 and 0-1-11 get their state
    assert script.count("first the session state printed before it") == 3
    r8 = g["0-1-8"].replay
    at8 = next(i for i in range(len(stmts)) if stmts[i : i + len(r8)] == r8)
    ctx8 = [
        line[: -len("/*!*/;")] for line in g["0-1-8"].context.splitlines() if not line.startswith("/*!\\C ")
    ]  # the client's charset command is not sent
    assert stmts[at8 - len(ctx8) : at8] == ctx8
    assert "0-1-7" not in script and "gtid_seq_no=7*/" not in script


def test_render_leaves_out_parts_without_transactions(maria: BinlogDump) -> None:
    empty = load("mariadb-10.11-empty.txt")
    assert render_sql([(empty, [])]) == ""
    assert render_sql([(maria, [])]) == ""
    t = by_gtid(maria)["0-1-9"]
    assert render_sql([(empty, []), (maria, [t])]) == render_sql([(maria, [t])])
    two = render_sql([(maria, [t]), (maria, [by_gtid(maria)["0-1-10"]])])
    assert two.count("BINLOG '\nP9kBaw8BAAAA") == 2 and gtid_sets(two) == ["9", "10"]


def split(text: str) -> list[str]:
    return list(split_statements(text))


def count_statements(script: str) -> int:
    """Independent count: this script ends every statement at a line end."""
    delim, n = ";", 0
    for line in script.splitlines():
        if line.startswith("DELIMITER "):
            delim = line.split()[1]
        elif line.startswith("#") or not line.strip() or line.startswith("/*!\\C "):
            continue
        elif line.endswith(delim):
            n += 1
    return n


STATEMENT_SHAPES = re.compile(
    r"(SET |/\*!\d* ?SET |/\*M!\d+ SET |BINLOG '|START TRANSACTION$|BEGIN$|COMMIT$|ROLLBACK$|"
    r"use `|CREATE TABLE |ALTER TABLE |INSERT INTO labdb\.bl_log VALUES \('stmt', 9\)$)"
)


@pytest.mark.parametrize(
    "name",
    [
        "mariadb-10.11-workload.txt",
        "mariadb-10.11-from-position.txt",
        "mysql-8.0-gtid.txt",
        "mysql-8.0-incomplete-trx.txt",
    ],
)
def test_replay_is_what_the_client_would_run_of_the_tool_output(name: str) -> None:
    """On honest output, the statements cut at the event boundaries are exactly those the
    mariadb client would run of the tool's own text (split_statements reads it as the client)."""
    d = load(name)
    script = render_sql([(d, d.transactions)])
    raw = d.preamble + "".join(t.text for t in d.transactions) + d.trailer
    expected = split(raw)
    if d.flavor == "mysql" and "AUTOMATIC" not in d.trailer:
        expected.append("SET @@SESSION.GTID_NEXT= 'AUTOMATIC' /* added by hatui */")
    first_ctx = [line[: -len("/*!*/;")] for line in d.transactions[0].context.splitlines()]
    got = list(replay_statements(script))
    assert got[: len(split(d.preamble))] + got[len(split(d.preamble)) + len(first_ctx) :] == expected


def test_replay_statements_of_rendered_script(maria: BinlogDump) -> None:
    script = render_sql([(maria, maria.transactions)])
    stmts = list(replay_statements(script))
    for s in stmts:
        assert STATEMENT_SHAPES.match(s), s
        assert not s.startswith("#") and not s.endswith(";") and "/*!*/" not in s
    blobs = [s for s in stmts if s.startswith("BINLOG")]
    assert len(blobs) == script.count("BINLOG '")
    for s in blobs:  # every base64 blob whole
        body = s[len("BINLOG '") :]
        assert body.endswith("'")
        for chunk in body[:-1].split():
            base64.b64decode(chunk, validate=True)
    assert stmts.count("START TRANSACTION") == 8 and stmts.count("COMMIT") == 8
    assert "ROLLBACK" in stmts and "DELIMITER" not in " ".join(stmts)
    assert [s for s in stmts if s.startswith("CREATE TABLE")][0].endswith("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    # the delimiter is on lines of its own and in no statement
    delim = re.search(r"^DELIMITER (\S+)$", script, re.M)[1]
    assert delim.startswith("$$h") and not any(delim in s for s in stmts)
    assert len(delim) <= 15  # the mariadb client keeps 15 characters of a delimiter
    assert render_sql([(maria, maria.transactions)]) == script  # the same every time


@pytest.mark.parametrize("name", ["mariadb-10.11-workload.txt", "mysql-8.0-gtid.txt"])
def test_a_row_transaction_is_one_round_trip_and_the_client_sends_the_same_rounds(name: str) -> None:
    """The replay's speed is its round trips: the tool's session settings and a transaction's
    brackets ride with its BINLOG statement, which ends the round (MariaDB loses results after
    one inside a multi-statement query); a Query event's own statement goes alone. The mariadb
    client reading the script sends exactly these rounds."""
    d = load(name)
    script = render_sql([(d, d.transactions)])
    rounds = list(replay_rounds(script))
    assert [";\n".join(r) for r in rounds] == split(script)  # what `mariadb < gap.sql` sends
    assert [st for r in rounds for st in r] == list(replay_statements(script))
    for r in rounds:
        for st in r[:-1]:
            assert not st.startswith("BINLOG") and re.fullmatch(
                r"(/\*M?!\d* ?)?(SET|START|BEGIN|COMMIT|ROLLBACK)\b.*", st
            )
        if len(r) > 1:
            assert all(";" not in st for st in r)  # cutting at ";\n" again is exact
    own = [r for r in rounds if r[0].startswith(("CREATE TABLE", "ALTER TABLE", "INSERT INTO", "use `"))]
    assert own and all(len(r) == 1 for r in own)  # verbatim statements alone
    binlogs = sum(st.startswith("BINLOG") for r in rounds for st in r)
    row_trx = [t for t in d.transactions if any(st.startswith("BINLOG") for st in t.replay)]
    assert row_trx
    # one round per BINLOG statement, plus the few a DDL, a charset change or the trailer need
    assert len(rounds) <= binlogs + 3 * (len(d.transactions) - len(row_trx)) + 4
    assert len(rounds) * 2 < sum(len(r) for r in rounds)


def test_replay_rounds_cut_only_where_render_joined() -> None:
    def rounds(body: str) -> list[list[str]]:
        return list(replay_rounds(f"DELIMITER $$x$$\n{body}\n$$x$$\nDELIMITER ;\n"))

    assert rounds("COMMIT;\nSET @@session.gtid_seq_no=7;\nSTART TRANSACTION;\nBINLOG '\nAAAA\n'") == [
        ["COMMIT", "SET @@session.gtid_seq_no=7", "START TRANSACTION", "BINLOG '\nAAAA\n'"]
    ]
    # a statement whose text holds ";\n" is not cut: one piece is no shape render_sql joins
    assert rounds("SET @a='x;\nSET @b=2'") == [["SET @a='x;\nSET @b=2'"]]
    assert rounds("CREATE TABLE t (a INT);\nCOMMIT") == [["CREATE TABLE t (a INT);\nCOMMIT"]]
    assert rounds("COMMIT;\nBINLOG 'not base64 -- x'") == [["COMMIT;\nBINLOG 'not base64 -- x'"]]
    assert rounds("SET @a=1 -- c;\nCOMMIT") == [["SET @a=1 -- c;\nCOMMIT"]]


def test_replay_statements_refuses_what_it_did_not_render() -> None:
    with pytest.raises(ValueError, match="not a hatui replay script"):
        list(replay_statements("SELECT 1;\n"))
    with pytest.raises(ValueError, match="ends inside a statement"):
        list(replay_statements("DELIMITER $$x$$\nSELECT 1\n$$x$$\nSELECT 2\n"))
    assert list(
        replay_statements("-- hatui: note\nDELIMITER $$x$$\n-- hatui: t\nSELECT\n'a\n$$x$$ b'\n$$x$$\nDELIMITER ;\n")
    ) == ["SELECT\n'a\n$$x$$ b'"]


def test_split_statements_rules() -> None:
    script = (
        "SELECT 1;\n"
        "# a comment line; not a statement\n"
        "-- another one;\n"
        "SELECT 'a;b', \"c;d\", `e;f` /* gone; */, 'it''s', 'back\\'slash;'; SELECT 2; -- tail\n"
        "DELIMITER $$\n"
        "SELECT 'x\n# not a comment inside a string\n';$$\n"
        "/*!\\C utf8mb4 */$$\n"
        "/*!50530 SET @@SESSION.X=1*/$$\n"
        "/*M!100001 SET @@session.gtid_seq_no=5*/$$\n"
        "$$\n"
        "DELIMITER ;\n"
        "INSERT INTO t VALUES (1)"
    )
    assert list(split_statements(script)) == [
        "SELECT 1",
        "SELECT 'a;b', \"c;d\", `e;f` , 'it''s', 'back\\'slash;'",
        "SELECT 2",
        "SELECT 'x\n# not a comment inside a string\n';",
        "/*!50530 SET @@SESSION.X=1*/",
        "/*M!100001 SET @@session.gtid_seq_no=5*/",
        "INSERT INTO t VALUES (1)",
    ]


# ------------------------------------------------------------------ first_touches + readable

PK = {("labdb", "bl_item"): [1], ("labdb", "bl_pair"): [1, 2]}  # bl_log has no primary key


def test_first_touches_whole_workload(maria: BinlogDump) -> None:
    probes = first_touches(maria.transactions, PK)
    assert [(p.table, p.key, p.expect, p.gtid) for p in probes] == [
        ("bl_item", ("1",), None, "0-1-5"),
        ("bl_item", ("2",), None, "0-1-5"),
        ("bl_item", ("3",), None, "0-1-5"),
        ("bl_pair", ("1", "'a'"), None, "0-1-6"),
        ("bl_pair", ("1", "'b'"), None, "0-1-6"),
        ("bl_log", ("'hello'", "1"), None, "0-1-6"),  # no pk: keyed by the image
        ("bl_log", ("'dup'", "7"), None, "0-1-8"),  # the same image twice: one probe
        ("bl_log", ("NULL", "NULL"), None, "0-1-8"),
        ("bl_item", ("5",), None, "0-1-11"),  # insert then update in one trx: absence only
    ]


def test_first_touches_update_and_delete_expect_before_image(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    probes = first_touches([g["0-1-7"], g["0-1-9"], g["0-1-12"]], PK)
    assert probes == [
        RowProbe("labdb", "bl_pair", ("1", "'a'"), {1: "1", 2: "'a'", 3: "5"}, "0-1-7"),
        RowProbe("labdb", "bl_pair", ("1", "'b'"), {1: "1", 2: "'b'", 3: "6"}, "0-1-7"),
        RowProbe("labdb", "bl_log", ("'hello'", "1"), {1: "'hello'", 2: "1"}, "0-1-9"),
        RowProbe(
            "labdb",
            "bl_item",
            ("2",),
            {1: "2", 2: "'中文'", 3: "2.00", 4: "'x'", 5: "'2026-11-21 10:00:01'", 6: "NULL", 7: "0"},
            "0-1-12",
        ),
    ]


def _trx(gtid: str, rows: list[RowChange]) -> Transaction:
    return Transaction(
        gtid=gtid, server_id=1, when=None, file="f", start=0, end=0, text="", statements=[], rows=rows, ddl=False
    )


def test_first_touches_key_moves_and_later_touches() -> None:
    a = _trx("0-1-1", [RowChange("update", "s", "t", {1: "1", 2: "'a'"}, {1: "9", 2: "'a'"})])
    b = _trx(
        "0-1-2",
        [
            RowChange("update", "s", "t", {1: "9", 2: "'a'"}, {1: "9", 2: "'b'"}),
            RowChange("delete", "s", "t", {1: "9", 2: "'b'"}, None),
        ],
    )
    probes = first_touches([a, b], {("s", "t"): [1]})
    assert probes == [
        RowProbe("s", "t", ("1",), {1: "1", 2: "'a'"}, "0-1-1"),
        RowProbe("s", "t", ("9",), None, "0-1-1"),  # the key it moves to must be free
    ]


def test_readable() -> None:
    ins = RowChange("insert", "labdb", "t", None, {1: "1", 2: "'x'"})
    upd = RowChange("update", "labdb", "t", {1: "1", 2: "'x'"}, {1: "1", 2: "'y'"})
    dele = RowChange("delete", "labdb", "t", {1: "1", 2: "'x'"}, None)
    cols = ["id", "v"]
    assert readable(ins, cols) == "INSERT labdb.t (id=1, v='x')"
    assert readable(upd, cols) == "UPDATE labdb.t SET v='y' WHERE id=1, v='x'"
    assert readable(dele, cols) == "DELETE labdb.t WHERE id=1, v='x'"
    assert readable(upd) == "UPDATE labdb.t SET @2='y' WHERE @1=1, @2='x'"
    assert readable(ins, ["id"]) == "INSERT labdb.t (id=1, @2='x')"


def test_readable_on_fixture_rows(maria: BinlogDump) -> None:
    g = by_gtid(maria)
    cols = ["id", "name", "price", "note", "created", "data", "qty"]
    assert readable(g["0-1-12"].rows[0], cols) == (
        "UPDATE labdb.bl_item SET note=NULL WHERE id=2, name='中文', price=2.00, note='x', "
        "created='2026-11-21 10:00:01', data=NULL, qty=0"
    )
    assert readable(g["0-1-7"].rows[0], ["a", "b", "qty"]) == "UPDATE labdb.bl_pair SET qty=50 WHERE a=1, b='a', qty=5"


# ------------------------------------------------------------------ other MariaDB dumps


def test_empty_dump() -> None:
    for name in ("mariadb-10.11-empty.txt", "mysql-8.3-empty.txt"):
        d = load(name)
        assert d.transactions == []
        assert render_sql([(d, [])]) == ""
    d = load("mariadb-10.11-empty.txt")
    assert d.gtid_list == "0-1-13"
    assert d.preamble + d.trailer == text("mariadb-10.11-empty.txt")
    assert d.trailer.startswith("DELIMITER ;\n")
    assert load("mysql-8.3-empty.txt").gtid_list == "6af9e1aa-0225-11ef-8fee-0242ac140002:1-14"


def test_dump_started_inside_a_transaction_drops_its_tail() -> None:
    # mariadb-binlog --start-position=2023: the middle of 0-1-6
    d = load("mariadb-10.11-start-mid-trx.txt")
    assert [t.gtid for t in d.transactions] == [f"0-1-{n}" for n in range(7, 14)]
    assert "###" not in d.preamble and "Table_map" not in d.preamble and "COMMIT" not in d.preamble
    assert d.preamble.rstrip().endswith("'/*!*/;")  # the format description
    assert d.gtid_list == ""
    assert d.transactions[0].context == ""  # the orphan events set nothing; 0-1-7 prints its own


def test_dump_from_position_prints_full_state_first() -> None:
    d = load("mariadb-10.11-from-position.txt")
    assert [t.gtid for t in d.transactions] == ["0-1-10", "0-1-11", "0-1-12", "0-1-13"]
    assert d.transactions[0].ddl and d.transactions[0].context == ""
    assert "SET @@session.sql_mode=1411383296/*!*/;" in d.transactions[0].text


def test_truncated_dump_drops_the_partial_transaction() -> None:
    lines = text("mariadb-10.11-workload.txt").splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith("#Q> INSERT INTO labdb.bl_log VALUES ('hello'"))
    d = parse_dump(lines[:cut], "trunc")
    assert [t.gtid for t in d.transactions] == ["0-1-2", "0-1-3", "0-1-4", "0-1-5"]
    assert d.trailer == ""
    script = render_sql([(d, d.transactions[-1:])])
    assert list(replay_statements(script))[-1] == "COMMIT"  # no trailer: the output was cut
    assert script.endswith("DELIMITER ;\n")


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.glob("*.txt") if "forged-ddl.txt" not in p.name))
def test_any_cut_gives_whole_transactions_only(name: str) -> None:
    lines = text(name).splitlines(keepends=True)
    stream = name == "mysql-8.3-gtid-rotate.txt"
    full = parse_dump(lines, name, stream=stream).transactions
    for n in range(len(lines) + 1):
        got = parse_dump(lines[:n], name, stream=stream).transactions
        assert len(got) <= len(full)
        for a, b in zip(got, full):
            assert (a.gtid, a.start, a.end, a.text, a.rows, a.replay) == (
                b.gtid,
                b.start,
                b.end,
                b.text,
                b.rows,
                b.replay,
            )


def test_lines_without_newlines(maria: BinlogDump) -> None:
    d = parse_dump(text("mariadb-10.11-workload.txt").splitlines(), "mariadb-10.11-workload.txt")
    assert d == maria


# ------------------------------------------------------------------ MySQL


def test_mysql_gtids_rows_and_statements(mysql: BinlogDump) -> None:
    assert mysql.flavor == "mysql"
    assert mysql.gtid_list == ""  # "# [empty]"
    assert [t.gtid for t in mysql.transactions] == [f"{MYSQL_UUID}:{n}" for n in range(1, 11)]
    g = by_gtid(mysql)
    t3 = g[f"{MYSQL_UUID}:3"]
    assert (t3.start, t3.end, t3.server_id) == (1233, 2755, 1)
    assert t3.when == datetime(2024, 5, 12, 8, 56, 26)
    assert t3.text.splitlines()[-1] == "COMMIT/*!*/;"
    assert "SET @@SESSION.GTID_NEXT= '7f4be0b0-09b9-11ef-9bc6-0242ac130002:3'/*!*/;" in t3.text
    assert [t.ddl for t in mysql.transactions] == [True, True, False, False, False, True, False, False, False, False]
    assert g[f"{MYSQL_UUID}:1"].statements == ["create database test"]
    assert g[f"{MYSQL_UUID}:4"].statements == ["update test.data_types_demo set int_col=2222 where id=1"]
    assert t3.statements[0].startswith("INSERT INTO test.data_types_demo (\n  varchar_col, ")  # Rows_query
    assert [r.kind for t in mysql.transactions for r in t.rows] == ["insert", "update", "delete"] + ["insert"] * 4
    ins = t3.rows[0]
    assert (ins.schema, ins.table) == ("test", "data_types_demo")
    # -vv type notes are not part of the value
    assert ins.after[1] == "1" and ins.after[8] == "12345.7" and ins.after[10] == "12345.67"
    assert ins.after[13] == "'2024-05-10 15:30:00'" and ins.after[19] == "b'00000011'"
    upd = g[f"{MYSQL_UUID}:4"].rows[0]
    assert readable(upd) == "UPDATE test.data_types_demo SET @4=2222 WHERE " + ", ".join(
        f"@{i}={v}" for i, v in sorted(upd.before.items())
    )


def test_mysql_render_and_split(mysql: BinlogDump) -> None:
    chosen = [mysql.transactions[2], mysql.transactions[4]]
    script = render_sql([(mysql, chosen)])
    stmts = list(replay_statements(script))
    assert [s for s in stmts if "GTID_NEXT" in s] == [
        f"SET @@SESSION.GTID_NEXT= '{MYSQL_UUID}:3'",
        f"SET @@SESSION.GTID_NEXT= '{MYSQL_UUID}:5'",
        "SET @@SESSION.GTID_NEXT= 'AUTOMATIC'",
    ]
    assert stmts.count("BEGIN") == 2 and stmts.count("COMMIT") == 2


def test_mysql_stream_across_rotate() -> None:
    d = parse_dump(text("mysql-8.3-gtid-rotate.txt").splitlines(keepends=True), "rotate", stream=True)
    uuid = "6af9e1aa-0225-11ef-8fee-0242ac140002"
    assert d.flavor == "mysql" and d.gtid_list == f"{uuid}:1-7"
    assert [t.gtid for t in d.transactions] == [f"{uuid}:{n}" for n in range(8, 15)]
    assert [r.after for r in d.transactions[-1].rows] == [{1: "2"}, {1: "3"}]
    assert d.transactions[-1].statements == []  # -v without Rows_query events
    assert "Rotate to mysql-bin.000006" in d.trailer  # the next files' starts come after the last one
    script = render_sql([(d, d.transactions[-2:])])
    assert script.rstrip().endswith("DELIMITER ;")  # the stream was cut before the tool's own reset
    # read as one file, the second file's start after the Rotate is refused
    with pytest.raises(
        BinlogIntegrityError, match="artificial event `Rotate to mysql-bin.000005 pos: 4` after the event `Rotate"
    ):
        load("mysql-8.3-gtid-rotate.txt")


def test_mysql_file_ending_inside_a_transaction() -> None:
    # the binlog was read while a transaction was being written: mysqlbinlog closes it with ROLLBACK
    d = load("mysql-8.0-incomplete-trx.txt")
    assert [t.gtid for t in d.transactions] == [f"{MYSQL_UUID}:{n}" for n in (1, 2, 3)]
    assert d.trailer.startswith("ROLLBACK /* added by mysqlbinlog */ /*!*/;\n")
    assert "REPLACE INTO" not in render_sql([(d, d.transactions)])


# ------------------------------------------------------------------ forged events (security)
# Made by the lab's MariaDB from statements of the application account, printed by the real
# mariadb-binlog: tests/fixtures/binlog/make_forged.py. Sizes are the files' own (stat).

GRANT = "GRANT ALL PRIVILEGES ON *.* TO 'hatui_app'@'%' WITH GRANT OPTION"


def test_forged_events_inside_a_ddl_statement_are_refused() -> None:
    # Before the fix this gave a transaction 1-1-999999 (a GTID that never existed) whose
    # replay held the GRANT: a privilege escalation at the DBA's next gap repair.
    with pytest.raises(BinlogIntegrityError) as err:
        parse_dump(text("mariadb-10.11-forged-ddl.txt").splitlines(), "mysql-bin.000005", expect_end=1134)
    msg = str(err.value)
    assert msg.startswith("mysql-bin.000005: line 41: ")  # the forged GTID header
    assert "`GTID 1-1-999999 ddl` claims position 999" in msg
    assert "the event `Query" in msg and "at 427 (line 28) ends at 907" in msg  # the real event it sits in
    assert err.value.line == 41


def test_forged_events_at_the_end_of_a_file_are_refused_by_its_size() -> None:
    lines = text("mariadb-10.11-forged-ddl-last.txt").splitlines()
    # positioned to continue the chain, they are caught only by where the file ends: that is
    # why the runbook reads each file's size first and dumps exactly up to it
    unchecked = parse_dump(lines, "mysql-bin.000008")
    assert unchecked.transactions[-1].gtid == "1-1-999999" and unchecked.end == 1107
    with pytest.raises(
        BinlogIntegrityError,
        match=r"line 44: the last event ends at 1107, but the file is 907 "
        r"bytes long \(the event `Query",
    ):
        parse_dump(lines, "mysql-bin.000008", expect_end=907)


def test_a_statement_is_replayed_and_shown_whole() -> None:
    d = parse_dump(text("mariadb-10.11-lookalike-ddl.txt").splitlines(), "mysql-bin.000009", expect_end=1261)
    alter, insert, forty = d.transactions
    full = alter.statements[0]
    assert full.startswith('ALTER TABLE labdb.forge COMMENT "z\n### DELETE FROM `labdb`.`t`')
    assert full.endswith('/*!*/;\nuse `mysql`/*!*/;\n/*!*/;\n# z"')
    assert alter.ddl and alter.rows == []  # "###" lines inside a statement are not row images
    assert alter.replay[-1] == full  # one statement, sent whole, the same text the preview shows
    # session-shaped lines inside the statement set nothing for the transactions after it
    assert "gtid_domain_id=7" not in insert.context and "use `mysql`" not in insert.context
    assert not any("gtid_domain_id=7" in s or s == "use `mysql`" for s in insert.replay)
    stmts = list(replay_statements(render_sql([(d, [alter, insert])])))
    assert full in stmts and "use `mysql`" not in stmts
    assert [r.after for r in insert.rows] == [{1: "2", 2: "'b'"}]
    assert forty.ddl and forty.statements[0].endswith("ALTER TABLE labdb.forge COMMENT 'forty comments'")


def test_a_runbook_dump_must_be_complete() -> None:
    lines = text("mariadb-10.11-lookalike-ddl.txt").splitlines()
    cut = next(i for i, line in enumerate(lines) if "gtid_domain_id=7" in line)  # inside the ALTER
    assert parse_dump(lines[: cut + 1], "x").transactions == []  # unproven: dropped, not shortened
    with pytest.raises(BinlogIntegrityError, match="without the binlog tool's closing lines"):
        parse_dump(lines[: cut + 1], "x", expect_end=1261)


def test_many_leading_comments_parse_in_linear_time(deadline) -> None:
    # the old DML pattern backtracked exponentially: 22 "/**/" took 1.2 s, 40 never finished
    # (the lookalike fixture's last statement, written by the real server and tool)
    head = text("mariadb-10.11-lookalike-ddl.txt").splitlines()
    with deadline(5):
        d = parse_dump(head, "mysql-bin.000009", expect_end=1261)
        assert d.transactions[-1].ddl
        huge = "/**/ " * 20000
        assert _is_dml(huge + "INSERT INTO t VALUES (1)") and not _is_dml(huge + "GRANT ALL ON *.* TO x")


def test_a_dump_saved_without_the_tools_footer_keeps_its_last_transaction_despite_a_blank_line() -> None:
    lines = text("mariadb-10.11-workload.txt").splitlines(keepends=True)
    full = parse_dump(lines, "full").transactions
    # the file ends right after the last transaction's COMMIT: no stop event, no footer
    cut = max(i for i, line in enumerate(lines) if line.startswith("COMMIT/*!*/;")) + 1
    for tail in (["\n"], ["\n", "\n", "   \n"]):
        d = parse_dump(lines[:cut] + tail, "no-footer")
        assert [t.gtid for t in d.transactions] == [t.gtid for t in full]  # the last one is not lost
        assert d.transactions[-1].text == full[-1].text


def test_text_without_event_headers_is_refused_not_read_as_empty() -> None:
    lines = text("mariadb-10.11-workload.txt").splitlines(keepends=True)
    # headers masked (or --short-form): statements remain, nothing says where events are
    masked = [ln for ln in lines if not re.match(r"#\d{6} |# at \d+", ln)]
    with pytest.raises(BinlogIntegrityError, match="no event headers"):
        parse_dump(masked, "masked")
    assert parse_dump([], "empty").transactions == []  # an empty text is just empty


def test_every_event_kind_is_told_apart_by_its_prefix_and_the_rest_are_plain_events():
    from hatui.binlog.dump import _KINDS, _Parser

    for prefixes, _ in _KINDS:
        for p in prefixes:
            # the first-letter shortcut must never send one of them to "event"; the first entry
            # that matches wins (Previous-GTIDs is a meta event too, read as its own kind first)
            first = next(k for ps, k in _KINDS if p.startswith(ps))
            assert _Parser._kind(p + " 1-1-5 trans") == first != "event", p
    for plain in ("Table_map: `db`.`t` mapped to number 18", "Write_rows: table id 18", "Intvar", "Rand"):
        assert _Parser._kind(plain) == "event"
    assert _Parser._kind("Update_rows: table id 5") == "event"  # shares its U with "User var"
