"""Replaying a recovered binlog script on a node: through the node's own client over SSH (one
stream), or, where it has none, in batches through a session of hatui's own."""

from __future__ import annotations

import shlex

from hatui.binlog.dump import replay_rounds
from hatui.cluster import Cluster
from hatui.runbook.access import NodeSql
from hatui.runbook.model import StepFailed
from hatui.runbook.runner import RunContext
from hatui.ssh.errors import SshError

BATCH_TRANSACTIONS = 200  # transactions per hop to the session's thread (announced as one batch)


async def local_client(ctx: RunContext, node: str, mariadb: bool) -> str | None:
    """The node's own command-line client for its server (None: not installed, or SSH failed):
    replaying through it is the by-hand pipe's speed, one stream instead of a round trip per
    statement through the port forward."""
    first, second = ("mariadb", "mysql") if mariadb else ("mysql", "mariadb")
    try:
        out = await ctx.access.ssh(node, f"command -v {first} || command -v {second}", read=True, timeout=5)
    except SshError:
        return None
    path = out.strip().splitlines()[0] if out.strip() else ""
    return path if path.startswith("/") and " " not in path else None


def local_replay_command(client: str, host: str, port: int) -> str:
    """The replay on the node: the option file (the admin account, password included) arrives
    first on stdin and goes to a 0600 file that is removed when the command ends; the rest of
    stdin is the script, fed to the node's client. The password is never on a command line."""
    return (
        "umask 077; f=$(mktemp) || exit 1; trap 'rm -f \"$f\"' EXIT HUP INT TERM PIPE; "
        "n=$(dd bs=1 count=5 2>/dev/null); "  # the option file's length, five digits
        'dd of="$f" bs=1 count="$n" 2>/dev/null; '
        f'{shlex.quote(client)} --defaults-extra-file="$f" -h {shlex.quote(host)} -P {int(port)} --binary-mode --batch'
    )


def replay_shown(cluster: Cluster, node: str, client: str, script: str, sha256: str, what: str) -> str:
    """The replay as the plan shows it and the audit records it (stdin described, not shown)."""
    n = cluster.nodes[node]
    return (
        f"{local_replay_command(client, n.host, n.mysql.port)} < stdin: the admin account's [client] option "
        f"file (0600 on the node, removed after), then {script} (sha256 {sha256[:12]}…): replay {what}"
    )


def _option_file(user: str, password: str) -> bytes:
    def q(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return f"[client]\nuser={q(user)}\npassword={q(password)}\n".encode()


async def replay_local(
    ctx: RunContext, cluster: Cluster, node: str, client: str, script: bytes, name: str, sha256: str, what: str
) -> bool:
    """Replay `script` on `node` through its own client (see local_replay_command)."""
    from hatui.cluster.secrets import resolve_password

    account = cluster.nodes[node].mysql.admin
    if account is None:
        raise StepFailed(f"{node}: no mysql.admin account in the cluster file")
    password = resolve_password(account)
    ctx.access.secrets = (*ctx.access.secrets, password)
    opts = _option_file(account.user, password)
    if len(opts) > 99999:
        raise StepFailed("the option file would be too long")
    n = cluster.nodes[node]
    try:
        await ctx.access.ssh(
            node,
            local_replay_command(client, n.host, n.mysql.port),
            timeout=3600,
            input=f"{len(opts):05d}".encode() + opts + script,
            show=replay_shown(cluster, node, client, name, sha256, what),
        )
    except SshError as exc:
        raise StepFailed(f"the replay on {node} stopped: {ctx.access.describe(exc)}") from exc
    return True


def starts_transaction(stmt: str, mariadb: bool) -> bool:
    """The statement that gives a replayed transaction its GTID: exactly one per transaction
    (the domain and server_id settings before it also appear in a file's preamble)."""
    s = stmt.strip()
    if mariadb:
        return "@@session.gtid_seq_no=" in s
    u = s.upper().replace(" ", "")
    return "GTID_NEXT=" in u and "AUTOMATIC" not in u


async def replay_batched(session: NodeSql, data: bytes, labels: list[str], mariadb: bool, name: str) -> int:
    """Replay a script through `session` (closed at the end), BATCH_TRANSACTIONS transactions
    a hop, each batch announced with its first and last label (`labels`: one per transaction the
    script holds, in order). Returns how many transactions were sent."""
    done = 0
    try:
        batch: list[list[str]] = []
        in_batch: list[str] = []
        k = 0  # transactions seen so far

        async def send() -> None:
            nonlocal done
            if not batch:
                return
            label = (
                f"replay {in_batch[0]} … {in_batch[-1]}"
                if len(in_batch) > 1
                else f"replay {in_batch[0]}"
                if in_batch
                else "replay session settings"
            )
            await session.execute_batch(
                batch,
                show=f"{label} ({len(in_batch)} transaction(s), {len(batch)} round trip(s), from {name})",
                timeout=120,
            )
            done += len(in_batch)
            batch.clear()
            in_batch.clear()

        for stmts in replay_rounds(data.decode("utf-8", errors="surrogateescape")):
            starts = sum(starts_transaction(st, mariadb) for st in stmts)
            if starts and len(in_batch) >= BATCH_TRANSACTIONS:
                await send()
            for _ in range(starts):
                in_batch.append(labels[k] if k < len(labels) else f"#{k + 1}")
                k += 1
            batch.append(stmts)
        await send()
    finally:
        await session.close()
    return done
