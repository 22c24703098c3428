"""The one exit-code table of every `hatui` command (the README's "Exit codes"). Standard library
only: check-mysql uses it too. The numbers follow the Nagios convention `hatui status` needs
(cron and monitoring read them), and every command means the same by them:

- 0 OK: done; healthy; clean; a dry run that would run; check-mysql: healthy.
- 1 WARNING: status/lint warnings; refused before any write (nothing changed); check-mysql:
  unhealthy.
- 2 CRITICAL: status critical, lint errors; failed (a runbook rolled back what it did).
- 3 UNKNOWN: could not tell or could not start: a cluster file that does not load, a node that
  could not be read, a namespace that could not be entered; a runbook that failed after its
  point of no return (resume it).
- 64 USAGE: a bad command line. 130: interrupted. 141: the reader left (`... | head`).
"""

from __future__ import annotations

from enum import IntEnum

from hatui.errors import Conflict, HatuiError, InputError, Refused, Timeout, Unreachable

__all__ = ["Exit", "for_error"]


class Exit(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3
    USAGE = 64  # sysexits.h EX_USAGE
    INTERRUPTED = 130
    BROKEN_PIPE = 141


def for_error(exc: BaseException) -> Exit:
    """The exit code of a command that ended with `exc` (callers catch by type; this is the one
    place a type becomes a number)."""
    if isinstance(exc, KeyboardInterrupt):
        return Exit.INTERRUPTED
    if isinstance(exc, (Refused, Conflict)):
        return Exit.WARNING  # nothing was changed
    if isinstance(exc, (InputError, Unreachable, Timeout)):
        return Exit.UNKNOWN  # could not find out or could not start
    if isinstance(exc, HatuiError):
        return Exit.CRITICAL
    return Exit.CRITICAL
