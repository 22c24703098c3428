"""GTID arithmetic for MySQL GTID sets and MariaDB GTID positions.

Pure Python, no I/O: the console reads ``@@gtid_executed`` /
``@@gtid_binlog_pos`` elsewhere and hands the text to this module to answer
"is the replica caught up?", "what does it lack?" and "have the nodes
diverged?".

MySQL GTID sets
---------------
A GTID set is ``uuid:N[-M][:N[-M]...]`` entries joined by commas, as in
``@@gtid_executed``. MySQL 8.3+ tagged GTIDs (``uuid:tag:N``) are supported::

    >>> s = GtidSet.parse("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-3:4-6:9")
    >>> str(s)
    '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6:9'
    >>> s.count()
    7
    >>> "3e11fa47-71ca-11e1-9e33-c80aa9429562:5" in s
    True
    >>> replica = GtidSet.parse("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4")
    >>> str(s - replica)                    # what the replica still lacks
    '3e11fa47-71ca-11e1-9e33-c80aa9429562:5-6:9'
    >>> replica <= s
    True
    >>> gtid_subtract("3E11FA47-71CA-11E1-9E33-C80AA9429562:21-57",
    ...               "3E11FA47-71CA-11E1-9E33-C80AA9429562:23-24")
    '3e11fa47-71ca-11e1-9e33-c80aa9429562:21-22:25-57'

MariaDB GTID positions
----------------------
A position is ``domain-server_id-seq`` entries, one per replication domain,
as in ``@@gtid_binlog_pos`` or ``@@gtid_slave_pos``::

    >>> primary = GtidPos.parse("0-1-100,1-2-50")
    >>> replica = GtidPos.parse("0-1-90,1-2-50")
    >>> compare(primary, replica)
    <Comparison.A_AHEAD: 'a_ahead'>
    >>> missing(replica, primary)           # per domain: (first missing, last)
    {0: (91, 100)}

``detect_kind`` tells the two formats apart::

    >>> detect_kind("0-1-100"), detect_kind(" "), detect_kind(str(s))
    ('mariadb', 'empty', 'mysql')
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby
from types import MappingProxyType
from typing import Literal

from hatui.errors import InputError

__all__ = [
    "GNO_MAX",
    "Comparison",
    "GtidParseError",
    "GtidPos",
    "GtidSet",
    "MariaGtid",
    "ahead",
    "compare",
    "detect_kind",
    "gtid_subset",
    "gtid_subtract",
    "is_behind_or_equal",
    "missing",
]

#: Largest MySQL GTID number (the server stops issuing GTIDs there).
GNO_MAX = 2**63 - 1

# MariaDB limits: domain_id and server_id are 32-bit unsigned, seq_no 64-bit.
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1

_EXPECTED = "expected uuid:N[-M][:N[-M]...]"

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I | re.ASCII)
_TAG_RE = re.compile(r"[a-z_][a-z0-9_]{0,31}", re.I | re.ASCII)
# Whitespace around "-" is tolerated because MySQL accepts it around every token.
_INTERVAL_RE = re.compile(r"([0-9]+)(?:\s*-\s*([0-9]+))?", re.ASCII)
_MARIA_RE = re.compile(r"([0-9]+)-([0-9]+)-([0-9]+)", re.ASCII)

Interval = tuple[int, int]
Intervals = tuple[Interval, ...]
Tsid = tuple[str, str]  # (uuid, tag); tag "" means untagged


class GtidParseError(InputError, ValueError):
    """Malformed GTID text; the message quotes the bad part and what was expected."""


# ---------------------------------------------------------------------------
# Interval-list helpers. Every list is sorted, disjoint and non-adjacent, so
# each operation is a single linear sweep.
# ---------------------------------------------------------------------------


def _merge(intervals: Iterable[Interval]) -> Intervals:
    """Sort and coalesce overlapping or adjacent intervals (1-3 + 4-6 -> 1-6)."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + 1:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return tuple(out)


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    out: list[Interval] = []
    j = 0
    for start, end in a:
        cur = start
        while j < len(b) and b[j][1] < cur:
            j += 1
        # Walk with k, not j: a b-interval may reach into the next a-interval.
        k = j
        while k < len(b) and b[k][0] <= end:
            b_start, b_end = b[k]
            if b_start > cur:
                out.append((cur, b_start - 1))
            cur = max(cur, b_end + 1)
            if cur > end:
                break
            k += 1
        if cur <= end:
            out.append((cur, end))
    return tuple(out)


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _interval_problem(start: int, end: int) -> str | None:
    """Why (start, end) is not a valid GTID interval, or None if it is."""
    if start < 1:
        return "GTID numbers start at 1"
    if end < start:
        return "the interval ends before it starts"
    if end > GNO_MAX:
        return f"GTID numbers stop at {GNO_MAX}"
    return None


