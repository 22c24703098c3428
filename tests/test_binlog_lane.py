"""The parser's lane (a row transaction matched whole) against its line-by-line reader: the same
dump, the same refusal, whatever the text and however it arrives."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hatui.binlog.dump import BinlogDump, BinlogIntegrityError, _parse

FIX = Path(__file__).parent / "fixtures" / "binlog"
WORKLOAD = "mariadb-10.11-workload.txt"


def text(name: str) -> str:
    return (FIX / name).read_bytes().decode("utf-8", "surrogateescape")


class Arriving:
    """A text file whose read() gives at most `size` characters at a time (a download)."""

    def __init__(self, text: str, size: int):
        self.text, self.size, self.at = text, size, 0

    def read(self, n: int = -1) -> str:
        k = self.size if n < 0 else min(n, self.size)
        out = self.text[self.at : self.at + k]
        self.at += len(out)
        return out


Outcome = tuple[BinlogDump | None, str | None, int]


def outcome(body: str, name: str, *, size: int = 1 << 20, lane: bool, **kw: Any) -> Outcome:
    try:
        dump, laned = _parse(Arriving(body, size), name, lane=lane, **kw)
    except BinlogIntegrityError as e:
        return None, str(e), 0
    return dump, None, laned


def same(body: str, name: str, *, size: int = 1 << 20, **kw: Any) -> int:
    """Assert the lane reads `body` as the line reader does; how many transactions it read."""
    by_lines = outcome(body, name, lane=False, **kw)
    by_lane = outcome(body, name, size=size, lane=True, **kw)
    assert by_lane[:2] == by_lines[:2]
    return by_lane[2]


FIXTURES = sorted(p.name for p in FIX.glob("*.txt"))


@pytest.mark.parametrize("size", [7, 101, 4096, 1 << 20])
@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_reads_the_same_by_the_lane_in_any_chunks(name: str, size: int) -> None:
    body = text(name)
    stream = name == "mysql-8.3-gtid-rotate.txt"
    for keep_text in (True, False):
        laned = same(body, name, size=size, stream=stream, keep_text=keep_text)
        if name == WORKLOAD:
            # single-statement and multi-statement row transactions both went by the lane
            assert laned == 7


def test_every_cut_reads_the_same_by_the_lane() -> None:
    body = text(WORKLOAD)
    cuts = [m.end() for m in re.finditer("\n", body)]
    for cut in cuts:
        same(body[:cut], WORKLOAD)
        same(body[:cut], WORKLOAD, expect_end=4937)


def test_a_forged_event_in_a_row_value_is_refused_by_the_lane_too() -> None:
    # -v prints a string value raw: a value can hold a newline and an event header after it
    body = text(WORKLOAD)
    line = "###   @2='a'\n"
    assert line in body
    forged = "###   @2='a\n# at 2023\n#261121 17:47:48 server id 1  end_log_pos 2050 CRC32 0x0 \tXid = 1\n'\n"
    bad = body.replace(line, forged, 1)
    assert same(bad, WORKLOAD) == 0
    # the forged Xid fits after the row event; the real event after it then does not
    with pytest.raises(
        BinlogIntegrityError, match=r"line 144: .* claims position 2023, but the event `Xid = 1` at 2023 \(line 138\)"
    ):
        _parse(Arriving(bad, 1 << 20), WORKLOAD)


def test_a_lane_transaction_whose_positions_do_not_chain_is_refused_with_the_readers_message() -> None:
    body = text(WORKLOAD).replace("# at 1979\n", "# at 1978\n", 1)
    dump, message, _ = outcome(body, WORKLOAD, lane=True)
    assert dump is None
    assert message is not None and "claims position 1978" in message
    same(body, WORKLOAD)


_NUMBER = re.compile(r"(?:# at |end_log_pos )(\d+)")
_BODY_LINE = re.compile(r"^(?:###|#Q>|BINLOG|/\*M!)[^\n]*\n", re.M)
_VALUE_END = re.compile(r"^###   @\d+=[^\n]*(?=\n)", re.M)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_mutated_workloads_read_the_same_by_the_lane(data: st.DataObject) -> None:
    """Positions changed, lines forged into bodies, lines dropped, -vv's type notes: whatever the reader makes of
    it (a dump, or a refusal with its line and reason), the lane makes the same."""
    body = text(WORKLOAD)
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["number", "forge", "drop", "note"]))
        if kind == "number":
            spots = list(_NUMBER.finditer(body))
            m = data.draw(st.sampled_from(spots))
            value = data.draw(st.sampled_from([int(m[1]) - 1, int(m[1]) + 1, 0, 4, 1815]))
            body = body[: m.start(1)] + str(value) + body[m.end(1) :]
        elif kind == "forge":
            spots = list(_BODY_LINE.finditer(body))
            m = data.draw(st.sampled_from(spots))
            at = data.draw(st.sampled_from([1264, 1815, 1857, 2840]))
            fake = data.draw(
                st.sampled_from(
                    [
                        f"# at {at}\n",
                        f"#261121 17:47:48 server id 1  end_log_pos {at + 31} CRC32 0x0 \tXid = 9\n",
                        "COMMIT/*!*/;\n",
                        "### INSERT INTO `labdb`.`x`\n### SET\n###   @1=1\n",
                    ]
                )
            )
            body = body[: m.end()] + fake + body[m.end() :]
        elif kind == "note":  # what -vv adds after a value
            for m in reversed(list(_VALUE_END.finditer(body))[: data.draw(st.integers(1, 40))]):
                body = body[: m.end()] + " /* INT meta=0 nullable=1 is_null=0 */" + body[m.end() :]
        else:
            lines = body.splitlines(keepends=True)
            i = data.draw(st.integers(0, len(lines) - 1))
            body = "".join(lines[:i] + lines[i + 1 :])
    size = data.draw(st.sampled_from([64, 1000, 1 << 20]))
    same(body, WORKLOAD, size=size)


@pytest.mark.parametrize(
    "head",
    [
        "### INSERT INTO `labdb`.`bl_pair\n### x`\n",  # no head for the line reader
        "### INSERT INTO `labdb`.`bl_pair``\n### x`\n",  # a head whose name ends at the line
        "### INSERT INTO `lab\n### db`.`bl_pair`\n",
    ],
)
def test_a_name_spanning_lines_in_a_row_image_is_read_line_by_line_as_the_reader_does(head: str) -> None:
    # found by review: the image's one-row fast path once read a table name across lines
    body = text(WORKLOAD)
    image = "### INSERT INTO `labdb`.`bl_pair`\n### SET\n###   @1=1\n###   @2='a'\n"
    assert image in body
    same(body.replace(image, head + image.split("\n", 1)[1], 1), WORKLOAD)


def test_numbers_of_thousands_of_digits_are_refused_with_the_line_not_a_crash() -> None:
    # int() of over 4,300 digits raises ValueError: positions are at most 20 digits
    body = text(WORKLOAD)
    huge = "9" * 5000
    cases = [
        # a wrong position first, then a huge end: the reader's order decides the message
        body.replace("# at 3421\n# at 3488\n", "# at 3420\n# at 3488\n", 1).replace(
            "end_log_pos 3617 ", f"end_log_pos {huge} ", 1
        ),
        body.replace("# at 1979\n", f"# at {huge}\n", 1),
        body.replace("server id 1  end_log_pos 1924 ", f"server id {huge}  end_log_pos 1924 ", 1),
    ]
    for bad in cases:
        same(bad, WORKLOAD)
        with pytest.raises(BinlogIntegrityError):
            _parse(Arriving(bad, 1 << 20), WORKLOAD)
    # a column "index" no column has is no image line of the tool's: ignored by both
    bad = body.replace("###   @2='a'\n", f"###   @{huge}=1\n###   @2='a'\n", 1)
    assert same(bad, WORKLOAD) == 7
