"""The lean result reader (hatui.mysql.wire) on the bytes a server sends: the rows pymysql would
give, errors in their place, a lost connection never taken for an answer."""

from __future__ import annotations

import io
from decimal import Decimal

import pymysql
from hypothesis import given, settings
from hypothesis import strategies as st
from pymysql.constants import FIELD_TYPE

from hatui.mysql.wire import ColumnCache, query_batch

from . import mysql_wire as wire
from .mysql_wire import WireConnection


def answering(*payload_lists: list[bytes]) -> WireConnection:
    flat = [p for ps in payload_lists for p in ps]
    return WireConnection(lambda sql: wire.packets(flat))


names = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=8, unique=True)
values = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=300),
    st.binary(max_size=70_000).filter(lambda b: len(b) < 300 or len(b) > 65_535),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, st.integers(0, 5)), min_size=1, max_size=4), st.data())
def test_every_result_set_comes_back_as_it_was_sent(shapes, data):
    sent = []
    for cols, n in shapes:
        kinds = {c: data.draw(values) for c in cols}  # a column's first value fixes its type
        rows = []
        for _ in range(n):
            row = {}
            for c in cols:
                v = data.draw(values)
                row[c] = v if v is None or type(v) is type(kinds[c]) else kinds[c]
            rows.append(row)
        sent.append((cols, rows))
    payloads = []
    for i, (cols, rows) in enumerate(sent):
        payloads += wire.result_set(rows, more=i < len(sent) - 1, names=cols)
    got, abandoned = query_batch(answering(payloads), "x", ColumnCache())
    assert not abandoned
    assert got == [rows for _, rows in sent]


def test_values_convert_as_pymysql_converts_them():
    cols = [
        wire.column("i", FIELD_TYPE.LONG, wire.BINARY),
        wire.column("d", FIELD_TYPE.NEWDECIMAL, wire.BINARY),
        wire.column("f", FIELD_TYPE.DOUBLE, wire.BINARY),
        wire.column("s", FIELD_TYPE.VAR_STRING, wire.UTF8MB4),
        wire.column("b", FIELD_TYPE.BLOB, wire.BINARY),
        wire.column("n", FIELD_TYPE.VAR_STRING, wire.UTF8MB4),
    ]
    row = b"".join(wire.lenstr(x) for x in (b"-7", b"1.50", b"0.25", "säkert".encode(), b"\x00\xff")) + b"\xfb"
    conn = answering([wire.lenenc(6), *cols, wire.eof(), row, wire.eof()])
    got, _ = query_batch(conn, "SELECT", ColumnCache())
    assert got == [[{"i": -7, "d": Decimal("1.50"), "f": 0.25, "s": "säkert", "b": b"\x00\xff", "n": None}]]


def test_an_answer_that_arrives_a_byte_at_a_time_is_read_whole():
    payloads = wire.result_set([{"a": "1", "b": 2}], more=True) + wire.result_set([{"c": None}], more=False)

    class Trickle(io.BytesIO):
        def read1(self, n=-1):
            return super().read1(1)

    conn = WireConnection(lambda sql: b"")
    conn._execute_command = lambda cmd, sql: setattr(conn, "_rfile", Trickle(wire.packets(payloads)))
    got, _ = query_batch(conn, "x", ColumnCache())
    assert got == [[{"a": "1", "b": 2}], [{"c": None}]]


def test_a_value_over_16_mb_spans_packets_and_is_read_whole():
    big = "x" * (0xFFFFFF + 10)
    payloads = wire.result_set([{"v": big, "w": "after"}], more=False)
    row = payloads[4]  # the column count, two definitions, EOF, the row, EOF
    # the row payload is split as a server splits it: full 16 MB packets, then the rest
    split = [row[:0xFFFFFF], row[0xFFFFFF:]]
    got, _ = query_batch(answering(payloads[:4], split, payloads[5:]), "x", ColumnCache())
    assert got == [[{"v": big, "w": "after"}]]


