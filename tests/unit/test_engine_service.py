"""The queue engine's priority lanes, appointments, waiting information, alerts, statistics,
and the state rebuilt from events equal to the live one."""

from __future__ import annotations

import pytest
from datetime import date, datetime, timedelta
from support.engine_harness import refused, T0, TZ, holder

from kioskd.config import Category, Window
from kioskd.engine import queue as q
from kioskd.engine.stats import day_stats
from kioskd.privacy import age_on


M = timedelta(minutes=1)


# --- 4. priority lanes -------------------------------------------------------------------------
@pytest.mark.parametrize("age,lane", [(59, None), (60, "elderly"), (75, "elderly")])
def test_elderly_lane_from_the_age_on_the_card(hall, age, lane):
    assert hall.issue(who=holder(age=age))["lane"] == lane


def test_age_counts_on_the_halls_local_date():
    born = date(1966, 11, 25)
    utc_evening = datetime.fromisoformat("2026-11-24T20:00:00+00:00")
    assert age_on(born, utc_evening.date()) == 59  # still the 24th in UTC ...
    assert age_on(born, utc_evening.astimezone(TZ).date()) == 60  # ... the 25th in the hall


def test_lanes_in_the_halls_order_then_issue_order(rules):
    h = rules(lanes=("disabled", "elderly"))
    h.issue("A")
    h.issue("A", lane="elderly")
    h.issue("A", lane="disabled")
    h.issue("A", lane="military")  # a lane this hall does not run: the normal line
    assert [h.serve(1) for _ in range(4)] == ["A003", "A002", "A001", "A004"]
    assert refused(h.issue, lane="appointment") == "lane.unknown"


