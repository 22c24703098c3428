"""Tests for hatui.gtid: MySQL GTID sets and MariaDB GTID positions."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import hatui.gtid
from hatui.gtid import (
    GNO_MAX,
    Comparison,
    GtidParseError,
    GtidPos,
    GtidSet,
    MariaGtid,
    ahead,
    compare,
    detect_kind,
    gtid_subset,
    gtid_subtract,
    is_behind_or_equal,
    missing,
)

U1 = "3E11FA47-71CA-11E1-9E33-C80AA9429562"
u1 = U1.lower()
U2 = "2174b383-5441-11e8-b90a-c80aa9429562"
U3 = "ed102faf-eb00-11eb-8f20-0c5415bfaa1d"


def test_module_docstring_examples_hold() -> None:
    assert doctest.testmod(hatui.gtid).failed == 0


# ---------------------------------------------------------------------------
# Examples from the MySQL reference manual, reproduced exactly.
# https://dev.mysql.com/doc/refman/5.7/en/gtid-functions.html
# (same examples in the 8.0/8.4 manuals' "Functions Used with GTIDs" page)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("set1", "set2", "expected"),
    [
        (f"{U1}:23", f"{U1}:21-57", True),
        (f"{U1}:23-25", f"{U1}:21-57", True),
        (f"{U1}:20-25", f"{U1}:21-57", False),
    ],
)
def test_gtid_subset_manual_examples(set1: str, set2: str, expected: bool) -> None:
    assert gtid_subset(set1, set2) is expected


@pytest.mark.parametrize(
    ("set1", "set2", "expected"),
    [
        (f"{U1}:21-57", f"{U1}:21", "3e11fa47-71ca-11e1-9e33-c80aa9429562:22-57"),
        (f"{U1}:21-57", f"{U1}:20-25", "3e11fa47-71ca-11e1-9e33-c80aa9429562:26-57"),
        (f"{U1}:21-57", f"{U1}:23-24", "3e11fa47-71ca-11e1-9e33-c80aa9429562:21-22:25-57"),
        # "Subtracting a GTID set from itself produces an empty set"
        (f"{U1}:21-57", f"{U1}:21-57", ""),
    ],
)
def test_gtid_subtract_manual_examples(set1: str, set2: str, expected: str) -> None:
    assert gtid_subtract(set1, set2) == expected


# GTID_NORMALIZE in the manual's stored-function examples is GTID_SUBTRACT(gs, '').
# https://dev.mysql.com/doc/refman/5.7/en/replication-gtids-functions.html
def test_subtracting_empty_string_normalises() -> None:
    assert gtid_subtract(f"{U1}:4, {U2}:5:1-3", "") == f"{U2}:1-3:5,{u1}:4"


# ---------------------------------------------------------------------------
# Parsing and formatting
# ---------------------------------------------------------------------------


def test_parse_format_round_trip_of_normalised_text() -> None:
    text = f"{u1}:1-3:11:47-49,{U2}:1-3"
    s = GtidSet.parse(text)
    assert str(s) == f"{U2}:1-3,{u1}:1-3:11:47-49"
    assert GtidSet.parse(str(s)) == s


def test_adjacent_and_overlapping_intervals_merge() -> None:
    assert str(GtidSet.parse(f"{u1}:1-3:4-6")) == f"{u1}:1-6"
    assert str(GtidSet.parse(f"{u1}:5-9:1-6:12:11")) == f"{u1}:1-9:11-12"
    # The same UUID in two entries is one UUID.
    assert str(GtidSet.parse(f"{u1}:1-2,{u1}:3")) == f"{u1}:1-3"


def test_uuids_sorted_and_lowercased() -> None:
    s = GtidSet.parse(f"{U3}:1,{U1}:2,{U2.upper()}:3")
    assert s.uuids() == (U2, u1, U3)
    assert str(s) == f"{U2}:3,{u1}:2,{U3}:1"
    assert GtidSet.parse(f"{U1}:1-5") == GtidSet.parse(f"{u1}:1-5")


def test_mysql_multiline_output_parses_and_can_be_produced() -> None:
    # MySQL prints @@gtid_executed with ",\n" between UUIDs.
    server_text = f"{U2}:1-3,\n{u1}:1-19\n"
    s = GtidSet.parse(server_text)
    assert s.format(multiline=True) == f"{U2}:1-3,\n{u1}:1-19"
    assert s.format() == f"{U2}:1-3,{u1}:1-19"
    assert gtid_subtract(server_text, "", multiline=True) == f"{U2}:1-3,\n{u1}:1-19"


def test_whitespace_and_redundant_commas_tolerated_like_mysql() -> None:
    s = GtidSet.parse(f" , {U1} : 1 - 3 : 7 ,, {U2}:2 ,")
    assert str(s) == f"{U2}:2,{u1}:1-3:7"


@pytest.mark.parametrize("empty", ["", "   ", "\n", None])
def test_empty_text_is_empty_set(empty: str | None) -> None:
    s = GtidSet.parse(empty)
    assert not s
    assert s.count() == 0
    assert str(s) == ""
    assert s == GtidSet()


def test_largest_gtid_number_accepted() -> None:
    s = GtidSet.parse(f"{u1}:{GNO_MAX}")
    assert s.contains(u1, GNO_MAX)
    assert str(s) == f"{u1}:{GNO_MAX}"


# ---------------------------------------------------------------------------
# Tagged GTIDs (MySQL 8.3+)
# ---------------------------------------------------------------------------


def test_tagged_set_from_manual_parses() -> None:
    # https://dev.mysql.com/doc/refman/8.4/en/replication-gtids-concepts.html
    s = GtidSet.parse(f"{U1}:Domain_1:1-3:15-21, {U1}:Domain_2:8-52")
    assert s.count() == 3 + 7 + 45
    assert s.contains(U1, 16, tag="DOMAIN_1")
    assert not s.contains(U1, 16)  # untagged is a different TSID
    assert f"{U1}:domain_2:8" in s


def test_tagged_format_follows_mysql_order() -> None:
    # MySQL's text format (libs/mysql/gtids/readme.md in mysql-server): per UUID
    # the untagged intervals first, then ":tag:intervals" per tag, tags sorted.
    s = GtidSet.parse(f"{U1}:zz:4,{U1}:Aa:1-3,{U1}:1-5,{U1}:zz:5")
    assert str(s) == f"{u1}:1-5:aa:1-3:zz:4-5"
    assert GtidSet.parse(str(s)) == s


def test_untagged_and_tagged_do_not_mix_in_algebra() -> None:
    untagged = GtidSet.parse(f"{u1}:1-10")
    tagged = GtidSet.parse(f"{u1}:t:1-10")
    assert not (untagged & tagged)
    assert untagged - tagged == untagged
    assert not tagged <= untagged
    assert (untagged | tagged).count() == 20


# ---------------------------------------------------------------------------
# Parse errors
# ---------------------------------------------------------------------------


def test_parse_error_quotes_bad_part_and_expected_syntax() -> None:
    with pytest.raises(GtidParseError) as err:
        GtidSet.parse("abc:x")
    msg = str(err.value)
    assert msg.startswith("bad GTID set 'abc:x':")
    assert "'abc' is not a UUID" in msg
    assert msg.endswith("expected uuid:N[-M][:N[-M]...]")
    assert isinstance(err.value, ValueError)


def test_parse_error_names_the_bad_entry_not_the_whole_text() -> None:
    with pytest.raises(GtidParseError, match=rf"bad GTID set '{u1}:1-x': '1-x' is not an interval"):
        GtidSet.parse(f"{U2}:1-5,\n{u1}:1-x")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"{u1}:5-3", "ends before it starts"),
        (f"{u1}:0-3", "GTID numbers start at 1"),
        (f"{u1}:0", "GTID numbers start at 1"),
        (f"{u1}:1-{GNO_MAX + 1}", f"GTID numbers stop at {GNO_MAX}"),
        (f"{u1}", "no interval after the UUID"),
        (f"{u1}:", "'' is not an interval"),
        (f"{u1}:1-3:tag", "tag 'tag' has no interval"),
        (f"{u1}:a:b:1", "tag 'a' has no interval"),
        (f"{u1}:9tag:1", "'9tag' is not an interval"),
        (f"{u1}:{'t' * 33}:1", "neither an interval nor a tag"),
        (f"{u1}:-3", "neither an interval nor a tag"),
        (f"{u1[:-1]}:1", "is not a UUID"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(GtidParseError) as err:
        GtidSet.parse(text)
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"bad GTID set {text.strip()!r}")


def test_contains_rejects_malformed_single_gtid() -> None:
    with pytest.raises(GtidParseError, match="expected uuid:N or uuid:tag:N"):
        _ = f"{u1}:1-3" in GtidSet.parse(f"{u1}:1-5")


def test_from_intervals_validates_and_merges() -> None:
    s = GtidSet.from_intervals({U1: [(4, 6), (1, 3)], (U2, "Tag"): [(7, 7)]})
    assert str(s) == f"{U2}:tag:7,{u1}:1-6"
    assert s.intervals[(u1, "")] == ((1, 6),)
    with pytest.raises(ValueError, match="start at 1"):
        GtidSet.from_intervals({U1: [(0, 2)]})
    with pytest.raises(ValueError, match="not a UUID"):
        GtidSet.from_intervals({"nope": [(1, 2)]})


# ---------------------------------------------------------------------------
# Queries and operators
# ---------------------------------------------------------------------------


def test_contains_and_count() -> None:
    s = GtidSet.parse(f"{u1}:1-3:7:10-12,{U2}:5")
    assert s.count() == len(s) == 8
    assert f"{U1}:7" in s
    assert f"{u1}:8" not in s
    assert f"{U2}:5" in s
    assert f"{U3}:1" not in s
    assert [n for n in range(0, 14) if s.contains(u1, n)] == [1, 2, 3, 7, 10, 11, 12]


def test_operators_on_a_replica_catch_up_scenario() -> None:
    primary = GtidSet.parse(f"{u1}:1-100,{U2}:1-5")
    replica = GtidSet.parse(f"{u1}:1-90")
    assert str(primary - replica) == f"{U2}:1-5,{u1}:91-100"
    assert replica <= primary and replica < primary
    assert not primary <= replica
    assert primary >= replica and primary > replica
    assert not primary < primary
    assert str(primary & replica) == f"{u1}:1-90"
    assert primary | replica == primary


def test_sets_are_hashable_and_equal_by_content() -> None:
    a = GtidSet.parse(f"{U1}:1-3:4-6")
    b = GtidSet.parse(f"{u1}:1-6")
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != GtidSet.parse(f"{u1}:1-5")
    assert repr(a) == f"GtidSet('{u1}:1-6')"


# ---------------------------------------------------------------------------
# Property tests: a few fixed UUIDs, one tag, small numbers, so sets collide.
# ---------------------------------------------------------------------------

TSIDS = [(U1, ""), (U2, ""), (U3, ""), (U1, "t")]


@st.composite
def gtid_sets(draw: st.DrawFn) -> GtidSet:
    chosen = draw(st.lists(st.sampled_from(TSIDS), unique=True, max_size=len(TSIDS)))
    intervals = {}
    for tsid in chosen:
        pairs = draw(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 6)), max_size=4))
        intervals[tsid] = [(start, start + length) for start, length in pairs]
    return GtidSet.from_intervals(intervals)


def as_python_set(s: GtidSet) -> set[tuple[str, str, int]]:
    """Explicit set of (uuid, tag, gno): the oracle for the interval algebra."""
    return {(u, t, n) for (u, t), ivs in s.intervals.items() for a, b in ivs for n in range(a, b + 1)}


@given(gtid_sets(), gtid_sets())
def test_operations_match_explicit_python_sets(a: GtidSet, b: GtidSet) -> None:
    pa, pb = as_python_set(a), as_python_set(b)
    assert as_python_set(a | b) == pa | pb
    assert as_python_set(a & b) == pa & pb
    assert as_python_set(a - b) == pa - pb
    assert (a <= b) == (pa <= pb)
    assert a.count() == len(pa)


@given(gtid_sets())
def test_internal_intervals_are_canonical(a: GtidSet) -> None:
    for ivs in a.intervals.values():
        assert ivs, "no empty entries"
        for (_, e1), (s2, _) in zip(ivs, ivs[1:]):
            assert e1 + 1 < s2, "sorted, disjoint and non-adjacent"
        assert all(1 <= s <= e <= GNO_MAX for s, e in ivs)


@given(gtid_sets(), gtid_sets(), gtid_sets())
def test_union_laws(a: GtidSet, b: GtidSet, c: GtidSet) -> None:
    assert a | b == b | a
    assert (a | b) | c == a | (b | c)
    assert a | a == a


@given(gtid_sets(), gtid_sets())
def test_subtract_and_intersection_laws(a: GtidSet, b: GtidSet) -> None:
    assert not ((a - b) & b)
    assert (a - b) | (a & b) == a
    assert a <= a | b
    assert (a | b).count() == a.count() + b.count() - (a & b).count()
    assert (a <= b) == (not (a - b))


@given(gtid_sets())
def test_parse_format_round_trip(a: GtidSet) -> None:
    assert GtidSet.parse(str(a)) == a
    assert GtidSet.parse(a.format(multiline=True)) == a
    assert GtidSet.parse(str(a).upper()) == a


@given(gtid_sets(), gtid_sets())
def test_string_functions_agree_with_operators(a: GtidSet, b: GtidSet) -> None:
    assert gtid_subset(str(a), str(b)) == (a <= b)
    assert gtid_subtract(str(a), str(b)) == str(a - b)


# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------


def test_mariadb_parse_and_format_sorted_by_domain() -> None:
    pos = GtidPos.parse(" 1-2-50 , 0-1-100 ")
    assert str(pos) == "0-1-100,1-2-50"
    assert pos.domains == (0, 1)
    assert pos.get(1) == MariaGtid(1, 2, 50)
    assert pos.get(7) is None
    assert pos.seq(0) == 100
    assert pos.seq(7) == 0
    assert GtidPos.parse(str(pos)) == pos
    assert list(pos) == [MariaGtid(0, 1, 100), MariaGtid(1, 2, 50)]
    assert not GtidPos.parse("") and not GtidPos.parse(None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0-1", "bad MariaDB GTID '0-1': expected domain-server_id-seq"),
        ("0-1-x", "bad MariaDB GTID '0-1-x'"),
        ("0-1-5,,1-2-3", "empty entry"),
        (f"{2**32}-1-1", "domain 4294967296 out of range"),
        (f"0-1-{2**64}", "seq"),
        ("0-1-5,0-2-7", "domain 0 appears twice (0-1-5 and 0-2-7)"),
    ],
)
def test_mariadb_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(GtidParseError) as err:
        GtidPos.parse(text)
    assert fragment in str(err.value)


def test_duplicate_domain_error_points_at_parse_state() -> None:
    with pytest.raises(GtidParseError, match="parse_state"):
        GtidPos.parse("0-1-5,0-2-7")


def test_parse_state_allows_several_server_ids_per_domain() -> None:
    state = GtidPos.parse_state("0-2-120,0-1-100,1-3-7")
    assert state == {
        0: (MariaGtid(0, 1, 100), MariaGtid(0, 2, 120)),
        1: (MariaGtid(1, 3, 7),),
    }
    assert str(GtidPos.from_state(state)) == "0-2-120,1-3-7"
    with pytest.raises(GtidParseError, match="domain 0 server_id 1 appears twice"):
        GtidPos.parse_state("0-1-100,0-1-101")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("0-1-100,1-2-50", "1-2-50,0-1-100", Comparison.EQUAL),
        ("0-1-100", "0-2-100", Comparison.EQUAL),  # server_id is not order
        ("", "", Comparison.EQUAL),
        ("0-1-101", "0-1-100", Comparison.A_AHEAD),
        ("0-1-100,1-1-5", "0-1-100", Comparison.A_AHEAD),  # domain only on a
        ("0-1-99", "0-2-100", Comparison.B_AHEAD),
        ("", "0-1-1", Comparison.B_AHEAD),
        ("0-1-101,1-1-5", "0-1-100,1-1-6", Comparison.DIVERGED),
        ("0-1-100,1-1-5", "0-1-100,2-1-5", Comparison.DIVERGED),  # a domain only on each side
    ],
)
def test_compare(a: str, b: str, expected: Comparison) -> None:
    assert compare(GtidPos.parse(a), GtidPos.parse(b)) is expected
    mirrored = {Comparison.A_AHEAD: Comparison.B_AHEAD, Comparison.B_AHEAD: Comparison.A_AHEAD}
    assert compare(GtidPos.parse(b), GtidPos.parse(a)) is mirrored.get(expected, expected)


def test_comparison_is_a_str_enum() -> None:
    assert Comparison.DIVERGED == "diverged"
    assert f"{Comparison.A_AHEAD}" == "a_ahead"


def test_ahead_and_missing_ranges() -> None:
    primary = GtidPos.parse("0-1-100,1-2-50,2-3-9")
    replica = GtidPos.parse("0-1-90,1-2-50")
    assert ahead(primary, replica) == {0: (91, 100), 2: (1, 9)}
    assert missing(replica, primary) == {0: (91, 100), 2: (1, 9)}
    assert ahead(replica, primary) == {}
    assert missing(primary, replica) == {}


def test_diverged_positions_miss_something_on_both_sides() -> None:
    a = GtidPos.parse("0-1-105,1-2-40")
    b = GtidPos.parse("0-1-100,1-2-45")
    assert compare(a, b) is Comparison.DIVERGED
    assert missing(b, a) == {0: (101, 105)}
    assert missing(a, b) == {1: (41, 45)}
    assert not is_behind_or_equal(a, b) and not is_behind_or_equal(b, a)


def test_is_behind_or_equal() -> None:
    old, new = GtidPos.parse("0-1-5"), GtidPos.parse("0-1-9")
    assert is_behind_or_equal(old, new)
    assert is_behind_or_equal(new, new)
    assert not is_behind_or_equal(new, old)


# ---------------------------------------------------------------------------
# detect_kind
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("  \n", "empty"),
        (None, "empty"),
        (f"{U1}:1-5,\n{U2}:1", "mysql"),
        (f"{U1}:tag:1", "mysql"),
        ("0-1-100", "mariadb"),
        ("0-1-100, 1-2-50", "mariadb"),
    ],
)
def test_detect_kind(text: str | None, kind: str) -> None:
    assert detect_kind(text) == kind


def test_detect_kind_rejects_unknown_text() -> None:
    with pytest.raises(GtidParseError, match="unrecognised GTID text 'hello'"):
        detect_kind("hello")
