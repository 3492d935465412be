"""The queue engine's rules, table by table: commands and time in, events out; state rebuilt
from events equals the live one."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from kioskd.config import Category, Window
from kioskd.engine import queue as q
from kioskd.engine.stats import day_stats
from kioskd.errors import Refused
from kioskd.privacy import age_on
from support.engine_harness import T0, TZ, EngineHall, holder, make_config

M = timedelta(minutes=1)


@pytest.fixture
def hall(demo_cfg):
    return EngineHall(make_config(demo_cfg))


@pytest.fixture
def rules(demo_cfg):
    """A hall with the rules a test names: rules(categories=..., windows=..., **policy)."""
    return lambda **kw: EngineHall(make_config(demo_cfg, **kw))


def refused(fn, *args, **kw) -> str:
    with pytest.raises(Refused) as e:
        fn(*args, **kw)
    return e.value.code


# --- 1. categories -----------------------------------------------------------------------------
def test_numbers_per_category_with_prefix(hall):
    assert [hall.issue(c)["ticket"] for c in "AABAC"] == ["A001", "A002", "B001", "A003", "C001"]


def test_numbers_restart_at_local_midnight_not_utc(hall):
    # 07:59 in Shanghai is 23:59 UTC of the day before: still the same local day
    assert hall.issue(now=datetime(2026, 11, 24, 7, 59, tzinfo=TZ))["ticket"] == "A001"
    assert hall.issue(now=datetime(2026, 11, 24, 23, 59, tzinfo=TZ))["ticket"] == "A002"
    events = hall.do(q.IssueTicket("A"), datetime(2026, 11, 25, 0, 1, tzinfo=TZ))
    assert [t for t, _ in events] == ["stats.daily", "ticket.issued"]
    assert events[0][1]["day"] == "2026-11-24" and events[0][1]["total"]["issued"] == 2
    assert events[1][1]["ticket"] == "A001"
    assert hall.state.waiting() == [hall.state.tickets["A001"]]  # yesterday's line is gone


@pytest.mark.parametrize("at,ok", [("08:29", False), ("08:30", True), ("16:59", True),
                                   ("17:00", False)])
def test_issuing_hours_edges(rules, at, ok):
    h = rules(categories=[Category("A", "综合受理", hours=("08:30", "17:00"))],
              windows=[Window(1, ("A",))])
    now = datetime.fromisoformat(f"2026-11-24T{at}:00+08:00")
    if ok:
        assert h.issue(now=now)["ticket"] == "A001"
    else:
        with pytest.raises(Refused) as e:
            h.issue(now=now)
        # the kiosk shows the hours, so the citizen knows when to come back
        assert (e.value.code, str(e.value)) == ("category.closed",
                                                "category A issues tickets 08:30-17:00")


def test_quota_edge_and_never_reissued_after_rebuild(rules):
    h = rules(categories=[Category("A", "综合受理", daily_quota=2)], windows=[Window(1, ("A",))])
    h.issue(), h.issue()
    assert refused(h.issue) == "category.quota"
    assert h.rebuilt() == h.state
    assert refused(q.decide, h.rebuilt(), q.IssueTicket("A"), T0) == "category.quota"


def test_per_person_daily_limit_by_keyed_token(rules):
    h = rules(categories=[Category("A", "综合受理", per_person_daily=1), Category("B", "不动产登记")],
              windows=[Window(1, ("A", "B"))])
    h.issue(who=holder("tok-1"))
    assert refused(h.issue, who=holder("tok-1")) == "category.per_person"
    assert h.issue(who=holder("tok-2"))["ticket"] == "A002"
    assert h.issue("B", who=holder("tok-1"))["ticket"] == "B001"  # the limit is per category
    assert refused(h.issue) == "category.requires_id"  # a limit cannot be kept without a card
    assert h.issue(who=holder("tok-1"), now=T0 + timedelta(days=1))["ticket"] == "A001"
    # what the journal keeps of the holder is the keyed token (the engine never sees a number:
    # it gets a Holder), and neither the masked name nor the age beyond the lane
    issued = [d for t, d, _ in h.log if t == "ticket.issued"]
    assert [d["holder"] for d in issued] == ["tok-1", "tok-2", "tok-1", "tok-1"]
    assert not any("张" in str(d) for _, d, _ in h.log)


def test_requires_id(rules):
    h = rules(categories=[Category("A", "综合受理", requires_id=True)], windows=[Window(1, ("A",))])
    assert refused(h.issue) == "category.requires_id"
    assert h.issue(who=holder())["holder"] == "tok-1"


# --- 2. windows --------------------------------------------------------------------------------
def test_each_window_calls_in_its_own_order_of_categories(hall):
    for c in "ABC":
        hall.issue(c)
    assert [hall.call(w) for w in (2, 3, 1)] == ["B001", "C001", "A001"]


def test_paused_and_signed_out_windows_do_not_call(hall):
    hall.issue()
    hall.act(1, "pause")
    assert refused(hall.act, 1, "call-next") == "window.paused"
    assert refused(hall.act, 1, "pause") == "window.state"
    hall.act(1, "resume")
    hall.act(1, "sign-out")
    assert hall.state.windows[1].state == "closed"
    assert refused(hall.act, 1, "call-next") == "window.paused"
    assert refused(hall.act, 1, "sign-in") == "window.clerk"
    hall.act(1, "sign-in", clerk="clerk-w1")
    assert hall.state.windows[1].clerk == "clerk-w1" and hall.call(1) == "A001"
    assert refused(hall.act, 1, "sign-out") == "window.busy"


def test_backup_window_serves_while_its_partner_is_paused_or_closed(rules):
    h = rules(categories=[Category("A", "综合受理"), Category("B", "不动产登记")],
              windows=[Window(1, ("A",)), Window(2, ("B",), backup_for=(1,))])
    h.issue("A")
    assert refused(h.act, 2, "call-next") == "queue.empty"  # window 1 is open: not 2's business
    h.act(1, "pause")
    h.issue("B")
    assert h.call(2) == "B001"  # its own categories first
    h.act(2, "finish")
    assert h.call(2) == "A001"
    h.act(2, "finish")
    h.act(1, "resume")
    h.issue("A")
    assert refused(h.act, 2, "call-next") == "queue.empty"


# --- 3. calling --------------------------------------------------------------------------------
def test_call_a_specific_ticket(hall):
    hall.issue("A"), hall.issue("A"), hall.issue("C")
    assert hall.act(1, "call", ticket="A002")[0][1]["how"] == "direct"
    hall.act(1, "finish")
    assert refused(hall.act, 2, "call", ticket="C001") == "ticket.not_served_here"
    assert refused(hall.act, 1, "call", ticket="A002") == "ticket.not_waiting"
    assert refused(hall.act, 1, "call", ticket="Z999") == "ticket.unknown"
    assert hall.call(1) == "A001"


def test_recall_limit(rules):
    h = rules(recall_limit=2)
    h.issue()
    h.call(1)
    assert [h.act(1, "recall")[0][1]["count"] for _ in range(2)] == [1, 2]
    assert refused(h.act, 1, "recall") == "ticket.recall_limit"
    h.act(1, "start")
    assert refused(h.act, 1, "skip") == "ticket.serving"


@pytest.mark.parametrize("after,calls_before_back", [(0, 0), (2, 2), (3, 3)])
def test_skipped_ticket_comes_back_after_n_calls(rules, after, calls_before_back):
    h = rules(skip_requeue_after=after, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",))])
    for _ in range(6):
        h.issue()
    assert h.call(1) == "A001"
    h.act(1, "skip")
    called = [h.serve(1) for _ in range(calls_before_back + 1)]
    assert called[-1] == "A001" and "A001" not in called[:-1]


def test_skipped_too_often_is_void(rules):
    h = rules(skip_requeue_after=0, skip_max=1, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",))])
    h.issue()
    h.call(1)
    assert [t for t, _ in h.act(1, "skip")] == ["ticket.skipped", "ticket.requeued"]
    h.call(1)
    assert h.act(1, "skip")[0][1]["void"] is True
    assert h.state.tickets["A001"].status == "void"
    assert refused(h.act, 1, "call-next") == "queue.empty"
    assert refused(h.act, 1, "call", ticket="A001") == "ticket.not_waiting"


def test_skipped_citizen_who_returns_is_called_directly(hall):
    hall.issue(), hall.issue()
    hall.call(1)
    hall.act(1, "skip")
    assert hall.act(1, "call", ticket="A001")[0][1]["ticket"] == "A001"


def test_hold_and_call_back(hall):
    hall.issue(), hall.issue()
    hall.call(1)
    hall.act(1, "hold")  # the citizen fetches a missing paper
    assert hall.serve(1) == "A002"
    assert refused(hall.act, 2, "call-back", ticket="A001") == "ticket.not_held"
    assert hall.act(1, "call-back", ticket="A001")[0][1]["how"] == "back"
    assert hall.state.windows[1].current == "A001"


@pytest.mark.parametrize("keeps,expected", [(True, ["A001", "B002", "B003"]),
                                            (False, ["B002", "A001", "B003"])])
def test_transfer_to_category_keeps_the_issue_time_by_policy(rules, keeps, expected):
    h = rules(transfer_keeps_place=keeps)
    h.issue("A")
    h.issue("B"), h.issue("B")
    h.call(1)  # A001: the clerk finds it is a B matter
    assert h.call(2) == "B001"
    h.act(1, "transfer", to_category="B")
    h.issue("B")
    h.act(2, "finish")
    assert [h.serve(2) for _ in range(3)] == expected  # the number stays A001 for the citizen


def test_transfer_to_a_window_goes_to_that_window_first(hall):
    hall.issue("A"), hall.issue("A")
    hall.call(1)
    assert refused(hall.act, 1, "transfer") == "transfer.target"
    assert refused(hall.act, 1, "transfer", to_window=1) == "window.unknown"
    hall.act(1, "transfer", to_window=3)
    assert hall.call(1) == "A002"  # not window 1's any more
    assert hall.call(3) == "A001"


def test_two_windows_never_get_the_same_ticket(hall):
    hall.issue()
    hall.call(1)
    assert refused(hall.act, 2, "call-next") == "queue.empty"
    assert refused(hall.act, 1, "call-next") == "window.busy"


def test_finish_requests_one_rating_only_the_citizen_gives(hall):
    hall.issue()
    hall.call(1)
    assert [t for t, _ in hall.act(1, "finish")] == ["service.started", "service.finished",
                                                     "rating.requested"]
    hall.do(q.GiveRating(1, "A001", 5, "pad-w1"))
    assert refused(hall.do, q.GiveRating(1, "A001", 1, "pad-w1", (1,))) == "rating.duplicate"


@pytest.mark.parametrize("cmd,code", [
    (q.GiveRating(2, "A001", 5, "pad-w2"), "rating.not_awaited"),  # another window's pad
    (q.GiveRating(1, "A002", 5, "pad-w1"), "rating.not_awaited"),  # another ticket
    (q.GiveRating(1, "A001", 6, "pad-w1"), "rating.level"),
    (q.GiveRating(1, "A001", 1, "pad-w1"), "rating.reason_required"),
])
def test_rating_rules(hall, cmd, code):
    hall.issue(), hall.issue()
    hall.serve(1)
    assert refused(hall.do, cmd) == code


def test_no_rating_within_the_timeout_is_missed_and_closes_the_rating(hall):
    hall.issue()
    hall.serve(1)
    later = hall.now + timedelta(seconds=hall.state.policy.rating_timeout_s)
    early = hall.do(q.Tick(), hall.now + timedelta(seconds=30))
    assert not [e for e in early if e[0] == "rating.missed"]
    assert [e for e in hall.do(q.Tick(), later) if e[0] == "rating.missed"] == [
        ("rating.missed", {"window": 1, "ticket": "A001"})]
    assert refused(hall.do, q.GiveRating(1, "A001", 5, "pad-w1"), later) == "rating.not_awaited"
    assert hall.rebuilt() == hall.state


def test_calling_the_next_citizen_before_a_rating_records_it_missed_by_the_call(hall):
    hall.issue(), hall.issue()
    hall.serve(1)
    events = hall.act(1, "call-next")
    assert events[-1] == ("rating.missed", {"window": 1, "ticket": "A001", "by": "next_call"})
    assert refused(hall.do, q.GiveRating(1, "A001", 5, "pad-w1")) == "rating.not_awaited"
    assert hall.rebuilt() == hall.state


def test_a_rating_after_the_timeout_is_refused_even_before_the_tick(hall):
    hall.issue()
    hall.serve(1)
    late = hall.now + timedelta(seconds=hall.state.policy.rating_timeout_s + 1)
    assert refused(hall.do, q.GiveRating(1, "A001", 5, "pad-w1"), late) == "rating.timeout"


def test_an_implausibly_fast_rating_counts_and_is_flagged(hall):
    hall.issue(), hall.issue()
    hall.serve(1)
    ((_, fast),) = hall.do(q.GiveRating(1, "A001", 5, "pad-w1"), hall.now + timedelta(seconds=0.4))
    assert fast["flag"] == "fast" and fast["after_s"] == 0.4
    hall.serve(1)
    ((_, human),) = hall.do(q.GiveRating(1, "A002", 4, "pad-w1"), hall.now + timedelta(seconds=6))
    assert "flag" not in human and human["after_s"] == 6.0


def test_the_fast_rating_flag_stops_at_exactly_rating_fast_ms(hall):
    """1500 ms (the policy's rating_fast_ms) is a human's pace; a millisecond less is not."""
    assert hall.state.policy.rating_fast_ms == 1500
    hall.issue(), hall.issue()
    hall.serve(1)
    ((_, quick),) = hall.do(q.GiveRating(1, "A001", 5, "pad-w1"),
                            hall.now + timedelta(milliseconds=1499))
    hall.serve(1)
    ((_, human),) = hall.do(q.GiveRating(1, "A002", 5, "pad-w1"),
                            hall.now + timedelta(milliseconds=1500))
    assert quick.get("flag") == "fast" and "flag" not in human


def test_satisfaction_per_window_and_clerk_counts_each_service_once(hall):
    from kioskd.engine.stats import day_stats

    hall.act(1, "sign-in", clerk="李娜")
    for level, reasons in ((5, ()), (4, ()), (2, (2,))):
        hall.issue()
        number = hall.serve(1)
        hall.do(q.GiveRating(1, number, level, "pad-w1", reasons), hall.now + timedelta(seconds=5))
    assert refused(hall.do, q.GiveRating(1, number, 5, "pad-w1")) == "rating.duplicate"
    stats = day_stats(hall.state)
    assert stats["windows"]["1"]["rated"] == 3 and stats["windows"]["1"]["satisfied"] == 2
    assert stats["clerks"] == {"李娜": {"rated": 3, "satisfied": 2, "satisfaction": 0.6667}}
    assert stats["windows"]["2"]["satisfaction"] is None
    assert hall.rebuilt() == hall.state


@pytest.mark.parametrize("action,code", [("call-next", "queue.empty"), ("recall", "window.idle"),
                                         ("skip", "window.idle"), ("finish", "window.idle"),
                                         ("hold", "window.idle"), ("start", "window.idle"),
                                         ("transfer", "window.idle"),
                                         ("fly", "window.action_unknown")])
def test_window_refusals(hall, action, code):
    assert refused(hall.act, 1, action) == code


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


# --- 10. the engine's own contract ------------------------------------------------------------
def test_commands_are_frozen_values_and_nothing_else_is_decided(hall):
    """A command is a value the API, the keypads and central build and the engine only reads
    (it is logged, replayed in tests and compared); anything else is a programming error."""
    import dataclasses
    import typing

    commands = typing.get_args(q.Command)
    assert {c.__name__ for c in commands} == {"IssueTicket", "CheckIn", "WindowAction",
                                              "GiveRating", "LoadAppointments", "Tick"}
    for command in commands:
        assert dataclasses.is_dataclass(command) and command.__dataclass_params__.frozen, command
    with pytest.raises(TypeError, match=r"^not a command: 'call-next'$"):
        q.decide(hall.state, "call-next", T0)


def test_a_command_on_a_day_not_rolled_over_is_refused(hall):
    """The daemon ticks before every command; a caller that did not is told so, never given
    yesterday's numbers."""
    hall.issue()
    assert refused(q.decide, hall.state, q.IssueTicket("A"), T0 + timedelta(days=1)) == \
        "day.rollover"


def test_a_ticket_from_no_kiosk_and_a_lane_the_hall_does_not_run(rules):
    """A ticket issued without a kiosk (the clerk's window, central) says so with null, and a
    lane this hall does not run puts the citizen in the normal line, not in a lane of its own."""
    hall = rules(lanes=("elderly", "disabled"))
    ((_, data),) = hall.do(q.IssueTicket("A", lane="pregnant"))
    assert data["kiosk"] is None and data["lane"] is None
    assert hall.state.tickets["A001"].lane is None
    load(hall, appt("Y1"))
    issued, _ = hall.do(q.CheckIn(code="Y1"), T0 + 60 * M)  # checked in by a clerk, no kiosk
    assert issued[0] == "ticket.issued" and issued[1]["kiosk"] is None


def test_asking_for_a_rating_during_a_service_finishes_it(hall):
    """请评价 pressed while the citizen is still being served ends the service and prompts the
    pad, as 办结 does."""
    hall.issue()
    hall.call(1)
    hall.act(1, "start")
    events = hall.act(1, "ask-rating")
    assert [t for t, _ in events] == ["service.finished", "rating.requested"]
    assert hall.state.tickets["A001"].status == "finished"
    assert hall.state.windows[1].awaiting_rating == "A001"


def test_a_window_the_hall_does_not_have(hall):
    for cmd in (q.WindowAction(99, "call-next"), q.GiveRating(99, "A001", 5, "pad-w99")):
        with pytest.raises(Refused) as e:
            hall.do(cmd)
        assert (e.value.code, str(e.value)) == ("window.unknown", "no window 99")


@pytest.mark.parametrize("case_no,ok", [("7", True), ("2026-SB_001.a", True), ("x" * 64, True),
                                        ("", False), ("x" * 65, False), ("办件1", False),
                                        ("a b", False), ("a/b", False), ("１", False)])
def test_the_case_number_a_business_system_may_give(hall, case_no, ok):
    """办件编号: 1-64 ASCII letters, digits, '-', '_' or '.' (it goes to central as it is)."""
    hall.issue()
    hall.call(1)
    if ok:
        finished = hall.act(1, "finish", case_no=case_no)
        assert finished[1][1]["case_no"] == case_no
    else:
        assert refused(hall.act, 1, "finish", case_no=case_no) == "window.case_no"


def test_asking_again_for_a_rating_up_to_the_timeout_exactly(hall):
    """The clerk may ask again while the prompt's time (rating_timeout_s from the finish) runs,
    its last instant included; after it, the rating is closed."""
    timeout = timedelta(seconds=hall.state.policy.rating_timeout_s)
    hall.issue()
    hall.call(1)
    hall.act(1, "finish")
    again = q.decide(hall.state, q.WindowAction(1, "ask-rating"), hall.now + timeout)
    assert again[0][0] == "rating.requested" and again[0][1]["again"] is True
    late = hall.now + timeout + timedelta(milliseconds=1)
    assert refused(q.decide, hall.state, q.WindowAction(1, "ask-rating"), late) == "rating.timeout"
    hall.act(1, "ask-rating", now=hall.now + timeout / 2)  # asked again: the clock runs on
    assert hall.state.windows[1].rating_since == hall.now


@pytest.mark.parametrize("after", [2, 3])
def test_a_call_back_is_not_a_call_of_the_line(rules, after):
    """A skipped ticket comes back after N calls of its category; calling back a held citizen
    is not one of them (nobody in the line moved): not when the call-back is decided (N = 2:
    it would requeue at once), nor when it is replayed into the state (N = 3: one call early)."""
    h = rules(skip_requeue_after=after, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",))])
    for _ in range(5):
        h.issue()
    h.call(1), h.act(1, "skip")  # A001: back after `after` more calls
    h.call(1), h.act(1, "hold")  # A002, the first of them
    back = h.act(1, "call-back", ticket="A002")
    assert [t for t, _ in back] == ["ticket.called"]  # not requeued by the call-back
    for _ in range(after - 2):
        h.act(1, "finish")
        assert "ticket.requeued" not in [t for t, _ in h.act(1, "call-next")]
    h.act(1, "finish")
    assert "ticket.requeued" in [t for t, _ in h.act(1, "call-next")]  # the `after`-th call
    assert h.rebuilt() == h.state


def test_a_middling_rating_needs_no_reason_and_the_wait_is_kept_to_a_tenth(hall):
    hall.issue(), hall.issue()
    hall.serve(1)
    ((_, given),) = hall.do(q.GiveRating(1, "A001", 3, "pad-w1"),
                            hall.now + timedelta(seconds=6.04))
    assert given["level"] == 3 and given["after_s"] == 6.0
    hall.serve(1)
    assert refused(hall.do, q.GiveRating(1, "A002", 2, "pad-w1"),
                   hall.now + timedelta(seconds=6)) == "rating.reason_required"


def test_an_appointment_code_of_64_characters_and_no_more(hall):
    assert load(hall, appt("Y" * 64))[0][0] == "appointments.loaded"
    assert refused(load, hall, appt("Y" * 65)) == "appointments.item"


def test_a_category_without_a_count_alert_does_not_hide_the_next_ones(rules):
    h = rules(categories=[Category("A", "综合受理"), Category("B", "不动产登记", alert_waiting=1)],
              windows=[Window(1, ("A", "B"))])
    h.issue("B"), h.issue("B")
    assert [(d["kind"], d["category"]) for _, d in h.do(q.Tick())] == [("waiting_count", "B")]



def test_the_priority_streak_counts_priority_calls_in_a_row(rules):
    h = rules(priority_streak=5, categories=[Category("A", "综合受理")], windows=[Window(1, ("A",))])
    h.issue(lane="elderly"), h.issue(lane="elderly"), h.issue()
    streaks = []
    for _ in range(3):
        h.serve(1)
        streaks.append(h.state.windows[1].streak)
    assert streaks == [1, 2, 0]  # a normal call ends the streak


def test_a_recall_puts_the_ticket_first_on_the_hall_board(hall):
    from kioskd import boards

    hall.issue(), hall.issue()
    hall.call(1, T0 + M)
    hall.call(2, T0 + 2 * M)
    assert [c.ticket for c in boards.hall_view(hall.state).calls] == ["A002", "A001"]
    hall.act(1, "recall", now=T0 + 3 * M)
    assert [c.ticket for c in boards.hall_view(hall.state).calls] == ["A001", "A002"]


def test_a_new_list_of_appointments_keeps_those_already_used(hall):
    load(hall, appt("Y1"), appt("Y2"))
    hall.do(q.CheckIn("kiosk-1", "Y1"), T0 + 60 * M)
    hall.do(q.LoadAppointments("v2", (appt("Y1"), appt("Y2"))), T0 + 61 * M)
    assert [a.status for a in hall.state.appointments.values()] == ["checked_in", "booked"]
    assert refused(hall.do, q.CheckIn("kiosk-1", "Y1"), T0 + 62 * M) == "appointment.used"
    # one not used yet takes the new list's slot
    hall.do(q.LoadAppointments("v3", (appt("Y1"), appt("Y2", start="11:00", end="11:30"))),
            T0 + 63 * M)
    assert hall.state.appointments["Y2"].start.hour == 11


def test_per_person_counts_one_a_ticket(rules):
    h = rules(categories=[Category("A", "综合受理", per_person_daily=2)], windows=[Window(1, ("A",))])
    who = holder("tok-7")
    assert [h.issue(who=who)["ticket"] for _ in range(2)] == ["A001", "A002"]
    assert refused(h.issue, who=who) == "category.per_person"


def test_a_clerk_signed_out_leaves_no_staff_number_behind(hall):
    hall.act(1, "sign-in", clerk="李娜", staff_no="0101")
    assert hall.state.windows[1].staff_no == "0101"
    hall.act(1, "sign-out")
    assert (hall.state.windows[1].clerk, hall.state.windows[1].staff_no) == (None, "")


def test_older_journals_replay(demo_cfg):
    """Rows written before Tick and before a ticket carried its order: a ticket.issued of a
    later day starts that day, a missing order is the next one, a check-in or a miss of an
    appointment the list no longer has changes nothing."""
    h = EngineHall(make_config(demo_cfg))
    state = h.state
    q.evolve(state, "ticket.issued", {"ticket": "A001", "category": "A", "day": state.day}, T0)
    q.evolve(state, "ticket.issued", {"ticket": "A002", "category": "A", "day": state.day}, T0)
    assert [t.order for t in state.tickets.values()] == [0, 1] and state.next_order == 2
    q.evolve(state, "appointment.checked_in", {"code": "gone", "ticket": "A002"}, T0)
    q.evolve(state, "appointment.missed", {"code": "gone"}, T0)
    q.evolve(state, "ticket.issued", {"ticket": "A001", "category": "A", "day": "2026-11-25"},
             T0 + timedelta(days=1))
    assert state.day == "2026-11-25" and list(state.tickets) == ["A001"]
    assert state.tickets["A001"].order == 0 and state.counters == {"A": 1}


def test_a_skip_and_a_transfer_start_the_recalls_again_and_free_the_window(rules):
    h = rules(recall_limit=1, skip_requeue_after=0, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",)), Window(2, ("A",))])
    h.issue(), h.issue()
    h.call(1), h.act(1, "recall")
    h.act(1, "skip")
    assert q.snapshot(h.state)["windows"][0]["current"] is None
    assert h.act(1, "call", ticket="A001")[0][1]["ticket"] == "A001"
    assert h.act(1, "recall")[0][1]["count"] == 1  # a new call, a new recall
    h.act(1, "transfer", to_window=2)
    assert q.snapshot(h.state)["windows"][0]["current"] is None
    h.act(2, "call", ticket="A001")
    assert h.act(2, "recall")[0][1]["count"] == 1
    h.act(2, "hold")
    assert q.snapshot(h.state)["windows"][1]["current"] is None
    assert q.snapshot(h.state)["held"] == ["A001"]


def test_a_ticket_transferred_to_the_end_of_the_line_stays_before_later_ones(rules):
    h = rules(transfer_keeps_place=False)
    h.issue("A"), h.issue("B")
    h.call(1)  # A001
    h.act(1, "transfer", to_category="B")
    later = h.issue("B")
    moved, new = h.state.tickets["A001"], h.state.tickets[later["ticket"]]
    assert moved.order < new.order
    assert [t.number for t in order_of(h, 2)] == ["B001", "A001", later["ticket"]]


def order_of(h, window):
    from kioskd.engine import order

    return order.candidates(h.state, h.state.windows[window])


def test_a_citizen_sent_to_a_window_goes_before_the_anti_starvation_rule(rules):
    """Found by the state machine (tests/unit/test_engine_props.py): a ticket transferred to this
    window in a priority lane, while the window's priority streak had run out and a normal
    ticket had waited long, lost its place to the normal ticket. Transferred first, always."""
    h = rules(priority_streak=1, starving_after_min=10, categories=[Category("A", "综合受理")],
              windows=[Window(1, ("A",)), Window(2, ("A",))])
    h.issue(), h.issue(lane="elderly"), h.issue(lane="elderly")
    assert h.serve(1) == "A002"  # the window's streak: one priority call
    assert h.call(2) == "A003"
    h.act(2, "transfer", to_window=1)
    assert h.call(1, T0 + 15 * M) == "A003"  # not A001, though it has waited 15 minutes
    assert h.call(2, T0 + 15 * M) == "A001"
