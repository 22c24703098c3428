"""The router layer in front of MySQL (seed 002): what each route sends clients to.

Parsers only (pure): HAProxy's stats socket (`show stat` CSV) and MySQL Router's REST API. The
collector that reads them is hatui.collect.routers; the rules that judge them hatui.rules.routers.
"""

from hatui.routers.model import Route, RouterObs, RouteServer, ServerState

__all__ = ["Route", "RouteServer", "RouterObs", "ServerState"]
