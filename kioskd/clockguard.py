"""The hall's time, guarded against a wall clock that jumps. Pure: the caller gives the wall
clock and a monotonic reading.

A ticket number is unique within a day, and the day is the date of the hall's time, so the
hall's time must never go back and must not leap on a clock that is wrong. The monotonic clock
cannot jump; the wall clock can (a box that boots 30 days behind and then gets NTP, an RTC
battery gone, a hand-set date). So the hall reckons its own time from the last wall reading it
trusted plus the monotonic seconds since, and compares:

- the wall clock goes back: the hall's time holds at the last time it gave (a step of minutes
  under NTP); beyond `bound`, the clock is suspect and the hall goes on by its own reckoning;
- the wall clock leaps forward by more than `bound` while tickets are open: suspect, the hall
  goes on by its own reckoning (no new day, no citizens dropped) until a technician confirms
  the clock or it agrees again; with no ticket open a leap is taken (nobody is stranded);
- at start the reckoning begins at the journal's last time: a clock behind the journal is
  behind, whatever it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable


@dataclass(frozen=True)
class Suspect:
    """Why the wall clock is not believed: what it says, what the hall reckons instead."""
    direction: str  # "forward" | "back"
    wall: datetime
    reckoned: datetime

    @property
    def skew_s(self) -> int:
        return int((self.wall - self.reckoned).total_seconds())

    def as_dict(self) -> dict[str, object]:
        """As `clock.suspect` carries it and /api/health shows it (RFC 3339, with offset)."""
        return {"direction": self.direction, "wall": self.wall.isoformat(timespec="seconds"),
                "hall_time": self.reckoned.isoformat(timespec="seconds"), "skew_s": self.skew_s}


class ClockGuard:
    def __init__(self, bound: timedelta, floor: datetime | None, wall: datetime, mono: float):
        self.bound = bound
        self.floor = floor or wall  # the hall's time never goes below the last time it gave
        self.suspect: Suspect | None = None
        self._ref = (max(wall, self.floor), mono)  # the last trusted wall reading
        self.read(wall, mono, tickets_open=lambda: False)  # far behind the journal: suspect

    def reckoned(self, mono: float) -> datetime:
        wall, at = self._ref
        return wall + timedelta(seconds=mono - at)

    def read(self, wall: datetime, mono: float, *, tickets_open: Callable[[], bool]) -> datetime:
        """The hall's time now. `suspect` changes when the judgement does; `tickets_open` is
        asked only when the clock leaps."""
        reckoned = self.reckoned(mono)
        skew = wall - reckoned
        if skew < -self.bound:
            self.suspect = Suspect("back", wall, reckoned)
        elif skew > self.bound and (self.suspect is not None or tickets_open()):
            self.suspect = Suspect("forward", wall, reckoned)
        else:
            self.suspect = None
        if self.suspect is None:
            self._ref = (wall, mono)
            return self._give(wall)
        return self._give(reckoned)

    def confirm(self, wall: datetime, mono: float) -> None:
        """A technician says the wall clock is right: believe it from now on. Days still only
        go forward: a clock confirmed behind the hall's day holds the day until it passes it."""
        self.suspect = None
        self._ref = (wall, mono)

    def _give(self, t: datetime) -> datetime:
        self.floor = max(self.floor, t)
        return self.floor
