"""The hub's wire format: JSON lines over a Unix socket. Pure.

A viewer sends one request line: {"clusters": true} (the hub answers the clusters, without
secrets, and closes) or {"cluster": NAME} (the hub answers that cluster's picture, then every
reading and event as its store gets them, until either side goes).

    {"clusters": [cluster, ...]}                       codec.encode_cluster: no password, no hook
    {"picture": {"obs": [[node, kind, at, value]...], "events": [[seq, received_at, node, event]...]}}
    ["o", at, node, kind, value]                       a reading
    ["e", seq, received_at, node, event]               a keepalived event
    ["r"]                                              the store was replaced: a picture follows
    {"error": text}                                    the request was not understood

Values are the recordings' codec (pydantic, JSON-safe; loading one never runs code)."""

from __future__ import annotations

import json
from typing import Any

from hatui.cluster import Cluster
from hatui.errors import InputError
from hatui.record.codec import (
    CodecError,
    decode_cluster,
    decode_event,
    decode_value,
    encode_cluster,
    encode_event,
    encode_value,
)
from hatui.state.observations import Kind, Observation
from hatui.state.store import Snapshot, StoredEvent

VERSION = 1
# a line longer than this is not from a hub (a store's picture at 200 nodes is ~2 MB)
MAX_LINE = 64 * 1024 * 1024


class ProtocolError(InputError):
    """A line from the hub (or a viewer) that is not this protocol."""


def _dumps(x: Any) -> bytes:
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def request_clusters() -> bytes:
    return _dumps({"clusters": True, "version": VERSION})


def request_cluster(name: str) -> bytes:
    return _dumps({"cluster": name, "version": VERSION})


def parse_request(line: bytes) -> str | None:
    """The cluster a viewer asks for, or None when it asks for the list."""
    try:
        msg = json.loads(line)
    except ValueError:
        raise ProtocolError("a request that is not JSON") from None
    if not isinstance(msg, dict) or msg.get("version") != VERSION:
        raise ProtocolError(f"a request of another protocol version (this hub speaks {VERSION})")
    if msg.get("clusters") is True:
        return None
    name = msg.get("cluster")
    if not isinstance(name, str):
        raise ProtocolError('a request names neither "clusters" nor a "cluster"')
    return name


def clusters_line(clusters: list[Cluster]) -> bytes:
    return _dumps({"clusters": [encode_cluster(c) for c in clusters]})


def error_line(text: str) -> bytes:
    return _dumps({"error": text})


def picture_line(snap: Snapshot) -> bytes:
    obs = [[o.node, str(o.kind), o.at, encode_value(o.kind, o.value)] for o in snap.observations.values()]
    events = [[e.seq, e.received_at, e.node, encode_event(e.event)] for e in snap.events]
    return _dumps({"picture": {"obs": obs, "events": events}})


def observation_line(obs: Observation) -> bytes:
    return _dumps(["o", obs.at, obs.node, str(obs.kind), encode_value(obs.kind, obs.value)])


def event_line(ev: StoredEvent) -> bytes:
    return _dumps(["e", ev.seq, ev.received_at, ev.node, encode_event(ev.event)])


RESET_LINE = _dumps(["r"])


def _load(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        raise ProtocolError(f"a line that is not JSON: {line[:80]!r}") from None


def parse_clusters(line: bytes) -> list[Cluster]:
    msg = _load(line)
    if isinstance(msg, dict) and "error" in msg:
        raise ProtocolError(f"the hub says: {msg['error']}")
    if not isinstance(msg, dict) or not isinstance(msg.get("clusters"), list):
        raise ProtocolError("expected the hub's list of clusters")
    try:
        return [decode_cluster(c) for c in msg["clusters"]]
    except CodecError as exc:
        raise ProtocolError(str(exc)) from None


def parse_picture(line: bytes) -> tuple[list[Observation], list[StoredEvent]]:
    msg = _load(line)
    if isinstance(msg, dict) and "error" in msg:
        raise ProtocolError(f"the hub says: {msg['error']}")
    pic = msg.get("picture") if isinstance(msg, dict) else None
    if not isinstance(pic, dict):
        raise ProtocolError("expected the cluster's picture")
    try:
        obs = [Observation(n, Kind(k), decode_value(k, v), float(at)) for n, k, at, v in pic["obs"]]
        events = [StoredEvent(int(s), float(r), n, decode_event(e)) for s, r, n, e in pic["events"]]
    except (CodecError, KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"a picture that does not decode: {str(exc)[:200]}") from None
    return obs, events


def parse_update(line: bytes) -> Observation | StoredEvent | None:
    """A reading or an event; None for a reset (a picture line comes next)."""
    msg = _load(line)
    try:
        if msg[0] == "o":
            _, at, node, kind, v = msg
            return Observation(node, Kind(kind), decode_value(kind, v), float(at))
        if msg[0] == "e":
            _, seq, received, node, ev = msg
            return StoredEvent(int(seq), float(received), node, decode_event(ev))
        if msg[0] == "r":
            return None
    except (CodecError, TypeError, ValueError, IndexError, KeyError) as exc:
        raise ProtocolError(f"an update that does not decode: {str(exc)[:200]}") from None
    raise ProtocolError(f"an unknown update: {line[:80]!r}")
