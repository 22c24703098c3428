"""Problems found in a cluster file, and the exception that carries them.

One line per problem, in the compiler style editors and terminals already link to:

    FILE:LINE:COL: error: <where>: <what was found>; expected <what>
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hatui.errors import InputError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning, located in the file (line/col are 1-based; None = whole file)."""

    file: str
    line: int | None
    col: int | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.severity}: {self.message}"
        return f"{self.file}:{self.line}:{self.col or 1}: {self.severity}: {self.message}"

    @property
    def sort_key(self) -> tuple[int, int, int, str]:
        # file-level problems first, then in reading order; errors before warnings on a tie
        return (self.line or 0, self.col or 0, self.severity != "error", self.message)


class ClusterFileError(InputError):
    """The cluster file cannot be used. `problems` holds every problem found (errors and warnings)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.sort_key)
        super().__init__(str(self))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
