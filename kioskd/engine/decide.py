"""decide(state, command, now): checks a command against the state and returns the events it
causes (or raises Refused); it never changes the state. Pure."""

from __future__ import annotations

from datetime import datetime, timedelta

from kioskd.engine import order
from kioskd.engine.commands import (RATING_LEVELS, REQUESTABLE_LANES, WINDOW_ACTIONS, CheckIn,
                                    Command, Event, GiveRating, IssueTicket, LoadAppointments,
                                    Tick, WindowAction, age_lane, rollover_due)
from kioskd.engine.rules import Holder
from kioskd.engine.state import Appointment, HallState, Ticket, WindowState
from kioskd.engine.stats import day_stats
from kioskd.errors import Refused


# --- decide ----------------------------------------------------------------------------------
def decide(state: HallState, cmd: Command, now: datetime) -> list[Event]:
    if isinstance(cmd, Tick):
        return _tick(state, now)
    if rollover_due(state, now):
        raise Refused("day.rollover", "a new day began: run Tick first")  # the app always does
    if isinstance(cmd, IssueTicket):
        return _issue(state, cmd, now)
    if isinstance(cmd, CheckIn):
        return _check_in(state, cmd, now)
    if isinstance(cmd, WindowAction):
        return _window(state, cmd, now)
    if isinstance(cmd, GiveRating):
        return _rate(state, cmd, now)
    if isinstance(cmd, LoadAppointments):
        return _load_appointments(state, cmd)
    raise TypeError(f"not a command: {cmd!r}")


def _issue(state: HallState, cmd: IssueTicket, now: datetime) -> list[Event]:
    cat = state.categories.get(cmd.category)
    if cat is None:
        raise Refused("category.unknown", f"no category {cmd.category!r}")
    if cmd.lane is not None and cmd.lane not in REQUESTABLE_LANES:
        raise Refused("lane.unknown", f"priority is one of {', '.join(REQUESTABLE_LANES)} "
                                      "(appointments check in with their code or ID card)")
    if cmd.lane is not None and cmd.kiosk is not None and cmd.kiosk not in state.guide_desks:
        raise Refused("request.priority_at_guide_desk",
                      f"{cmd.kiosk} is self-service: a priority lane is given at a guide desk, "
                      "where staff see the certificate")
    if cmd.holder:
        appt = _appointment_of(state, cmd.holder.token, now, cmd.category)
        if appt:  # the citizen booked this: the card checks the appointment in
            return _check_in(state, CheckIn(cmd.kiosk, appt.code, cmd.holder), now)
    return _ticket(state, cmd.category, cmd.kiosk, cmd.holder, cmd.lane, now)


def _ticket(state: HallState, category: str, kiosk: str | None, holder: Holder | None,
            lane: str | None, now: datetime, appointment: str | None = None) -> list[Event]:
    cat = state.categories[category]
    if cat.hours and not cat.hours[0] <= now.strftime("%H:%M") < cat.hours[1]:
        raise Refused("category.closed", f"category {category} issues tickets "
                                         f"{cat.hours[0]}-{cat.hours[1]}")
    n = state.counters.get(category, 0) + 1
    if appointment is None and cat.daily_quota is not None and n > cat.daily_quota:
        raise Refused("category.quota", f"category {category} has issued its "
                                        f"{cat.daily_quota} tickets today")
    if holder is None and appointment is None and (cat.requires_id or cat.per_person_daily):
        raise Refused("category.requires_id", f"category {category} needs the ID card on the reader")
    if (holder and cat.per_person_daily
            and state.per_person.get((holder.token, category), 0) >= cat.per_person_daily):
        raise Refused("category.per_person", f"one person may take {cat.per_person_daily} "
                                             f"ticket(s) of category {category} a day")
    if lane is None and holder:
        lane = age_lane(state.policy, holder.age)
    if lane is not None and lane not in state.policy.lanes:
        lane = None  # a lane this hall does not run: the normal line
    ahead = order.ahead_of(state, category, lane, state.next_order)
    return [("ticket.issued", {
        "ticket": f"{category}{n:03d}",
        "category": category,
        "category_name": cat.name,
        "day": state.day,
        "kiosk": kiosk,
        "lane": lane,
        "order": state.next_order,
        "ahead": ahead,
        "wait_min": order.estimated_wait(state, category, ahead),
        "holder": holder.token if holder else None,
        "appointment": appointment,
    })]


def _appointment_of(state: HallState, token: str, now: datetime,
                    category: str | None = None) -> Appointment | None:
    """Today's appointment of this holder that could check in now."""
    early = timedelta(minutes=state.policy.checkin_early_min)
    for a in state.appointments.values():
        if (a.holder == token and a.status != "checked_in" and a.start.date() == now.date()
                and (category is None or a.category == category) and a.start - early <= now):
            return a
    return None


