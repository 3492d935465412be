"""The 24-hour zone's rules, pure: who may come in, when, and what a door's sensors mean.

A card (ID card or social-security card, valid and not expired) read at one of the zone's
readers, within the zone's hours, from a holder not on central's deny list, grants one entry:
every door of the zone is pulsed open once, and the first opening of each within GRANT_S is
that entry's. A door that opens with no grant and no emergency is forced; a door open longer
than `held_open_s` is held open (said once per opening). A pass beam counts one in, an exit
sensor one out; the count never goes below nought.

Nothing here keeps card data: a holder is their keyed token and masked name only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

GRANT_S = 10.0  # a door pulsed open for a card must open within this long to be its entry
FAILS = ("secure", "safe")  # what the door does when its controller is lost
_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


@dataclass(frozen=True)
class ZoneRules:
    """A [[zone]] of devices.toml."""

    id: str
    name: str = ""
    hours: tuple[time, time] | None = None  # None: always open; (start, end) may wrap midnight
    held_open_s: int = 30
    fails: str = "secure"  # fail-secure: locked when lost; fail-safe: open to all when lost

    def open_at(self, t: datetime) -> bool:
        if self.hours is None:
            return True
        start, end = self.hours
        now = t.time().replace(tzinfo=None)
        if start <= end:
            return start <= now < end
        return now >= start or now < end  # overnight: 20:00-08:00


def parse_hours(text: str) -> tuple[time, time] | None:
    """"HH:MM-HH:MM", 24:00 allowed as an end, an end before the start wraps midnight;
    "00:00-24:00" is always open (None). ValueError says what is wrong."""
    m = _HOURS.fullmatch(text)
    if not m or (m[3] == "24" and m[4] != "00"):
        raise ValueError(f"expected HH:MM-HH:MM (e.g. 00:00-24:00 or 20:00-08:00), got {text!r}")
    start = time(int(m[1]), int(m[2]))
    if m[3] == "24" and start == time(0):
        return None
    end = time(0) if m[3] == "24" else time(int(m[3]), int(m[4]))
    if start == end:
        raise ValueError(f"{text!r} opens and closes at the same minute")
    return start, end


@dataclass(frozen=True)
class Holder:
    token: str  # the keyed token of the citizen ID number
    masked_name: str


@dataclass(frozen=True)
class Entry:
    """What a card at a zone reader comes to: granted (the doors to pulse) or refused (why)."""

    granted: bool
    code: str = ""  # why not: zone.closed, zone.denied, zone.door_lost, card.*, idcard.*
    doors: tuple[str, ...] = ()
    open_to_all: bool = False  # a fail-safe door that is lost: nothing to pulse, it is open


@dataclass
class Door:
    id: str
    open: bool | None = None  # None: not yet read
    lost: bool = False
    grant_until: float = 0.0  # monotonic: an opening before this is a grant's
    grant: Holder | None = None
    bidden_by: str = ""  # a grant with no card: the technician's test pulse
    emergency: bool = False
    open_since: float | None = None
    held_said: bool = False


@dataclass
class Zone:
    """One zone's state: its doors, deny list and count. Methods take the time and return the
    events ((type, data) pairs) the hall journals."""

    rules: ZoneRules
    doors: dict[str, Door] = field(default_factory=dict)
    denied: frozenset[str] = frozenset()
    occupancy: int = 0
    emergency_by: str | None = None

    def card(self, reader: str, holder: Holder | None, refusal: str | None, t: datetime,
             now: float) -> tuple[Entry, list[tuple[str, dict]]]:
        """A card read at one of the zone's readers."""
        r = self.rules
        code = (refusal or ("zone.closed" if not r.open_at(t) else "")
                or ("zone.denied" if holder and holder.token in self.denied else "")
                or ("zone.no_door" if not self.doors else ""))
        usable = [d for d in self.doors.values() if not d.lost]
        if not code and not usable and r.fails == "secure":
            code = "zone.door_lost"
        if code:
            return Entry(False, code), [("zone.refused", {
                "zone": r.id, "reader": reader, "code": code,
                "holder": holder.token if holder else None,
                "masked_name": holder.masked_name if holder else None})]
        assert holder is not None
        for d in usable:
            d.grant_until, d.grant = now + GRANT_S, holder
        return (Entry(True, doors=tuple(d.id for d in usable), open_to_all=not usable),
                [("zone.entry", {"zone": r.id, "reader": reader, "holder": holder.token,
                                 "masked_name": holder.masked_name,
                                 "doors": [d.id for d in usable],
                                 "open_to_all": not usable})])

    def sensed(self, door_id: str, states: dict[str, bool], is_open: bool | None, first: bool,
               now: float) -> list[tuple[str, dict]]:
        """A door's sensors changed (`is_open`: the door sensor read as open, when it
        changed)."""
        d = self.doors[door_id]
        out: list[tuple[str, dict]] = []
        if is_open is not None and is_open != d.open:
            was, d.open = d.open, is_open
            if is_open:
                d.open_since, d.held_said = now, False
                if first and was is None:
                    pass  # open as found at connect: not an opening we saw
                elif now <= d.grant_until:
                    out.append(("gate.opened", {
                        "zone": self.rules.id, "door": door_id,
                        "by": "card" if d.grant else d.bidden_by,
                        "holder": d.grant.token if d.grant else None}))
                    d.grant_until, d.grant, d.bidden_by = 0.0, None, ""
                elif d.emergency:
                    out.append(("gate.opened", {"zone": self.rules.id, "door": door_id,
                                                "by": "emergency", "holder": None}))
                else:
                    out.append(("gate.forced", {"zone": self.rules.id, "door": door_id}))
            else:
                if was is not None and d.open_since is not None:
                    out.append(("gate.closed", {"zone": self.rules.id, "door": door_id,
                                                "open_s": round(now - d.open_since, 1)}))
                d.open_since = None
        if not first and states.get("pass"):
            self.occupancy += 1
            out.append(("gate.passed", {"zone": self.rules.id, "door": door_id,
                                        "way": "in", "occupancy": self.occupancy}))
        if not first and states.get("exit"):
            self.occupancy = max(0, self.occupancy - 1)
            out.append(("gate.passed", {"zone": self.rules.id, "door": door_id,
                                        "way": "out", "occupancy": self.occupancy}))
        return out

    def bid(self, door_id: str, by: str, now: float) -> None:
        """The door is pulsed by someone who is no card (a technician's test): its opening is
        theirs, not forced."""
        d = self.doors[door_id]
        d.grant_until, d.grant, d.bidden_by = now + GRANT_S, None, by

    def tick(self, now: float) -> list[tuple[str, dict]]:
        """Doors open too long: `gate.held_open`, once per opening (not in an emergency,
        when doors stand open on purpose)."""
        out = []
        for d in self.doors.values():
            if (d.open and d.open_since is not None and not d.held_said and not d.emergency
                    and now - d.open_since > self.rules.held_open_s):
                d.held_said = True
                out.append(("gate.held_open", {"zone": self.rules.id, "door": d.id,
                                               "open_s": round(now - d.open_since, 1)}))
        return out

    def lost(self, door_id: str, lost: bool, detail: str) -> list[tuple[str, dict]]:
        d = self.doors[door_id]
        if lost == d.lost:
            return []
        d.lost = lost
        if lost:
            d.open = None  # unknown until it answers again
        return [("gate.fault", {"zone": self.rules.id, "door": door_id, "fault": lost,
                                "detail": detail, "fails": self.rules.fails})]

    def emergency(self, on: bool, by: str, why: str) -> list[tuple[str, dict]]:
        """Every door held open (or back to normal), by a technician or central; audited."""
        self.emergency_by = by if on else None
        for d in self.doors.values():
            d.emergency = on
        return [("zone.emergency", {"zone": self.rules.id, "open": on, "by": by, "why": why,
                                    "doors": list(self.doors)})]

    def view(self) -> dict:
        return {"id": self.rules.id, "name": self.rules.name,
                "occupancy": self.occupancy, "emergency": self.emergency_by is not None,
                "doors": [{"id": d.id, "open": d.open, "lost": d.lost}
                          for d in self.doors.values()]}
