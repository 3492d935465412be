"""A hall's clock that a simulation moves on: the tests' fixed day, and the simulated day."""

from __future__ import annotations

import time
from datetime import datetime, timedelta


class SimClock:
    """Starts at `start` and goes on with the real seconds (timeouts and time limits still
    pass); moved on by `advance()` or set (`now =`) as time that truly passed, so its
    `monotonic()` moves too (the hall's clock guard reads both). `jump()` moves the wall clock
    alone, as a wrong clock does (the hall's clock guard must see it)."""

    def __init__(self, start: datetime):
        self._start = start
        self._t0 = time.monotonic()
        self._passed = 0.0  # seconds moved on by hand, as if they had passed

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0)

    def monotonic(self) -> float:
        return time.monotonic() + self._passed

    @property
    def now(self) -> datetime:
        return self()

    @now.setter
    def now(self, when: datetime) -> None:
        self._passed += (when - self()).total_seconds()
        self._start, self._t0 = when, time.monotonic()

    def advance(self, **delta: float) -> None:
        self.now = self() + timedelta(**delta)

    def jump(self, **delta: float) -> None:
        """The wall clock is set wrong: it moves, the monotonic clock does not."""
        self._start, self._t0 = self() + timedelta(**delta), time.monotonic()