def _format_interval(iv: Interval) -> str:
    return str(iv[0]) if iv[0] == iv[1] else f"{iv[0]}-{iv[1]}"


def _norm_uuid(text: str) -> str | None:
    text = text.strip()
    return text.lower() if _UUID_RE.fullmatch(text) else None


def _norm_tag(text: str) -> str | None:
    text = text.strip()
    return text.lower() if _TAG_RE.fullmatch(text) else None


# ---------------------------------------------------------------------------
# MySQL
# ---------------------------------------------------------------------------


class GtidSet:
    """An immutable, hashable MySQL GTID set.

    Internally a mapping ``(uuid, tag) -> intervals`` where ``tag`` is ``""``
    for untagged GTIDs and ``intervals`` is a tuple of sorted, disjoint,
    non-adjacent closed ``(start, end)`` pairs with
    ``1 <= start <= end <= 2**63-1``. UUIDs and tags are lowercase.

    ``GtidSet(text)`` is the same as ``GtidSet.parse(text)``; ``GtidSet()`` is
    the empty set. Operators: ``|`` union, ``-`` difference (GTID_SUBTRACT),
    ``&`` intersection, ``<=`` subset (GTID_SUBSET), ``<`` proper subset.
    """

    __slots__ = ("_data", "_hash")

    _data: dict[Tsid, Intervals]
    _hash: int

    def __init__(self, text: str | None = None) -> None:
        self._set_data(_parse_gtid_set(text))

    def _set_data(self, data: Mapping[Tsid, Intervals]) -> None:
        # Sorted keys and no empty entries make the dict canonical, so equality
        # and hashing can compare it directly.
        self._data = {k: data[k] for k in sorted(data) if data[k]}
        self._hash = hash(tuple(self._data.items()))

    @classmethod
    def _make(cls, data: Mapping[Tsid, Intervals]) -> GtidSet:
        obj = cls.__new__(cls)
        obj._set_data(data)
        return obj

    # -- construction -------------------------------------------------------

    @classmethod
    def parse(cls, text: str | None) -> GtidSet:
        """Parse MySQL's GTID set text; ``""``/whitespace/``None`` give the empty set.

        Accepts what MySQL accepts: any order, overlapping intervals,
        whitespace (including MySQL's ``,\\n``) around tokens, redundant
        commas, upper- or lowercase UUIDs and tags, and several tags after one
        UUID (``uuid:1-5:tag:1-3``). Stricter than MySQL in one way: a UUID or
        tag must be followed by at least one interval, because a bare UUID is
        nearly always a truncated copy-paste.

        Raises GtidParseError quoting the bad comma-separated part, e.g.
        ``bad GTID set 'abc:x': 'abc' is not a UUID, expected uuid:N[-M][:N[-M]...]``.
        """
        return cls(text)

    @classmethod
    def from_intervals(cls, intervals: Mapping[str | Tsid, Iterable[Interval]]) -> GtidSet:
        """Build a set from ``{uuid or (uuid, tag): [(start, end), ...]}``.

        Intervals may overlap or touch; they are merged. Raises ValueError for
        a malformed UUID or tag, or an interval outside ``1 <= start <= end <=
        2**63-1``.
        """
        data: dict[Tsid, list[Interval]] = {}
        for key, ivs in intervals.items():
            raw_uuid, raw_tag = (key, "") if isinstance(key, str) else key
            uuid = _norm_uuid(raw_uuid)
            if uuid is None:
                raise ValueError(f"{raw_uuid!r} is not a UUID")
            tag = _norm_tag(raw_tag) if raw_tag else ""
            if tag is None:
                raise ValueError(f"{raw_tag!r} is not a GTID tag, expected [a-z_][a-z0-9_]{{0,31}}")
            bucket = data.setdefault((uuid, tag), [])
            for start, end in ivs:
                problem = _interval_problem(start, end)
                if problem:
                    raise ValueError(f"bad interval ({start}, {end}) for {uuid}: {problem}")
                bucket.append((start, end))
        return cls._make({k: _merge(v) for k, v in data.items()})

    # -- output -------------------------------------------------------------

    def format(self, multiline: bool = False) -> str:
        """MySQL's normalised text: UUIDs sorted, intervals merged.

        Per UUID, the untagged intervals come first, then ``:tag:intervals``
        for each tag in alphabetical order (``uuid:1-5:a:1-3:b:7``), as MySQL
        8.3+ prints it. ``multiline=True`` separates UUIDs with ``,\\n`` like
        the server does; the default uses a bare ``,``.
        """
        entries = []
        for uuid, group in groupby(self._data.items(), key=lambda kv: kv[0][0]):
            parts = [uuid]
            for (_, tag), ivs in group:
                if tag:
                    parts.append(tag)
                parts.extend(map(_format_interval, ivs))
            entries.append(":".join(parts))
        return (",\n" if multiline else ",").join(entries)

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"GtidSet({self.format()!r})"

    # -- queries ------------------------------------------------------------

    @property
    def intervals(self) -> Mapping[Tsid, Intervals]:
        """Read-only view ``(uuid, tag) -> intervals``, keys sorted."""
        return MappingProxyType(self._data)

    def uuids(self) -> tuple[str, ...]:
        """The distinct source UUIDs, sorted (tags are not separated out)."""
        return tuple(dict.fromkeys(uuid for uuid, _ in self._data))

    def count(self) -> int:
        """Number of transactions (GTIDs) in the set."""
        return sum(end - start + 1 for ivs in self._data.values() for start, end in ivs)

    def __len__(self) -> int:
        # len() cannot exceed sys.maxsize; use count() for absurdly large sets.
        return self.count()

    def __bool__(self) -> bool:
        return bool(self._data)

    def contains(self, uuid: str, gno: int, tag: str = "") -> bool:
        """True if GTID ``uuid[:tag]:gno`` is in the set (uuid/tag case-insensitive)."""
        ivs = self._data.get((uuid.strip().lower(), tag.strip().lower()), ())
        # Rightmost interval starting at or before gno is the only candidate.
        i = bisect.bisect_right(ivs, (gno, GNO_MAX + 1)) - 1
        return i >= 0 and ivs[i][0] <= gno <= ivs[i][1]

    def __contains__(self, gtid: object) -> bool:
        """``"uuid:5" in s`` or ``"uuid:tag:5" in s``; malformed text raises GtidParseError."""
        if not isinstance(gtid, str):
            return False
        parts = [p.strip() for p in gtid.split(":")]
        if len(parts) not in (2, 3) or not parts[-1].isascii() or not parts[-1].isdigit():
            raise GtidParseError(f"bad GTID {gtid!r}: expected uuid:N or uuid:tag:N")
        uuid = _norm_uuid(parts[0])
        tag = _norm_tag(parts[1]) if len(parts) == 3 else ""
        if uuid is None or tag is None:
            raise GtidParseError(f"bad GTID {gtid!r}: expected uuid:N or uuid:tag:N")
        return self.contains(uuid, int(parts[-1]), tag)

    # -- algebra ------------------------------------------------------------

    def union(self, other: GtidSet) -> GtidSet:
        """All GTIDs in either set."""
        data = dict(self._data)
        for key, ivs in other._data.items():
            data[key] = _merge(data.get(key, ()) + ivs)
        return GtidSet._make(data)

    def subtract(self, other: GtidSet) -> GtidSet:
        """GTIDs in self but not in other, like MySQL's GTID_SUBTRACT(self, other)."""
        return GtidSet._make(
            {k: _subtract(ivs, other._data[k]) if k in other._data else ivs for k, ivs in self._data.items()}
        )

    def intersection(self, other: GtidSet) -> GtidSet:
        """GTIDs in both sets."""
        return GtidSet._make({k: _intersect(ivs, other._data[k]) for k, ivs in self._data.items() if k in other._data})

    def issubset(self, other: GtidSet) -> bool:
        """True if every GTID of self is in other, like MySQL's GTID_SUBSET(self, other)."""
        return all(k in other._data and not _subtract(ivs, other._data[k]) for k, ivs in self._data.items())

    def __or__(self, other: object) -> GtidSet:
        return self.union(other) if isinstance(other, GtidSet) else NotImplemented

    def __sub__(self, other: object) -> GtidSet:
        return self.subtract(other) if isinstance(other, GtidSet) else NotImplemented

    def __and__(self, other: object) -> GtidSet:
        return self.intersection(other) if isinstance(other, GtidSet) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.issubset(other) if isinstance(other, GtidSet) else NotImplemented

    def __lt__(self, other: object) -> bool:
        return self.issubset(other) and self != other if isinstance(other, GtidSet) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return other.issubset(self) if isinstance(other, GtidSet) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return other.issubset(self) and self != other if isinstance(other, GtidSet) else NotImplemented

    def __eq__(self, other: object) -> bool:
        return self._data == other._data if isinstance(other, GtidSet) else NotImplemented

    def __hash__(self) -> int:
        return self._hash


