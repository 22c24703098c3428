"""Sources: the async tasks that read each node (SSH, MySQL, keepalived) into the state store."""

from hatui.collect.monitor import Intervals, Monitor, NodeCollector

__all__ = ["Intervals", "Monitor", "NodeCollector"]