def test_anti_starvation(rules):
    h = rules(priority_streak=2, starving_after_min=10, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",))])
    h.issue()  # A001 normal, at 09:00
    for _ in range(5):
        h.issue(lane="elderly")
    t = T0 + 5 * M
    assert [h.serve(1, t) for _ in range(2)] == ["A002", "A003"]  # not starving yet
    t = T0 + 10 * M
    assert h.serve(1, t) == "A001"  # two priority calls in a row, and A001 has waited 10 min
    assert [h.serve(1, t) for _ in range(2)] == ["A004", "A005"]


# --- 5. appointments ---------------------------------------------------------------------------
def load(h, *items):
    return h.do(q.LoadAppointments("v1", tuple(items)))


def appt(code, start="10:00", end="10:30", cat="B", who=None):
    return {"code": code, "category": cat, "start": f"2026-11-24T{start}:00+08:00",
            "end": f"2026-11-24T{end}:00+08:00", "holder": who}


@pytest.mark.parametrize("at,result", [("09:29", "appointment.too_early"), ("09:30", "appointment"),
                                       ("10:15", "appointment"), ("10:16", None)])
def test_check_in_window(hall, at, result):
    load(hall, appt("Y1"))
    now = datetime.fromisoformat(f"2026-11-24T{at}:00+08:00")
    if result == "appointment.too_early":
        assert refused(hall.do, q.CheckIn("kiosk-1", "Y1"), now) == result
        return
    events = hall.do(q.CheckIn("kiosk-1", "Y1"), now)
    assert events[0][1]["lane"] == result and events[1][0] == "appointment.checked_in"
    assert events[1][1]["on_time"] is (result is not None)
    assert refused(hall.do, q.CheckIn("kiosk-1", "Y1"), now) == "appointment.used"


def test_card_at_the_kiosk_checks_the_appointment_in(hall):
    load(hall, appt("Y1", who="tok-9"))
    hall.issue("B")
    d = hall.do(q.IssueTicket("B", "kiosk-1", holder("tok-9")), T0 + 50 * M)
    assert d[0][1]["lane"] == "appointment" and d[1][1]["code"] == "Y1"
    assert hall.call(2, T0 + 51 * M) == d[0][1]["ticket"]  # before B001, who came earlier
    # the same card again: the appointment is used, so this is an ordinary ticket of the day
    again = hall.do(q.IssueTicket("B", "kiosk-1", holder("tok-9")), T0 + 52 * M)
    assert [t for t, _ in again] == ["ticket.issued"] and again[0][1]["lane"] is None


def test_unknown_and_other_day_appointments(hall):
    load(hall, appt("Y1") | {"start": "2026-11-25T10:00:00+08:00",
                             "end": "2026-11-25T10:30:00+08:00"})
    assert refused(hall.do, q.CheckIn("kiosk-1", "Y1")) == "appointment.not_today"
    assert refused(hall.do, q.CheckIn("kiosk-1", "nope")) == "appointment.unknown"
    assert refused(load, hall, {"code": "Y2", "category": "Z", "start": "2026-11-24T10:00:00+08:00",
                                "end": "2026-11-24T10:30:00+08:00"}) == "appointments.item"
    assert refused(load, hall, {"code": "Y3"}) == "appointments.item"


def test_missed_appointment_after_its_slot(hall):
    load(hall, appt("Y1"), appt("Y2", "11:00", "11:30"))
    assert hall.do(q.Tick(), T0 + 89 * M) == []
    assert hall.do(q.Tick(), T0 + 90 * M) == [("appointment.missed", {"code": "Y1", "category": "B"})]
    assert hall.do(q.Tick(), T0 + 91 * M) == []  # once
    d = hall.do(q.CheckIn("kiosk-1", "Y1"), T0 + 95 * M)  # late, but served in the normal line
    assert d[0][1]["lane"] is None


# --- 6. honest waiting information -------------------------------------------------------------
def test_people_ahead_and_estimated_wait(rules):
    h = rules(categories=[Category("A", "综合受理", service_min=6)],
              windows=[Window(1, ("A",)), Window(2, ("A",))])
    got = [(d["ahead"], d["wait_min"]) for d in (h.issue() for _ in range(5))]
    assert got == [(0, 0), (1, 6), (2, 6), (3, 12), (4, 12)]  # two windows share the line
    h.act(2, "pause")
    assert (h.issue()["ahead"], q.snapshot(h.state)["waiting"][-1]["wait_min"]) == (5, 30)
    h.act(1, "pause")
    assert q.snapshot(h.state)["waiting"][-1]["wait_min"] is None  # no open window: no promise


def test_estimate_learns_from_recent_services(rules):
    h = rules(categories=[Category("A", "综合受理", service_min=6)], windows=[Window(1, ("A",))])
    for _ in range(3):
        h.issue()
    h.call(1)
    h.act(1, "start")
    h.act(1, "finish", now=T0 + 2 * M)  # a two-minute service
    assert q.snapshot(h.state)["waiting"][-1]["wait_min"] == 2


# --- 7. time limits and alerts -----------------------------------------------------------------
def test_alerts_once_each_and_cleared(rules):
    h = rules(categories=[Category("A", "综合受理", wait_limit_min=30, service_limit_min=20,
                                   alert_waiting=2)], windows=[Window(1, ("A",))])
    for _ in range(4):
        h.issue()
    kinds = lambda events: [(d["kind"], d.get("ticket") or d.get("count")) for _, d in events]  # noqa: E731
    assert kinds(h.do(q.Tick())) == [("waiting_count", 4)]
    h.call(1, T0 + 29 * M)
    h.act(1, "start", now=T0 + 29 * M)
    assert kinds(h.do(q.Tick(), T0 + 30 * M)) == [("wait_limit", "A002"), ("wait_limit", "A003"),
                                                  ("wait_limit", "A004")]
    assert h.do(q.Tick(), T0 + 31 * M) == []
    assert kinds(h.do(q.Tick(), T0 + 49 * M)) == [("service_limit", "A001")]
    h.act(1, "finish", now=T0 + 50 * M)
    h.call(1, T0 + 50 * M)
    assert [t for t, _ in h.do(q.Tick(), T0 + 51 * M)] == ["alert.cleared"]


# --- 8. statistics -----------------------------------------------------------------------------
def test_statistics_per_category_window_and_hour(hall):
    for c in "AAB":
        hall.issue(c)
    for i, w in enumerate((1, 2)):
        t = T0 + (10 * i + 10) * M
        hall.call(w, t)
        hall.act(w, "start", now=t)
        hall.act(w, "finish", now=t + 5 * M)
    hall.call(1, T0 + 40 * M)
    hall.act(1, "skip", now=T0 + 41 * M)
    s = day_stats(hall.state)
    a, b = s["categories"]["A"], s["categories"]["B"]
    assert (a["issued"], a["served"], a["skipped"], a["wait_avg_s"]) == (2, 1, 1, 1500.0)
    assert (b["issued"], b["served"], b["wait_p90_s"], b["service_avg_s"]) == (1, 1, 1200.0, 300.0)
    assert s["windows"]["1"] == {"served": 1, "skipped": 1, "service_avg_s": 300.0, "rated": 0,
                                 "satisfied": 0, "satisfaction": None, "utilisation": 1.0}
    assert s["hours"]["09"]["issued"] == 3 and s["total"]["served"] == 2
    assert s["categories"]["C"]["issued"] == 0  # a category nobody took a number of


def test_median_wait_and_window_utilisation(hall):
    """p50 is the nearest rank (as p90); a window's utilisation is its time with citizens
    (called to finished) over its span from the first call to the last finish."""
    for _ in range(3):
        hall.issue("A")
    for start in (10, 30, 40):  # with citizens 10-15, 30-35, 40-50: 20 of 40 minutes
        hall.call(1, T0 + start * M)
        hall.act(1, "start", now=T0 + start * M)
        hall.act(1, "finish", now=T0 + (start + (10 if start == 40 else 5)) * M)
    s = day_stats(hall.state)
    assert s["categories"]["A"]["wait_p50_s"] == 30 * 60.0  # waits 10, 30, 40 minutes
    assert s["windows"]["1"]["utilisation"] == 0.5
    assert s["windows"]["2"]["utilisation"] is None  # served nobody: no span to share


def test_a_service_finished_without_its_start_event_has_no_service_time(hall):
    """The engine writes service.started before every finish, but evolve takes a journal's
    service.finished without one (it guards the missing start): the statistics count that
    service and leave its length unknown instead of failing or guessing it."""
    hall.issue()
    hall.call(1)
    finish = q.decide(hall.state, q.WindowAction(1, "finish"), hall.now)
    assert [t for t, _ in finish] == ["service.started", "service.finished", "rating.requested"]
    hall._commit(finish[1:], hall.now)
    s = day_stats(hall.state)
    assert s["windows"]["1"]["served"] == 1 and s["windows"]["1"]["service_avg_s"] is None
    assert s["categories"]["A"]["served"] == 1 and s["categories"]["A"]["service_avg_s"] is None


def test_the_estimate_averages_the_last_twenty_services(rules):
    h = rules(categories=[Category("A", "综合受理", service_min=6)], windows=[Window(1, ("A",))])
    now = T0
    for minutes in [60] + [2] * 20:  # one long service, then twenty of two minutes
        h.issue(now=now)
        h.call(1, now)
        h.act(1, "start", now=now)
        now += minutes * M
        h.act(1, "finish", now=now)
    h.issue(now=now), h.issue(now=now)
    # the hour-long one is 21 services back: forgotten (with it the average would be 4.8 minutes)
    assert q.snapshot(h.state)["waiting"][-1]["wait_min"] == 2


def test_the_tickets_still_in_the_halls_hands(rules):
    """Open: waiting, called, serving, held, skipped (a config change or a clock leap must not
    strand them); finished and void are done with."""
    h = rules(skip_requeue_after=5, skip_max=1, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",)), Window(2, ("A",)), Window(3, ("A",))])
    for _ in range(7):
        h.issue()
    h.serve(1)  # A001
    h.call(1), h.act(1, "hold")  # A002
    h.call(1), h.act(1, "skip")  # A003
    h.call(1), h.act(1, "skip")  # A004: skipped, called back by name, skipped again: void
    h.act(1, "call", ticket="A004"), h.act(1, "skip")
    h.call(2), h.act(2, "start")  # A005
    h.call(3)  # A006
    assert {n: t.status for n, t in h.state.tickets.items()} == {
        "A001": "finished", "A002": "held", "A003": "skipped", "A004": "void", "A005": "serving",
        "A006": "called", "A007": "waiting"}
    assert [t.number for t in h.state.open_tickets()] == ["A002", "A003", "A005", "A006", "A007"]


def test_a_rating_given_cannot_be_changed(hall):
    import dataclasses

    hall.issue()
    hall.serve(1)
    hall.do(q.GiveRating(1, "A001", 5, "pad-w1"), hall.now + timedelta(seconds=6))
    with pytest.raises(dataclasses.FrozenInstanceError):
        hall.state.ratings["A001"].level = 1  # type: ignore[misc]


# --- 9. rebuild --------------------------------------------------------------------------------
def test_rebuilt_state_equals_the_live_one(hall):
    load(hall, appt("Y1", who="tok-9"))
    hall.issue("A"), hall.issue("B", lane="disabled")
    hall.do(q.CheckIn("kiosk-1", "Y1"), T0 + 40 * M)
    hall.call(1, T0 + 41 * M)
    hall.act(1, "transfer", to_category="C")
    hall.call(2)
    hall.act(2, "skip")
    hall.act(1, "pause")
    hall.call(3)
    hall.act(3, "finish")
    hall.do(q.GiveRating(3, hall.state.windows[3].awaiting_rating, 4, "pad-w3"))
    assert hall.rebuilt() == hall.state
    assert q.decide(hall.rebuilt(), q.IssueTicket("A"), T0)[0][1]["ticket"] == "A002"
