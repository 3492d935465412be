"""The queue engine: pure. Time comes in as an argument; nothing here reads a clock or does I/O.

Two halves, so that the journal can come first:
- `decide(state, command, now)` checks a command against the state and returns the events it
  causes (or raises Refused); it never changes the state.
- `evolve(state, type, data)` folds one event into the state. Replaying the journal through
  `evolve` rebuilds the state after a restart, so the journal is the engine's only persistence.
`effects_of(event)` says what the devices must do about an event (print, show, prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kioskd.config import Config
from kioskd.errors import Refused
from kioskd.privacy import Holder

LANE_ORDER = ("appointment", "elderly", "disabled")  # which priority lane is served first
RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


# --- commands --------------------------------------------------------------------------------
@dataclass(frozen=True)
class IssueTicket:
    category: str
    kiosk: str | None = None
    holder: Holder | None = None
    lane: str | None = None  # asked for explicitly (guide desk); a card may add "elderly"


@dataclass(frozen=True)
class WindowAction:
    window: int
    action: str  # call-next | recall | start | finish | pause | resume


@dataclass(frozen=True)
class GiveRating:
    window: int
    ticket: str
    level: int
    device: str  # the pad that sent it; the app layer only passes pads bound to `window`
    reasons: tuple[str, ...] = ()


Command = IssueTicket | WindowAction | GiveRating
WINDOW_ACTIONS = ("call-next", "recall", "start", "finish", "pause", "resume")


# --- state -----------------------------------------------------------------------------------
@dataclass
class Ticket:
    number: str
    category: str
    seq_in_day: int
    kiosk: str | None
    lane: str | None
    status: str = "waiting"  # waiting, called, serving, finished
    window: int | None = None
    recalls: int = 0


@dataclass
class WindowState:
    number: int
    categories: tuple[str, ...]
    state: str = "open"  # open, paused
    current: str | None = None  # ticket called or being served here
    awaiting_rating: str | None = None  # finished here, not rated yet


@dataclass
class HallState:
    day: str
    names: dict[str, str]
    hours: dict[str, tuple[str, str] | None]
    quotas: dict[str, int | None]
    windows: dict[int, WindowState]
    counters: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    rated: set[str] = field(default_factory=set)

    def waiting(self, categories: tuple[str, ...] | None = None) -> list[Ticket]:
        return [t for t in self.tickets.values()
                if t.status == "waiting" and (categories is None or t.category in categories)]

    def snapshot(self) -> dict[str, Any]:
        """The queue as the API shows it: counts and numbers, no personal data."""
        return {
            "day": self.day,
            "categories": [{"code": c, "name": n, "waiting": len(self.waiting((c,))),
                            "issued": self.counters.get(c, 0)} for c, n in self.names.items()],
            "windows": [{"number": w.number, "state": w.state, "current": w.current,
                         "categories": list(w.categories), "awaiting_rating": w.awaiting_rating}
                        for w in self.windows.values()],
            "waiting": [{"ticket": t.number, "category": t.category, "lane": t.lane}
                        for t in _call_order(self.waiting())],
        }


def initial_state(cfg: Config, day: str) -> HallState:
    return HallState(
        day=day,
        names={c.code: c.name for c in cfg.categories},
        hours={c.code: c.hours for c in cfg.categories},
        quotas={c.code: c.daily_quota for c in cfg.categories},
        windows={w.number: WindowState(w.number, w.categories) for w in cfg.windows},
    )


def _call_order(tickets: list[Ticket], preference: tuple[str, ...] = ()) -> list[Ticket]:
    """Priority lanes first, then the window's order of categories, then issue order."""
    def key(t: Ticket):
        lane = LANE_ORDER.index(t.lane) if t.lane in LANE_ORDER else len(LANE_ORDER)
        pref = preference.index(t.category) if t.category in preference else 0
        return (lane, pref, t.seq_in_day)
    return sorted(tickets, key=key)


# --- decide ----------------------------------------------------------------------------------
Event = tuple[str, dict[str, Any]]


def decide(state: HallState, cmd: Command, now: datetime) -> list[Event]:
    if isinstance(cmd, IssueTicket):
        return _issue(state, cmd, now)
    if isinstance(cmd, WindowAction):
        return _window(state, cmd)
    if isinstance(cmd, GiveRating):
        return _rate(state, cmd)
    raise TypeError(f"not a command: {cmd!r}")


def _issue(state: HallState, cmd: IssueTicket, now: datetime) -> list[Event]:
    if cmd.category not in state.names:
        raise Refused("category.unknown", f"no category {cmd.category!r}")
    day = now.date().isoformat()
    counters = state.counters if day == state.day else {}
    hours = state.hours[cmd.category]
    if hours and not hours[0] <= now.strftime("%H:%M") < hours[1]:
        raise Refused("category.closed", f"category {cmd.category} issues tickets {hours[0]}-{hours[1]}")
    n = counters.get(cmd.category, 0) + 1
    quota = state.quotas[cmd.category]
    if quota is not None and n > quota:
        raise Refused("category.quota", f"category {cmd.category} has issued its {quota} tickets today")
    lane = cmd.lane or (cmd.holder.lane if cmd.holder else None)
    waiting = state.waiting((cmd.category,)) if day == state.day else []
    ahead = sum(1 for t in waiting if _ahead_of(t, lane))
    data = {
        "ticket": f"{cmd.category}{n:03d}",
        "category": cmd.category,
        "category_name": state.names[cmd.category],
        "day": day,
        "kiosk": cmd.kiosk,
        "lane": lane,
        "ahead": ahead,
        "holder": cmd.holder.token if cmd.holder else None,
    }
    return [("ticket.issued", data)]


