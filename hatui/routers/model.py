"""What a router says about its routes: typed, the same for HAProxy and MySQL Router."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ServerState(StrEnum):
    UP = "up"  # receives new connections
    DOWN = "down"  # failing its health check
    MAINT = "maint"  # disabled by an operator (HAProxy `disabled`, `set server ... state maint`)
    DRAIN = "drain"  # up, but given no new connections
    UNKNOWN = "unknown"  # no health check, or the router does not say


@dataclass(frozen=True, slots=True)
class RouteServer:
    name: str  # the router's name for it (HAProxy server name; MySQL Router: host:port)
    address: str | None  # host or IP, without port
    port: int | None
    state: ServerState
    detail: str = ""  # the router's own words: "DOWN L4CON Connection refused", "UP 1/2"
    backup: bool = False  # HAProxy `backup`: used only when no active server is up

    @property
    def label(self) -> str:
        where = f"{self.address}:{self.port}" if self.address and self.port else (self.address or "")
        return f"{self.name} ({where})" if where and where != self.name else self.name


@dataclass(frozen=True, slots=True)
class Route:
    name: str  # HAProxy backend / MySQL Router [routing:NAME]
    role: str | None  # "writer" / "reader" (the cluster file's `routes:` map), None: not mapped
    servers: tuple[RouteServer, ...]
    alive: bool | None = None  # MySQL Router's health.isAlive; HAProxy: backend not DOWN
    detail: str = ""

    @property
    def targets(self) -> tuple[RouteServer, ...]:
        """Where a new connection can go now: up active servers, else up backups (HAProxy's
        rule); a server without a check counts as up (the router will try it)."""
        usable = (ServerState.UP, ServerState.UNKNOWN)
        active = tuple(s for s in self.servers if s.state in usable and not s.backup)
        return active or tuple(s for s in self.servers if s.state in usable and s.backup)


@dataclass(frozen=True, slots=True)
class RouterObs:
    kind: str  # "haproxy" / "mysql-router"
    routes: tuple[Route, ...] = ()
    error: str | None = None  # the read failed: routes are empty and unknown, not "no targets"

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def with_role(self, role: str) -> list[Route]:
        return [r for r in self.routes if r.role == role]
