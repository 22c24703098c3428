"""Fixtures every test folder may use."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest


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