def _ahead_of(t: Ticket, lane: str | None) -> bool:
    """Would `t` be called before a new ticket in `lane`?"""
    rank = lambda x: LANE_ORDER.index(x) if x in LANE_ORDER else len(LANE_ORDER)  # noqa: E731
    return rank(t.lane) <= rank(lane)


def _window(state: HallState, cmd: WindowAction) -> list[Event]:
    w = state.windows.get(cmd.window)
    if w is None:
        raise Refused("window.unknown", f"no window {cmd.window}")
    a = cmd.action
    base = {"window": w.number}
    if a == "call-next":
        if w.state != "open":
            raise Refused("window.paused", f"window {w.number} is paused")
        if w.current and state.tickets[w.current].status != "finished":
            raise Refused("window.busy", f"window {w.number} still has {w.current}: finish it first")
        candidates = _call_order(state.waiting(w.categories), w.categories)
        if not candidates:
            raise Refused("queue.empty", f"nobody is waiting for window {w.number}")
        t = candidates[0]
        return [("ticket.called", {**base, "ticket": t.number, "category": t.category,
                                   "lane": t.lane})]
    if a in ("recall", "start", "finish") and not w.current:
        raise Refused("window.idle", f"window {w.number} has no current ticket")
    if a == "recall":
        t = state.tickets[w.current]
        if t.status != "called":
            raise Refused("ticket.serving", f"{t.number} is already being served")
        return [("ticket.recalled", {**base, "ticket": t.number, "count": t.recalls + 1})]
    if a == "start":
        t = state.tickets[w.current]
        if t.status != "called":
            raise Refused("ticket.serving", f"{t.number} is already being served")
        return [("service.started", {**base, "ticket": t.number})]
    if a == "finish":
        t = state.tickets[w.current]
        events: list[Event] = []
        if t.status == "called":  # a clerk may finish without pressing start first
            events.append(("service.started", {**base, "ticket": t.number}))
        events.append(("service.finished", {**base, "ticket": t.number, "category": t.category}))
        events.append(("rating.requested", {**base, "ticket": t.number}))
        return events
    if a in ("pause", "resume"):
        target = "paused" if a == "pause" else "open"
        if w.state == target:
            return []
        return [("window.state", {**base, "state": target})]
    raise Refused("window.action_unknown",
                  f"unknown action {a!r} (this version knows {', '.join(WINDOW_ACTIONS)})")


def _rate(state: HallState, cmd: GiveRating) -> list[Event]:
    w = state.windows.get(cmd.window)
    if w is None:
        raise Refused("window.unknown", f"no window {cmd.window}")
    if cmd.level not in RATING_LEVELS:
        raise Refused("rating.level", f"rating level must be 1-5, got {cmd.level}")
    if cmd.ticket in state.rated:
        raise Refused("rating.duplicate", f"{cmd.ticket} was rated already: one service, one rating")
    if w.awaiting_rating != cmd.ticket:
        raise Refused("rating.not_awaited", f"window {w.number} awaits no rating for {cmd.ticket}")
    if cmd.level <= 2 and not cmd.reasons:
        raise Refused("rating.reason_required", "a bad rating (1 or 2) needs at least one reason")
    return [("rating.given", {"window": w.number, "ticket": cmd.ticket, "level": cmd.level,
                              "reasons": list(cmd.reasons), "device": cmd.device})]


# --- evolve ----------------------------------------------------------------------------------
def evolve(state: HallState, type_: str, data: dict[str, Any]) -> None:
    if type_ == "ticket.issued":
        if data["day"] != state.day:  # local midnight passed: a new day, numbers start again
            state.day, state.counters, state.tickets, state.rated = data["day"], {}, {}, set()
            for w in state.windows.values():
                w.current = w.awaiting_rating = None
        cat = data["category"]
        state.counters[cat] = state.counters.get(cat, 0) + 1
        state.tickets[data["ticket"]] = Ticket(data["ticket"], cat, len(state.tickets),
                                               data.get("kiosk"), data.get("lane"))
        return
    if type_ == "window.state":
        state.windows[data["window"]].state = data["state"]
        return
    w = state.windows.get(data.get("window"))  # type: ignore[arg-type]
    t = state.tickets.get(data.get("ticket", ""))
    if w is None or t is None:
        return  # an event of another day; nothing of it is in today's state
    if type_ == "ticket.called":
        t.status, t.window = "called", w.number
        w.current, w.awaiting_rating = t.number, None
    elif type_ == "ticket.recalled":
        t.recalls = data["count"]
    elif type_ == "service.started":
        t.status = "serving"
    elif type_ == "service.finished":
        t.status = "finished"
    elif type_ == "rating.requested":
        w.awaiting_rating = t.number
    elif type_ == "rating.given":
        state.rated.add(t.number)
        w.awaiting_rating = None


# --- effects ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrintTicket:
    kiosk: str
    ticket: str
    category_name: str
    ahead: int
    issued_at: str


@dataclass(frozen=True)
class ShowOnBoard:
    window: int
    ticket: str | None  # None: idle
    state: str = "open"


@dataclass(frozen=True)
class PromptRating:
    window: int
    ticket: str


Effect = PrintTicket | ShowOnBoard | PromptRating


def effects_of(type_: str, data: dict[str, Any], ts: str) -> list[Effect]:
    if type_ == "ticket.issued" and data.get("kiosk"):
        return [PrintTicket(data["kiosk"], data["ticket"], data["category_name"], data["ahead"], ts)]
    if type_ in ("ticket.called", "ticket.recalled"):
        return [ShowOnBoard(data["window"], data["ticket"])]
    if type_ == "rating.requested":
        return [ShowOnBoard(data["window"], None), PromptRating(data["window"], data["ticket"])]
    if type_ == "window.state":
        return [ShowOnBoard(data["window"], None, data["state"])]
    return []