def test_a_failing_statement_ends_the_answers_with_its_error():
    payloads = wire.result_set([{"a": 1}], more=True) + [wire.error(1227, "Access denied; you need SUPER", "42000")]
    got, _ = query_batch(answering(payloads), "x; y; z", ColumnCache())
    assert got[0] == [{"a": 1}] and len(got) == 2
    assert isinstance(got[1], pymysql.err.OperationalError) and got[1].args == (1227, "Access denied; you need SUPER")


def test_a_connection_lost_mid_answer_keeps_what_came_and_is_closed():
    payloads = wire.result_set([{"a": 1}], more=True) + wire.result_set([{"b": 2}], more=False)
    data = wire.packets(payloads)
    conn = WireConnection(lambda sql: data[: len(data) - 7])  # cut inside the last EOF
    got, _ = query_batch(conn, "x; y", ColumnCache())
    assert got[0] == [{"a": 1}] and isinstance(got[1], pymysql.err.OperationalError)
    assert got[1].args[0] == 2013 and conn.force_closed


def test_enough_stops_reading_and_closes_the_connection():
    payloads = wire.result_set([{"a": 1}], more=True) + wire.result_set([{"b": 2}], more=False)
    conn = answering(payloads)
    got, abandoned = query_batch(conn, "x; y", ColumnCache(), enough=lambda out: len(out) == 1)
    assert got == [[{"a": 1}]] and abandoned and conn.closed


def test_a_statement_without_rows_is_an_empty_answer():
    conn = answering([wire.ok(wire.MORE)], wire.result_set([{"a": "x"}], more=False))
    got, _ = query_batch(conn, "SET x; SELECT", ColumnCache())
    assert got == [[], [{"a": "x"}]]


def test_the_column_cache_tells_columns_apart_and_stays_bounded():
    cache = ColumnCache()
    for i in range(ColumnCache.LIMIT + 5):
        conn = answering(wire.result_set([{f"c{i}": i}], more=False))
        got, _ = query_batch(conn, "x", cache)
        assert got == [[{f"c{i}": i}]]
    assert len(cache._known) <= ColumnCache.LIMIT


def test_an_answer_in_pieces_is_complete_only_with_its_last_byte():
    from hatui.mysql.wire import answers_in

    payloads = wire.result_set([{"a": "1", "b": 2}], more=True) + wire.result_set([{"c": None}], more=False)
    data = wire.packets(payloads)
    for cut in range(len(data)):
        assert answers_in(data[:cut], ColumnCache()) is None, cut
    assert answers_in(data, ColumnCache()) == ([[{"a": "1", "b": 2}], [{"c": None}]], False)
    # a refusal ends the answer where it stands
    refused = wire.packets(wire.result_set([{"a": 1}], more=True) + [wire.error(1227, "denied")])
    got = answers_in(refused, ColumnCache())
    assert got is not None and got[0][0] == [{"a": 1}] and isinstance(got[0][1], pymysql.err.OperationalError)


def test_a_command_is_one_query_packet_of_sequence_zero():
    from hatui.mysql.wire import command

    assert command("SELECT 1") == b"\x09\x00\x00\x00\x03SELECT 1"


def test_only_the_end_of_a_result_set_is_taken_for_a_possible_end():
    from hatui.mysql.wire import answers_in, may_end

    payloads = wire.result_set([{"a": "1"}, {"a": ""}], more=True) + wire.result_set([{"c": 5}], more=False)
    data = wire.packets(payloads)
    ends = [cut for cut in range(len(data) + 1) if may_end(data[:cut])]
    # after the column definitions' EOF, the row starting with an empty value (0x00), the first
    # result's EOF, the second's definitions' EOF and its last EOF; never inside a packet
    bounds = []
    pos = 0
    for p in payloads:
        pos += 4 + len(p)
        bounds.append(pos)
    assert set(ends) <= set(bounds) and ends[-1] == len(data)
    assert len(ends) == 5
    # every complete answer is found by parsing only where may_end says so
    assert [answers_in(data[:cut], ColumnCache()) is not None for cut in ends] == [False] * 4 + [True]
