"""Which transactions an old writer's binlogs hold that the new writer never executed, what they
touch, and whether applying them would overwrite something the new writer changed since.

MariaDB: a GTID is domain-server-seq and a server's own GTIDs in one domain only grow, so what a
server has is, per (domain, server_id), the highest seq in its gtid_binlog_state (plus
gtid_slave_pos when it does not log replicated events). MySQL: GTID sets, exact. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from hatui.binlog.dump import RowProbe, Transaction, readable
from hatui.binlog.locate import Head
from hatui.gtid import GtidParseError, GtidSet, MariaGtid

State = dict[tuple[int, int], int]  # MariaDB: (domain, server_id) -> highest seq held


# ------------------------------------------------------------------ what a server holds
def maria_state(*texts: str | None) -> State:
    """The union of gtid_binlog_state / gtid_slave_pos / Gtid_list texts, per (domain, server)."""
    out: State = {}
    for text in texts:
        for entry in (text or "").replace("\n", "").split(","):
            if not entry.strip():
                continue
            g = MariaGtid.parse(entry)
            key = (g.domain, g.server_id)
            out[key] = max(out.get(key, 0), g.seq)
    return out


def format_state(state: State) -> str:
    return ",".join(f"{d}-{s}-{n}" for (d, s), n in sorted(state.items()))


def gtid_summary(gtids: Iterable[str], mariadb: bool) -> str:
    """The GTIDs of a binlog's transactions as one state a server either covers or not:
    MariaDB, the highest seq per (domain, server) (Have.has compares seqs, so covering the
    highest covers every lower one of the same pair); MySQL, their GTID set."""
    text = ",".join(g for g in gtids if g)
    return format_state(maria_state(text)) if mariadb else str(GtidSet.parse(text))


def domain_seqs(pos: str | None) -> dict[int, int]:
    """A MariaDB position (gtid_slave_pos): per domain, the seq everything up to is applied."""
    out: dict[int, int] = {}
    for entry in (pos or "").replace("\n", "").split(","):
        if entry.strip():
            g = MariaGtid.parse(entry)
            out[g.domain] = max(out.get(g.domain, 0), g.seq)
    return out


@dataclass(frozen=True)
class Have:
    """What a server has executed, in its flavour's terms. MariaDB: its gtid_binlog_state per
    (domain, server), plus gtid_slave_pos, which is a position: in its domain it covers every
    GTID up to its seq whatever the server (a replica with log_slave_updates OFF logs none of
    them)."""

    mariadb: bool
    state: State = field(default_factory=dict)  # MariaDB
    domains: dict[int, int] = field(default_factory=dict)  # MariaDB: from gtid_slave_pos
    gtids: GtidSet = field(default_factory=GtidSet)  # MySQL

    @classmethod
    def of(cls, mariadb: bool, state: str | None = None, slave_pos: str | None = None) -> Have:
        """MariaDB: (gtid_binlog_state, gtid_slave_pos); MySQL: (gtid_executed, more GTIDs)."""
        if mariadb:
            return cls(True, state=maria_state(state), domains=domain_seqs(slave_pos))
        return cls(False, gtids=GtidSet.parse(state or "") | GtidSet.parse(slave_pos or ""))

    def seq(self, domain: int, server: int) -> int:
        return max(self.state.get((domain, server), 0), self.domains.get(domain, 0))

    def has(self, gtid: str) -> bool:
        if self.mariadb:
            g = MariaGtid.parse(gtid)
            return self.seq(g.domain, g.server_id) >= g.seq
        uuid, _, gno = gtid.rpartition(":")
        return self.gtids.contains(uuid, int(gno))

    def covers(self, head_gtids: str) -> bool:
        """True when everything before a binlog file (its head state) is held."""
        if self.mariadb:
            return all(self.seq(*k) >= n for k, n in maria_state(head_gtids).items())
        return GtidSet.parse(head_gtids).issubset(self.gtids)

    def lacking(self, head_gtids: str) -> str:
        if self.mariadb:
            return format_state({k: n for k, n in maria_state(head_gtids).items() if self.seq(*k) < n})
        return str(GtidSet.parse(head_gtids) - self.gtids)

    def __str__(self) -> str:
        if not self.mariadb:
            return str(self.gtids)
        # the slave position's domains that its binlog state does not already show
        pos = ",".join(
            f"{d}-?-{n}"
            for d, n in sorted(self.domains.items())
            if not any(k[0] == d and v >= n for k, v in self.state.items())
        )
        return format_state(self.state) + (f"; position {pos}" if pos else "")


# ------------------------------------------------------------------ which files to read
@dataclass(frozen=True)
class Start:
    index: int | None  # first file (in index order) to read; None: what is needed is purged
    reason: str


def choose_start(heads: Sequence[Head], have: Have) -> Start:
    """The newest file whose head state the new writer fully has: everything it lacks is in
    that file or later. If even the oldest file starts after something it lacks, the
    transactions in between are gone (purged)."""
    if not heads:
        return Start(None, "the binlog index lists no files")
    bad = [h for h in heads if h.error]
    if bad:
        return Start(None, f"cannot read {bad[0].path}: {bad[0].error}")
    for i in range(len(heads) - 1, -1, -1):
        if have.covers(heads[i].gtids):
            return Start(i, f"reading from {heads[i].path} (starts at {heads[i].gtids or 'nothing'})")
    first = heads[0]
    return Start(
        None,
        f"the oldest binlog left, {first.path}, starts after {have.lacking(first.gtids)} which "
        f"the new writer never executed: those transactions were purged",
    )


def missing(transactions: Iterable[Transaction], have: Have) -> list[Transaction]:
    return [t for t in transactions if t.gtid and not have.has(t.gtid)]


def after_position(transactions: Iterable[Transaction], files: Sequence[str], file: str, pos: int) -> list[Transaction]:
    """Without GTIDs: the transactions after the last position the new writer executed from
    the old one (Relay_Master_Log_File / Exec_Master_Log_Pos)."""
    names = [f.rsplit("/", 1)[-1] for f in files]
    base = file.rsplit("/", 1)[-1]
    if base not in names:
        raise ValueError(f"{base} is not among the old writer's binlogs ({', '.join(names)}): purged")
    order = {n: i for i, n in enumerate(names)}
    at = order[base]
    return [
        t
        for t in transactions
        if order.get(t.file.rsplit("/", 1)[-1], -1) > at
        or (order.get(t.file.rsplit("/", 1)[-1]) == at and t.start >= pos)
    ]


def held_by_old(heads_last: str, gtids_read: Iterable[str], mariadb: bool) -> Have:
    """Everything the old writer's binlogs say it executed: the last file's head plus the
    GTIDs of the transactions read after it ("" for one without)."""
    gtids = [x for x in gtids_read if x]
    if mariadb:
        return Have(True, state=maria_state(heads_last, ",".join(gtids)))
    return Have.of(False, heads_last, ",".join(gtids))


# ------------------------------------------------------------------ preview
@dataclass
class Preview:
    count: int
    first: str
    last: str
    since: dt.datetime | None
    until: dt.datetime | None
    tables: dict[str, Counter[str]]  # "db.t" -> Counter(insert=, update=, delete=)
    ddl: list[str]
    lines: list[str]  # every transaction, readable

    def summary(self) -> list[str]:
        if not self.count:
            return ["nothing to recover: the new writer has every transaction of the old one"]
        span = (
            f"{self.since:%Y-%m-%d %H:%M:%S} – {self.until:%Y-%m-%d %H:%M:%S}"
            if self.since and self.until
            else "unknown"
        )
        out = [
            f"{self.count} transaction(s) to recover: {self.first} … {self.last}",
            f"committed on the old writer between {span}",
        ]
        for t, c in sorted(self.tables.items()):
            out.append(f"  {t}: " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())))
        if self.ddl:
            out.append(
                f"  {len(self.ddl)} DDL statement(s): "
                + "; ".join(" ".join(d.split()) for d in self.ddl[:3])
                + (" …" if len(self.ddl) > 3 else "")
            )
        return out


def preview(txs: Sequence[Transaction], columns: dict[tuple[str, str], list[str]]) -> Preview:
    tables: dict[str, Counter[str]] = {}
    lines: list[str] = []
    ddl: list[str] = []
    for t in txs:
        when = f"{t.when:%Y-%m-%d %H:%M:%S}" if t.when else "?"
        lines.append(f"{t.gtid or f'{t.file}:{t.start}'}  {when}  server {t.server_id}")
        for s in t.statements:
            # a DDL statement runs exactly as shown; a row change's statement is only what the
            # client sent (its rows below are what runs). Every line indented, so no line of a
            # statement can pass for a transaction of its own here.
            label = "runs as is:" if t.ddl else "--"
            lines.append(f"    {label} " + s.replace("\n", "\n        "))
        if t.ddl:
            ddl.extend(s for s in t.statements)
        for r in t.rows:
            tables.setdefault(f"{r.schema}.{r.table}", Counter())[r.kind] += 1
            lines.append(f"    {readable(r, columns.get((r.schema, r.table)))}")
    gt = [t for t in txs if t.gtid]
    whens = [t.when for t in txs if t.when]
    return Preview(
        len(txs),
        gt[0].gtid if gt else "",
        gt[-1].gtid if gt else "",
        min(whens) if whens else None,
        max(whens) if whens else None,
        tables,
        ddl,
        lines,
    )


# ------------------------------------------------------------------ conflicts
_UNSIGNED = re.compile(r"^-?\d+ \((\d+)\)$")


def literal_value(text: str) -> Any:
    """A value as mysqlbinlog -v prints it, as Python: NULL -> None, numbers -> Decimal,
    'quoted' -> str. Raises ValueError for what it cannot read (the caller treats that row as
    a conflict: better to ask than to guess)."""
    t = text.strip()
    if t == "NULL":
        return None
    m = _UNSIGNED.match(t)
    if m:  # unsigned columns print as "-1 (4294967295)"
        return Decimal(m.group(1))
    if len(t) >= 2 and t[0] == "'" and t[-1] == "'":
        return _unquote(t[1:-1])
    try:
        return Decimal(t)
    except InvalidOperation:
        raise ValueError(f"cannot read the binlog value {text!r}") from None


_CONTROL = re.compile(r"\\x([01][0-9a-fA-F])")


def literal_param(text: str) -> Any:
    """A printed value as a query parameter (numbers as their exact text, never a float)."""
    v = literal_value(text)
    return str(v) if v is not None and not isinstance(v, str) else v


def _unquote(s: str) -> str:
    # the tools print every byte above 0x1F as it is (quotes and backslashes unescaped: the
    # value is everything between the outer quotes) and control bytes as \xNN
    return _CONTROL.sub(lambda m: chr(int(m.group(1), 16)), s)


def same_value(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, (bytes, bytearray)):
        actual = bytes(actual).decode("utf-8", errors="surrogateescape")
    if isinstance(actual, bool):
        actual = int(actual)
    if isinstance(expected, Decimal):
        try:
            return bool(Decimal(str(actual)) == expected)
        except InvalidOperation:
            return False
    if isinstance(actual, dt.datetime):
        try:
            return bool(dt.datetime.fromisoformat(expected) == actual)
        except ValueError:
            return False
    if isinstance(actual, dt.date):
        return bool(actual.isoformat() == expected)
    if isinstance(actual, dt.timedelta):
        return bool(_time_value(expected) == actual)
    return bool(str(actual) == expected)


def _time_value(text: str) -> dt.timedelta | None:
    """A TIME as the tools print it ('-838:59:59', '10:00:00.500000') as a timedelta."""
    m = re.fullmatch(r"(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?", text)
    if not m:
        return None
    v = dt.timedelta(
        hours=int(m[2]), minutes=int(m[3]), seconds=int(m[4]), microseconds=int((m[5] or "0").ljust(6, "0"))
    )
    return -v if m[1] else v


@dataclass(frozen=True)
class Conflict:
    gtid: str
    table: str
    key: tuple[str, ...]
    why: str  # "row exists on the new writer", "row changed since", "row deleted since", ...

    def __str__(self) -> str:
        return f"{self.gtid}: {self.table} ({', '.join(self.key)}): {self.why}"


def check_probe(
    probe: RowProbe, found: dict[int, Any] | None, unix_ts: set[int] | frozenset[int] = frozenset()
) -> Conflict | None:
    """Compare what a recovered change expects with the row the new writer has now (by column
    position; None: no such row). `unix_ts` are TIMESTAMP columns, fetched as UNIX_TIMESTAMP
    because mysqlbinlog prints them as epoch seconds."""
    return _judge(
        probe,
        found,
        "the row exists on the new writer (inserted there since)",
        "the row is gone on the new writer (deleted since)",
        "changed on the new writer since: column {pos} is {have!r}, the recovered change expects {text}",
    )


def already_applied(probe: RowProbe, found: dict[int, Any] | None) -> Conflict | None:
    """None when the server holds the row as the transaction leaves it (probe from
    final_states: its last image, or absent), else why not."""
    return _judge(
        probe,
        found,
        "the row is there; the transaction removes it",
        "the row is not there; the transaction writes it",
        "column {pos} is {have!r}; the transaction writes {text}",
    )


def _judge(probe: RowProbe, found: dict[int, Any] | None, there: str, gone: str, differs: str) -> Conflict | None:
    """The row against what the probe expects: absent (probe.expect None) or equal to its image,
    column by column; else a Conflict saying `there`, `gone` or `differs` (formatted with pos,
    have, text)."""
    table = f"{probe.schema}.{probe.table}"
    if probe.expect is None:
        return None if found is None else Conflict(probe.gtid, table, probe.key, there)
    if found is None:
        return Conflict(probe.gtid, table, probe.key, gone)
    for pos, text in probe.expect.items():
        try:
            want = literal_value(text)
        except ValueError as exc:
            return Conflict(probe.gtid, table, probe.key, f"cannot compare column {pos}: {exc}")
        have = found.get(pos)
        if not same_value(want, have):
            return Conflict(probe.gtid, table, probe.key, differs.format(pos=pos, have=have, text=text))
    return None


def conflicting_transactions(txs: Sequence[Transaction], conflicts: Sequence[Conflict], mariadb: bool) -> set[str]:
    """The transactions that must be held back when conflicting ones are skipped. MariaDB
    positions cannot hold a hole (a server's GTIDs only grow), so with MariaDB every later
    transaction of the same (domain, server) is held back too."""
    bad = {c.gtid for c in conflicts}
    if not mariadb or not bad:
        return bad
    first: dict[tuple[int, int], int] = {}
    for g in bad:
        m = MariaGtid.parse(g)
        k = (m.domain, m.server_id)
        first[k] = min(first.get(k, m.seq), m.seq)
    out = set()
    for t in txs:
        try:
            m = MariaGtid.parse(t.gtid)
        except GtidParseError:
            continue
        if (m.domain, m.server_id) in first and m.seq >= first[(m.domain, m.server_id)]:
            out.add(t.gtid)
    return out
