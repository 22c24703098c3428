"""What a runbook is made of: checks, the actions a step sends, steps, and the events a run emits."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hatui.cluster import Cluster, Role
from hatui.errors import HatuiError


def mysql_node(cluster: Cluster, name: str) -> str:
    """A node the DBA named for a runbook: in the cluster, with the mysql role (ValueError, said
    by the CLI as a usage error, otherwise)."""
    if name not in cluster.nodes:
        raise ValueError(f"no node {name!r} in cluster {cluster.name} (nodes: {', '.join(cluster.nodes)})")
    if not cluster.nodes[name].has_role(Role.MYSQL):
        raise ValueError(f"{name} has no mysql role in cluster {cluster.name}")
    return name


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"  # shown, does not block
    FAIL = "fail"  # blocks the runbook


@dataclass(frozen=True)
class Check:
    name: str  # what is checked, in words
    verdict: Verdict
    reason: str  # what was found
    fix: str = ""  # what the DBA can do about a failure

    @property
    def failed(self) -> bool:
        return self.verdict == Verdict.FAIL


@dataclass(frozen=True)
class Action:
    """One command or statement a step sends, exactly as shown (secrets masked)."""

    node: str
    kind: str  # "sql" | "ssh"
    text: str

    def __str__(self) -> str:
        return f"{self.node} {self.kind}: {self.text}"


class StepFailed(HatuiError):
    """A step did not reach what it must (its verification failed or it timed out)."""


StepFn = Callable[["Any"], Awaitable[str]]  # gets the RunContext, returns a line for the report


@dataclass
class Step:
    key: str
    title: str  # what it does, in words
    plan: list[Action]  # what it will send; values learned at run time appear as <placeholders>
    run: StepFn  # does it and verifies it; raises StepFailed (or any error) when it cannot
    timeout: float
    undo_title: str = ""  # how it is undone, in words ("" = nothing to undo)
    undo: StepFn | None = None
    commits: bool = False  # once this step started, failures are no longer undone automatically
    ops: list[Any] = field(default_factory=list)  # hatui.runbook.ops.Op: the plan is theirs

    def actions(self) -> list[Action]:
        """What it sends, from its operations when it has them: read after a run, each value the
        run learned is in place of its <placeholder>, so this is exactly what was sent."""
        if self.ops:
            return [a for op in self.ops for a in op.actions()]
        return self.plan


@dataclass(frozen=True)
class Event:
    """Everything a run reports, in order: the console and the CLI render these."""

    kind: str  # check, refused, plan, step_start, action, action_done, step_done, step_failed,
    #            undo_start, undo_done, undo_failed, done, rolled_back, failed, aborted
    text: str
    step: str = ""
    node: str = ""
    ok: bool = True
    at: float = field(default_factory=time.time)
    data: dict[str, Any] = field(default_factory=dict)


class Outcome(StrEnum):
    DONE = "done"
    REFUSED = "refused"  # preflight failed or the DBA said no: nothing was changed
    ROLLED_BACK = "rolled_back"  # a step failed before the commit point; everything undone
    FAILED = "failed"  # a step failed after the commit point, or an undo failed: needs the DBA
    DRY_RUN = "dry_run"
