"""evolve(state, type, data, at): folds one event into the state. Replaying the journal through
it rebuilds the state after a restart, so the journal is the engine's only persistence. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kioskd.engine.state import SERVICE_SAMPLES, Appointment, HallState, Rating, Ticket


# --- evolve ----------------------------------------------------------------------------------
def evolve(state: HallState, type_: str, data: dict[str, Any], at: datetime) -> None:
    if type_ == "stats.daily":
        state.new_day(data["next_day"])
        return
    if type_ == "appointments.loaded":
        kept = {c: a for c, a in state.appointments.items() if a.status != "booked"}
        state.appointments = {i["code"]: kept.get(i["code"]) or Appointment(
            i["code"], i["category"], datetime.fromisoformat(i["start"]),
            datetime.fromisoformat(i["end"]), i.get("holder")) for i in data["items"]}
        state.appointments_version = data["version"]
        return
    if type_ == "ticket.issued":
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
        return
    if type_ == "appointment.checked_in":
        a = state.appointments.get(data["code"])
        if a:
            a.status, a.ticket = "checked_in", data["ticket"]
        return
    if type_ == "appointment.missed":
        a = state.appointments.get(data["code"])
        if a and a.status == "booked":
            a.status = "missed"
        return
    if type_ == "alert.raised":
        state.alerted.add(_alert_key(data))
        return
    if type_ == "alert.cleared":
        state.alerted.discard(_alert_key(data))
        return
    if type_ == "window.state":
        w = state.windows[data["window"]]
        w.state, w.clerk, w.staff_no = data["state"], data.get("clerk"), data.get("staff_no", "")
        return
    t = state.tickets.get(data.get("ticket", ""))
    if t is None:
        return  # an event of another day; nothing of it is in today's state
    w = state.windows.get(data.get("window"))  # type: ignore[arg-type]
    if type_ == "ticket.requeued":
        t.status = "waiting"
        return
    if w is None:
        return
    if type_ == "ticket.called":
        if data.get("how") != "back":
            state.calls[t.category] = state.calls.get(t.category, 0) + 1
            w.streak = w.streak + 1 if t.lane else 0
        t.status, t.window, t.directed = "called", w.number, None
        t.called_at = t.called_at or at
        t.last_called_at = at
        w.current, w.awaiting_rating, w.rating_since = t.number, None, None
    elif type_ == "ticket.recalled":
        t.recalls = data["count"]
        t.last_called_at = at
    elif type_ == "ticket.skipped":
        t.skips, t.recalls, t.window = data["count"], 0, None
        t.status = "void" if data["void"] else "skipped"
        t.requeue_at = data["requeue_at"] or 0
        w.current = None
        w.skipped += 1
    elif type_ == "ticket.held":
        t.status = "held"
        w.current = None
    elif type_ == "ticket.transferred":
        t.status, t.window, t.recalls = "waiting", None, 0
        t.category = data["to_category"] or t.category
        t.directed = data["to_window"]
        t.order = data["order"]
        if not data["kept_place"]:
            state.next_order = max(state.next_order, t.order + 1)
        w.current = None
    elif type_ == "service.started":
        t.status, t.started_at = "serving", at
    elif type_ == "service.finished":
        t.status, t.finished_at, t.served_by = "finished", at, w.number
        t.case_no = data.get("case_no")
        if t.started_at:
            recent = state.service_s.setdefault(t.category, [])
            recent.append((at - t.started_at).total_seconds())
            del recent[:-SERVICE_SAMPLES]
    elif type_ == "rating.requested":
        if not (data.get("again") and w.awaiting_rating == t.number):
            w.awaiting_rating, w.rating_since = t.number, at
    elif type_ == "rating.given":
        state.ratings[t.number] = Rating(w.number, data["level"], w.clerk)
        w.awaiting_rating, w.rating_since = None, None
    elif type_ == "rating.missed" and w.awaiting_rating == t.number:
        w.awaiting_rating, w.rating_since = None, None


def _alert_key(data: dict[str, Any]) -> str:
    kind = data["kind"]
    if kind == "waiting_count":
        return f"count:{data['category']}"
    return f"{'wait' if kind == 'wait_limit' else 'service'}:{data['ticket']}"
