"""The queue engine's rules for categories, windows and calling (skip, recall, hold,
transfer, ratings): commands and time in, events out."""

from __future__ import annotations

import pytest
from datetime import datetime, timedelta
from support.engine_harness import refused, T0, TZ, holder

from kioskd.config import Category, Window
from kioskd.engine import queue as q
from kioskd.errors import Refused


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
    assert hall.state.waiting_count("A") == 2  # A001 sent to window 3 still waits, as an A
    assert hall.call(1) == "A002"  # not window 1's any more
    assert hall.state.waiting_count("A") == 1
    assert hall.call(3) == "A001"
    assert hall.state.waiting_count("A") == 0


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
