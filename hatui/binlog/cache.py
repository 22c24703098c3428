"""Parsed binlog dumps kept between runs. A repeat `repair-gap` (or a failover's recovery read)
whose binlog files have not changed reads them from here instead of downloading and parsing the
dump again: at 20,000 transactions that was most of a run that found nothing to do.

A binlog is append-only, so a file seen again with the same path, inode, size and modification
time, and the same GTID state at its head, is the same bytes; the key also holds the node, the
binlog tool's version and this parser's CACHE_VERSION. The entry keeps the raw dump text (linked
into each run's folder, as a fresh download would be), the parsed dump, pickled, and the GTIDs of
its transactions apart, summed up per (domain, server) or as a GTID set: a run that finds nothing
missing needs only that (unpickling 100,000 transactions takes ~2 s, their summary nothing). The
folder is private to the user (0700, made by privatefs), the same trust as the journal beside it.
An entry that cannot be read is a miss and is removed, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from .dump import BinlogDump
from .gap import gtid_summary

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when parse_dump's output changes shape or meaning (2: a "\r" in a statement kept)
KEEP = 16  # entries per node: old binlogs' entries go first


@dataclass(frozen=True)
class FileIdentity:
    """What says a binlog file is the one read before (stat of the file, its head's GTIDs)."""

    node: str  # host:port of the node, not its name in one cluster file
    path: str
    size: int
    inode: int
    mtime: int
    head: str  # the GTID list / Previous-GTIDs at its start
    tool: str  # the binlog tool's version line

    def key(self) -> str:
        text = "\0".join(map(str, (CACHE_VERSION, self.node, self.path, self.size, self.inode, self.mtime)))
        return hashlib.sha256((text + "\0" + self.head + "\0" + self.tool).encode()).hexdigest()[:32]


class DumpCache:
    def __init__(self, folder: Path):
        self.folder = folder  # a private folder (the caller makes it with privatefs)

    def _paths(self, ident: FileIdentity) -> tuple[Path, Path]:
        k = ident.key()
        return self.folder / f"{k}.pickle", self.folder / f"{k}.txt"

    def raw_path(self, ident: FileIdentity) -> Path:
        return self._paths(ident)[1]

    def summary(self, ident: FileIdentity) -> tuple[int, str] | None:
        """(how many transactions, their GTIDs as gap.gtid_summary) of the cached dump, or None
        (no such entry, or one kept before this index existed)."""
        parsed, raw = self._paths(ident)
        index = parsed.with_suffix(".gtids")
        if not parsed.exists() or not raw.exists() or not index.exists():
            return None
        try:
            with open(index, "rb") as f:
                got = pickle.load(f)
            if not (
                isinstance(got, tuple)
                and len(got) == 3
                and got[0] == ident.size
                and isinstance(got[1], int)
                and isinstance(got[2], str)
            ):
                raise ValueError("not the index of this file")
        except Exception as exc:
            log.warning("binlog cache index %s unreadable (%s): removed", index.name, exc)
            index.unlink(missing_ok=True)
            return None
        os.utime(parsed)
        return got[1], got[2]

    def get(self, ident: FileIdentity) -> tuple[BinlogDump, Path] | None:
        """The parsed dump and its raw text, or None."""
        parsed, raw = self._paths(ident)
        if not parsed.exists() or not raw.exists():
            return None
        try:
            with open(parsed, "rb") as f:
                dump = pickle.load(f)
            if not isinstance(dump, BinlogDump) or dump.end != ident.size:
                raise ValueError("not the dump of this file")
        except Exception as exc:  # a damaged entry is a miss, never an error
            log.warning("binlog cache entry %s unreadable (%s): removed", parsed.name, exc)
            for p in (parsed, raw, parsed.with_suffix(".gtids")):
                p.unlink(missing_ok=True)
            return None
        os.utime(parsed)  # recently used: kept longest
        return dump, raw

    def put(self, ident: FileIdentity, dump: BinlogDump, raw_text: Path) -> None:
        parsed, raw = self._paths(ident)
        try:
            tmp = parsed.with_suffix(".tmp")
            with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                pickle.dump(dump, f, protocol=pickle.HIGHEST_PROTOCOL)
            itmp = parsed.with_suffix(".gtids-tmp")
            with open(os.open(itmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                summary = gtid_summary((t.gtid for t in dump.transactions), dump.flavor == "mariadb")
                pickle.dump((dump.end, len(dump.transactions), summary), f, protocol=pickle.HIGHEST_PROTOCOL)
            raw.unlink(missing_ok=True)
            try:
                os.link(raw_text, raw)  # the run's own copy stays where it is; no second copy
            except OSError:
                raw.write_bytes(raw_text.read_bytes())
                raw.chmod(0o600)
            os.replace(itmp, parsed.with_suffix(".gtids"))
            os.replace(tmp, parsed)
        except OSError as exc:
            log.warning("could not keep %s in the binlog cache: %s", ident.path, exc)
            return
        self._trim()

    def put_quietly(self, ident: FileIdentity, dump: BinlogDump, raw_text: Path) -> None:
        """put() for a background thread: a cache that cannot keep an entry is never an error."""
        try:
            self.put(ident, dump, raw_text)
        except Exception as exc:
            log.warning("could not keep %s in the binlog cache: %s", ident.path, exc)

    def _trim(self) -> None:
        entries = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
            old.with_suffix(".txt").unlink(missing_ok=True)
            old.with_suffix(".gtids").unlink(missing_ok=True)
