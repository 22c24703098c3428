"""Rows read by primary key on a node: the tables' columns and keys, and each probed row judged
against what a recovered transaction expects (repair-gap, skip-applied, rejoin, failover)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hatui.binlog import gap as gapmod
from hatui.binlog.dump import RowProbe, Transaction
from hatui.runbook.runner import RunContext


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


def q(name: str) -> str:
    """A backquoted identifier for a statement sent WITH %s arguments: pymysql then applies `%`
    formatting to the whole text, so a `%` in a table or column name must be doubled."""
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


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
        select = ", ".join(f"UNIX_TIMESTAMP({q(c)})" if i + 1 in ts else q(c) for i, c in enumerate(names))
        keycols = ", ".join(q(names[k - 1]) for k in keys)
        for i in range(0, len(ps), 500):
            chunk = ps[i : i + 500]
            args: list[Any] = []
            for p in chunk:
                for v in p.key:
                    args.append(gapmod.literal_param(v))
            tuple_ph = "(" + ", ".join(["%s"] * len(keys)) + ")"
            rows = await sql.query(
                f"SELECT {select} FROM {q(schema)}.{q(table)} WHERE ({keycols}) IN "
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
