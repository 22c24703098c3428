"""Exponential backoff with full jitter, for reconnecting to a node."""

from __future__ import annotations

import random


class Backoff:
    """After the n-th consecutive failure (n = 1, 2, ...) wait a random time in
    [0, min(maximum, initial * 2**(n-1))] ("full jitter": many consoles reconnecting to a node
    that comes back do not all knock at once). `success()` starts over.

        b = Backoff(0.5, 15.0, random.Random(1))
        b.failure()   # a delay in [0, 0.5]
        b.failure()   # a delay in [0, 1.0] ... capped at 15
    """

    def __init__(self, initial: float = 0.5, maximum: float = 15.0, rng: random.Random | None = None):
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.rng = rng if rng is not None else random.Random()
        self.failures = 0

    @property
    def ceiling(self) -> float:
        """The longest delay the next failure can draw."""
        return min(self.maximum, self.initial * 2 ** min(self.failures, 62))

    def failure(self) -> float:
        """Record a failed attempt; return how long to wait before the next one."""
        delay = self.rng.uniform(0.0, self.ceiling)
        self.failures += 1
        return delay

    def success(self) -> None:
        self.failures = 0