def _parse_gtid_set(text: str | None) -> dict[Tsid, Intervals]:
    if not text or not text.strip():
        return {}
    data: dict[Tsid, list[Interval]] = {}
    # Empty entries are skipped: MySQL tolerates redundant/trailing commas.
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue

        def fail(reason: str, entry: str = entry) -> GtidParseError:
            return GtidParseError(f"bad GTID set {entry!r}: {reason}")

        raw_uuid, *items = (p.strip() for p in entry.split(":"))
        uuid = _norm_uuid(raw_uuid)
        if uuid is None:
            raise fail(f"{raw_uuid!r} is not a UUID, {_EXPECTED}")
        if not items:
            raise fail(f"no interval after the UUID, {_EXPECTED}")
        tag = ""
        pending_tag = False  # a tag was named but no interval followed yet
        for item in items:
            m = _INTERVAL_RE.fullmatch(item)
            if m:
                start = int(m[1])
                end = int(m[2]) if m[2] is not None else start
                problem = _interval_problem(start, end)
                if problem:
                    raise fail(f"interval {item!r}: {problem}, {_EXPECTED} with 1 <= N <= M <= {GNO_MAX}")
                data.setdefault((uuid, tag), []).append((start, end))
                pending_tag = False
            elif item[:1].isdigit() or not item:
                raise fail(f"{item!r} is not an interval, {_EXPECTED}")
            else:
                new_tag = _norm_tag(item)
                if new_tag is None:
                    raise fail(f"{item!r} is neither an interval nor a tag ([a-z_][a-z0-9_]{{0,31}}), {_EXPECTED}")
                if pending_tag:
                    raise fail(f"tag {tag!r} has no interval, expected uuid:tag:N[-M][:N[-M]...]")
                tag, pending_tag = new_tag, True
        if pending_tag:
            raise fail(f"tag {tag!r} has no interval, expected uuid:tag:N[-M][:N[-M]...]")
    return {k: _merge(v) for k, v in data.items()}