def _check_in(state: HallState, cmd: CheckIn, now: datetime) -> list[Event]:
    if cmd.code is not None:
        appt = state.appointments.get(cmd.code)
        if appt is None:
            raise Refused("appointment.unknown", "no appointment with this code")
    elif cmd.holder is not None:
        appt = _appointment_of(state, cmd.holder.token, now)
        if appt is None:
            raise Refused("appointment.unknown", "no appointment for this ID card now")
    else:
        raise Refused("appointment.unknown", "check in with an appointment code or an ID card")
    if appt.start.date() != now.date():
        raise Refused("appointment.not_today", f"the appointment is on {appt.start.date()}")
    if appt.status == "checked_in":
        raise Refused("appointment.used", f"already checked in: ticket {appt.ticket}")
    opens = appt.start - timedelta(minutes=state.policy.checkin_early_min)
    if now < opens:
        raise Refused("appointment.too_early", f"check-in opens at {opens:%H:%M}")
    on_time = now <= appt.start + timedelta(minutes=state.policy.checkin_late_min)
    lane = "appointment" if on_time else None  # late: the normal line, as everyone else
    events = _ticket(state, appt.category, cmd.kiosk, cmd.holder, lane, now, appt.code)
    events.append(("appointment.checked_in", {"code": appt.code, "category": appt.category,
                                              "ticket": events[0][1]["ticket"],
                                              "on_time": on_time}))
    return events


def _window(state: HallState, cmd: WindowAction, now: datetime) -> list[Event]:
    w = state.windows.get(cmd.window)
    if w is None:
        raise Refused("window.unknown", f"no window {cmd.window}")
    a = cmd.action
    base = {"window": w.number}
    current = state.tickets[w.current] if w.current else None
    busy = current is not None and current.status in ("called", "serving")
    if a in ("call-next", "call", "call-back"):
        if w.state != "open":
            raise Refused("window.paused", f"window {w.number} is {w.state}")
        if busy:
            raise Refused("window.busy", f"window {w.number} still has {w.current}: "
                                         "finish, skip, hold or transfer it first")
        return _call(state, w, cmd, now)
    if a == "ask-rating":
        if busy:
            a = "finish"  # asking the citizen to rate ends the service
        elif w.awaiting_rating:
            return [_ask_again(state, w, now)]
        else:
            raise Refused("rating.nothing_to_rate", f"window {w.number} has no service to rate")
    if a in ("recall", "skip", "hold", "transfer", "start", "finish") and not busy:
        raise Refused("window.idle", f"window {w.number} has no current ticket")
    if a == "recall":
        _need_called(current)
        if current.recalls >= state.policy.recall_limit:
            raise Refused("ticket.recall_limit", f"{current.number} was recalled "
                                                 f"{current.recalls} times: skip it")
        return [("ticket.recalled", {**base, "ticket": current.number,
                                     "count": current.recalls + 1})]
    if a == "skip":
        _need_called(current)
        count = current.skips + 1
        void = count > state.policy.skip_max
        requeue_at = state.calls.get(current.category, 0) + state.policy.skip_requeue_after
        events = [("ticket.skipped", {**base, "ticket": current.number, "count": count,
                                      "void": void, "requeue_at": None if void else requeue_at})]
        if not void and state.policy.skip_requeue_after == 0:
            events.append(("ticket.requeued", {"ticket": current.number}))
        return events
    if a == "hold":
        return [("ticket.held", {**base, "ticket": current.number})]
    if a == "transfer":
        return [_transfer(state, w, current, cmd)]
    if a == "start":
        _need_called(current)
        return [("service.started", {**base, "ticket": current.number})]
    if a == "finish":
        events: list[Event] = []
        if current.status == "called":  # a clerk may finish without pressing start first
            events.append(("service.started", {**base, "ticket": current.number}))
        if cmd.case_no is not None and not _case_no_ok(cmd.case_no):
            raise Refused("window.case_no", "a 办件编号 is 1-64 letters, digits, '-', '_' or '.'")
        events.append(("service.finished", {**base, "ticket": current.number,
                                            "category": current.category,
                                            "case_no": cmd.case_no}))
        events.append(("rating.requested", {**base, "ticket": current.number, "clerk": w.clerk,
                                            "staff_no": w.staff_no}))
        return events
    if a in ("pause", "resume"):
        want_from, target = ("open", "paused") if a == "pause" else ("paused", "open")
        if w.state != want_from:
            raise Refused("window.state", f"window {w.number} is {w.state}, not {want_from}")
        return [("window.state", {**base, "state": target, "clerk": w.clerk,
                                  "staff_no": w.staff_no})]
    if a == "sign-in":
        if not cmd.clerk:
            raise Refused("window.clerk", "sign-in needs the clerk's id")
        return [("window.state", {**base, "state": "open", "clerk": cmd.clerk,
                                  "staff_no": cmd.staff_no})]
    if a == "sign-out":
        if busy:
            raise Refused("window.busy", f"window {w.number} still has {w.current}")
        if w.state == "closed":
            return []
        return [("window.state", {**base, "state": "closed", "clerk": None})]
    raise Refused("window.action_unknown",
                  f"unknown action {a!r} (this version knows {', '.join(WINDOW_ACTIONS)})")


