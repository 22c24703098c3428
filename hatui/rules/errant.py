"""Errant transactions: what a replica executed that the writer never did.

The two nodes are polled at slightly different instants, so the writer's own newest
transactions may show on a replica before the writer's (older) observation has them. Only GTIDs
the writer did not originate count: a replica cannot invent the writer's transactions, so a
difference there is timing, while anything from another origin is really errant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hatui.binlog import gap as gapmod
from hatui.gtid import GtidParseError, GtidPos, GtidSet
from hatui.mysql.status import MysqlStatus
from hatui.rules.topology import node_for_host
from hatui.state.store import Snapshot


def pulls_from(snap: Snapshot, writer: MysqlStatus, node: str) -> bool:
    """The writer's replication from `node` is running (receiving, or connecting after a cut):
    what `node` wrote itself reaches the writer whatever anyone does on `node`. A channel the
    DBA or a runbook stopped (a split brain, a held-back conflict) does not count."""
    return any(
        node_for_host(snap, ch.source_host or "") == node and (ch.io_running or ch.io_state == "Connecting")
        for ch in writer.channels
    )


def errant_transactions(replica: MysqlStatus, writer: MysqlStatus, *, writer_pulls: bool = False) -> str:
    """Errant GTIDs on `replica` relative to `writer` (MysqlStatus each), as text; "" if none.

    writer_pulls: the writer replicates from this replica now (pulls_from: a dual master's
    standby): what the replica wrote itself (it held the VIP for a while) is on its way to the
    writer through that channel; it is the cluster's data, not errant."""
    try:
        if replica.gtid_executed is not None and writer.gtid_executed is not None:
            return _mysql_errant(replica, writer, writer_pulls)
        if (
            getattr(replica, "gtid_binlog_state", None) is not None
            and getattr(writer, "gtid_binlog_state", None) is not None
        ):
            return _mariadb_errant(replica, writer, writer_pulls)
    except GtidParseError:
        return ""  # unreadable GTID text is shown with the node, not guessed about here
    return ""


def _mysql_errant(replica: MysqlStatus, writer: MysqlStatus, writer_pulls: bool) -> str:
    extra = GtidSet.parse(replica.gtid_executed) - GtidSet.parse(writer.gtid_executed)
    origins = [getattr(writer, "server_uuid", None)]
    if writer_pulls:
        origins.append(getattr(replica, "server_uuid", None))
    for uuid in filter(None, origins):
        own = str(uuid).lower()
        extra = extra - GtidSet.from_intervals({own: extra.intervals.get((own, ""), ())})
    return str(extra) if extra else ""


def _mariadb_errant(replica: MysqlStatus, writer: MysqlStatus, writer_pulls: bool) -> str:
    """Per (domain, server_id): the replica's latest GTID when the writer has an older one or none.

    gtid_binlog_state keeps the last GTID of every server_id per domain, so a transaction
    written directly on the replica (its own server_id) shows up there even when a later
    replicated one moved gtid_binlog_pos on.
    """
    mine = GtidPos.parse_state(replica.gtid_binlog_state)
    theirs = GtidPos.parse_state(writer.gtid_binlog_state)
    theirs_seq = {(g.domain, g.server_id): g.seq for gs in theirs.values() for g in gs}
    # what the writer's replication took in (or was moved past: `skip-applied --keep-local`
    # on MariaDB, which logs no empty transaction) without its binlog showing it; same server
    # only, so another server's transaction under a reused seq still counts
    for g in GtidPos.parse(getattr(writer, "gtid_slave_pos", None)):
        key = (g.domain, g.server_id)
        theirs_seq[key] = max(theirs_seq.get(key, 0), g.seq)
    out = []
    for domain, gtids in sorted(mine.items()):
        for g in gtids:
            if g.server_id == writer.server_id:
                continue  # the writer's own: only polling skew can put the replica ahead
            if writer_pulls and g.server_id == replica.server_id:
                continue  # the replica's own writes, on their way to the writer
            have = theirs_seq.get((domain, g.server_id), 0)
            if g.seq > have:
                # seq numbers are per domain, so only the latest such GTID is known exactly
                out.append(str(g))
    return ",".join(out)


