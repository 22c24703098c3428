"""`hatui lint`: run the checks and print the findings (text for people, JSON for scripts)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from hatui.lint.findings import Finding, exit_code, sort_key
from hatui.lint.rules import NodeConfig, lint

if TYPE_CHECKING:
    from hatui.cluster import Cluster


def lint_local(args: list[str], *, root: str | None = None, config_id: str | None = None) -> list[Finding]:
    from hatui.lint.collect import local_config, node_and_path

    configs: list[NodeConfig] = []
    for arg in args:
        node, path = node_and_path(arg)
        configs.append(local_config(path, node, root=root, config_id=config_id))
    return sorted(lint(configs), key=sort_key)


async def lint_cluster(cluster: Cluster, *, run_t: bool = True) -> list[Finding]:
    from hatui.lint.collect import cluster_configs

    configs, extra, facts = await cluster_configs(cluster, run_t=run_t)
    return sorted(extra + lint(configs, facts), key=sort_key)


def render_text(findings: list[Finding], checked: str) -> str:
    if not findings:
        return f"{checked}: no findings"
    lines = []
    for f in findings:
        lines.append(f"{f.severity.upper():7} {f.where}  [{f.code}]")
        lines.append(f"        {f.message}")
        if f.why:
            lines.append(f"        why: {f.why}")
        if f.fix:
            lines.append(f"        fix: {f.fix}")
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    lines.append(f"{checked}: " + ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n))
    return "\n".join(lines)


def render_json(findings: list[Finding]) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2, ensure_ascii=False)


def report(findings: list[Finding], *, as_json: bool, checked: str) -> int:
    print(render_json(findings) if as_json else render_text(findings, checked))
    return exit_code(findings)
