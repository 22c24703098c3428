"""Errant transactions: what a replica executed that the writer never did.

The two nodes are polled at slightly different instants, so the writer's own newest
transactions may show on a replica before the writer's (older) observation has them. Only GTIDs
the writer did not originate count: a replica cannot invent the writer's transactions, so a
difference there is timing, while anything from another origin is really errant.
"""

from __future__ import annotations

from hatui.gtid import GtidParseError, GtidPos, GtidSet
from hatui.mysql.status import MysqlStatus


def errant_transactions(replica: MysqlStatus, writer: MysqlStatus) -> str:
    """Errant GTIDs on `replica` relative to `writer` (MysqlStatus each), as text; "" if none."""
    try:
        if replica.gtid_executed is not None and writer.gtid_executed is not None:
            return _mysql_errant(replica, writer)
        if (
            getattr(replica, "gtid_binlog_state", None) is not None
            and getattr(writer, "gtid_binlog_state", None) is not None
        ):
            return _mariadb_errant(replica, writer)
    except GtidParseError:
        return ""  # unreadable GTID text is shown with the node, not guessed about here
    return ""


def _mysql_errant(replica: MysqlStatus, writer: MysqlStatus) -> str:
    extra = GtidSet.parse(replica.gtid_executed) - GtidSet.parse(writer.gtid_executed)
    own = (getattr(writer, "server_uuid", None) or "").lower()
    if own:
        extra = extra - GtidSet.from_intervals({own: extra.intervals.get((own, ""), ())})
    return str(extra) if extra else ""


def _mariadb_errant(replica: MysqlStatus, writer: MysqlStatus) -> str:
    """Per (domain, server_id): the replica's latest GTID when the writer has an older one or none.

    gtid_binlog_state keeps the last GTID of every server_id per domain, so a transaction
    written directly on the replica (its own server_id) shows up there even when a later
    replicated one moved gtid_binlog_pos on.
    """
    mine = GtidPos.parse_state(replica.gtid_binlog_state)
    theirs = GtidPos.parse_state(writer.gtid_binlog_state)
    theirs_seq = {(g.domain, g.server_id): g.seq for gs in theirs.values() for g in gs}
    out = []
    for domain, gtids in sorted(mine.items()):
        for g in gtids:
            if g.server_id == writer.server_id:
                continue  # the writer's own: only polling skew can put the replica ahead
            have = theirs_seq.get((domain, g.server_id), 0)
            if g.seq > have:
                # seq numbers are per domain, so only the latest such GTID is known exactly
                out.append(str(g))
    return ",".join(out)