def gtid_subset(a: str, b: str) -> bool:
    """MySQL's GTID_SUBSET(a, b) on strings: is every GTID of a also in b?"""
    return GtidSet.parse(a).issubset(GtidSet.parse(b))


def gtid_subtract(a: str, b: str, *, multiline: bool = False) -> str:
    """MySQL's GTID_SUBTRACT(a, b) on strings: GTIDs of a not in b, normalised.

    MySQL itself separates UUIDs with ``,\\n``; pass ``multiline=True`` for that.
    """
    return (GtidSet.parse(a) - GtidSet.parse(b)).format(multiline=multiline)


# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class MariaGtid:
    """One MariaDB GTID ``domain-server_id-seq``; ``str()`` gives that text back."""

    domain: int
    server_id: int
    seq: int

    def __post_init__(self) -> None:
        for name, value, top in (
            ("domain", self.domain, _U32_MAX),
            ("server_id", self.server_id, _U32_MAX),
            ("seq", self.seq, _U64_MAX),
        ):
            if not 0 <= value <= top:
                raise ValueError(f"MariaDB GTID {name} {value} out of range 0..{top}")

    @classmethod
    def parse(cls, text: str) -> MariaGtid:
        """Parse ``"0-1-100"``; raises GtidParseError for anything else."""
        m = _MARIA_RE.fullmatch(text.strip())
        if not m:
            raise GtidParseError(f"bad MariaDB GTID {text.strip()!r}: expected domain-server_id-seq, e.g. 0-1-100")
        try:
            return cls(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise GtidParseError(f"bad MariaDB GTID {text.strip()!r}: {exc}") from None

    def __str__(self) -> str:
        return f"{self.domain}-{self.server_id}-{self.seq}"


def _parse_maria_list(text: str | None, what: str) -> list[MariaGtid]:
    if not text or not text.strip():
        return []
    out = []
    for entry in text.split(","):
        # Unlike MySQL sets, empty entries are an error: "0-1-5,,1-2-3" is
        # more likely a lost GTID than a harmless typo.
        if not entry.strip():
            raise GtidParseError(f"bad {what} {text.strip()!r}: empty entry, expected domain-server_id-seq[,...]")
        out.append(MariaGtid.parse(entry))
    return out


class GtidPos:
    """An immutable MariaDB GTID position: at most one GTID per domain.

    This is what ``@@gtid_binlog_pos``, ``@@gtid_current_pos`` and
    ``@@gtid_slave_pos`` hold. Iterating yields MariaGtid sorted by domain.
    """

    __slots__ = ("_by_domain",)

    _by_domain: dict[int, MariaGtid]

    def __init__(self, gtids: Iterable[MariaGtid] = ()) -> None:
        by_domain: dict[int, MariaGtid] = {}
        for g in gtids:
            if g.domain in by_domain:
                raise ValueError(
                    f"domain {g.domain} appears twice ({by_domain[g.domain]} and {g}); "
                    "a position holds one GTID per domain"
                )
            by_domain[g.domain] = g
        self._by_domain = dict(sorted(by_domain.items()))

    @classmethod
    def parse(cls, text: str | None) -> GtidPos:
        """Parse ``"0-1-100,1-2-50"``; empty/``None`` gives the empty position.

        Raises GtidParseError for malformed entries and for a domain given
        twice (that is gtid_binlog_state-like text: use ``parse_state``).
        """
        gtids = _parse_maria_list(text, "GTID position")
        try:
            return cls(gtids)
        except ValueError as exc:
            raise GtidParseError(
                f"bad GTID position {(text or '').strip()!r}: {exc} (for gtid_binlog_state use GtidPos.parse_state)"
            ) from None

    @staticmethod
    def parse_state(text: str | None) -> dict[int, tuple[MariaGtid, ...]]:
        """Parse ``@@gtid_binlog_state``-like text, which may list several server ids per domain.

        Returns ``{domain: (MariaGtid, ...)}`` with domains ascending and each
        tuple ordered by seq, so ``[-1]`` is the domain's latest GTID. A
        (domain, server_id) pair given twice raises GtidParseError.
        """
        state: dict[int, dict[int, MariaGtid]] = {}
        for g in _parse_maria_list(text, "GTID state"):
            per_server = state.setdefault(g.domain, {})
            if g.server_id in per_server:
                raise GtidParseError(
                    f"bad GTID state {(text or '').strip()!r}: domain {g.domain} server_id {g.server_id} "
                    f"appears twice ({per_server[g.server_id]} and {g})"
                )
            per_server[g.server_id] = g
        return {
            d: tuple(sorted(per_server.values(), key=lambda g: (g.seq, g.server_id)))
            for d, per_server in sorted(state.items())
        }

    @classmethod
    def from_state(cls, state: Mapping[int, Iterable[MariaGtid]]) -> GtidPos:
        """The position implied by a binlog state: the highest-seq GTID of each domain."""
        return cls(max(gtids, key=lambda g: g.seq) for gtids in state.values() if gtids)

    def format(self) -> str:
        """Comma-separated ``domain-server_id-seq`` entries, sorted by domain."""
        return ",".join(map(str, self._by_domain.values()))

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"GtidPos.parse({self.format()!r})"

    @property
    def domains(self) -> tuple[int, ...]:
        """The domain ids present, ascending."""
        return tuple(self._by_domain)

    def get(self, domain: int) -> MariaGtid | None:
        """The GTID for ``domain``, or None if the position has none."""
        return self._by_domain.get(domain)

    def seq(self, domain: int) -> int:
        """The seq reached in ``domain``; 0 if the domain is absent (nothing applied)."""
        g = self._by_domain.get(domain)
        return g.seq if g else 0

    def __iter__(self) -> Iterator[MariaGtid]:
        return iter(self._by_domain.values())

    def __len__(self) -> int:
        return len(self._by_domain)

    def __bool__(self) -> bool:
        return bool(self._by_domain)

    def __eq__(self, other: object) -> bool:
        return self._by_domain == other._by_domain if isinstance(other, GtidPos) else NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._by_domain.values()))


