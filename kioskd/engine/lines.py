"""Who waits, line by line, in calling order: kept beside the tickets by HallState.track, so
that call-next reads the head of each line a window serves instead of ranking everyone
waiting (bench/calls.py: with 1,000 waiting, ranking them was half of a 100-call burst).
Derived state, never journaled; the state machine (tests/unit/test_engine_props.py) checks it
against a scan of the day's tickets. Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sortedcontainers import SortedList

if TYPE_CHECKING:
    from kioskd.engine.state import Ticket


class Line:
    """One category's waiting tickets that were not sent to a window."""

    __slots__ = ("calling", "normal", "oldest")

    def __init__(self) -> None:
        self.calling: SortedList = SortedList()  # (lane rank, order, number)
        self.normal: SortedList = SortedList()  # (order, number) of those in no lane
        self.oldest: SortedList = SortedList()  # (issued_at, number) of those in no lane

    def first(self) -> tuple[int, int, str]:
        return self.calling[0]

    def first_normal(self) -> tuple[int, str] | None:
        return self.normal[0] if self.normal else None

    def oldest_normal(self) -> datetime:
        """When the longest-waiting ticket in no lane was issued (there is one: first_normal)."""
        return self.oldest[0][0]


class Lines:
    """Every category's line, and the tickets sent to each window (a transfer's few)."""

    def __init__(self, lanes: tuple[str, ...]) -> None:
        self.lanes = lanes
        self._rank = {lane: i for i, lane in reversed(list(enumerate(lanes)))}
        self.of: dict[str, Line] = {}  # category -> its line, while anyone is in it
        self.directed: dict[int, dict[str, Ticket]] = {}  # window -> number -> ticket
        # every waiting ticket: number -> (the ticket, where it is, to take it out)
        self._placed: dict[str, tuple[Ticket, tuple[Any, ...]]] = {}

    def waiting(self) -> list[Ticket]:
        """Everyone in a line or sent to a window: today's waiting tickets."""
        return [t for t, _ in self._placed.values()]

    def rank(self, lane: str | None) -> int:
        """The lane's place in the hall's order; after them all (a normal ticket) if unlisted."""
        return self._rank.get(lane, len(self.lanes))  # type: ignore[arg-type]

    def place(self, number: str, t: Ticket | None) -> None:
        """After an event of ticket `number`: out of where it was, into its line if waiting."""
        was = self._placed.pop(number, None)
        if was is not None:
            self._take_out(number, was[1])
        if t is None or t.status != "waiting":
            return
        if t.directed is not None:
            self.directed.setdefault(t.directed, {})[number] = t
            self._placed[number] = (t, ("directed", t.directed))
            return
        line = self.of.get(t.category) or self.of.setdefault(t.category, Line())
        keys = ((self.rank(t.lane), t.order, number),
                (t.order, number) if t.lane is None else None,
                (t.issued_at, number) if t.lane is None else None)
        line.calling.add(keys[0])
        if t.lane is None:
            line.normal.add(keys[1])
            line.oldest.add(keys[2])
        self._placed[number] = (t, ("line", t.category, *keys))

    def _take_out(self, number: str, was: tuple[Any, ...]) -> None:
        if was[0] == "directed":
            sent = self.directed[was[1]]
            del sent[number]
            if not sent:
                del self.directed[was[1]]
            return
        _, category, calling, normal, oldest = was
        line = self.of[category]
        line.calling.remove(calling)
        if normal is not None:
            line.normal.remove(normal)
            line.oldest.remove(oldest)
        if not line.calling:
            del self.of[category]
