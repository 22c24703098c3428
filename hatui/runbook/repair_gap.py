"""Binlog gap repair after an unplanned failover (docs/runbooks.md, "repair-gap"; only MHA does
this elsewhere).

The old writer may hold transactions that were committed and acknowledged but never reached the
new writer. This runbook proves the old writer can no longer take writes, reads its binlog files
on disk over SSH with the binlog tool that matches the server (mysqld may be down), keeps exactly
the transactions the new writer never executed, saves them with a checksum, shows them, checks
every row they touch against the new writer, and only then replays them on the new writer with
their original GTIDs, so a second run finds nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.cache import DumpCache, FileIdentity
from hatui.binlog.dump import (
    BinlogDump,
    BinlogIntegrityError,
    RowProbe,
    Transaction,
    first_touches,
    render_sql,
    replay_rounds,
)
from hatui.binlog.growing import GrowingFile, parse_growing
from hatui.binlog.locate import (
    ServerFiles,
    alive_command,
    coalesced,
    defaults_command,
    dump_command,
    from_variables,
    heads_command,
    index_command,
    parse_defaults,
    parse_heads,
    parse_index,
    parse_stats,
    sizes_command,
    tool_command,
)
from hatui.cluster import Cluster
from hatui.privatefs import open_private, private_dir, replace_private, write_private
from hatui.rules.topology import node_for_host, vip_views
from hatui.runbook.facts import Facts, gather
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.runner import RunContext, cluster_dir, state_dir
from hatui.ssh.errors import SshError

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
SHOWN_LINES = 60  # preview lines shown inline; the whole preview is in the recovery folder
SHOWN_CONFLICTS = 20
BATCH_TRANSACTIONS = 200  # transactions per hop to the session's thread (announced as one batch)
CONFLICT_CHOICES = ("stop", "skip", "apply")


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

    def private_folder(self, *sub: str) -> Path:
        return private_dir(self.folder.joinpath(*sub), root=self.root or self.folder)

    def cache_folder(self, node: str) -> Path:
        """The cluster's binlog cache for `node` (the folder is CLUSTER/recovery/RUN)."""
        return private_dir(self.folder.parent.parent / "binlog-cache" / node, root=self.root or self.folder)


