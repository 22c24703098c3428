"""hatui's one error root. Callers catch by kind, and the CLI maps kinds to exit codes in one
place (hatui.exitcodes). Standard library only: check-mysql imports it too."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "HatuiError",
    "InputError",
    "Refused",
    "Timeout",
    "Unreachable",
]


class HatuiError(Exception):
    """Anything hatui reports as a failure with a message meant for the operator."""


class InputError(HatuiError):
    """A file, option or value the operator gave is wrong (names the file and line when it can)."""


class Refused(HatuiError):
    """hatui will not do it: it cannot prove it safe, or the mode forbids it (watch mode)."""


class Timeout(HatuiError):
    """Something did not happen within its deadline."""


class Unreachable(HatuiError):
    """A node, or a service on it, could not be reached."""


class Conflict(HatuiError):
    """The cluster is not in the state an operation needs (data differs, someone else holds it)."""
