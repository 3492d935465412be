"""The queue's state: what the journal's events add up to. Plain data, compared whole in tests
(a state rebuilt from the journal must equal the live one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kioskd.engine.lines import Lines
from kioskd.engine.rules import Category, HallRules, QueuePolicy, RatingRules, Window

SERVICE_SAMPLES = 20  # recent services per category behind the wait estimate
# a citizen still in the hall's hands: a config change or a clock leap must not strand them
OPEN_STATUSES = frozenset({"waiting", "called", "serving", "held", "skipped"})


@dataclass
class Ticket:
    number: str
    category: str
    order: int  # place in line: issue order, kept through a transfer when the policy says so
    issued_at: datetime
    kiosk: str | None
    lane: str | None
    status: str = "waiting"  # waiting called serving held skipped finished void
    window: int | None = None  # where it is called, served or held
    directed: int | None = None  # transferred to this window: only it (or its backup) calls it
    recalls: int = 0
    skips: int = 0
    requeue_at: int = 0  # a skipped ticket is back in line when its category has this many calls
    appointment: str | None = None
    called_at: datetime | None = None  # first call: the end of the citizen's wait
    last_called_at: datetime | None = None  # the latest call or recall: the hall board's order
    started_at: datetime | None = None
    finished_at: datetime | None = None
    served_by: int | None = None
    holder: str | None = None  # keyed token of the card holder's ID number, when a card was read
    case_no: str | None = None  # 办件编号, when the window's business system gave one


@dataclass
class WindowState:
    rule: Window
    state: str = "open"  # open paused closed
    clerk: str | None = None
    staff_no: str = ""  # the signed-in clerk's 工号
    current: str | None = None  # ticket called or being served here
    awaiting_rating: str | None = None  # finished here, not rated yet
    rating_since: datetime | None = None  # when the pad was asked for that rating
    streak: int = 0  # priority calls in a row, for the anti-starvation rule
    skipped: int = 0

    @property
    def number(self) -> int:
        return self.rule.number

    @property
    def categories(self) -> tuple[str, ...]:
        return self.rule.categories


@dataclass
class Appointment:
    code: str
    category: str
    start: datetime
    end: datetime
    holder: str | None  # keyed token of the ID number, never the number
    status: str = "booked"  # booked checked_in missed
    ticket: str | None = None


@dataclass(frozen=True)
class Rating:
    window: int
    level: int
    clerk: str | None  # who was signed in at the window when the service finished


@dataclass
class HallState:
    policy: QueuePolicy
    categories: dict[str, Category]
    day: str
    windows: dict[int, WindowState]
    counters: dict[str, int] = field(default_factory=dict)  # numbers issued per category
    calls: dict[str, int] = field(default_factory=dict)  # calls per category (skip requeue)
    next_order: int = 0
    tickets: dict[str, Ticket] = field(default_factory=dict)
    ratings: dict[str, Rating] = field(default_factory=dict)  # by ticket: one service, one rating
    per_person: dict[tuple[str, str], int] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    appointments_version: str = ""
    alerted: set[str] = field(default_factory=set)
    service_s: dict[str, list[float]] = field(default_factory=dict)  # recent, per category
    rating: RatingRules = RatingRules()
    guide_desks: frozenset[str] = frozenset()  # the kiosks where staff may give a priority lane
    # today's skipped tickets by number, and the waiting in calling order line by line
    # (kioskd/engine/lines.py), both kept by evolve (`track`): every call, board view and kiosk
    # answer asks who waits, each call who comes back from a skip, and scanning the day's
    # tickets for it made each of a busy hall's calls cost O(tickets issued today)
    # (bench/calls.py, bench/day.py)
    _skipped: dict[str, Ticket] = field(default_factory=dict, init=False, repr=False,
                                        compare=False)
    lines: Lines = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.lines = Lines(self.policy.lanes)

    def waiting(self, categories: tuple[str, ...] | None = None) -> list[Ticket]:
        """Today's waiting tickets, in no particular order (every caller sorts or counts)."""
        if categories is None:
            return self.lines.waiting()
        return [t for t in self.lines.waiting() if t.category in categories]

    def waiting_count(self, category: str) -> int:
        """How many of the category wait: its line's length, and those sent to a window."""
        line = self.lines.of.get(category)
        return (len(line.calling) if line else 0) + sum(
            1 for sent in self.lines.directed.values() for t in sent.values()
            if t.category == category)

    def skipped(self) -> list[Ticket]:
        """Today's skipped tickets (not void), in no particular order."""
        return list(self._skipped.values())

    def track(self, number: str | None) -> None:
        """After an event of ticket `number`: into its line if it waits, into the skipped if
        skipped, out of wherever it was."""
        if not number:
            return
        t = self.tickets.get(number)
        self.lines.place(number, t)
        if t is not None and t.status == "skipped":
            self._skipped[number] = t
        else:
            self._skipped.pop(number, None)

    def open_tickets(self) -> list[Ticket]:
        """Citizens still in the hall's hands (OPEN_STATUSES), in issue order."""
        return [t for t in self.tickets.values() if t.status in OPEN_STATUSES]

    def new_day(self, day: str) -> None:
        """Local midnight: numbers start again; yesterday's tickets are gone; windows reset.
        Appointments stay: they are loaded ahead for days to come."""
        fresh = HallState(self.policy, self.categories, day,
                          {n: WindowState(w.rule) for n, w in self.windows.items()},
                          appointments=self.appointments,
                          appointments_version=self.appointments_version, rating=self.rating,
                          guide_desks=self.guide_desks)
        self.__dict__.update(fresh.__dict__)


def initial_state(cfg: HallRules, day: str) -> HallState:
    return HallState(cfg.queue, {c.code: c for c in cfg.categories}, day,
                     {w.number: WindowState(w) for w in cfg.windows}, rating=cfg.rating,
                     guide_desks=frozenset(k.id for k in cfg.kiosks if k.guide))
