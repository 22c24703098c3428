"""Typed readings to JSON and back, for recordings. Pure.

Every observation kind has one value type; pydantic's TypeAdapter turns the engine's frozen
dataclasses into JSON-safe dicts and validates them back into the same types (tuples, enums,
nested dataclasses), so a replayed snapshot is made of the very objects the live one was. JSON,
not pickle: a recording is a file a DBA hands to a colleague, and loading it must never run code.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from hatui.cluster import Cluster
from hatui.keepalived.dump import VrrpSnapshot
from hatui.keepalived.events import KeepalivedEvent
from hatui.mysql.status import MysqlStatus
from hatui.routers.model import RouterObs
from hatui.state.observations import AddressObs, KeepalivedProcObs, Kind, SshObs

VALUE_TYPES: dict[Kind, type] = {
    Kind.SSH: SshObs,
    Kind.ADDRESSES: AddressObs,
    Kind.KEEPALIVED: KeepalivedProcObs,
    Kind.VRRP: VrrpSnapshot,
    Kind.MYSQL: MysqlStatus,
    Kind.ROUTER: RouterObs,
}


class CodecError(ValueError):
    pass


@cache
def _adapter(t: type) -> TypeAdapter[Any]:
    return TypeAdapter(t)


def encode_value(kind: Kind, value: Any) -> Any:
    t = VALUE_TYPES[kind]
    if not isinstance(value, t):
        raise CodecError(f"a {kind} reading must be {t.__name__}, not {type(value).__name__}")
    return _adapter(t).dump_python(value, mode="json")


def decode_value(kind: str, data: Any) -> Any:
    try:
        k = Kind(kind)
        return _adapter(VALUE_TYPES[k]).validate_python(data)
    except (ValueError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        raise CodecError(f"a {kind} reading that does not decode: {str(exc)[:200]}") from exc


def encode_event(event: KeepalivedEvent) -> Any:
    return _adapter(KeepalivedEvent).dump_python(event, mode="json")


def decode_event(data: Any) -> KeepalivedEvent:
    try:
        ev: KeepalivedEvent = _adapter(KeepalivedEvent).validate_python(data)
        return ev
    except ValueError as exc:
        raise CodecError(f"a keepalived event that does not decode: {str(exc)[:200]}") from exc


NOT_RECORDED = "(not recorded)"


def _scrub(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: (NOT_RECORDED if k == "password" and v is not None else _scrub(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [_scrub(v) for v in x]
    return x


def encode_cluster(cluster: Cluster) -> dict[str, Any]:
    """The cluster as a replay needs it (nodes, roles, VIPs, thresholds), without what could
    hold a secret: an inline password is replaced, the notify hooks (commands, URLs with tokens)
    are left out. A replay connects to nothing and runs no hook."""
    data = cluster.model_dump(mode="json", exclude={"notify", "warnings"}, exclude_unset=True)
    scrubbed: dict[str, Any] = _scrub(data)
    return scrubbed


def decode_cluster(data: Any) -> Cluster:
    try:
        return Cluster.model_validate(data)
    except ValueError as exc:
        raise CodecError(f"the recorded cluster does not load: {str(exc)[:300]}") from exc
