"""The queue engine, pure: commands and time in, events out; state rebuilt from events."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kioskd.engine import queue as q
from kioskd.errors import Refused
from kioskd.privacy import Holder

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


@pytest.fixture
def state(demo_cfg):
    return q.initial_state(demo_cfg, T0.date().isoformat())


def run(state, cmd, now=T0):
    events = q.decide(state, cmd, now)
    for type_, data in events:
        q.evolve(state, type_, data)
    return events


def issue(state, cat="A", lane=None, now=T0):
    return run(state, q.IssueTicket(cat, "kiosk-1", lane=lane), now)[0][1]


def test_numbers_per_category_with_prefix(state):
    assert [issue(state, c)["ticket"] for c in "AABAC"] == ["A001", "A002", "B001", "A003", "C001"]


def test_call_next_in_order_and_two_windows_never_share(state):
    for c in "AAB":
        issue(state, c)
    called = {}
    for w in (1, 2, 3):
        try:
            called[w] = run(state, q.WindowAction(w, "call-next"))[0][1]["ticket"]
        except Refused as exc:
            called[w] = exc.code
    assert called == {1: "A001", 2: "B001", 3: "A002"}
    assert len(set(called.values())) == 3


def test_elderly_lane_first_and_people_ahead(state):
    issue(state, "A")
    issue(state, "A")
    old = issue(state, "A", lane="elderly")
    assert old["ahead"] == 0  # nobody in a lane before the elderly one
    assert issue(state, "A")["ahead"] == 3
    assert run(state, q.WindowAction(1, "call-next"))[0][1]["ticket"] == old["ticket"]


def test_holder_lane_from_the_card(state):
    h = Holder("tok", "张*", 71, "elderly")
    d = run(state, q.IssueTicket("A", "kiosk-1", h))[0][1]
    assert d["lane"] == "elderly" and d["holder"] == "tok"


def test_finish_requests_a_rating_and_only_one_is_taken(state):
    issue(state)
    run(state, q.WindowAction(1, "call-next"))
    types = [t for t, _ in run(state, q.WindowAction(1, "finish"))]
    assert types == ["service.started", "service.finished", "rating.requested"]
    given = run(state, q.GiveRating(1, "A001", 5, "pad-w1"))
    assert given[0][0] == "rating.given"
    with pytest.raises(Refused) as e:
        run(state, q.GiveRating(1, "A001", 1, "pad-w1", ("R01",)))
    assert e.value.code == "rating.duplicate"


@pytest.mark.parametrize("cmd,code", [
    (q.GiveRating(2, "A001", 5, "pad-w2"), "rating.not_awaited"),  # another window's pad
    (q.GiveRating(1, "A002", 5, "pad-w1"), "rating.not_awaited"),  # another ticket
    (q.GiveRating(1, "A001", 6, "pad-w1"), "rating.level"),
    (q.GiveRating(1, "A001", 1, "pad-w1"), "rating.reason_required"),
])
def test_rating_rules(state, cmd, code):
    issue(state)
    issue(state)
    run(state, q.WindowAction(1, "call-next"))
    run(state, q.WindowAction(1, "finish"))
    with pytest.raises(Refused) as e:
        run(state, cmd)
    assert e.value.code == code


@pytest.mark.parametrize("action,code", [("call-next", "queue.empty"), ("recall", "window.idle"),
                                         ("finish", "window.idle"), ("fly", "window.action_unknown")])
def test_window_refusals(state, action, code):
    with pytest.raises(Refused) as e:
        run(state, q.WindowAction(1, action))
    assert e.value.code == code


def test_pause_stops_calls(state):
    issue(state)
    run(state, q.WindowAction(1, "pause"))
    with pytest.raises(Refused) as e:
        run(state, q.WindowAction(1, "call-next"))
    assert e.value.code == "window.paused"
    run(state, q.WindowAction(1, "resume"))
    assert run(state, q.WindowAction(1, "call-next"))[0][1]["ticket"] == "A001"


def test_numbers_restart_at_local_midnight_not_utc(state):
    issue(state, now=datetime(2026, 11, 24, 7, 59, tzinfo=TZ))  # 23:59 UTC the day before
    late = datetime(2026, 11, 24, 23, 59, tzinfo=TZ)
    assert issue(state, now=late)["ticket"] == "A002"
    assert issue(state, now=late + timedelta(minutes=2))["ticket"] == "A001"


def test_quota(demo_cfg):
    state = q.initial_state(demo_cfg, T0.date().isoformat())
    state.quotas["B"] = 2
    issue(state, "B")
    issue(state, "B")
    with pytest.raises(Refused) as e:
        issue(state, "B")
    assert e.value.code == "category.quota"


def test_replay_rebuilds_the_same_state(demo_cfg, state):
    log = []
    for cmd in [q.IssueTicket("A"), q.IssueTicket("B"), q.WindowAction(1, "call-next"),
                q.WindowAction(1, "finish"), q.GiveRating(1, "A001", 4, "pad-w1")]:
        log += run(state, cmd)
    fresh = q.initial_state(demo_cfg, T0.date().isoformat())
    for type_, data in log:
        q.evolve(fresh, type_, data)
    assert fresh.snapshot() == state.snapshot() and fresh.rated == state.rated
    # and a number once issued is not issued again after the replay
    assert q.decide(fresh, q.IssueTicket("A"), T0)[0][1]["ticket"] == "A002"
