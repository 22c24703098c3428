"""The console records (--record, and its flight recorder): what it saw and concluded, read back
from the file; the flight recorder's files are private and bounded."""

from __future__ import annotations

import os
import stat
import time

from hatui.mysql.status import MysqlStatus
from hatui.record.file import Recording
from hatui.record.flight import FlightRecorder
from hatui.state import Kind
from hatui.views.feed import RecordedFeed
from screens.app import HatuiApp
from tests.recorded import FIXED_NOW, lab_cluster, lab_state, until, vrrp


async def test_the_console_records_what_it_saw_and_what_it_concluded(tmp_path):
    cluster = lab_cluster()
    store = lab_state(cluster)
    path = tmp_path / "incident.hrec"
    app = HatuiApp([cluster], feed_factory=lambda c: RecordedFeed(store), record=path, flight_state=tmp_path / "st")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.6)
        t = FIXED_NOW + 10  # the store's readings carry their own times
        store.put("db1", Kind.VRRP, vrrp("BACKUP", 100), at=t)
        store.put("db2", Kind.VRRP, vrrp("MASTER", 90), at=t)
        store.put("db3", Kind.MYSQL, MysqlStatus(up=False, error="Can't connect to MySQL server"), at=t)
        view = app.query_one("ClusterView")
        await until(pilot, lambda: any(str(a.incident.code) == "dead_node" for a in view.state.incidents.active))
        await pilot.pause(0.3)
        await pilot.press("q")
    r = Recording(path)
    after = r.state_at(t + 1)
    assert after[("db3", Kind.MYSQL)].value == MysqlStatus(up=False, error="Can't connect to MySQL server")
    assert after[("db2", Kind.VRRP)].value == vrrp("MASTER", 90)
    assert r.state_at(t - 1)[("db2", Kind.VRRP)].value == vrrp("BACKUP", 90)
    notes = [(what, d.get("code")) for _, what, d in r.notes(0, time.time())]
    assert ("incident_raised", "dead_node") in notes and ("alert_raised", "mysql.down") in notes
    # the flight recorder kept the same, in the state folder, privately
    [flight] = (tmp_path / "st" / cluster.name / "flight").glob("*.hrec")
    assert stat.S_IMODE(os.stat(flight).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(flight.parent).st_mode) == 0o700
    f = Recording(flight)
    assert f.state_at(t + 1)[("db3", Kind.MYSQL)].value.up is False


def test_the_flight_recorder_keeps_a_file_an_hour_and_drops_what_is_too_old_or_too_much(tmp_path):
    cluster = lab_cluster()
    store = lab_state(cluster)
    t = [1_800_000_000.0]  # a whole hour in UTC and in most zones
    fr = FlightRecorder(cluster, tmp_path, hours=3, max_bytes=10**9, clock=lambda: t[0])
    fr.attach(store)
    for _ in range(5):  # five hours, a file each
        t[0] += 3600
        fr.flush()
    names = [p.name for p in fr.files()]
    assert len(names) == 4 and fr.path.name == names[-1], names  # 3 h kept, and the current one
    fr.max_bytes = 1  # the cap: only the file being written stays
    fr.prune()
    assert fr.files() == [fr.path]
    fr.close()
    # each file starts with the whole picture: the newest alone says how the cluster was
    assert Recording(fr.path).state_at(t[0] + 1)[("db1", Kind.VRRP)].value == store.latest("db1", Kind.VRRP).value
