"""A node's keepalived.conf as text for display, with every VRRP password masked at the source."""

from __future__ import annotations

import shlex

from hatui.cluster import Node
from hatui.keepalived.redact import redact_config

MAX_BYTES = 256 * 1024  # a config is small; never pull a huge file into the console


def config_command(node: Node) -> str:
    return f"exec head -c {MAX_BYTES} {shlex.quote(str(node.keepalived.config))}"


def masked_config(stdout: str) -> str:
    return redact_config(stdout)
