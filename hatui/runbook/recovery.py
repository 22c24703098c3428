"""A node's binlogs read from disk into a recovery folder: what repair-gap, a failover's recovery
read and a rejoin's --discard-errant share. Over SSH with the binlog tool that matches the server
(mysqld may be down), each dump parsed as it downloads, kept in the cluster's binlog cache."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from hatui.binlog import gap as gapmod
from hatui.binlog.cache import DumpCache, FileIdentity
from hatui.binlog.dump import BinlogDump, BinlogIntegrityError, Transaction, render_sql
from hatui.binlog.growing import GrowingFile, parse_growing
from hatui.binlog.locate import (
    ServerFiles,
    coalesced,
    dump_command,
    heads_command,
    index_command,
    parse_heads,
    parse_index,
    parse_stats,
    sizes_command,
    tool_command,
)
from hatui.cluster import Cluster
from hatui.privatefs import open_private, private_dir, write_private
from hatui.runbook.model import Check, Verdict
from hatui.runbook.runner import RunContext, cluster_dir, state_dir
from hatui.ssh.errors import SshError

P, F = Verdict.PASS, Verdict.FAIL


@dataclass
class Gap:
    """What preflight found and saved: everything the apply step needs, on disk and here."""

    folder: Path
    mariadb: bool
    tool: str = ""
    files: list[str] = field(default_factory=list)  # the old writer's binlogs, oldest first
    dumps: list[BinlogDump] = field(default_factory=list)
    missing: list[Transaction] = field(default_factory=list)
    apply: list[Transaction] = field(default_factory=list)  # missing minus held back
    held_back: list[Transaction] = field(default_factory=list)
    conflicts: list[gapmod.Conflict] = field(default_factory=list)
    read_count: int = 0  # transactions in the binlogs read
    binlogs: list[str] = field(default_factory=list)  # the files read (names)
    sha256: str = ""
    script: Path | None = None
    root: Path | None = None  # the state folder it lives in: every folder from there down is private
    # parsed dumps to keep in the binlog cache, written by keep_cached()
    to_cache: list[tuple[DumpCache, FileIdentity, BinlogDump, Path]] = field(default_factory=list)

    def keep_cached(self) -> None:
        """Write the parsed dumps to the binlog cache for the next run, in a thread the run does
        not wait for (pickling 100k transactions is ~1.3 s; the interpreter joins the thread
        before it exits). Called once the preflight's own work is done: the pickling holds the
        interpreter's lock, and beside the preview and the conflict probe it made them wait
        (at 100k, most of the preflight's time after the download); the replay waits on the node."""
        pending, self.to_cache = self.to_cache, []
        loop = asyncio.get_running_loop()
        for cache, ident, dump, dest in pending:
            loop.run_in_executor(None, cache.put_quietly, ident, dump, dest)

    @classmethod
    def new(cls, base_dir: Path | None, cluster: Cluster, what: str, mariadb: bool) -> Gap:
        """A gap with a folder of its own, CLUSTER/recovery/<now>-<what> in the state folder
        (see run_folder)."""
        root = base_dir or state_dir()
        return cls(run_folder(root, cluster, what), mariadb, root=root)

    def write_script(self, name: str, script: str) -> Path:
        """`name` and `name`.sha256 in the (private) folder; the gap's sha256 is the script's."""
        self.private_folder()
        write_private(self.folder / name, script)
        self.sha256 = hashlib.sha256(script.encode("utf-8", errors="surrogateescape")).hexdigest()
        write_private(self.folder / f"{name}.sha256", f"{self.sha256}  {name}\n")
        return self.folder / name

    def private_folder(self, *sub: str) -> Path:
        return private_dir(self.folder.joinpath(*sub), root=self.root or self.folder)

    def cache_folder(self, node: str) -> Path:
        """The cluster's binlog cache for `node` (the folder is CLUSTER/recovery/RUN)."""
        return private_dir(self.folder.parent.parent / "binlog-cache" / node, root=self.root or self.folder)


def run_folder(root: Path, cluster: Cluster, what: str) -> Path:
    """Create and return this run's recovery folder, CLUSTER/recovery/<now>-<what>, private.
    Two runs in the same second (a dry run and the run, a split-brain and the rejoin it hands
    over to) each get their own: the second is <now>.2-<what>, and so on (it sorts after the
    first, and a glob on *-<what> finds both). A shared folder would let the later run
    overwrite the earlier one's saved transactions and their sha256."""
    parent = private_dir(cluster_dir(root, cluster) / "recovery", root=root)
    now = time.strftime("%Y%m%dT%H%M%S")
    for n in range(1, 1000):
        folder = parent / (f"{now}-{what}" if n == 1 else f"{now}.{n}-{what}")
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        return private_dir(folder, root=root)
    raise FileExistsError(f"{parent / now}-{what}: 999 runs in one second already have a folder")


async def extract(
    ctx: RunContext,
    node: str,
    files: ServerFiles,
    have: gapmod.Have,
    g: Gap,
    checks: list[Check],
    *,
    what: str,
    from_position: tuple[str, int] | None = None,
) -> bool:
    """Read `node`'s binlogs from disk (the files that can hold what `have` lacks), keep the raw
    dumps in g.folder/raw, and fill g.files, g.dumps and g.missing. Appends its checks;
    returns True when it failed (a FAIL check says why)."""
    mariadb = g.mariadb
    # the tool and the index at once, then every file's head and stat at once: each command is
    # an sshd session (~0.1 s), and a repeat run that finds nothing to do is mostly these
    tool_out, index_out = await asyncio.gather(
        ctx.access.ssh(node, tool_command(mariadb), read=True, timeout=5),
        ctx.access.ssh(node, index_command(files), read=True, sudo=True, timeout=10),
        return_exceptions=True,
    )
    if isinstance(tool_out, BaseException) and not isinstance(tool_out, SshError):
        raise tool_out
    if isinstance(index_out, BaseException) and not isinstance(index_out, SshError):
        raise index_out
    tool_lines = tool_out.strip().splitlines() if isinstance(tool_out, str) else []
    if not tool_lines:
        checks.append(
            Check(
                f"binlog tool on {node}",
                F,
                "mariadb-binlog/mysqlbinlog not found" if mariadb else "mysqlbinlog not found",
                "install the client package of the server's "
                "version on the node (the binlog tool must match the server)",
            )
        )
        return True
    g.tool = tool_lines[0]
    checks.append(Check(f"binlog tool on {node}", P, g.tool))
    try:
        if isinstance(index_out, BaseException):
            raise index_out
        g.files = parse_index(index_out, files)
        heads_out, stats_out = await asyncio.gather(
            ctx.access.ssh(node, heads_command(g.tool, g.files), read=True, sudo=True, timeout=60),
            ctx.access.ssh(node, sizes_command(g.files), read=True, sudo=True, timeout=10),
        )
        heads = parse_heads(heads_out)
    except SshError as exc:
        checks.append(Check(f"binlogs of {node} readable", F, f"cannot read {files.index}: {exc}", _UNREADABLE_FIX))
        return True
    if from_position is None:
        start = gapmod.choose_start(heads, have)
    else:  # without GTIDs: from the file the new writer was executing
        names = [Path(h.path).name for h in heads]
        base = Path(from_position[0]).name
        start = (
            gapmod.Start(names.index(base), f"reading from {base} at {from_position[1]}")
            if base in names
            else gapmod.Start(
                None, f"{base}, where the new writer stopped, is no longer among the old writer's binlogs: purged"
            )
        )
    if start.index is None:
        checks.append(Check(f"binlogs of {node} hold {what}", F, start.reason, _UNREADABLE_FIX))
        return True
    checks.append(
        Check(
            f"binlogs of {node} hold {what}",
            P,
            f"{len(g.files)} binlog(s); {start.reason}; the other side has {have or 'nothing'}",
        )
    )
    t0 = time.monotonic()
    raw = g.private_folder("raw")
    stats = parse_stats(stats_out)  # read before any dump: each dump stops at this size
    cache = DumpCache(g.cache_folder(node))
    n = ctx.cluster.nodes[node]
    idents: list[tuple[FileIdentity, Path]] = []
    for head in heads[start.index :]:
        path = head.path
        if path not in stats:
            checks.append(Check(f"binlogs of {node} readable", F, f"no size for {path}", _UNREADABLE_FIX))
            return True
        st = stats[path]
        ident = FileIdentity(f"{n.host}:{n.ssh.port}", path, st.size, st.inode, st.mtime, head.gtids, g.tool)
        idents.append((ident, raw / (Path(path).name + ".txt")))
    g.binlogs = [Path(i.path).name for i, _ in idents]
    if from_position is None and _nothing_missing(cache, idents, have, g):
        ctx.note(
            f"read {g.read_count} transaction(s) from {len(idents)} binlog(s) of {node} in "
            f"{time.monotonic() - t0:.1f} s ({len(idents)} unchanged since an earlier read: taken from its "
            "cache); 0 not on the other side",
            folder=str(g.folder),
        )
        return False
    cached = 0
    for ident, dest in idents:
        path, st = ident.path, stats[ident.path]
        hit = cache.get(ident) if st.inode else None
        if hit is not None:
            dump, kept = hit
            _keep_raw(kept, dest)
            g.dumps.append(dump)
            cached += 1
            continue
        try:
            dump = await _download_parsed(ctx, node, coalesced(dump_command(g.tool, path, st.size)), dest, st.size)
        except BinlogIntegrityError as exc:
            checks.append(
                Check(
                    f"the dump of {Path(path).name} checks out against the binlog's positions",
                    F,
                    f"{exc} (the dump is kept in {dest})",
                    "read that statement in the dump: someone wrote event-header-shaped text into a "
                    "statement (a forged event) and nothing from this binlog can be trusted to replay. "
                    "Recover the rows by comparing tables instead (pt-table-checksum / pt-table-sync "
                    "--print), and find who ran that statement. If the binlog grew while it was read, "
                    "run the repair again",
                )
            )
            return True
        g.dumps.append(dump)
        if st.inode:
            g.to_cache.append((cache, ident, dump, dest))  # kept for the next run: Gap.keep_cached
    every = [t for d in g.dumps for t in d.transactions]
    g.read_count = len(every)
    g.missing = (
        gapmod.missing(every, have)
        if from_position is None
        else gapmod.after_position(every, [h.path for h in heads], *from_position)
    )
    reused = f" ({cached} unchanged since an earlier read: taken from its cache)" if cached else ""
    ctx.note(
        f"read {len(every)} transaction(s) from {len(g.dumps)} binlog(s) of {node} in "
        f"{time.monotonic() - t0:.1f} s{reused}; {len(g.missing)} not on the other side",
        folder=str(g.folder),
    )
    return False


async def _download_parsed(ctx: RunContext, node: str, command: str, dest: Path, size: int) -> BinlogDump:
    """Download a dump to `dest` and parse it as it arrives, in a thread (the parse follows the
    file, so memory holds no more of its text than a chunk the parser reads). Raises what the download
    raises (SshError), else what the parse raises (BinlogIntegrityError)."""
    with open_private(dest):
        pass  # there to be followed from the start; the download truncates it, still empty
    src = GrowingFile(dest)

    parsed = asyncio.get_running_loop().run_in_executor(None, parse_growing, src, dest.name.removesuffix(".txt"), size)
    try:
        await ctx.access.download(node, command, dest, sudo=True, timeout=1800, grew=src.grew)
    except BaseException:
        src.finish()
        with contextlib.suppress(BaseException):
            await parsed  # it ends at what came: its own error is not the one to tell
        raise
    src.finish()
    return await parsed


def _keep_raw(kept: Path, dest: Path) -> None:
    """The run's folder holds the dump it read, as after a download: the cache's copy linked
    (or copied where a link cannot be made). OSError when neither works."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.samefile(kept, dest):
            return  # already linked (the same run read this binlog twice)
        os.unlink(dest)  # an earlier read of this run: the cache's copy is the one parsed
    try:
        os.link(kept, dest)
    except OSError:
        shutil.copyfile(kept, dest)


def _nothing_missing(cache: DumpCache, idents: list[tuple[FileIdentity, Path]], have: gapmod.Have, g: Gap) -> bool:
    """A repeat run's shortcut: every file unchanged since it was parsed, and the other side has
    every GTID they hold. Then only the cache's summary of their GTIDs is read, not the parsed
    dumps (g.dumps stays empty: nothing will be rendered), and the run's folder still gets the
    raw dumps."""
    count, parts = 0, []
    for ident, _ in idents:
        got = cache.summary(ident) if ident.inode else None
        if got is None:
            return False
        count += got[0]
        parts.append(got[1])
    held = ",".join(x for x in parts if x)
    if not have.covers(held):
        return False
    for ident, dest in idents:
        try:
            _keep_raw(cache.raw_path(ident), dest)
        except OSError:
            return False  # the entry went meanwhile: read it the long way
    g.missing = []
    g.read_count = count
    return True


_UNREADABLE_FIX = (
    "the missing transactions are no longer in binlogs: their rows are still in the old "
    "writer's tables. Start its mysqld read-only (without networking to clients) and compare "
    "the tables with the new writer (pt-table-checksum / pt-table-sync --print), or restore its "
    "binlogs from a backup; then rejoin it with a re-clone"
)


def script_of(g: Gap, chosen: list[Transaction]) -> str:
    """The replayable script of `chosen` (render_sql gives each transaction the session state
    it ran with, server_id and gtid_domain_id included, even when picked out of a file)."""
    ids = {id(t) for t in chosen}
    return render_sql([(d, [t for t in d.transactions if id(t) in ids]) for d in g.dumps])
