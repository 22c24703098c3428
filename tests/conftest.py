"""Fixtures every test folder may use."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from hypothesis import HealthCheck, settings

# A loaded CI machine runs examples slower than hypothesis' 200 ms default deadline allows: the
# properties are about results, not speed (benchmarks live in bench/).
settings.register_profile("hatui", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("hatui")


class TookTooLong(AssertionError):
    pass


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def alarm(*_: object) -> None:
        raise TookTooLong(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def deadline() -> Callable[[int], AbstractContextManager[None]]:
    """`with deadline(5): ...` fails the test (instead of hanging CI) when the block runs past
    5 s: for inputs that used to take exponential or quadratic time. Main thread only."""
    return _deadline
