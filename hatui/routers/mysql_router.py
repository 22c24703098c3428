"""MySQL Router's REST API (`[rest_routing]`, base /api/20190715) read into routes.

Per route: `routes/{name}/destinations` (where it may send clients: for a metadata-cache route
the members the cluster metadata names now, for a static route the configured list) and
`routes/{name}/health` (`isAlive`: the route accepts connections). Router does not say whether a
destination answers; hatui's own MySQL readings judge that (hatui.rules.routers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hatui.routers.haproxy import RouterReadError
from hatui.routers.model import Route, RouteServer, ServerState


def _items(doc: Any, what: str) -> list[Any]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("items"), list):
        raise RouterReadError(f'expected MySQL Router\'s {what} as {{"items": [...]}}')
    return list(doc["items"])


def route_names(doc: Any) -> list[str]:
    """GET /routes: {"items": [{"name": "bootstrap_rw"}, ...]}."""
    names = []
    for item in _items(doc, "route list"):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise RouterReadError("expected every route of MySQL Router's route list to have a name")
        names.append(name)
    return names


def destinations(doc: Any) -> tuple[RouteServer, ...]:
    """GET /routes/{name}/destinations: {"items": [{"address": "...", "port": 3306}, ...]}."""
    out = []
    for item in _items(doc, "route destinations"):
        if not isinstance(item, Mapping) or not isinstance(item.get("address"), str):
            raise RouterReadError("expected every destination to have an address")
        port = item.get("port")
        port = port if isinstance(port, int) and not isinstance(port, bool) else None
        addr = item["address"]
        out.append(
            RouteServer(
                name=f"{addr}:{port}" if port else addr,
                address=addr,
                port=port,
                state=ServerState.UNKNOWN,
                detail="a destination of the route (Router does not report its health)",
            )
        )
    return tuple(out)


def is_alive(doc: Any) -> bool:
    """GET /routes/{name}/health: {"isAlive": true}."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("isAlive"), bool):
        raise RouterReadError('expected MySQL Router\'s route health as {"isAlive": true|false}')
    return bool(doc["isAlive"])


def build_routes(
    names: list[str],
    dests: Mapping[str, Any],
    health: Mapping[str, Any],
    role_of: Callable[[str], str | None],
) -> tuple[Route, ...]:
    """Routes from the parsed documents of each endpoint (keyed by route name)."""
    routes = []
    for name in names:
        alive = is_alive(health[name])
        routes.append(
            Route(name, role_of(name), destinations(dests[name]), alive=alive, detail="alive" if alive else "not alive")
        )
    return tuple(routes)