def _ask_again(state: HallState, w: WindowState, now: datetime) -> Event:
    """The clerk asks again (the citizen walked off and came back, the pad was restarted): the
    same prompt once more, on the clock that started at the finish."""
    waited = (now - w.rating_since).total_seconds() if w.rating_since else 0.0
    if waited > state.policy.rating_timeout_s:
        raise Refused("rating.timeout", f"{w.awaiting_rating}'s rating closed after "
                                        f"{state.policy.rating_timeout_s} s")
    return ("rating.requested", {"window": w.number, "ticket": w.awaiting_rating,
                                 "clerk": w.clerk, "staff_no": w.staff_no, "again": True})


def _case_no_ok(case_no: str) -> bool:
    return 0 < len(case_no) <= 64 and all(ch.isascii() and (ch.isalnum() or ch in "-_.")
                                          for ch in case_no)


def _need_called(t: Ticket) -> None:
    if t.status != "called":
        raise Refused("ticket.serving", f"{t.number} is already being served")


def _call(state: HallState, w: WindowState, cmd: WindowAction, now: datetime) -> list[Event]:
    if cmd.action == "call-next":
        t = order.next_for(state, w, now)
        if t is None:
            raise Refused("queue.empty", f"nobody is waiting for window {w.number}")
    else:
        t = state.tickets.get(cmd.ticket or "")
        if t is None:
            raise Refused("ticket.unknown", f"no ticket {cmd.ticket!r} today")
        if cmd.action == "call-back":
            if t.status != "held" or t.window != w.number:
                raise Refused("ticket.not_held", f"{t.number} is not held at window {w.number}")
        elif t.status not in ("waiting", "skipped"):
            raise Refused("ticket.not_waiting", f"{t.number} is {t.status}")
        elif not order.can_call(state, w, t):
            raise Refused("ticket.not_served_here", f"window {w.number} does not serve {t.number}")
    how = {"call-next": "next", "call": "direct", "call-back": "back"}[cmd.action]
    events: list[Event] = [("ticket.called", {"window": w.number, "ticket": t.number,
                                              "category": t.category, "lane": t.lane,
                                              "how": how})]
    if w.awaiting_rating:
        # the next citizen is called before the last one rated: the rating is missed, and
        # central sees that it was the clerk's call that ended it
        events.append(("rating.missed", {"window": w.number, "ticket": w.awaiting_rating,
                                         "by": "next_call"}))
    calls = state.calls.get(t.category, 0) + (how != "back")
    back = (s for s in state.skipped() if s is not t and s.category == t.category
            and s.requeue_at <= calls)
    for s in sorted(back, key=lambda x: x.order):
        events.append(("ticket.requeued", {"ticket": s.number}))
    return events


def _transfer(state: HallState, w: WindowState, t: Ticket, cmd: WindowAction) -> Event:
    if (cmd.to_category is None) == (cmd.to_window is None):
        raise Refused("transfer.target", "transfer to exactly one of a category or a window")
    if cmd.to_category is not None and cmd.to_category not in state.categories:
        raise Refused("category.unknown", f"no category {cmd.to_category!r}")
    if cmd.to_window is not None and (cmd.to_window not in state.windows
                                      or cmd.to_window == w.number):
        raise Refused("window.unknown", f"cannot transfer to window {cmd.to_window}")
    keep = state.policy.transfer_keeps_place
    return ("ticket.transferred", {
        "window": w.number, "ticket": t.number, "to_category": cmd.to_category,
        "to_window": cmd.to_window, "kept_place": keep,
        "order": t.order if keep else state.next_order})


