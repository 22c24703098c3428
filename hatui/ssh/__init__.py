"""SSH to the cluster's nodes: one asyncssh connection per node, channels for commands, log
streams and port forwards; verified host keys; reconnect with backoff.

    from hatui.ssh import SessionPool, SshError
    async with SessionPool.for_cluster(cluster) as pool:
        res = await pool["db1"].run("hostname")
"""

from hatui.ssh.backoff import Backoff
from hatui.ssh.commands import CommandResult
from hatui.ssh.connect import fetch_host_key, trust_host_key
from hatui.ssh.errors import CommandFailed, HostKeyError, SshError
from hatui.ssh.hostkeys import known_hosts_line, known_hosts_path
from hatui.ssh.pool import SessionPool
from hatui.ssh.session import ConnState, NodeSession

__all__ = [
    "Backoff",
    "CommandFailed",
    "CommandResult",
    "ConnState",
    "HostKeyError",
    "NodeSession",
    "SessionPool",
    "SshError",
    "fetch_host_key",
    "known_hosts_line",
    "known_hosts_path",
    "trust_host_key",
]
