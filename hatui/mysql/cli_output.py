"""Rows from the text the `mysql`/`mariadb` client prints: vertical (`\\G`), boxed tables and
`--batch` tab-separated output. For output captured over SSH, pasted by an operator, or kept as a
test fixture. Values come back as the client printed them, except `NULL`, which becomes None
(as pymysql gives it).
"""

from __future__ import annotations

import re

__all__ = ["parse_vertical", "parse_table", "parse_tab_separated", "parse_any"]

_ROW_SEP = re.compile(r"^\s*\*{5,}\s*\d+\.\s*row\s*\*{5,}\s*$")
_FIELD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_@.]*):(?: (.*))?$")
_NOISE = re.compile(
    r"^\s*(?:\d+ rows? in set.*|Empty set.*|ERROR:\s*|No query specified\s*|"
    r"(?:mysql|MariaDB \[[^\]]*\])>.*|#.*)$"
)


def _value(text: str) -> str | None:
    return None if text == "NULL" else text


def parse_vertical(text: str) -> list[dict[str, str | None]]:
    """`*** 1. row ***` blocks of `Name: value` lines. A line that is not `Name: value` continues
    the previous value (the client prints embedded newlines as they are, e.g. in GTID sets)."""
    rows: list[dict[str, str | None]] = []
    row: dict[str, str | None] | None = None
    last: str | None = None
    for line in text.splitlines():
        if _ROW_SEP.match(line):
            row, last = {}, None
            rows.append(row)
            continue
        if row is None:
            continue
        if not line.strip():
            continue
        m = _FIELD.match(line)
        if m and not _NOISE.match(line):
            last = m.group(1)
            row[last] = _value((m.group(2) or "").rstrip())
            continue
        if _NOISE.match(line):
            row, last = None, None  # end of this result
            continue
        if last is not None:
            prev = row.get(last) or ""
            row[last] = prev + "\n" + line.strip()
    return rows


def parse_table(text: str) -> list[dict[str, str | None]]:
    """A boxed result (`+---+` borders, `| a | b |` lines); the first `|` line is the header."""
    header: list[str] | None = None
    rows: list[dict[str, str | None]] = []
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("|"):
            if header is not None and rows and not s.startswith("+"):
                header = None  # the table ended; a later one has its own header
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if len(cells) == len(header):
            rows.append({h: _value(c) for h, c in zip(header, cells)})
    return rows


def parse_tab_separated(text: str, header: bool = False) -> list[dict[str, str | None]]:
    """`mysql --batch` output. With header=False, two columns read as Variable_name/Value rows
    (SHOW VARIABLES written with --skip-column-names)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return []
    if header:
        names = lines[0].split("\t")
        return [{n: _value(v) for n, v in zip(names, ln.split("\t"))} for ln in lines[1:]]
    out = []
    for ln in lines:
        name, _, value = ln.partition("\t")
        out.append({"Variable_name": name, "Value": _value(value)})
    return out


def parse_any(text: str) -> list[dict[str, str | None]]:
    """Whichever of the three forms the text is in."""
    if any(_ROW_SEP.match(ln) for ln in text.splitlines()):
        return parse_vertical(text)
    if any(ln.strip().startswith("|") for ln in text.splitlines()):
        return parse_table(text)
    return parse_tab_separated(text)
