"""The queue engine's own contract (frozen commands, days rolled over, a window the hall does
not have) and the edges the mutation runs and the state machine found."""

from __future__ import annotations

import pytest
from datetime import timedelta
from support.engine_harness import refused, T0, EngineHall, holder, make_config

from kioskd.config import Category, Window
from kioskd.engine import queue as q
from kioskd.errors import Refused


M = timedelta(minutes=1)


# --- 5. appointments ---------------------------------------------------------------------------
def load(h, *items):
    return h.do(q.LoadAppointments("v1", tuple(items)))


def appt(code, start="10:00", end="10:30", cat="B", who=None):
    return {"code": code, "category": cat, "start": f"2026-11-24T{start}:00+08:00",
            "end": f"2026-11-24T{end}:00+08:00", "holder": who}


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