def _rate(state: HallState, cmd: GiveRating, now: datetime) -> list[Event]:
    w = state.windows.get(cmd.window)
    if w is None:
        raise Refused("window.unknown", f"no window {cmd.window}")
    if cmd.level not in RATING_LEVELS:
        raise Refused("rating.level", f"rating level must be 1-5, got {cmd.level}")
    if cmd.ticket in state.ratings:
        raise Refused("rating.duplicate", f"{cmd.ticket} was rated already: one service, one rating")
    if w.awaiting_rating != cmd.ticket:
        raise Refused("rating.not_awaited", f"window {w.number} awaits no rating for {cmd.ticket}")
    waited = (now - w.rating_since).total_seconds() if w.rating_since else 0.0
    if waited > state.policy.rating_timeout_s:
        raise Refused("rating.timeout", f"{cmd.ticket}'s rating closed after "
                                        f"{state.policy.rating_timeout_s} s")
    rules = state.rating
    if cmd.level <= 2 and not cmd.reasons:
        raise Refused("rating.reason_required", "a bad rating (1 or 2) needs at least one reason")
    unknown = sorted(set(cmd.reasons) - rules.reason_codes)
    if unknown:
        raise Refused("rating.reason_unknown", f"reason code(s) {unknown} are not in [rating] "
                                               "reasons")
    if len(cmd.text) > rules.text_max:
        raise Refused("rating.text_too_long", f"the text has {len(cmd.text)} characters; "
                                              f"at most {rules.text_max}")
    t = state.tickets[cmd.ticket]  # awaited at this window: it is today's
    cat = state.categories[t.category]
    data = {"window": w.number, "ticket": cmd.ticket, "level": cmd.level,
            "reasons": sorted(set(cmd.reasons)), "text": cmd.text, "device": cmd.device,
            "channel": "hall_pad", "after_s": round(waited, 1),
            "clerk": w.clerk, "staff_no": w.staff_no,
            "category": t.category, "matter_code": cat.matter_code or None,
            "case_no": t.case_no,
            # the citizen as the keyed token of the ID number (None: no card was read);
            # the name only where the hall rates by real name
            "citizen": t.holder,
            **({"citizen_name": cmd.citizen_name} if rules.real_name and cmd.citizen_name
               else {})}
    if waited * 1000 < state.policy.rating_fast_ms:
        # no citizen reads the screen and presses that fast: kept, but central sees the flag
        data["flag"] = "fast"
    return [("rating.given", data)]


def _load_appointments(state: HallState, cmd: LoadAppointments) -> list[Event]:
    items = []
    for i, item in enumerate(cmd.items):
        try:
            code, cat = str(item["code"]), str(item["category"])
            start, end = datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Refused("appointments.item", f"item {i}: needs code, category, start and end "
                                               f"as ISO times with offset ({exc})") from None
        if len(code) > 64:
            raise Refused("appointments.item", f"item {i}: a code is at most 64 characters")
        if cat not in state.categories:
            raise Refused("appointments.item", f"item {i}: no category {cat[:16]!r}")
        if start.tzinfo is None or end.tzinfo is None or not start < end:  # naive < aware raises
            raise Refused("appointments.item", f"item {i}: start must be before end, with offset")
        items.append({"code": code, "category": cat, "start": start.isoformat(),
                      "end": end.isoformat(), "holder": item.get("holder")})
    return [("appointments.loaded", {"version": cmd.version, "items": items})]


def _tick(state: HallState, now: datetime) -> list[Event]:
    if rollover_due(state, now):
        return [("stats.daily", {"next_day": now.date().isoformat(), **day_stats(state)})]
    events: list[Event] = []
    for a in state.appointments.values():
        if a.status == "booked" and a.start.date() == now.date() and a.end <= now:
            events.append(("appointment.missed", {"code": a.code, "category": a.category}))
    minutes = lambda since: int((now - since).total_seconds() // 60)  # noqa: E731
    for t in sorted(state.tickets.values(), key=lambda x: x.order):
        cat = state.categories[t.category]
        if t.status == "waiting" and cat.wait_limit_min and f"wait:{t.number}" not in state.alerted \
                and minutes(t.issued_at) >= cat.wait_limit_min:
            events.append(("alert.raised", {"kind": "wait_limit", "ticket": t.number,
                                            "category": t.category, "minutes": minutes(t.issued_at)}))
        if t.status == "serving" and cat.service_limit_min and t.started_at \
                and f"service:{t.number}" not in state.alerted \
                and minutes(t.started_at) >= cat.service_limit_min:
            events.append(("alert.raised", {"kind": "service_limit", "ticket": t.number,
                                            "category": t.category, "window": t.window,
                                            "minutes": minutes(t.started_at)}))
    for w in state.windows.values():
        if w.awaiting_rating and w.rating_since and (now - w.rating_since).total_seconds() \
                >= state.policy.rating_timeout_s:
            events.append(("rating.missed", {"window": w.number, "ticket": w.awaiting_rating}))
    for code, cat in state.categories.items():
        if cat.alert_waiting is None:
            continue
        count = state.waiting_count(code)
        key = f"count:{code}"
        if count > cat.alert_waiting and key not in state.alerted:
            events.append(("alert.raised", {"kind": "waiting_count", "category": code,
                                            "count": count}))
        elif count <= cat.alert_waiting and key in state.alerted:
            events.append(("alert.cleared", {"kind": "waiting_count", "category": code,
                                             "count": count}))
    return events
