"""`hatui exporter`: the engine's readings, alerts and incidents as Prometheus metrics.

One read-only Monitor per cluster (the wallboard's: every command and statement through the
read-only allowlist, no keepalived dumps), ticked once a second like the console; each tick
turns its Frame into metric families (`families`, pure) and swaps them in whole, so a scrape
reads one consistent tick and never touches the engine's state from the HTTP thread. Names and
labels follow Prometheus' conventions (snake case, `_seconds`, `_total` only for counters: all
of these are gauges of the current state)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hatui.cluster import Cluster, Role, VipRole
from hatui.gtid import GtidSet
from hatui.rules.routers import server_node
from hatui.rules.topology import mysql, ssh_up, vip_views, writer
from hatui.state import Kind
from hatui.views.frame import ClusterState, Frame

VRRP_STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP")
TICK = 1.0


def _gtid_count(st: Any) -> int | None:
    """Transactions in the server's GTID state: MySQL's gtid_executed counted; MariaDB's
    gtid_binlog_state summed over its (domain, server) sequence numbers."""
    if getattr(st, "gtid_executed", None):
        try:
            return GtidSet.parse(st.gtid_executed).count()
        except ValueError:
            return None
    state = getattr(st, "gtid_binlog_state", None)
    if state:
        from hatui.binlog.gap import maria_state

        try:
            return sum(maria_state(state).values())
        except ValueError:
            return None
    return None


def families(cluster: Cluster, frame: Frame) -> list[Metric]:
    """One tick of one cluster as metric families (pure)."""
    c = cluster.name
    snap = frame.snapshot
    fam: dict[str, GaugeMetricFamily] = {}

    def g(name: str, doc: str, labels: Sequence[str]) -> GaugeMetricFamily:
        if name not in fam:
            fam[name] = GaugeMetricFamily(name, doc, labels=["cluster", *labels])
        return fam[name]

    g("hatui_cluster_info", "The cluster and its topology (always 1).", ["topology"]).add_metric(
        [c, str(cluster.topology)], 1
    )
    w = writer(snap).node
    for name, node in cluster.nodes.items():
        pending = name in frame.pending
        g(
            "hatui_node_pending", "1 until the node's first complete reading (nothing is judged before).", ["node"]
        ).add_metric([c, name], 1 if pending else 0)
        if snap.value(name, Kind.SSH) is not None:
            g("hatui_node_ssh_up", "SSH to the node answers.", ["node"]).add_metric(
                [c, name], 1 if ssh_up(snap, name) else 0
            )
        if node.has_role(Role.MYSQL):
            st = mysql(snap, name)
            if st is not None:
                g("hatui_mysql_up", "mysqld answers a query.", ["node"]).add_metric([c, name], 1 if st.up else 0)
                if st.up:
                    if st.read_only is not None:
                        g("hatui_mysql_read_only", "@@read_only (1: no application writes).", ["node"]).add_metric(
                            [c, name], 1 if st.read_only else 0
                        )
                    g(
                        "hatui_mysql_writer", "1 on the node that takes writes now (hatui's judgement).", ["node"]
                    ).add_metric([c, name], 1 if name == w else 0)
                    n = _gtid_count(st)
                    if n is not None:
                        g(
                            "hatui_mysql_gtid_executed_transactions",
                            "Transactions in the server's GTID state (gtid_executed / gtid_binlog_state).",
                            ["node"],
                        ).add_metric([c, name], n)
                    for ch in st.channels:
                        labels = [c, name, ch.name or "", ch.source_host or ""]
                        g(
                            "hatui_replication_io_running",
                            "The channel's IO thread is connected and receiving.",
                            ["node", "channel", "source"],
                        ).add_metric(labels, 1 if ch.io_running else 0)
                        g(
                            "hatui_replication_sql_running",
                            "The channel's SQL thread runs.",
                            ["node", "channel", "source"],
                        ).add_metric(labels, 1 if ch.sql_running else 0)
                        if ch.lag_seconds is not None:
                            g(
                                "hatui_replication_lag_seconds",
                                "Seconds_Behind_Master (absent while the server cannot tell).",
                                ["node", "channel", "source"],
                            ).add_metric(labels, float(ch.lag_seconds))
        if node.has_role(Role.KEEPALIVED):
            proc = snap.value(name, Kind.KEEPALIVED)
            if proc is not None:
                g("hatui_keepalived_running", "keepalived's process runs.", ["node"]).add_metric(
                    [c, name], 1 if proc.running else 0
                )
            vrrp = snap.value(name, Kind.VRRP)
            for inst in getattr(vrrp, "instances", ()):
                for state in VRRP_STATES:
                    g(
                        "hatui_vrrp_state",
                        "The VRRP instance's state (1 for the current one).",
                        ["node", "instance", "state"],
                    ).add_metric([c, name, inst.name, state], 1 if inst.state == state else 0)
                if inst.effective_priority is not None:
                    g(
                        "hatui_vrrp_priority", "The instance's effective VRRP priority.", ["node", "instance"]
                    ).add_metric([c, name, inst.name], inst.effective_priority)
        if node.has_role(Role.ROUTER):
            obs = snap.value(name, Kind.ROUTER)
            for route in getattr(obs, "routes", ()):
                for sv in route.targets:
                    g(
                        "hatui_router_route_target",
                        "1 for each database a router's route sends new connections to now.",
                        ["router", "route", "role", "node"],
                    ).add_metric([c, name, route.name, route.role or "", server_node(snap, sv) or sv.name], 1)
    for v in vip_views(snap):
        g(
            "hatui_vip_holders",
            "How many nodes carry the VIP now (1 is right; 2 is a split brain).",
            ["address", "role"],
        ).add_metric([c, v.address, str(v.role)], len(v.holders))
        for h in v.holders:
            g("hatui_vip_held", "1 for each node that carries the VIP.", ["address", "node"]).add_metric(
                [c, v.address, h], 1
            )
        if v.role == VipRole.WRITER and all(cluster.nodes[n].has_role(Role.MYSQL) for n in v.holders):
            g(
                "hatui_vip_on_writer",
                "The writer VIP is on exactly the node that takes writes.",
                ["address"],
            ).add_metric([c, v.address], 1 if w is not None and list(v.holders) == [w] else 0)
    counts = {"warning": 0, "critical": 0}
    for a in frame.active:
        sev = str(a.alert.severity)
        counts[sev] = counts.get(sev, 0) + 1
        g("hatui_alert", "1 for each alert in effect.", ["code", "severity", "node", "subject"]).add_metric(
            [c, a.alert.code, sev, a.alert.node or "", a.alert.subject], 1
        )
        g(
            "hatui_alert_since_seconds", "When the alert was first raised (Unix time).", ["code", "node", "subject"]
        ).add_metric([c, a.alert.code, a.alert.node or "", a.alert.subject], a.since)
    for sev, n in counts.items():
        g("hatui_alerts", "Alerts in effect, by severity.", ["severity"]).add_metric([c, sev], n)
    g("hatui_incidents", "Open incidents (alerts grouped by their root cause).", []).add_metric(
        [c], len(frame.incidents)
    )
    for inc in frame.incidents:
        i = inc.incident
        g("hatui_incident", "1 for each open incident, by its code.", ["code", "severity", "anchor"]).add_metric(
            [c, str(i.code), str(i.severity), i.anchor], 1
        )
        g(
            "hatui_incident_since_seconds", "When the incident was first raised (Unix time).", ["code", "anchor"]
        ).add_metric([c, str(i.code), i.anchor], inc.since)
    g("hatui_tick_timestamp_seconds", "When this reading was judged (Unix time).", []).add_metric([c], frame.now)
    return list(fam.values())


class _Latest(Collector):
    """What a scrape returns: the last tick of every cluster, swapped in whole."""

    def __init__(self) -> None:
        self.metrics: tuple[Metric, ...] = ()

    def collect(self) -> Iterable[Metric]:
        return self.metrics


class Exporter:
    """Monitors (read-only) for the clusters, a tick a second, and the HTTP endpoint."""

    def __init__(self, clusters: Sequence[Cluster], *, feeds: Sequence[Any] | None = None):
        from hatui.views.feed import live_feed

        self.clusters = list(clusters)
        self.feeds = list(feeds) if feeds is not None else [live_feed(c, watch=True) for c in self.clusters]
        self.states = [ClusterState(f) for f in self.feeds]
        self.latest = _Latest()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.latest)
        self.tick_seconds: float = 0.0

    def tick(self) -> None:
        t0 = time.perf_counter()
        out: list[Metric] = []
        for cluster, state in zip(self.clusters, self.states, strict=True):
            out += families(cluster, state.tick(max_events=0))
        self.tick_seconds = time.perf_counter() - t0
        self.latest.metrics = tuple(out)  # one reference swap: a scrape sees one whole tick

    async def run(self, host: str, port: int, *, until: asyncio.Event | None = None) -> None:
        from prometheus_client import start_http_server

        for f in self.feeds:
            await f.start()
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        try:
            while until is None or not until.is_set():
                self.tick()
                try:
                    await asyncio.wait_for((until or asyncio.Event()).wait(), TICK)
                except TimeoutError:
                    pass
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
            for f in self.feeds:
                await f.stop()


def parse_listen(text: str) -> tuple[str, int]:
    """`ADDR:PORT` / `[v6]:PORT` / `PORT` (loopback)."""
    if text.isdigit():
        return "127.0.0.1", int(text)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r}: expected ADDR:PORT (e.g. 127.0.0.1:9877)")
    return host.strip("[]") or "127.0.0.1", int(port)
