"""Errant transactions: what a replica executed that the writer never did.

The two nodes are polled at slightly different instants, so the writer's own newest
transactions may show on a replica before the writer's (older) observation has them. Only GTIDs
the writer did not originate count: a replica cannot invent the writer's transactions, so a
difference there is timing, while anything from another origin is really errant.
"""

from __future__ import annotations

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