class Comparison(StrEnum):
    """How two MariaDB positions relate (see ``compare``)."""

    EQUAL = "equal"
    A_AHEAD = "a_ahead"
    B_AHEAD = "b_ahead"
    DIVERGED = "diverged"


def compare(a: GtidPos, b: GtidPos) -> Comparison:
    """Compare two positions domain by domain, by seq only.

    A domain missing on one side counts as seq 0 there, so a domain only ``a``
    has makes ``a`` ahead in it. DIVERGED means each side is ahead in some
    domain: neither can simply catch up to the other.

    server_id is ignored (it says who wrote a GTID, not its order), so two
    servers that each wrote a different transaction with the same seq compare
    EQUAL: positions alone cannot show that kind of split brain.
    """
    domains = set(a.domains) | set(b.domains)
    a_ahead = any(a.seq(d) > b.seq(d) for d in domains)
    b_ahead = any(b.seq(d) > a.seq(d) for d in domains)
    if a_ahead and b_ahead:
        return Comparison.DIVERGED
    if a_ahead:
        return Comparison.A_AHEAD
    if b_ahead:
        return Comparison.B_AHEAD
    return Comparison.EQUAL


def ahead(a: GtidPos, b: GtidPos) -> dict[int, tuple[int, int]]:
    """Domains where ``a`` is ahead of ``b``, as ``{domain: (b_seq + 1, a_seq)}``.

    That is the seq range ``b`` needs from ``a`` in each domain (assuming seqs
    are contiguous within a domain, as with gtid_strict_mode).
    """
    return {d: (b.seq(d) + 1, a.seq(d)) for d in a.domains if a.seq(d) > b.seq(d)}


