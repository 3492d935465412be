"""A budget of audit rows per source: a flood (forged acks, a token trying to rate in a loop)
is a few rows a minute, not a flood of rows, and every attempt is still counted."""

from __future__ import annotations

import collections
import time
from typing import Callable


class Budget:
    def __init__(self, n: int, per_s: float, clock: Callable[[], float] = time.monotonic):
        self.n, self.per_s, self.clock = n, per_s, clock
        self._spent: dict[str, collections.deque[float]] = {}  # source -> rows written at
        self._held: dict[str, int] = {}  # source -> attempts since its last row

    def take(self, source: str) -> int | None:
        """None: over budget (counted, write no row). Else write the row, which says how many
        attempts went unwritten before it."""
        now = self.clock()
        spent = self._spent.setdefault(source, collections.deque())
        while spent and now - spent[0] >= self.per_s:
            spent.popleft()
        if len(spent) >= self.n:
            self._held[source] = self._held.get(source, 0) + 1
            return None
        spent.append(now)
        return self._held.pop(source, 0)
