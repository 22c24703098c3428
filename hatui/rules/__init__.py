"""Health rules: pure functions from a state snapshot to alerts (code, severity, node, evidence)."""

from hatui.rules.alerts import ActiveAlert, Alert, AlertBook, ClearedAlert, Severity, worst
from hatui.rules.health import RULES, evaluate

__all__ = ["RULES", "ActiveAlert", "Alert", "AlertBook", "ClearedAlert", "Severity", "evaluate", "worst"]
