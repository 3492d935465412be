"""The engine's events, each type with its typed mapping: what `decide` emits, what the
journal holds and central receives (docs/central.md), and what `evolve` folds in. On the wire
an event stays (type, dict): the journal and central read JSON; these say what the dict holds.

Journals written by earlier versions may lack later keys; `evolve` reads those with a default.
No `from __future__ import annotations` here: TypedDict must see NotRequired as it is.
"""

import types
import typing
from typing import Any, NotRequired, TypedDict


class TicketIssued(TypedDict):
    ticket: str
    category: str
    category_name: str
    day: str  # the hall's local date the number belongs to
    kiosk: str | None
    lane: str | None
    order: int
    ahead: int
    wait_min: int | None
    holder: str | None  # the keyed token of the ID number, never the number
    appointment: str | None


class TicketCalled(TypedDict):
    window: int
    ticket: str
    category: str
    lane: str | None
    how: str  # next, direct, back (a held ticket)


class TicketRecalled(TypedDict):
    window: int
    ticket: str
    count: int


class TicketSkipped(TypedDict):
    window: int
    ticket: str
    count: int
    void: bool
    requeue_at: int | None


class TicketHeld(TypedDict):
    window: int
    ticket: str


class TicketRequeued(TypedDict):
    ticket: str


class TicketTransferred(TypedDict):
    window: int
    ticket: str
    to_category: str | None
    to_window: int | None
    kept_place: bool
    order: int


class ServiceStarted(TypedDict):
    window: int
    ticket: str


class ServiceFinished(TypedDict):
    window: int
    ticket: str
    category: str
    case_no: str | None


class RatingRequested(TypedDict):
    window: int
    ticket: str
    clerk: str | None
    staff_no: str
    again: NotRequired[bool]  # asked again (a pad back from a power cut): the clock runs on


class RatingGiven(TypedDict):
    window: int
    ticket: str
    level: int
    reasons: list[int]
    text: str
    device: str
    channel: str
    after_s: float
    clerk: str | None
    staff_no: str
    category: str
    matter_code: str | None
    case_no: str | None
    citizen: str | None
    citizen_name: NotRequired[str]  # only where [rating] real_name asks for it
    flag: NotRequired[str]  # "fast": pressed faster than a citizen reads


class RatingMissed(TypedDict):
    window: int
    ticket: str
    by: NotRequired[str]


class WindowStateChanged(TypedDict):
    window: int
    state: str
    clerk: str | None
    staff_no: NotRequired[str]


class AlertRaised(TypedDict):
    kind: str  # wait_limit, service_limit, waiting_count
    category: str
    ticket: NotRequired[str]
    window: NotRequired[int | None]
    minutes: NotRequired[int]
    count: NotRequired[int]


class AlertCleared(TypedDict):
    kind: str
    category: str
    count: int


class AppointmentsLoaded(TypedDict):
    version: str
    items: list[dict[str, Any]]


class AppointmentCheckedIn(TypedDict):
    code: str
    category: str
    ticket: str
    on_time: bool


class AppointmentMissed(TypedDict):
    code: str
    category: str


class StatsDaily(TypedDict):
    next_day: str
    day: str
    categories: dict[str, Any]
    windows: dict[str, Any]
    clerks: dict[str, Any]
    ratings: dict[str, Any]
    hours: dict[str, Any]
    total: dict[str, Any]


EVENTS: dict[str, type] = {
    "ticket.issued": TicketIssued, "ticket.called": TicketCalled,
    "ticket.recalled": TicketRecalled, "ticket.skipped": TicketSkipped,
    "ticket.held": TicketHeld, "ticket.requeued": TicketRequeued,
    "ticket.transferred": TicketTransferred, "service.started": ServiceStarted,
    "service.finished": ServiceFinished, "rating.requested": RatingRequested,
    "rating.given": RatingGiven, "rating.missed": RatingMissed,
    "window.state": WindowStateChanged, "alert.raised": AlertRaised,
    "alert.cleared": AlertCleared, "appointments.loaded": AppointmentsLoaded,
    "appointment.checked_in": AppointmentCheckedIn, "appointment.missed": AppointmentMissed,
    "stats.daily": StatsDaily,
}


def problems(type_: str, data: dict[str, Any]) -> list[str]:
    """What in an event differs from its type's mapping: an unknown type, a missing or
    unknown key, a value of another type. [] for an event as `decide` makes it."""
    kind = EVENTS.get(type_)
    if kind is None:
        return [f"unknown event type {type_!r}"]
    hints = typing.get_type_hints(kind)
    out = [f"{type_}: {k} missing" for k in kind.__required_keys__ if k not in data]
    out += [f"{type_}: {k} is not one of its keys" for k in data if k not in hints]
    out += [f"{type_}: {k} = {v!r} is not {hints[k]}" for k, v in data.items()
            if k in hints and not _is(v, hints[k])]
    return out


def _is(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin is NotRequired:
        return _is(value, typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or hint)
