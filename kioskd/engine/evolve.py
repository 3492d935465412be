"""evolve(state, type, data, at): folds one event into the state. Replaying the journal through
it rebuilds the state after a restart, so the journal is the engine's only persistence. Pure.

One handler per event type (EVOLVE); a ticket's events are folded only into today's tickets
(an event of another day has nothing in today's state), and those of a window only where the
window still exists. The keys each type carries: kioskd.engine.events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from kioskd.engine.state import (SERVICE_SAMPLES, Appointment, HallState, Rating, Ticket,
                                 WindowState)


def evolve(state: HallState, type_: str, data: dict[str, Any], at: datetime) -> None:
    handler = EVOLVE.get(type_)
    if handler is not None:  # the hall's own records (device.state …) are not the queue's
        handler(state, data, at)
        state.track(data.get("ticket"))  # a ticket's event changes that ticket alone


# --- the hall's day and rules -------------------------------------------------------------------
def _stats_daily(state: HallState, data: dict[str, Any], at: datetime) -> None:
    state.new_day(data["next_day"])


def _appointments_loaded(state: HallState, data: dict[str, Any], at: datetime) -> None:
    kept = {c: a for c, a in state.appointments.items() if a.status != "booked"}
    state.appointments = {i["code"]: kept.get(i["code"]) or Appointment(
        i["code"], i["category"], datetime.fromisoformat(i["start"]),
        datetime.fromisoformat(i["end"]), i.get("holder")) for i in data["items"]}
    state.appointments_version = data["version"]


def _ticket_issued(state: HallState, data: dict[str, Any], at: datetime) -> None:
    if data["day"] != state.day:
        state.new_day(data["day"])  # journals written before Tick existed
    cat = data["category"]
    state.counters[cat] = state.counters.get(cat, 0) + 1
    state.next_order = max(state.next_order, data.get("order", 0)) + 1
    state.tickets[data["ticket"]] = Ticket(
        data["ticket"], cat, data.get("order", state.next_order - 1), at, data.get("kiosk"),
        data.get("lane"), appointment=data.get("appointment"), holder=data.get("holder"))
    if data.get("holder"):
        key = (data["holder"], cat)
        state.per_person[key] = state.per_person.get(key, 0) + 1


def _checked_in(state: HallState, data: dict[str, Any], at: datetime) -> None:
    a = state.appointments.get(data["code"])
    if a:
        a.status, a.ticket = "checked_in", data["ticket"]


def _appointment_missed(state: HallState, data: dict[str, Any], at: datetime) -> None:
    a = state.appointments.get(data["code"])
    if a and a.status == "booked":
        a.status = "missed"


def _alert_raised(state: HallState, data: dict[str, Any], at: datetime) -> None:
    state.alerted.add(_alert_key(data))


def _alert_cleared(state: HallState, data: dict[str, Any], at: datetime) -> None:
    state.alerted.discard(_alert_key(data))


def _window_state(state: HallState, data: dict[str, Any], at: datetime) -> None:
    w = state.windows[data["window"]]
    w.state, w.clerk, w.staff_no = data["state"], data.get("clerk"), data.get("staff_no", "")


def _alert_key(data: dict[str, Any]) -> str:
    kind = data["kind"]
    if kind == "waiting_count":
        return f"count:{data['category']}"
    return f"{'wait' if kind == 'wait_limit' else 'service'}:{data['ticket']}"


# --- a ticket's events ----------------------------------------------------------------------------
TicketFold = Callable[[HallState, Ticket, dict[str, Any], datetime], None]
WindowFold = Callable[[HallState, Ticket, WindowState, dict[str, Any], datetime], None]


def of_ticket(fold: TicketFold) -> Callable[[HallState, dict[str, Any], datetime], None]:
    def handler(state: HallState, data: dict[str, Any], at: datetime) -> None:
        t = state.tickets.get(data.get("ticket", ""))
        if t is not None:  # else an event of another day: nothing of it is in today's state
            fold(state, t, data, at)
    return handler


def at_window(fold: WindowFold) -> Callable[[HallState, dict[str, Any], datetime], None]:
    def handler(state: HallState, t: Ticket, data: dict[str, Any], at: datetime) -> None:
        w = state.windows.get(data.get("window"))  # type: ignore[arg-type]
        if w is not None:  # a window since removed from the hall
            fold(state, t, w, data, at)
    return of_ticket(handler)


def _requeued(state: HallState, t: Ticket, data: dict[str, Any], at: datetime) -> None:
    t.status = "waiting"


def _called(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
            at: datetime) -> None:
    if data.get("how") != "back":
        state.calls[t.category] = state.calls.get(t.category, 0) + 1
        w.streak = w.streak + 1 if t.lane else 0
    t.status, t.window, t.directed = "called", w.number, None
    t.called_at = t.called_at or at
    t.last_called_at = at
    w.current, w.awaiting_rating, w.rating_since = t.number, None, None


def _recalled(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
              at: datetime) -> None:
    t.recalls = data["count"]
    t.last_called_at = at


def _skipped(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
             at: datetime) -> None:
    t.skips, t.recalls, t.window = data["count"], 0, None
    t.status = "void" if data["void"] else "skipped"
    t.requeue_at = data["requeue_at"] or 0
    w.current = None
    w.skipped += 1


def _held(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
          at: datetime) -> None:
    t.status = "held"
    w.current = None


def _transferred(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
                 at: datetime) -> None:
    t.status, t.window, t.recalls = "waiting", None, 0
    t.category = data["to_category"] or t.category
    t.directed = data["to_window"]
    t.order = data["order"]
    if not data["kept_place"]:
        state.next_order = max(state.next_order, t.order + 1)
    w.current = None


def _started(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
             at: datetime) -> None:
    t.status, t.started_at = "serving", at


def _finished(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
              at: datetime) -> None:
    t.status, t.finished_at, t.served_by = "finished", at, w.number
    t.case_no = data.get("case_no")
    if t.started_at:
        recent = state.service_s.setdefault(t.category, [])
        recent.append((at - t.started_at).total_seconds())
        del recent[:-SERVICE_SAMPLES]


def _rating_requested(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
                      at: datetime) -> None:
    if not (data.get("again") and w.awaiting_rating == t.number):
        w.awaiting_rating, w.rating_since = t.number, at


def _rating_given(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
                  at: datetime) -> None:
    state.ratings[t.number] = Rating(w.number, data["level"], w.clerk)
    w.awaiting_rating, w.rating_since = None, None


def _rating_missed(state: HallState, t: Ticket, w: WindowState, data: dict[str, Any],
                   at: datetime) -> None:
    if w.awaiting_rating == t.number:
        w.awaiting_rating, w.rating_since = None, None


EVOLVE: dict[str, Callable[[HallState, dict[str, Any], datetime], None]] = {
    "stats.daily": _stats_daily, "appointments.loaded": _appointments_loaded,
    "ticket.issued": _ticket_issued, "appointment.checked_in": _checked_in,
    "appointment.missed": _appointment_missed, "alert.raised": _alert_raised,
    "alert.cleared": _alert_cleared, "window.state": _window_state,
    "ticket.requeued": of_ticket(_requeued), "ticket.called": at_window(_called),
    "ticket.recalled": at_window(_recalled), "ticket.skipped": at_window(_skipped),
    "ticket.held": at_window(_held), "ticket.transferred": at_window(_transferred),
    "service.started": at_window(_started), "service.finished": at_window(_finished),
    "rating.requested": at_window(_rating_requested), "rating.given": at_window(_rating_given),
    "rating.missed": at_window(_rating_missed),
}
