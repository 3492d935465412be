"""One scripted day through every path of the engine, held against a reviewed transcript.

The table tests (test_engine_*.py) say what each rule means; this one says what the engine says:
every event's exact payload (what the journal stores and central receives), every effect the
event asks of the devices, every refusal's code *and* its sentence (a clerk and a citizen read
those), the API's snapshot at checkpoints, the day's statistics at midnight, and the whole state
rebuilt from the journal. Mutation testing found these unguarded by the rule tables: a renamed
payload key, an effect for the wrong event, or a field lost on replay changed nothing there.

The transcript is tests/golden/engine_day.json, read and checked by hand when it was made. A
change to the engine that changes it is a change to the contract: regenerate it with
`KIOSKD_GOLDEN=write pytest tests/unit/test_engine_day.py`, read the diff, and say why in the commit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from kioskd.config import Category, RatingRules, Window
from kioskd.engine import queue as q
from kioskd.errors import Refused
from support.engine_harness import T0, EngineHall, holder, make_config

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "engine_day.json"
S = timedelta(seconds=1)
M = timedelta(minutes=1)


def plain(value):
    """JSON for dataclasses, datetimes, sets and tuple keys, in a stable order. A field that
    takes no part in equality (an index kept beside the state) is not the state."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"_": type(value).__name__,
                **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                   if f.compare}}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {("|".join(k) if isinstance(k, tuple) else str(k)): plain(v)
                for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Day:
    def __init__(self, hall: EngineHall):
        self.hall = hall
        self.now = T0
        self.lines: list[dict] = []

    def __call__(self, cmd, after: timedelta = timedelta(0)) -> list:
        self.now += after
        line: dict = {"at": self.now.isoformat(), "cmd": plain(cmd)}
        try:
            events = self.hall.do(cmd, self.now)
        except Refused as e:
            line["refused"] = [e.code, str(e)]
            events = []
        else:
            line["events"] = [[t, d, plain(q.effects_of(t, d, "09:00"))] for t, d in events]
        self.lines.append(line)
        return events

    def checkpoint(self, name: str) -> None:
        self.lines.append({"snapshot": name, "queue": q.snapshot(self.hall.state)})


def scripted_day(demo_cfg) -> list[dict]:
    cfg = make_config(
        demo_cfg,
        categories=[Category("A", "综合受理", wait_limit_min=20, alert_waiting=2),
                    Category("B", "不动产登记", hours=("08:30", "17:00"), daily_quota=3,
                             service_limit_min=10, matter_code="11110000MB0000000X"),
                    Category("C", "社保医保", requires_id=True, per_person_daily=1)],
        windows=[Window(1, ("A", "B", "C")), Window(2, ("B", "A")), Window(3, ("C", "A"))],
        skip_requeue_after=1, skip_max=1, recall_limit=1)
    cfg = dataclasses.replace(cfg, rating=dataclasses.replace(RatingRules(), text_max=10,
                                                              real_name=True))
    hall = EngineHall(cfg)
    day = Day(hall)
    I, W, R = q.IssueTicket, q.WindowAction, q.GiveRating
    old, young = holder("tok-old", 72), holder("tok-young", 30)

    # --- the kiosk ------------------------------------------------------------------------
    day(I("A", "kiosk-1"))
    day(I("A", "guide-1", lane="disabled"))  # a lane is given at the guide desk
    day(I("A", "kiosk-1", lane="disabled"))  # and not at a self-service kiosk
    day(I("A", "kiosk-1", old))  # a card of a 72-year-old: the elderly lane by itself
    day(I("B", "guide-1", young, lane="pregnant"))
    day(I("C", "kiosk-1", young))
    day(I("C", "kiosk-1", young))  # per_person_daily
    day(I("C", "kiosk-1"))  # requires_id
    day(I("Z", "kiosk-1"))
    day(I("A", "kiosk-1", lane="vip"))
    day(I("B", None), 30 * S)
    day(I("B", None))
    day(I("B", None))  # daily_quota 3
    day.checkpoint("after the kiosk")

    # --- appointments -------------------------------------------------------------------------
    slot = lambda h, m: T0.replace(hour=h, minute=m).isoformat()  # noqa: E731
    day(q.LoadAppointments("v1", (
        {"code": "YY01", "category": "A", "start": slot(9, 15), "end": slot(9, 45)},
        {"code": "YY02", "category": "A", "start": slot(8, 0), "end": slot(8, 30)},
        {"code": "YY03", "category": "C", "start": slot(9, 20), "end": slot(9, 50),
         "holder": "tok-appt"},
        {"code": "YY04", "category": "A", "start": slot(11, 0), "end": slot(11, 30)},
        {"code": "YY05", "category": "A",
         "start": (T0 + timedelta(days=1)).isoformat(),
         "end": (T0 + timedelta(days=1, minutes=30)).isoformat()},
        # opens (30 min early) at exactly 09:00:30, when the card below is read
        {"code": "YY06", "category": "B", "start": slot(9, 30).replace(":00+", ":30+"),
         "end": slot(10, 0), "holder": "tok-card"})))
    for bad in ({"code": "X", "category": "A", "start": "9 am", "end": slot(10, 0)},
                {"code": "X" * 65, "category": "A", "start": slot(9, 0), "end": slot(10, 0)},
                {"code": "X", "category": "Q", "start": slot(9, 0), "end": slot(10, 0)},
                {"code": "X", "category": "A", "start": slot(10, 0), "end": slot(10, 0)},
                {"code": "X", "category": "A", "start": "2026-11-24T09:00", "end": slot(10, 0)}):
        day(q.LoadAppointments("bad", (bad,)))
    day(q.CheckIn("kiosk-1", "YY01"))  # 09:00:30: 15 min early, on time
    day(q.CheckIn("kiosk-1", "YY01"))  # used
    day(q.CheckIn("kiosk-1", "YY02"))  # 08:00 slot: late, the normal line
    day(q.CheckIn("kiosk-1", "YY04"))  # too early
    day(q.CheckIn("kiosk-1", "YY05"))  # not today
    day(q.CheckIn("kiosk-1", "NOPE"))
    day(q.CheckIn("kiosk-1"))
    day(q.CheckIn("kiosk-1", holder=holder("tok-none")))
    day(I("C", "kiosk-2", holder("tok-appt", 45)))  # the card checks YY03 in
    day(q.CheckIn("kiosk-2", holder=holder("tok-card")))  # at the very minute check-in opens
    day.checkpoint("after check-in")

    # --- windows ------------------------------------------------------------------------------
    day(W(1, "sign-in"))
    day(W(1, "sign-in", clerk="clerk-1", staff_no="0101"))
    day(W(2, "sign-in", clerk="clerk-2", staff_no="0202"))
    day(W(3, "sign-in", clerk="clerk-3"))
    day(W(1, "call-next"), M)
    day(W(1, "call-next"))  # busy
    day(W(1, "recall"), 10 * S)
    day(W(1, "recall"))  # recall_limit 1
    day(W(1, "start"))
    day(W(1, "start"))  # already serving
    day(W(1, "finish", case_no="BJ-2026/1"))  # not a 办件编号
    day(W(1, "finish", case_no="9" * 65))  # too long
    day(W(1, "finish", case_no=""))
    day(W(1, "finish", case_no="BJ-2026.11-0001"), 5 * M)
    day(W(1, "ask-rating"))  # again, on the clock of the finish
    day(R(1, "A001", 5, "pad-w1"), S)  # not awaited: another ticket
    day(R(1, day.hall.state.windows[1].awaiting_rating, 6, "pad-w1"))
    awaited = day.hall.state.windows[1].awaiting_rating
    day(R(1, awaited, 2, "pad-w1"))  # a bad rating needs a reason
    day(R(1, awaited, 2, "pad-w1", (99,)))
    day(R(1, awaited, 2, "pad-w1", (1,), "十一个字的意见太长了啊"))
    day(R(1, awaited, 2, "pad-w1", (1, 1), "十个字的意见刚刚好了", "王*"))
    day(R(1, awaited, 3, "pad-w1"))  # duplicate
    day(W(1, "ask-rating"))  # nothing to rate
    day(W(1, "skip"))  # idle
    day(W(2, "call-next"), M)
    day(W(2, "skip"), S)
    day(W(2, "call-next"))
    day(W(2, "hold"))
    day(W(2, "call-back", ticket="A001"))  # not held here
    held = [n for n, t in day.hall.state.tickets.items() if t.status == "held"][0]
    day(W(2, "call-back", ticket=held))
    day(W(2, "transfer", to_category="C", to_window=3))
    day(W(2, "transfer"))
    day(W(2, "transfer", to_category="Q"))
    day(W(2, "transfer", to_window=2))
    day(W(2, "transfer", to_window=3))
    day(W(3, "call", ticket="B001"))  # not served at 3
    day(W(3, "call", ticket="NOPE"))
    day(W(3, "call-next"), S)
    day(W(3, "finish"))  # finished without pressing start
    day(W(3, "call", ticket="A001"))  # the next call ends the wait for the rating: missed
    day(W(3, "pause"))  # busy is fine for a pause
    day(W(3, "pause"))
    day(W(3, "sign-out"))
    day(W(3, "finish"), 2 * M)
    day(W(3, "call-next"))  # paused
    day(W(3, "resume"))
    day(W(3, "resume"))
    day(W(3, "fly"))
    day(W(2, "call-next"))
    day(W(2, "transfer", to_category="C"))
    day.checkpoint("mid-morning")

    # --- skips come back, void after skip_max, the rating clock ---------------------------------
    day(W(1, "call-next"), M)
    first = day.hall.state.windows[1].current
    day(W(1, "skip"))
    day(W(2, "call-next"))  # skip_requeue_after 1: the skipped one is back in line
    day(W(1, "call", ticket=first))
    day(W(1, "skip"))  # the second skip: void
    day(W(1, "call", ticket=first))
    day(W(2, "finish", case_no="9" * 64), 3 * M)
    day(R(2, day.hall.state.windows[2].awaiting_rating, 4, "pad-w2"),
        timedelta(milliseconds=1499))  # fast
    day(W(1, "call-next"))
    day(W(1, "finish"))
    done = day.hall.state.windows[1].awaiting_rating
    day(R(1, done, 5, "pad-w1"), 120 * S)  # exactly the timeout: still taken
    day(W(2, "call-next"))
    day(W(2, "finish"))
    late = day.hall.state.windows[2].awaiting_rating
    day(W(2, "ask-rating"), 121 * S)  # too late to ask again
    day(R(2, late, 5, "pad-w2"))  # too late
    day(q.Tick())  # rating.missed by the clock
    day.checkpoint("late morning")

    # --- time passes: limits and counts -------------------------------------------------------
    day(I("A", "kiosk-1"), M)
    day(I("A", "kiosk-1"))
    day(q.Tick())
    day(I("A", "kiosk-1"))
    day(q.Tick())  # more than alert_waiting wait
    day(W(2, "call-next"))
    day(W(2, "start"))
    day(q.Tick(), 21 * M)  # waits over 20 min; the count still over the limit
    day(q.Tick(), 10 * M)  # each alert once
    day(W(1, "call-next"))
    day(W(3, "call-next"))
    day(W(1, "finish"))
    day(W(1, "call-next"))
    day(q.Tick())  # the count back at the limit: cleared
    day(W(1, "finish"))
    day(W(1, "sign-out"))
    day(W(1, "sign-out"))  # closed already: nothing happens
    day(q.Tick(), 2 * timedelta(hours=1))  # YY04's slot has ended: missed
    day(W(2, "sign-out"))
    day.checkpoint("afternoon")

    # --- midnight -----------------------------------------------------------------------------
    day(I("A", "kiosk-1"), timedelta(hours=14))
    day.checkpoint("the next morning")
    day.lines.append({"state": plain(day.hall.state)})
    rebuilt = day.hall.rebuilt()
    assert rebuilt == day.hall.state  # the journal alone gives the same hall
    return day.lines


def test_a_scripted_day_says_what_the_reviewed_transcript_says(demo_cfg):
    got = scripted_day(demo_cfg)
    text = json.dumps(got, ensure_ascii=False, indent=1) + "\n"
    if os.environ.get("KIOSKD_GOLDEN") == "write":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"step {i} of the day differs from tests/golden/engine_day.json"
    assert len(got) == len(want)


def test_every_event_of_the_day_is_of_its_types_mapping(demo_cfg):
    """Each event type has its typed mapping (kioskd.engine.events) and its fold (EVOLVE); the
    scripted day makes every type, and each event it makes has exactly its type's keys."""
    from kioskd.engine.events import EVENTS, problems
    from kioskd.engine.evolve import EVOLVE

    made = [(t, d) for line in scripted_day(demo_cfg) for t, d, _ in line.get("events", [])]
    assert {t for t, _ in made} == set(EVENTS) == set(EVOLVE)
    assert [p for t, d in made for p in problems(t, d)] == []


def test_an_event_unlike_its_mapping_is_named():
    from kioskd.engine.events import problems

    assert problems("ticket.held", {"window": True, "ticket": "A001", "x": 1}) == [
        "ticket.held: x is not one of its keys",
        "ticket.held: window = True is not <class 'int'>"]
    assert problems("ticket.requeued", {}) == ["ticket.requeued: ticket missing"]
    assert problems("rating.missed", {"window": 1, "ticket": "A001"}) == []  # `by` is optional
    assert problems("ticket.lost", {}) == ["unknown event type 'ticket.lost'"]
