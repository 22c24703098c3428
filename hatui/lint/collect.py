"""Reading what the lint needs: local files, or every node's effective config over SSH.

Over SSH a node gives its config and everything its `include` lines match (globbed on the
node), the scripts its vrrp_scripts run, its interfaces (`ip -j addr`), its config id
(`uname -n`, what `@ID` lines are matched against) and, when installed, `keepalived -t`'s verdict.
Nothing is written on the node.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import shlex
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from hatui.keepalived.conf_model import build, load
from hatui.keepalived.conf_parse import LocalSource, TextSource, include_patterns, parse
from hatui.lint.findings import Finding, finding
from hatui.lint.rules import ClusterFacts, NodeConfig
from hatui.lint.scripts import script_path

if TYPE_CHECKING:  # lint runs on local files without the SSH stack
    from hatui.cluster import Cluster, Node
    from hatui.ssh.commands import CommandResult
    from hatui.ssh.session import NodeSession

MAX_FILES = 64  # includes followed per node; a glob of a whole /etc must not run away
MAX_SCRIPT_BYTES = 256 * 1024


def default_config_id() -> str:
    # keepalived's default config id is the host name up to its first dot
    return socket.gethostname().split(".")[0]


def local_config(
    path: str, node: str | None = None, *, root: str | None = None, config_id: str | None = None
) -> NodeConfig:
    source = LocalSource(root)
    conf = load(path, source, config_id=config_id or default_config_id())
    scripts: dict[str, str | None] = {}
    for sc in conf.scripts.values():
        p = script_path(sc.script)
        if p:
            try:
                scripts[p] = source.read(p)[:MAX_SCRIPT_BYTES]
            except (OSError, UnicodeError):
                scripts[p] = None
    return NodeConfig(node, conf, scripts)


# ---------------------------------------------------------------------------- over SSH


def _q(s: str) -> str:
    return shlex.quote(s)


def _glob_command(pattern: str) -> str:
    # the pattern goes through a variable: globbed by the shell, never executed ($(...) stays text)
    return f"p={_q(pattern)}; IFS='\n'; for f in $p; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; exit 0"


def parse_ip_addr(text: str) -> dict[str, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]]:
    """`ip -j addr` -> interface -> [IPv4Interface/IPv6Interface]."""
    out: dict[str, list[ipaddress.IPv4Interface | ipaddress.IPv6Interface]] = {}
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return out
    for link in data:
        name = link.get("ifname")
        if not name:
            continue
        addrs = out.setdefault(name, [])
        for a in link.get("addr_info", []):
            try:
                addrs.append(ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}"))
            except (KeyError, ValueError):
                continue
    return out


_T_LINE = re.compile(r"^\((?P<file>[^:()]+): Line (?P<line>\d+)\) (?P<msg>.*)$")
_T_EXIT = {4: "a fatal error", 5: "config errors", 6: "a script security problem"}


def keepalived_t_findings(node: str, path: str, status: int, output: str) -> list[Finding]:
    """`keepalived -t -l` output -> findings (exit 4 fatal, 5 errors, 6 security)."""
    out: list[Finding] = []
    severity = "error" if status else "warning"
    for raw in output.splitlines():
        line = raw.strip()
        if not line or line.startswith("NOTICE: "):
            # keepalived's notices are about the machine, not the config: "setting config option
            # max_auto_priority should result in better keepalived performance" comes when the
            # check itself was scheduled late (a loaded node), exit status 0
            continue
        m = _T_LINE.match(line)
        if m:
            out.append(finding(severity, node, m["file"], int(m["line"]), "keepalived-t", m["msg"]))
        else:
            out.append(finding(severity, node, path, None, "keepalived-t", line))
    if status and not out:
        out.append(
            finding(
                "error",
                node,
                path,
                None,
                "keepalived-t",
                f"keepalived -t exited {status} ({_T_EXIT.get(status, 'failed')})",
            )
        )
    return out


async def remote_config(
    session: NodeSession, node: Node, *, run_t: bool = True, timeout: float = 10.0
) -> tuple[NodeConfig | None, list[Finding]]:
    """One node's NodeConfig (None when its config could not be read) and the findings made
    while reading it (unreachable node, keepalived -t)."""
    from hatui.ssh.errors import SshError

    name = node.name
    path = str(node.keepalived.config)
    sep = "--hatui-lint--"
    t_run: asyncio.Future[CommandResult] | None = None
    try:
        # one round trip for the config id, the interfaces and the config itself
        head = await session.run(
            f"uname -n; echo {sep}; ip -j addr 2>/dev/null; echo {sep}; cat -- {_q(path)}", timeout=timeout, sudo=True
        )
        id_text, _, rest = head.stdout.partition(f"{sep}\n")
        addr_json, _, text = rest.partition(f"{sep}\n")
        config_id = id_text.strip().split(".")[0] or None
        interfaces = parse_ip_addr(addr_json)
        if not head.ok:
            reason = head.stderr.strip().splitlines()[-1:] or ["cannot read it"]
            return None, [finding("error", name, path, None, "config-unreadable", f"{path}: {reason[0]}")]
        # keepalived -t needs nothing from the rest: run it while the includes are read
        t_run = (
            asyncio.ensure_future(
                session.run(
                    f"command -v keepalived >/dev/null 2>&1 || exit 127; exec keepalived -t -l -f {_q(path)} 2>&1",
                    timeout=timeout,
                    sudo=True,
                )
            )
            if run_t
            else None
        )
        files = {path: text}
        todo = [path]
        globbed: set[str] = set()
        while todo and len(files) < MAX_FILES:
            patterns = [p for f in todo for p in include_patterns(f, files[f], config_id) if p not in globbed]
            globbed.update(patterns)
            hits = await asyncio.gather(*(session.run(_glob_command(p), timeout=timeout, sudo=True) for p in patterns))
            new = list(dict.fromkeys(h for r in hits for h in r.stdout.splitlines() if h and h not in files))
            new = new[: MAX_FILES - len(files)]
            reads = await asyncio.gather(*(session.run(f"cat -- {_q(h)}", timeout=timeout, sudo=True) for h in new))
            todo = []
            for h, r in zip(new, reads):
                if r.ok:
                    files[h] = r.stdout
                    todo.append(h)
        conf = build(path, parse(path, TextSource(files), config_id=config_id))
        paths = list(dict.fromkeys(p for sc in conf.scripts.values() if (p := script_path(sc.script))))
        reads = await asyncio.gather(
            *(
                session.run(f"test -f {_q(p)} && head -c {MAX_SCRIPT_BYTES} -- {_q(p)}", timeout=timeout, sudo=True)
                for p in paths
            )
        )
        scripts: dict[str, str | None] = {p: (r.stdout if r.ok else None) for p, r in zip(paths, reads)}
        addresses = {str(a.ip) for addrs in interfaces.values() for a in addrs} | {str(node.host)}
        extra: list[Finding] = []
        if t_run is not None:
            r = await t_run
            if r.exit_status != 127:
                extra = keepalived_t_findings(name, path, r.exit_status, r.stdout + r.stderr)
        return NodeConfig(name, conf, scripts, interfaces, addresses, remote=True), extra
    except (TimeoutError, SshError, OSError) as exc:
        if t_run is not None:
            t_run.cancel()
        return None, [finding("error", name, None, None, "node-unreachable", f"{name}: {exc}")]


async def cluster_configs(
    cluster: Cluster, *, run_t: bool = True, timeout: float = 10.0
) -> tuple[list[NodeConfig], list[Finding], ClusterFacts]:
    """Every keepalived node's config, read in parallel."""
    from hatui.cluster import Role
    from hatui.ssh.pool import SessionPool

    nodes = cluster.nodes_with_role(Role.KEEPALIVED)
    facts = ClusterFacts(
        node_addresses={n.name: {str(n.host)} for n in cluster.nodes.values()},
        vips=[(str(v.address), v.instance) for v in cluster.vips if v.instance],
    )
    async with SessionPool(nodes, cluster_file=cluster.source) as pool:
        results = await asyncio.gather(*(remote_config(pool[n.name], n, run_t=run_t, timeout=timeout) for n in nodes))
    configs = [nc for nc, _ in results if nc is not None]
    extra = [f for _, fs in results for f in fs]
    return configs, extra, facts


def node_and_path(arg: str) -> tuple[str, str]:
    """`db1=/path/keepalived.conf` -> (db1, path); a bare path names its node by the file."""
    name, eq, path = arg.partition("=")
    if eq and name and "/" not in name:
        return name, path
    return Path(arg).stem if Path(arg).name != "keepalived.conf" else (Path(arg).parent.name or arg), arg
