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
import time
from pathlib import Path
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.dump import first_touches
from hatui.binlog.locate import FILES_SQL, ServerFiles, alive_command, defaults_command, from_variables, parse_defaults
from hatui.cluster import Cluster
from hatui.privatefs import private_dir, replace_private, write_private
from hatui.rules.topology import node_for_host, vip_views
from hatui.runbook.facts import Facts, down_check, executed, gather
from hatui.runbook.model import Action, Check, Step, StepFailed, Verdict, mysql_node
from hatui.runbook.recovery import Gap, extract, script_of
from hatui.runbook.replay import BATCH_TRANSACTIONS, local_client, replay_batched, replay_local, replay_shown
from hatui.runbook.rows import probe_rows, table_meta
from hatui.runbook.runner import RunContext, cluster_dir, state_dir

P, W, F = Verdict.PASS, Verdict.WARN, Verdict.FAIL
SHOWN_LINES = 60  # preview lines shown inline; the whole preview is in the recovery folder
SHOWN_CONFLICTS = 20
CONFLICT_CHOICES = ("stop", "skip", "apply")


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
            fix = f"the recovered transactions are applied to {new}: start it first"
            return [*checks, down_check(f"MySQL on {new} answers", ns, fix)]
        mariadb = bool(ns.version and ns.version.is_mariadb)
        self.gap = g = Gap.new(self.base_dir, self.cluster, f"{old}-to-{new}", mariadb)

        # 1. the old writer can take no more writes: prove it before reading anything
        files = await self.server_files(ctx, os_)
        checks += await self._fenced(ctx, os_, files)
        if any(c.failed for c in checks):
            return checks

        # 2. what the new writer has, and what the old one's binlogs hold beyond it
        have = executed(ns)
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
        script_made = loop.run_in_executor(None, script_of, g, g.missing) if self.on_conflict != "skip" else None
        try:
            # every row they touch first must be as they expect it on the new writer
            conflicts = await probe_rows(ctx, new, first_touches(g.missing, pk), pk, unix_ts, gapmod.check_probe)
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

    async def server_files(self, ctx: RunContext, st) -> ServerFiles:
        if st is not None and st.up:
            return from_variables((await ctx.access.sql(self.old).query(FILES_SQL))[0])
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
        g.script = g.write_script("gap.sql", script_of(g, g.apply) if script is None else script)
        if g.held_back:
            write_private(g.folder / "held_back.sql", script_of(g, g.held_back))
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
                done, how = len(g.apply), f" (its own {self.client.rsplit('/', 1)[-1]} client)"
            else:
                labels = [t.gtid or f"{t.file}:{t.start}" for t in g.apply]
                done, how = (
                    await replay_batched(ctx.access.script_session(new), data, labels, g.mariadb, script.name),
                    "",
                )
            ctx.facts["applied"] = done
            if not g.apply[-1].gtid:  # position mode: remember how far it got
                private_dir(self._marker().parent, root=self.base_dir or state_dir())
                replace_private(self._marker(), json.dumps({"file": g.apply[-1].file, "pos": g.apply[-1].end}))
            return f"replayed {done} transaction(s) on {new} in {time.monotonic() - t0:.1f} s{how}"

        async def verify(ctx: RunContext) -> str:
            if not g.apply[0].gtid:  # no GTIDs: only the count of replayed transactions says it
                if ctx.facts.get("applied") != len(g.apply):
                    raise StepFailed(f"replayed {ctx.facts.get('applied')} of {len(g.apply)} transaction(s)")
                return f"{new} replayed all {len(g.apply)} transaction(s) (no GTIDs: counted, not proven)"
            have = executed(await ctx.access.sql(new).status())
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
