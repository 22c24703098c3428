"""The VIP writer against the real lab: steady writes reach every node, and moving the VIP
pauses writes but loses, duplicates and invents none."""

from __future__ import annotations

import itertools
import os

from hatui.lab.writer import VipWriter, WriteReport, verify_rows

from .support import SLACK, vip_holders, vip_to, wait_until

_tables = itertools.count(1)


def fresh_table() -> str:
    # unique per test and per run: ids restart at 1, so a table is never reused
    return f"hatui_writes_{os.getpid()}_{next(_tables)}"


def describe(r: WriteReport) -> str:
    pauses = ", ".join(f"{b - a:.3f}" for a, b in r.pauses) or "none"
    return (
        f"acked={r.acked} attempts={r.attempts} errors={r.errors} reconnects={r.reconnects} "
        f"longest_pause={r.longest_pause:.3f}s pauses>0.1s=[{pauses}] "
        f"duplicate_acks={r.duplicate_acks} abandoned={r.abandoned} error_kinds={r.error_kinds}"
    )


def writers_of(lab, node: str, table: str) -> set[str]:
    return set(lab.sql(node, f"SELECT DISTINCT writer FROM labdb.{table}").split())


def test_steady_writes_through_the_vip_reach_every_node(lab):
    table = fresh_table()
    holder = vip_holders(lab)[0]
    w = VipWriter(lab, table=table)
    w.start()
    try:
        wait_until("50 acknowledged writes", lambda: w.acked >= 50, 30, every=0.05)
    finally:
        r = w.stop()
    print("steady:", describe(r))
    assert r.acked >= 50
    assert r.errors == 0 and r.reconnects == 0 and r.error_kinds == {}
    assert r.attempts == r.acked and r.abandoned == 0
    assert r.longest_pause < 1.0 + SLACK, describe(r)  # fsync per commit, no stalls
    checks = verify_rows(lab, table, r.acked)
    assert set(checks) == {"db1", "db2", "db3"}
    for c in checks.values():
        assert c.ok and c.count == r.acked, c
    # every row was taken by the VIP holder, as @@hostname says
    assert writers_of(lab, "db3", table) == {holder}


def test_moving_the_vip_and_back_loses_and_duplicates_nothing(lab):
    table = fresh_table()
    holder = vip_holders(lab)[0]
    other = "db2" if holder == "db1" else "db1"
    w = VipWriter(lab, table=table)
    w.start()
    try:

        def wrote(n: int):
            base = w.acked
            wait_until(f"{n} more acknowledged writes", lambda: w.acked >= base + n, 30, every=0.05)

        wrote(50)
        vip_to(lab, other)  # stop keepalived on the holder: the VIP moves, then restore
        wrote(50)
        vip_to(lab, holder)  # and back
        wrote(50)
    finally:
        r = w.stop()
    print("vip move:", describe(r))
    assert r.abandoned == 0 and r.attempts == r.acked + r.errors
    assert r.reconnects >= 1 and r.errors >= 1
    assert r.longest_pause > 0.2, describe(r)
    checks = verify_rows(lab, table, r.acked)
    assert set(checks) == {"db1", "db2", "db3"}
    for c in checks.values():
        assert c.missing == () and c.extra == () and c.duplicates == 0, c
        assert c.count == r.acked
    # both masters took writes while they held the VIP
    assert writers_of(lab, "db3", table) == {holder, other}
