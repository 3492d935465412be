"""A hall's queue without devices: commands go through decide -> JSON (as the journal stores
them) -> evolve, with the day rollover the daemon does. Rules are set per test."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kioskd.config import Category, Config, QueuePolicy, Window
from kioskd.engine import queue as q
from kioskd.errors import Refused
from kioskd.privacy import Holder

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


def make_config(base: Config, categories=None, windows=None, **policy) -> Config:
    return dataclasses.replace(
        base,
        categories=tuple(categories or (Category("A", "综合受理"), Category("B", "不动产登记"),
                                        Category("C", "社保医保"))),
        windows=tuple(windows or (Window(1, ("A", "B", "C")), Window(2, ("B", "A")),
                                  Window(3, ("C", "A")))),
        queue=dataclasses.replace(QueuePolicy(), **policy))


def holder(token="tok-1", age=40) -> Holder:
    return Holder(token, "张*", age)


class EngineHall:
    def __init__(self, cfg: Config, now: datetime = T0):
        self.cfg = cfg
        self.now = now
        self.state = q.initial_state(cfg, now.date().isoformat())
        self.day0 = self.state.day  # a rebuild starts here: the clock may since have gone back
        self.log: list[tuple[str, dict, datetime]] = []  # what the journal would hold

    def do(self, cmd, now: datetime | None = None) -> list[tuple[str, dict]]:
        now = now or self.now
        events = []
        if q.rollover_due(self.state, now):
            events += self._commit(q.decide(self.state, q.Tick(), now), now)
        return events + self._commit(q.decide(self.state, cmd, now), now)

    def _commit(self, events, now):
        out = []
        for type_, data in events:
            data = json.loads(json.dumps(data, ensure_ascii=False))  # as the journal stores it
            q.evolve(self.state, type_, data, now)
            self.log.append((type_, data, now))
            out.append((type_, data))
        return out

    def rebuilt(self):
        fresh = q.initial_state(self.cfg, self.day0)
        for type_, data, at in self.log:
            q.evolve(fresh, type_, data, at)
        return fresh

    # shorthands
    def issue(self, cat="A", lane=None, now=None, who=None, kiosk=None) -> dict:
        # a lane is asked for at the guide desk (导服台), where staff see the certificate
        kiosk = kiosk or ("guide-1" if lane else "kiosk-1")
        return self.do(q.IssueTicket(cat, kiosk, who, lane), now)[-1][1]

    def act(self, window, action, now=None, **kw) -> list[tuple[str, dict]]:
        return self.do(q.WindowAction(window, action, **kw), now)

    def call(self, window, now=None) -> str:
        return self.act(window, "call-next", now)[0][1]["ticket"]

    def serve(self, window, now=None) -> str:
        number = self.call(window, now)
        self.act(window, "finish", now)
        return number


def refused(fn, *args, **kw) -> str:
    """The code a command is refused with (it must be)."""
    with pytest.raises(Refused) as e:
        fn(*args, **kw)
    return e.value.code