class RepairGap:
    name = "repair-gap"
    destructive = True
    # it re-reads everything and replays only what is still missing: running it again resumes it
    resume_hint = "run the same `hatui repair-gap` again (it replays only what is still missing)"

    def __init__(
        self,
        cluster: Cluster,
        old: str,
        new: str,
        *,
        on_conflict: str = "stop",
        expect_sha256: str | None = None,
        base_dir: Path | None = None,
    ):
        for n in (old, new):
            mysql_node(cluster, n)
        if old == new:
            raise ValueError("--from and --to name the same node")
        if on_conflict not in CONFLICT_CHOICES:
            raise ValueError(f"--on-conflict must be one of {', '.join(CONFLICT_CHOICES)}")
        self.cluster = cluster
        self.old = old
        self.new = new
        self.target = new  # the DBA types the node that will be written to
        self.on_conflict = on_conflict
        self.expect_sha256 = expect_sha256  # the console's preview: refuse if the gap changed since
        self.base_dir = base_dir
        self.facts: Facts | None = None
        self.gap: Gap | None = None
        self.client: str | None = None  # the new writer's own mariadb/mysql client: the fast replay

    def params(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new, "on_conflict": self.on_conflict}

    # ------------------------------------------------------------------ preflight
    async def preflight(self, ctx: RunContext) -> list[Check]:
        checks: list[Check] = []
        facts = self.facts = await gather(ctx, [self.old, self.new])
        old, new = self.old, self.new
        os_, ns = facts.status.get(old), facts.status.get(new)
        if old in facts.ssh_errors:
            checks.append(
                Check(
                    f"{old} reachable over SSH",
                    F,
                    facts.ssh_errors[old],
                    "its binlog files are read over SSH: bring sshd or the host back (the "
                    "disk is enough, mysqld may stay down)",
                )
            )
            return checks
        checks.append(Check(f"{old} reachable over SSH", P, "its binlog files can be read"))
        if ns is None or not ns.up:
            checks.append(
                Check(
                    f"MySQL on {new} answers",
                    F,
                    (ns.error or "does not answer") if ns else "not read",
                    f"the recovered transactions are applied to {new}: start it first",
                )
            )
            return checks
        mariadb = bool(ns.version and ns.version.is_mariadb)
        folder = self._folder(ctx)
        self.gap = g = Gap(folder, mariadb, root=self.base_dir or state_dir())

        # 1. the old writer can take no more writes: prove it before reading anything
        files = await self.server_files(ctx, os_)
        checks += await self._fenced(ctx, os_, files)
        if any(c.failed for c in checks):
            return checks

        # 2. what the new writer has, and what the old one's binlogs hold beyond it
        have = (
            gapmod.Have.of(mariadb, ns.gtid_binlog_state, ns.gtid_slave_pos)
            if mariadb
            else gapmod.Have.of(False, ns.gtid_executed)
        )
        position = None
        if not mariadb and (ns.gtid_mode or "OFF").upper() != "ON":
            position = self._position_mode(ns, checks)
            if position is None:
                return checks
        try:
            return await self._after_fencing(ctx, checks, g, files, have, position)
        finally:
            g.keep_cached()  # whatever the preflight concluded: the next run reads them from the cache

    async def _after_fencing(self, ctx: RunContext, checks: list[Check], g: Gap, files, have, position) -> list[Check]:
        old, new, mariadb, folder = self.old, self.new, g.mariadb, g.folder
        failed = await extract(ctx, old, files, have, g, checks, what=f"everything {new} lacks", from_position=position)
        if failed:
            return checks
        if not g.missing:
            checks.append(Check("transactions to recover", P, f"none: {new} has every transaction of {old}"))
            self.save(g, [])
            return checks

        # 4. what they are, and whether they collide with what the new writer did since
        columns, pk, unix_ts = await table_meta(ctx, new, g.missing)
        # side by side: the preview and the script are computing (in threads), the conflict probe
        # mostly waits on the new writer; one after the other they were most of the preflight
        # after the download. The script of every missing transaction is the one applied unless
        # --on-conflict skip holds some back (then it is made again below).
        loop = asyncio.get_running_loop()
        pv_made = loop.run_in_executor(None, gapmod.preview, g.missing, columns)
        script_made = loop.run_in_executor(None, _script, g, g.missing) if self.on_conflict != "skip" else None
        try:
            conflicts = await _conflicts(ctx, new, g.missing, pk, unix_ts)
        except BaseException:
            with contextlib.suppress(BaseException):  # the probe's error is the one to tell
                await asyncio.gather(pv_made, *filter(None, [script_made]), return_exceptions=True)
            raise
        pv = await pv_made
        script = await script_made if script_made is not None else None
        for line in pv.summary():
            ctx.note(line)
        for line in pv.lines[:SHOWN_LINES]:
            ctx.note(line)
        if len(pv.lines) > SHOWN_LINES:
            ctx.note(f"… {len(pv.lines) - SHOWN_LINES} more line(s) in {folder / 'preview.txt'}")
        missing_tables = sorted(
            {f"{r.schema}.{r.table}" for t in g.missing for r in t.rows} - {f"{s}.{t}" for (s, t) in columns}
        )
        g.conflicts = conflicts
        g.conflicts += [gapmod.Conflict("-", t, (), f"table does not exist on {new}") for t in missing_tables]
        held = set()
        if g.conflicts:
            for c in g.conflicts[:SHOWN_CONFLICTS]:
                ctx.note(f"CONFLICT {c}")
            if len(g.conflicts) > SHOWN_CONFLICTS:
                ctx.note(f"… {len(g.conflicts) - SHOWN_CONFLICTS} more conflict(s) in {folder / 'conflicts.txt'}")
            if self.on_conflict == "skip" and position is not None:
                checks.append(
                    Check(
                        "--on-conflict skip",
                        F,
                        "without GTIDs a skipped transaction could not be told apart from an applied one later",
                        "choose stop or apply",
                    )
                )
            elif self.on_conflict == "skip":
                held = gapmod.conflicting_transactions(g.missing, g.conflicts, mariadb)
        g.apply = [t for t in g.missing if t.gtid not in held]
        g.held_back = [t for t in g.missing if t.gtid in held]
        self.save(g, pv.lines, script=None if held else script)
        checks.append(
            Check(
                "transactions to recover",
                P,
                f"{len(g.missing)}: {pv.first} … {pv.last}; saved in {folder} (sha256 {g.sha256[:12]}…)",
            )
        )
        if pv.ddl:
            checks.append(Check("DDL among them", W, f"{len(pv.ddl)} statement(s), applied as they ran on {old}"))
        if g.conflicts:
            verdict = F if self.on_conflict == "stop" else W
            what = {
                "stop": "nothing will be applied",
                "skip": f"{len(g.held_back)} transaction(s) held back "
                f"(kept in {folder / 'held_back.sql'}), the rest applied",
                "apply": f"applied anyway: {old}'s version of these rows wins",
            }[self.on_conflict]
            checks.append(
                Check(
                    f"no conflicts with what {new} changed since",
                    verdict,
                    f"{len(g.conflicts)} row(s) conflict: {g.conflicts[0]}; {what}",
                    "look at them (preview and conflicts.txt in the recovery folder); then re-run "
                    "with --on-conflict skip (apply only what comes before them) or "
                    "--on-conflict apply (the old writer's rows win)",
                )
            )
        else:
            checks.append(
                Check(
                    f"no conflicts with what {new} changed since", P, f"every row they touch is as they expect on {new}"
                )
            )
        if self.expect_sha256 and self.expect_sha256 != g.sha256:
            checks.append(
                Check(
                    "the same transactions as in the preview",
                    F,
                    f"the gap changed since the preview (was {self.expect_sha256[:12]}…, now {g.sha256[:12]}…)",
                    "read the new preview and confirm again",
                )
            )
        self.client = await local_client(ctx, new, mariadb)
        ctx.facts.update({"folder": str(folder), "sha256": g.sha256, "count": len(g.apply)})
        return checks

    def _marker(self) -> Path:
        """Without GTIDs nothing on the new writer says what a repair applied: this file does."""
        return cluster_dir(self.base_dir or state_dir(), self.cluster) / "recovery" / f"applied-{self.old}.json"

    def _position_mode(self, ns, checks: list[Check]) -> tuple[str, int] | None:
        snap = self.facts.snap if self.facts else None
        ch = next(
            (c for c in ns.channels if snap is not None and node_for_host(snap, c.source_host or "") == self.old), None
        )
        if ch is None or not ch.relay_source_log_file or ch.exec_source_log_pos is None:
            checks.append(
                Check(
                    "where the new writer stopped reading the old one",
                    F,
                    f"gtid_mode is {ns.gtid_mode or 'OFF'} and {self.new} has no channel from {self.old} "
                    "any more: nothing says which transactions it lacks",
                    "compare the tables (pt-table-checksum) or give the position by hand",
                )
            )
            return None
        pos = (ch.relay_source_log_file, int(ch.exec_source_log_pos))
        try:
            done = json.loads(self._marker().read_text())
            if (done["file"], int(done["pos"])) > pos:
                pos = (done["file"], int(done["pos"]))  # an earlier repair applied up to here
        except (OSError, ValueError, KeyError):
            pass
        checks.append(
            Check(
                "where the new writer stopped reading the old one",
                W,
                f"no GTIDs (gtid_mode {ns.gtid_mode or 'OFF'}): from {pos[0]}:{pos[1]}; a re-run "
                f"is kept harmless only by {self._marker()}",
            )
        )
        return pos

    def _folder(self, ctx: RunContext) -> Path:
        base = cluster_dir(self.base_dir or state_dir(), self.cluster) / "recovery"
        return base / f"{time.strftime('%Y%m%dT%H%M%S')}-{self.old}-to-{self.new}"

    async def server_files(self, ctx: RunContext, st) -> ServerFiles:
        if st is not None and st.up:
            rows = await ctx.access.sql(self.old).query(
                "SELECT @@log_bin_basename AS log_bin_basename, @@log_bin_index AS log_bin_index, "
                "@@datadir AS datadir, @@pid_file AS pid_file"
            )
            return from_variables(rows[0])
        # two reads at once on one connection: each command costs an sshd session (~0.1 s)
        text, host = await asyncio.gather(
            ctx.access.ssh(self.old, defaults_command(), read=True, timeout=10),
            ctx.access.ssh(self.old, "hostname", read=True, timeout=5),
        )
        return parse_defaults(text, hostname=host.strip().split(".")[0], mariadb=self.gap.mariadb if self.gap else True)

    async def _fenced(self, ctx: RunContext, st, files: ServerFiles) -> list[Check]:
        old = self.old
        out = []
        holders = [v for v in vip_views(self.facts.snap) if old in v.holders] if self.facts else []
        if holders:
            out.append(
                Check(
                    f"{old} holds no VIP",
                    F,
                    f"{old} holds {', '.join(v.address for v in holders)}",
                    f"clients may still write to {old}: stop keepalived on it or move the VIP first",
                )
            )
        else:
            out.append(Check(f"{old} holds no VIP", P, "no client can reach it through a VIP"))
        if st is not None and st.up:
            ro = bool(st.read_only) and st.super_read_only is not False
            out.append(
                Check(
                    f"{old} cannot take writes",
                    P if ro else F,
                    "mysqld is up and fenced: read_only" + (", super_read_only" if st.super_read_only else "")
                    if ro
                    else "mysqld is up and writable: it could commit more while we repair",
                    ""
                    if ro
                    else f"fence it: SET GLOBAL read_only=ON (and super_read_only=ON on "
                    f"MySQL) on {old}, or stop mysqld",
                )
            )
            return out
        alive = (await ctx.access.ssh(old, alive_command(files), read=True, sudo=True, timeout=5)).split()
        dead = not alive or alive[0] != "alive"
        out.append(
            Check(
                f"{old} cannot take writes",
                P if dead else F,
                (
                    "mysqld is down: "
                    + (
                        "its pid file names dead process " + alive[1]
                        if alive and alive[0] == "stale"
                        else "no pid file"
                    )
                )
                if dead
                else f"mysqld process {alive[1]} runs but does not answer (hung?)",
                "" if dead else f"it could still commit: stop it (kill {alive[1]}) before the repair",
            )
        )
        return out

    def save(self, g: Gap, preview_lines: list[str], *, script: str | None = None) -> None:
        """Write the recovery folder; `script`: gap.sql already made for exactly g.apply."""
        g.private_folder()
        if script is None:
            script = _script(g, g.apply)
        g.script = g.folder / "gap.sql"
        write_private(g.script, script)
        g.sha256 = hashlib.sha256(script.encode("utf-8", errors="surrogateescape")).hexdigest()
        write_private(g.folder / "gap.sql.sha256", f"{g.sha256}  gap.sql\n")
        if g.held_back:
            write_private(g.folder / "held_back.sql", _script(g, g.held_back))
        write_private(g.folder / "preview.txt", "\n".join(preview_lines) + "\n")
        write_private(g.folder / "conflicts.txt", "".join(f"{c}\n" for c in g.conflicts))
        write_private(
            g.folder / "manifest.json",
            json.dumps(
                {
                    "cluster": self.cluster.name,
                    "from": self.old,
                    "to": self.new,
                    "tool": g.tool,
                    "binlogs": g.binlogs,
                    "missing": [t.gtid for t in g.missing],
                    "apply": [t.gtid for t in g.apply],
                    "held_back": [t.gtid for t in g.held_back],
                    "conflicts": [str(c) for c in g.conflicts],
                    "sha256": g.sha256,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
                indent=1,
            ),
        )

    # ------------------------------------------------------------------ steps
    def steps(self, ctx: RunContext) -> list[Step]:
        g = self.gap
        new, old = self.new, self.old
        if g is None or not g.apply:
            return []
        first, last = g.apply[0].gtid, g.apply[-1].gtid
        labels = [t.gtid or f"{t.file}:{t.start}" for t in (g.apply[0], g.apply[-1])]
        span = f"{labels[0]} … {labels[1]}" if len(g.apply) > 1 else labels[0]

        async def apply(ctx: RunContext) -> str:
            script = g.script
            assert script is not None
            data = script.read_bytes()
            if hashlib.sha256(data).hexdigest() != g.sha256:
                raise StepFailed(f"{g.script} changed since it was shown (checksum differs): nothing applied")
            t0 = time.monotonic()
            if self.client:
                await replay_local(ctx, self.cluster, new, self.client, data, str(script), g.sha256, span)
                ctx.facts["applied"] = replayed = len(g.apply)
                if g.apply and not g.apply[-1].gtid:  # position mode: remember how far it got
                    last_t = g.apply[-1]
                    private_dir(self._marker().parent, root=self.base_dir or state_dir())
                    replace_private(self._marker(), json.dumps({"file": last_t.file, "pos": last_t.end}))
                return (
                    f"replayed {replayed} transaction(s) on {new} in {time.monotonic() - t0:.1f} s "
                    f"(its own {self.client.rsplit('/', 1)[-1]} client)"
                )
            session = ctx.access.script_session(new)
            done = 0
            try:
                batch: list[list[str]] = []
                in_batch: list[str] = []
                k = 0  # transactions seen so far: the script holds exactly g.apply, in order

                async def send() -> None:
                    nonlocal done
                    if not batch:
                        return
                    label = (
                        f"replay {in_batch[0]} … {in_batch[-1]}"
                        if len(in_batch) > 1
                        else f"replay {in_batch[0]}"
                        if in_batch
                        else "replay session settings"
                    )
                    await session.execute_batch(
                        batch,
                        show=f"{label} ({len(in_batch)} transaction(s), {len(batch)} round trip(s), "
                        f"from {script.name})",
                        timeout=120,
                    )
                    done += len(in_batch)
                    batch.clear()
                    in_batch.clear()

                for stmts in replay_rounds(data.decode("utf-8", errors="surrogateescape")):
                    starts = sum(_starts_transaction(st, g.mariadb) for st in stmts)
                    if starts and len(in_batch) >= BATCH_TRANSACTIONS:
                        await send()
                    for _ in range(starts):
                        t = g.apply[k] if k < len(g.apply) else None
                        in_batch.append((t.gtid or f"{t.file}:{t.start}") if t else f"#{k + 1}")
                        k += 1
                    batch.append(stmts)
                await send()
            finally:
                await session.close()
            ctx.facts["applied"] = done
            if g.apply and not g.apply[-1].gtid:  # position mode: remember how far it got
                last = g.apply[-1]
                private_dir(self._marker().parent, root=self.base_dir or state_dir())
                replace_private(self._marker(), json.dumps({"file": last.file, "pos": last.end}))
            return f"replayed {done} transaction(s) on {new} in {time.monotonic() - t0:.1f} s"

        async def verify(ctx: RunContext) -> str:
            if not g.apply[0].gtid:  # no GTIDs: only the count of replayed transactions says it
                if ctx.facts.get("applied") != len(g.apply):
                    raise StepFailed(f"replayed {ctx.facts.get('applied')} of {len(g.apply)} transaction(s)")
                return f"{new} replayed all {len(g.apply)} transaction(s) (no GTIDs: counted, not proven)"
            st = await ctx.access.sql(new).status()
            have = (
                gapmod.Have.of(True, st.gtid_binlog_state, st.gtid_slave_pos)
                if g.mariadb
                else gapmod.Have.of(False, st.gtid_executed)
            )
            lacking = [t.gtid for t in g.apply if not have.has(t.gtid)]
            if lacking:
                raise StepFailed(f"{new} still lacks {len(lacking)} recovered transaction(s): {lacking[:5]}")
            held = f"; {len(g.held_back)} held back in {g.folder / 'held_back.sql'}" if g.held_back else ""
            return (
                f"{new} now has every transaction of {old}'s binlogs"
                + (" except the held-back ones" if g.held_back else "")
                + held
            )

        return [
            Step(
                "apply",
                f"Replay {len(g.apply)} recovered transaction(s) on {new}, with their GTIDs",
                [
                    Action(
                        new,
                        "ssh",
                        replay_shown(
                            self.cluster,
                            new,
                            self.client,
                            str(g.script),
                            g.sha256,
                            span,
                        ),
                    )
                    if self.client
                    else Action(
                        new,
                        "sql",
                        f"replay {first} … {last} from {g.script} (sha256 {g.sha256[:12]}…), "
                        f"{BATCH_TRANSACTIONS} per batch, a round trip per BINLOG statement",
                    )
                ],
                apply,
                3600,
                commits=True,
            ),
            Step(
                "verify",
                f"Verify {new} has every transaction of {old}",
                [Action(new, "sql", "SELECT @@gtid_binlog_state" if g.mariadb else "SELECT @@gtid_executed")],
                verify,
                30,
            ),
        ]


async def local_client(ctx: RunContext, node: str, mariadb: bool) -> str | None:
    """The node's own command-line client for its server (None: not installed, or SSH failed):
    replaying through it is the by-hand pipe's speed, one stream instead of a round trip per
    statement through the port forward."""
    first, second = ("mariadb", "mysql") if mariadb else ("mysql", "mariadb")
    try:
        out = await ctx.access.ssh(node, f"command -v {first} || command -v {second}", read=True, timeout=5)
    except SshError:
        return None
    path = out.strip().splitlines()[0] if out.strip() else ""
    return path if path.startswith("/") and " " not in path else None


def local_replay_command(client: str, host: str, port: int) -> str:
    """The replay on the node: the option file (the admin account, password included) arrives
    first on stdin and goes to a 0600 file that is removed when the command ends; the rest of
    stdin is the script, fed to the node's client. The password is never on a command line."""
    return (
        "umask 077; f=$(mktemp) || exit 1; trap 'rm -f \"$f\"' EXIT HUP INT TERM PIPE; "
        "n=$(dd bs=1 count=5 2>/dev/null); "  # the option file's length, five digits
        'dd of="$f" bs=1 count="$n" 2>/dev/null; '
        f'{shlex.quote(client)} --defaults-extra-file="$f" -h {shlex.quote(host)} -P {int(port)} --binary-mode --batch'
    )


def replay_shown(cluster: Cluster, node: str, client: str, script: str, sha256: str, what: str) -> str:
    """The replay as the plan shows it and the audit records it (stdin described, not shown)."""
    n = cluster.nodes[node]
    return (
        f"{local_replay_command(client, n.host, n.mysql.port)} < stdin: the admin account's [client] option "
        f"file (0600 on the node, removed after), then {script} (sha256 {sha256[:12]}…): replay {what}"
    )


def _option_file(user: str, password: str) -> bytes:
    def q(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return f"[client]\nuser={q(user)}\npassword={q(password)}\n".encode()


async def replay_local(
    ctx: RunContext, cluster: Cluster, node: str, client: str, script: bytes, name: str, sha256: str, what: str
) -> bool:
    """Replay `script` on `node` through its own client (see local_replay_command)."""
    from hatui.cluster.secrets import resolve_password

    account = cluster.nodes[node].mysql.admin
    if account is None:
        raise StepFailed(f"{node}: no mysql.admin account in the cluster file")
    password = resolve_password(account)
    ctx.access.secrets = (*ctx.access.secrets, password)
    opts = _option_file(account.user, password)
    if len(opts) > 99999:
        raise StepFailed("the option file would be too long")
    n = cluster.nodes[node]
    try:
        await ctx.access.ssh(
            node,
            local_replay_command(client, n.host, n.mysql.port),
            timeout=3600,
            input=f"{len(opts):05d}".encode() + opts + script,
            show=replay_shown(cluster, node, client, name, sha256, what),
        )
    except SshError as exc:
        raise StepFailed(f"the replay on {node} stopped: {ctx.access.describe(exc)}") from exc
    return True


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
    dumps in g.folder/raw, and fill g.files, g.dumps, g.missing. Appends its checks;
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


def _starts_transaction(stmt: str, mariadb: bool) -> bool:
    """The statement that gives a replayed transaction its GTID: exactly one per transaction
    (the domain and server_id settings before it also appear in a file's preamble)."""
    s = stmt.strip()
    if mariadb:
        return "@@session.gtid_seq_no=" in s
    u = s.upper().replace(" ", "")
    return "GTID_NEXT=" in u and "AUTOMATIC" not in u


def _script(g: Gap, chosen: list[Transaction]) -> str:
    """The replayable script of `chosen` (render_sql gives each transaction the session state
    it ran with, server_id and gtid_domain_id included, even when picked out of a file)."""
    ids = {id(t) for t in chosen}
    return render_sql([(d, [t for t in d.transactions if id(t) in ids]) for d in g.dumps])


async def table_meta(ctx: RunContext, node: str, txs: list[Transaction]):
    """Column names by position, primary-key positions and TIMESTAMP positions of the tables
    the transactions touch, as the new writer has them."""
    tables = sorted({(r.schema, r.table) for t in txs for r in t.rows})
    columns: dict[tuple[str, str], list[str]] = {}
    pk: dict[tuple[str, str], list[int]] = {}
    unix_ts: dict[tuple[str, str], set[int]] = {}
    sql = ctx.access.sql(node)
    for i in range(0, len(tables), 100):
        chunk = tables[i : i + 100]
        cond = " OR ".join(["(TABLE_SCHEMA=%s AND TABLE_NAME=%s)"] * len(chunk))
        args = [x for pair in chunk for x in pair]
        rows = await sql.query(
            f"SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, ORDINAL_POSITION AS p, "
            f"DATA_TYPE AS dt FROM information_schema.COLUMNS WHERE {cond} "
            f"ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
            args,
        )
        for r in rows:
            key = (r["s"], r["t"])
            columns.setdefault(key, []).append(r["c"])
            if str(r["dt"]).lower() == "timestamp":
                unix_ts.setdefault(key, set()).add(int(r["p"]))
        rows = await sql.query(
            f"SELECT s.TABLE_SCHEMA AS s, s.TABLE_NAME AS t, c.ORDINAL_POSITION AS p "
            f"FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c "
            f"ON c.TABLE_SCHEMA=s.TABLE_SCHEMA AND c.TABLE_NAME=s.TABLE_NAME "
            f"AND c.COLUMN_NAME=s.COLUMN_NAME WHERE s.INDEX_NAME='PRIMARY' AND "
            f"({cond.replace('TABLE_SCHEMA', 's.TABLE_SCHEMA').replace('TABLE_NAME', 's.TABLE_NAME')}) "
            f"ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.SEQ_IN_INDEX",
            args,
        )
        for r in rows:
            pk.setdefault((r["s"], r["t"]), []).append(int(r["p"]))
    return columns, pk, unix_ts


def _q(name: str) -> str:
    """A backquoted identifier for a statement sent WITH %s arguments: pymysql then applies `%`
    formatting to the whole text, so a `%` in a table or column name must be doubled."""
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


async def _conflicts(
    ctx: RunContext,
    node: str,
    txs: list[Transaction],
    pk: dict[tuple[str, str], list[int]],
    unix_ts: dict[tuple[str, str], set[int]],
) -> list[gapmod.Conflict]:
    """Probe, on the new writer, every row the recovered transactions touch first: it must be as
    they expect it (absent for an insert, equal to the before image otherwise)."""
    return await probe_rows(ctx, node, first_touches(txs, pk), pk, unix_ts, gapmod.check_probe)


async def probe_rows(
    ctx: RunContext,
    node: str,
    probes: list[RowProbe],
    pk: dict[tuple[str, str], list[int]],
    unix_ts: dict[tuple[str, str], set[int]],
    judge: Callable[[RowProbe, dict[int, Any] | None], gapmod.Conflict | None],
) -> list[gapmod.Conflict]:
    """Read each probed row on `node` by its primary key (500 a query) and `judge` it against
    what the probe expects; a table without a primary key cannot prove a row's state."""
    by_table: dict[tuple[str, str], list] = {}
    for p in probes:
        by_table.setdefault((p.schema, p.table), []).append(p)
    out: list[gapmod.Conflict] = []
    sql = ctx.access.sql(node)
    cols_rows = {}
    for (schema, table), ps in by_table.items():
        keys = pk.get((schema, table))
        if not keys:
            out += [
                gapmod.Conflict(
                    p.gtid, f"{schema}.{table}", p.key, "table has no primary key: cannot prove the row is unchanged"
                )
                for p in ps
                if p.expect is not None
            ]
            continue
        if (schema, table) not in cols_rows:
            cr = await sql.query(
                "SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
                "AND TABLE_NAME=%s ORDER BY ORDINAL_POSITION",
                (schema, table),
            )
            cols_rows[(schema, table)] = [r["c"] for r in cr]
        names = cols_rows[(schema, table)]
        ts = unix_ts.get((schema, table), set())
        select = ", ".join(f"UNIX_TIMESTAMP({_q(c)})" if i + 1 in ts else _q(c) for i, c in enumerate(names))
        keycols = ", ".join(_q(names[k - 1]) for k in keys)
        for i in range(0, len(ps), 500):
            chunk = ps[i : i + 500]
            args: list[Any] = []
            for p in chunk:
                for v in p.key:
                    args.append(gapmod.literal_param(v))
            tuple_ph = "(" + ", ".join(["%s"] * len(keys)) + ")"
            rows = await sql.query(
                f"SELECT {select} FROM {_q(schema)}.{_q(table)} WHERE ({keycols}) IN "
                f"({', '.join([tuple_ph] * len(chunk))})",
                args,
                timeout=60,
            )
            found: dict[tuple[str, ...], dict[int, Any]] = {}
            for r in rows:
                vals = list(r.values())
                row = {j + 1: vals[j] for j in range(len(vals))}
                found[tuple(_key_text(row[k]) for k in keys)] = row
            for p in chunk:
                c = judge(p, found.get(tuple(_key_text(gapmod.literal_param(v)) for v in p.key)))
                if c is not None:
                    out.append(c)
    return out


def _key_text(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", errors="surrogateescape")
    return str(v)