def missing(on: GtidPos, reference: GtidPos) -> dict[int, tuple[int, int]]:
    """What ``on`` lacks relative to ``reference``: ``{domain: (first_missing_seq, last_seq)}``."""
    return ahead(reference, on)


def is_behind_or_equal(a: GtidPos, b: GtidPos) -> bool:
    """True if ``a`` has nothing ``b`` lacks, i.e. ``a`` can catch up to ``b`` by replication."""
    return compare(a, b) in (Comparison.EQUAL, Comparison.B_AHEAD)


# ---------------------------------------------------------------------------


_MARIA_LIST_RE = re.compile(r"\s*[0-9]+-[0-9]+-[0-9]+\s*(?:,\s*[0-9]+-[0-9]+-[0-9]+\s*)*", re.ASCII)


def detect_kind(text: str | None) -> Literal["mysql", "mariadb", "empty"]:
    """Guess which GTID flavour ``text`` is, without fully validating it.

    ``"empty"`` for empty/whitespace/None, ``"mysql"`` if it contains a UUID,
    ``"mariadb"`` for ``d-s-n[,d-s-n...]``. Anything else raises GtidParseError.
    """
    if not text or not text.strip():
        return "empty"
    if _UUID_RE.search(text):
        return "mysql"
    if _MARIA_LIST_RE.fullmatch(text):
        return "mariadb"
    raise GtidParseError(
        f"unrecognised GTID text {text.strip()!r}: expected a MySQL GTID set (uuid:N[-M]...) "
        "or a MariaDB position (domain-server_id-seq[,...])"
    )
