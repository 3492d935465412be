"""Random sequences of hall operations against the queue engine (Hypothesis, stateful), checking
after every step what must always hold: no ticket served twice, none lost, numbers unique and
gap-free per category per day (whichever way the clock jumps), priority order and anti-starvation kept, no two windows with one
ticket, and the state rebuilt from the events equal to the live one.

`make test` runs the `ci` profile; `pytest --full` runs many more examples (see conftest)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kioskd.config import Category, Window, load
from kioskd.engine import order
from kioskd.engine import queue as q
from kioskd.errors import Refused
from support.engine_harness import TZ, EngineHall, holder, make_config
from support.helpers import REPO

START = datetime(2026, 11, 24, 21, 0, tzinfo=TZ)  # runs cross local midnight
CFG = make_config(
    load(REPO / "devices.toml"),
    categories=[Category("A", "综合受理", daily_quota=25), Category("B", "不动产登记", requires_id=True,
                                                            per_person_daily=2),
                Category("C", "社保医保")],
    windows=[Window(1, ("A", "B", "C")), Window(2, ("B", "A"), backup_for=(1,)),
             Window(3, ("C", "A"))],
    priority_streak=2, starving_after_min=10, skip_requeue_after=1, skip_max=1, recall_limit=2)

windows = st.sampled_from([1, 2, 3])
lanes = st.sampled_from([None, None, None, "elderly", "disabled", "assisted"])


class HallMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.hall = EngineHall(CFG, START)
        self.now = START
        self.finished: set[tuple[str, str]] = set()  # (day, ticket)
        self.issued: dict[tuple[str, str], list[int]] = {}  # (day, category) -> numbers

    # --- operations ----------------------------------------------------------------------------
    def do(self, cmd):
        before = copy.deepcopy(self.hall.state)
        try:
            events = self.hall.do(cmd, self.now)
        except Refused:
            return
        for type_, data in events:
            self.check_event(before, type_, data)
            q.evolve(before, type_, data, self.now)

    @rule(cat=st.sampled_from("ABC"), lane=lanes, token=st.sampled_from([None, "t1", "t2", "t3"]),
          age=st.sampled_from([30, 59, 60, 80]), n=st.integers(1, 3))
    def issue(self, cat, lane, token, age, n):
        for _ in range(n):
            self.do(q.IssueTicket(cat, "kiosk-1", holder(token, age) if token else None, lane))

    @rule(w=windows, then=st.sampled_from(["finish", "finish", "finish", "start", "recall", "skip",
                                           "hold", "transfer"]),
          to_cat=st.sampled_from([None, "A", "B", "C"]), to_w=windows)
    def work(self, w, then, to_cat, to_w):
        """A clerk at work: call the next ticket when free, else do something with the current."""
        s = self.hall.state
        if not s.windows[w].current or s.tickets[s.windows[w].current].status not in (
                "called", "serving"):
            self.do(q.WindowAction(w, "call-next"))
        elif then == "transfer":
            self.do(q.WindowAction(w, "transfer", to_category=to_cat,
                                   to_window=None if to_cat else to_w))
        else:
            self.do(q.WindowAction(w, then))

    @rule(w=windows, pick=st.integers(0, 30))
    def call_specific(self, w, pick):
        numbers = sorted(self.hall.state.tickets)
        if numbers:
            self.do(q.WindowAction(w, "call", ticket=numbers[pick % len(numbers)]))

    @rule(w=windows, action=st.sampled_from(["pause", "resume", "sign-out"]))
    def window_state(self, w, action):
        self.do(q.WindowAction(w, action))

    @rule(w=windows)
    def sign_in(self, w):
        self.do(q.WindowAction(w, "sign-in", clerk=f"clerk-{w}"))

    @rule(w=windows, pick=st.integers(0, 30))
    def call_back(self, w, pick):
        held = sorted(n for n, t in self.hall.state.tickets.items() if t.status == "held")
        if held:
            self.do(q.WindowAction(w, "call-back", ticket=held[pick % len(held)]))

    @rule(w=windows, level=st.integers(1, 5))
    def rate(self, w, level):
        awaited = self.hall.state.windows[w].awaiting_rating
        if awaited:
            self.do(q.GiveRating(w, awaited, level, f"pad-w{w}", (1,) if level <= 2 else ()))

    @rule(minutes=st.integers(0, 45))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        self.do(q.Tick())

    @rule(hours=st.sampled_from([-24 * 30, -25, -3, -1, 1, 3, 25]))
    def clock_jumps(self, hours):
        """The wall clock is set back or on (no guard in front of the engine here): a day
        already begun is never begun again, so no number of it is issued twice."""
        self.now += timedelta(hours=hours)
        self.do(q.Tick())

    # --- what each event must respect ----------------------------------------------------------
    def check_event(self, before, type_, data):
        day = before.day if type_ != "ticket.issued" else data["day"]
        if type_ == "service.finished":
            assert (day, data["ticket"]) not in self.finished, f"{data['ticket']} served twice"
            self.finished.add((day, data["ticket"]))
        elif type_ == "ticket.issued":
            numbers = self.issued.setdefault((day, data["category"]), [])
            n = int(data["ticket"][1:])
            assert n == len(numbers) + 1, f"{data['ticket']} after {numbers[-1:]}: not gap-free"
            numbers.append(n)
        elif type_ == "ticket.called" and data["how"] == "next":
            self.check_call_order(before, before.windows[data["window"]],
                                  before.tickets[data["ticket"]])

    def check_call_order(self, state, w, called):
        """An independent statement of the calling rule (see kioskd/engine/order.py)."""
        backed = [state.windows[b] for b in w.rule.backup_for if state.windows[b].state != "open"]
        cats = list(w.categories) + [c for b in backed for c in b.categories
                                     if c not in w.categories]
        mine = {w.number} | {b.number for b in backed}
        eligible = [t for t in state.tickets.values() if t.status == "waiting" and (
            t.directed in mine if t.directed is not None else t.category in cats)]
        assert called in eligible
        directed = [t for t in eligible if t.directed == w.number]
        if directed:
            assert called.directed == w.number
            return
        rank = lambda t: order.lane_rank(state, t.lane)  # noqa: E731
        normal_rank = len(state.policy.lanes)
        best = min(rank(t) for t in eligible)
        starving = (best < normal_rank and w.streak >= state.policy.priority_streak and any(
            rank(t) == normal_rank
            and self.now - t.issued_at >= timedelta(minutes=state.policy.starving_after_min)
            for t in eligible))
        if starving:
            assert rank(called) == normal_rank, "a starving normal ticket was passed over"
            pool = [t for t in eligible if rank(t) == normal_rank]
        else:
            assert rank(called) == best, f"{called.number} called before a higher lane"
            pool = [t for t in eligible if rank(t) == best]
        key = lambda t: (cats.index(t.category), t.order)  # noqa: E731
        assert key(called) == min(key(t) for t in pool), f"{called.number} jumped the line"

    # --- what always holds ---------------------------------------------------------------------
    @invariant()
    def nobody_lost_and_no_ticket_at_two_windows(self):
        s = self.hall.state
        for (day, cat), numbers in self.issued.items():
            if day == s.day:
                assert {f"{cat}{n:03d}" for n in numbers} <= set(s.tickets), "a ticket was lost"
        current = [w.current for w in s.windows.values()
                   if w.current and s.tickets[w.current].status in ("called", "serving")]
        assert len(current) == len(set(current)), "two windows have one ticket"
        for t in s.tickets.values():
            if t.status in ("called", "serving"):
                assert s.windows[t.window].current == t.number
            if (s.day, t.number) in self.finished:
                assert t.status == "finished"

    @invariant()
    def rebuilt_equals_live(self):
        if self.hall.log:
            assert self.hall.rebuilt() == self.hall.state

    @invariant()
    def the_snapshot_says_what_each_ticket_would_be_told(self):
        """The snapshot counts who is ahead in one pass; a reprint and a ticket ask
        order.ahead_of and estimated_wait one ticket at a time: the same numbers."""
        s = self.hall.state
        for row in q.snapshot(s)["waiting"]:
            t = s.tickets[row["ticket"]]
            ahead = order.ahead_of(s, t.category, t.lane, t.order)
            assert (row["ahead"], row["wait_min"]) == (ahead,
                                                      order.estimated_wait(s, t.category, ahead))

    @invariant()
    def the_indexes_hold_the_days_waiting_and_skipped_tickets(self):
        """waiting() and skipped() read indexes evolve keeps, live and rebuilt from the
        journal alike."""
        states = [self.hall.state] + ([self.hall.rebuilt()] if self.hall.log else [])
        for s in states:
            scanned = {t.number for t in s.tickets.values() if t.status == "waiting"}
            assert {t.number for t in s.waiting()} == scanned
            for code in s.categories:
                assert sorted(t.number for t in s.waiting((code,))) == sorted(
                    n for n in scanned if s.tickets[n].category == code)
                assert s.waiting_count(code) == sum(
                    1 for n in scanned if s.tickets[n].category == code)
            assert {t.number for t in s.skipped()} == {
                t.number for t in s.tickets.values() if t.status == "skipped"}
            waiting = [t for t in s.tickets.values() if t.status == "waiting"]
            lanes = s.policy.lanes
            rank = lambda lane: lanes.index(lane) if lane in lanes else len(lanes)  # noqa: E731
            assert {c: list(line.calling) for c, line in s.lines.of.items()} == {
                c: sorted((rank(t.lane), t.order, t.number) for t in waiting
                          if t.category == c and t.directed is None)
                for c in {t.category for t in waiting if t.directed is None}}
            for c, line in s.lines.of.items():
                normal = [t for t in waiting
                          if t.category == c and t.directed is None and t.lane is None]
                assert list(line.normal) == sorted((t.order, t.number) for t in normal)
                assert list(line.oldest) == sorted((t.issued_at, t.number) for t in normal)
            assert {w: set(sent) for w, sent in s.lines.directed.items()} == {
                w: {t.number for t in waiting if t.directed == w}
                for w in {t.directed for t in waiting if t.directed is not None}}

    @invariant()
    def call_next_from_the_lines_is_the_first_of_the_full_ranking(self):
        """next_for reads the heads of the lines; ranking everyone the window may call
        (order.candidates) and applying the streak rule to them gives the same ticket."""
        states = [self.hall.state] + ([self.hall.rebuilt()] if self.hall.log else [])
        for s in states:
            for w in s.windows.values():
                ranked = order.candidates(s, w)
                expect = ranked[0] if ranked else None
                normal = [t for t in ranked if t.lane is None]
                limit = timedelta(minutes=s.policy.starving_after_min)
                if (expect is not None and expect.directed != w.number
                        and order.lane_rank(s, expect.lane) < len(s.policy.lanes)
                        and w.streak >= s.policy.priority_streak
                        and any(self.now - t.issued_at >= limit for t in normal)):
                    expect = normal[0]
                assert order.next_for(s, w, self.now) is (
                    s.tickets[expect.number] if expect else None)

    @invariant()
    def the_hall_board_shows_the_latest_calls(self):
        """hall_view finds the called tickets from the windows: the same as from the day's."""
        from kioskd.boards import hall_view

        s = self.hall.state
        called = sorted((t for t in s.tickets.values() if t.status in ("called", "serving")),
                        key=lambda t: (t.last_called_at, t.order), reverse=True)
        assert [c.ticket for c in hall_view(s, calls=5).calls] == [t.number for t in called[:5]]

    @invariant()
    def counters_match_tickets(self):
        s = self.hall.state
        for cat, n in s.counters.items():
            assert n == sum(1 for t in s.tickets.values() if t.number.startswith(cat))


HallMachine.TestCase.settings = settings(stateful_step_count=50, deadline=None)
TestHall = pytest.mark.timeout(1200)(HallMachine.TestCase)  # --full: 1000 examples