class Standing(StrEnum):
    IDENTICAL = "identical"
    BEHIND = "behind"  # recoverable: the writer has everything it needs
    DIVERGED = "diverged"  # errant transactions
    IRRECOVERABLE = "irrecoverable"  # needs what the writer purged


@dataclass(frozen=True)
class Classification:
    standing: Standing
    errant: str  # GTIDs the node has and the writer does not ("" if none)
    needs_purged: str  # what the node lacks that the writer no longer has in its binlogs
    reason: str


def classify(
    node: MysqlStatus, w: MysqlStatus, writer_first_head: str | None, *, writer_pulls: bool = False
) -> Classification:
    """Pure: where a node stands against the writer. writer_first_head: the GTID state at the
    head of the writer's oldest binlog (MariaDB Gtid_list) or its gtid_purged (MySQL).
    writer_pulls: the writer replicates from the node (a dual master's standby), so what the
    node wrote itself is on its way to the writer, not errant (the chaos soak: a standby that
    held the VIP during a partition had its clients' writes called errant and discarded)."""
    mariadb = bool(w.version and w.version.is_mariadb)
    if mariadb:
        # what it logged itself (binlog state) against everything the writer has; its slave
        # position only says what it has, never what it invented
        mine = gapmod.Have.of(True, node.gtid_binlog_state, node.gtid_slave_pos)
        theirs = gapmod.Have.of(True, w.gtid_binlog_state, w.gtid_slave_pos)
        errant = {
            k: (theirs.seq(*k), n)
            for k, n in mine.state.items()
            if n > theirs.seq(*k) and not (writer_pulls and k[1] == node.server_id)
        }
        errant_text = ",".join(
            f"{d}-{s}-{a + 1}" + (f"..{b}" if b > a + 1 else "") for (d, s), (a, b) in sorted(errant.items())
        )
        head = gapmod.maria_state(writer_first_head or "")
        purged = {k: n for k, n in head.items() if mine.seq(*k) < n}
        purged_text = gapmod.format_state(purged)
        ahead = any(n > mine.seq(*k) for k, n in theirs.state.items())
    else:
        mine_s = GtidSet.parse(node.gtid_executed or "")
        theirs_s = GtidSet.parse(w.gtid_executed or "")
        extra = mine_s - theirs_s
        if writer_pulls and node.server_uuid:
            own = node.server_uuid.lower()
            extra = extra - GtidSet.from_intervals({own: extra.intervals.get((own, ""), ())})
        errant_text = str(extra) if extra else ""
        purged_text = str(GtidSet.parse(writer_first_head or "") - mine_s)
        ahead = bool(theirs_s - mine_s)
    if errant_text:
        return Classification(
            Standing.DIVERGED, errant_text, purged_text, f"it has transactions the writer never had: {errant_text}"
        )
    if purged_text:
        return Classification(
            Standing.IRRECOVERABLE,
            "",
            purged_text,
            f"it lacks {purged_text}, which the writer no longer has in its binlogs",
        )
    if ahead:
        return Classification(
            Standing.BEHIND, "", "", "the writer has transactions it lacks; replication will bring them"
        )
    return Classification(Standing.IDENTICAL, "", "", "it has exactly the writer's transactions")


def without_errant(node: MysqlStatus, w: MysqlStatus) -> str:
    """MariaDB: the node's binlog state with the errant transactions taken out (what it holds
    once they are rolled back): per (domain, server), the lower of the two."""
    mine = gapmod.maria_state(node.gtid_binlog_state)
    theirs = gapmod.Have.of(True, w.gtid_binlog_state, w.gtid_slave_pos)
    return gapmod.format_state({k: min(n, theirs.seq(*k)) for k, n in mine.items() if theirs.seq(*k) > 0})
