"""The 24-hour zone's and the lockers' rules, pure: hours, grants, doors, counts, lock-outs,
codes. (The same rules through a whole simulated hall: tests/hall/test_zone.py and
test_locker.py.)"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kioskd.errors import Refused
from kioskd.lockers.rules import (LEFT_OPEN_S, LOCKOUT_AFTER, LOCKOUT_S, Compartment, Deposit,
                                  Locker, code_hash, pickup_code)
from kioskd.zone.rules import GRANT_S, Door, Holder, Zone, ZoneRules, parse_hours

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 24, 23, 30, tzinfo=TZ)
WHO = Holder("t" * 24, "李**")
KEY = b"k" * 32


@pytest.mark.parametrize("text,start,end", [
    ("00:00-24:00", None, None), ("08:00-20:00", time(8), time(20)),
    ("20:00-08:00", time(20), time(8)), ("06:30-24:00", time(6, 30), time(0))])
def test_hours_as_written(text, start, end):
    assert parse_hours(text) == (None if start is None else (start, end))


@pytest.mark.parametrize("text", ["8:00-20:00", "08:00-24:30", "10:00-10:00", "25:00-01:00", ""])
def test_hours_that_are_no_hours(text):
    with pytest.raises(ValueError):
        parse_hours(text)


def test_a_zone_open_across_midnight():
    rules = ZoneRules("z", hours=parse_hours("20:00-08:00"))
    at = lambda h, m=0: AT.replace(hour=h, minute=m)  # noqa: E731
    assert [rules.open_at(at(h)) for h in (19, 20, 23, 0, 7)] == [False, True, True, True, True]
    assert not rules.open_at(at(8)) and rules.open_at(at(7, 59))


def zone(**kw) -> Zone:
    return Zone(ZoneRules("z", **kw), {"d1": Door("d1", open=False), "d2": Door("d2", open=False)})


def test_a_grant_opens_each_door_once_and_an_opening_without_one_is_forced():
    z = zone()
    entry, events = z.card("r", WHO, None, AT, 100.0)
    assert entry.granted and entry.doors == ("d1", "d2")
    assert events[0][0] == "zone.entry" and events[0][1]["holder"] == WHO.token
    assert z.sensed("d1", {"door": True}, True, False, 101.0)[0][0] == "gate.opened"
    z.sensed("d1", {"door": False}, False, False, 102.0)
    assert z.sensed("d1", {"door": True}, True, False, 103.0)[0][0] == "gate.forced"  # used up
    # the other door's grant runs out after GRANT_S
    assert z.sensed("d2", {"door": True}, True, False, 100.0 + GRANT_S + 1)[0][0] == "gate.forced"


@pytest.mark.parametrize("setup,code", [
    (lambda z: setattr(z, "denied", frozenset({WHO.token})), "zone.denied"),
    (lambda z: [z.lost(d, True, "gone") for d in ("d1", "d2")], "zone.door_lost"),
    (lambda z: None, "idcard.expired")])
def test_refusals_open_nothing(setup, code):
    z = zone()
    setup(z)
    entry, events = z.card("r", WHO, "idcard.expired" if code == "idcard.expired" else None,
                           AT, 100.0)
    assert (entry.granted, entry.code, entry.doors) == (False, code, ())
    assert events == [("zone.refused", {"zone": "z", "reader": "r", "code": code,
                                        "holder": WHO.token, "masked_name": WHO.masked_name})]
    assert all(d.grant is None for d in z.doors.values())


def test_closed_hours_and_a_fail_safe_zone():
    closed = Zone(ZoneRules("z", hours=parse_hours("08:00-20:00")), {"d": Door("d")})
    assert closed.card("r", WHO, None, AT, 1.0)[0].code == "zone.closed"
    safe = Zone(ZoneRules("z", fails="safe"), {"d": Door("d")})
    safe.lost("d", True, "gone")
    entry, events = safe.card("r", WHO, None, AT, 1.0)
    assert entry.granted and entry.open_to_all and entry.doors == ()


def test_held_open_is_said_once_per_opening_and_never_in_an_emergency():
    z = zone(held_open_s=30)
    z.sensed("d1", {"door": True}, True, False, 0.0)  # forced, and now open
    assert z.tick(29.0) == []
    assert [e[0] for e in z.tick(31.0)] == ["gate.held_open"]
    assert z.tick(60.0) == []
    z.emergency(True, "technician:t", "drill")
    z.sensed("d2", {"door": True}, True, False, 61.0)
    assert z.tick(200.0) == []


def test_the_count_follows_the_beams_and_never_goes_below_nought():
    z = zone()
    out = z.sensed("d1", {"exit": True}, None, False, 1.0)
    assert z.occupancy == 0 and out[0][1]["way"] == "out"
    z.sensed("d1", {"pass": True}, None, False, 2.0)
    z.sensed("d1", {"pass": True}, None, False, 3.0)
    assert z.occupancy == 2
    assert z.sensed("d1", {"pass": True}, None, True, 4.0) == []  # as found at connect: no one


def locker(n=3, sizes="SML") -> Locker:
    return Locker("L", {i: Compartment(i, sizes[i - 1]) for i in range(1, n + 1)})


def held(lk: Locker, n: int, code: str, expires: datetime = AT + timedelta(days=3)) -> Deposit:
    d = Deposit(f"dep{n}", "pickup", f"BJ{n}", 1, AT.isoformat(), expires.isoformat(),
                code_hash(KEY, f"dep{n}", code), None)
    c = lk.compartments[n]
    lk.load(c, d, 0.0, 3.0)
    lk.sensed(n, True, False, 1.0)
    assert lk.sensed(n, False, False, 2.0)[0][0] == "locker.deposited"
    return d


def test_the_smallest_free_compartment_that_fits():
    lk = locker()
    assert lk.choose("S").n == 1 and lk.choose("M").n == 2 and lk.choose("L").n == 3
    lk.compartments[1].state = "held"
    assert lk.choose("S").n == 2  # the next larger
    for c in lk.compartments.values():
        c.state = "held"
    with pytest.raises(Refused) as e:
        lk.choose("S")
    assert e.value.code == "locker.full"


def test_a_code_opens_its_compartment_once_then_it_is_used():
    lk = locker()
    held(lk, 1, "123456")
    c, why, _ = lk.by_code(KEY, "123456", AT, 10.0)
    assert c is lk.compartments[1] and why == ""
    lk.collect(c, "code", 10.0, 3.0)
    lk.sensed(1, True, False, 11.0)
    assert lk.sensed(1, False, False, 12.0)[0][0] == "locker.collected"
    assert lk.compartments[1].state == "free"
    assert lk.by_code(KEY, "123456", AT, 13.0)[1] == "locker.code_used"


def test_an_expired_code_and_five_wrong_lock_the_page_out():
    lk = locker()
    held(lk, 1, "123456", expires=AT)
    assert lk.by_code(KEY, "123456", AT, 1.0)[1] == "locker.code_expired"
    for _ in range(LOCKOUT_AFTER - 2):
        assert lk.by_code(KEY, "000000", AT, 2.0)[1] == "locker.bad_code"
    _, _, events = lk.by_code(KEY, "12345", AT, 3.0)  # five digits: wrong too
    assert [e[0] for e in events] == ["locker.refused", "locker.locked_out"]
    with pytest.raises(Refused) as e:
        lk.by_code(KEY, "123456", AT, 3.0 + LOCKOUT_S - 1)
    assert e.value.code == "locker.locked_out"
    assert lk.by_code(KEY, "000000", AT, 3.0 + LOCKOUT_S + 1)[1] == "locker.bad_code"


def test_doors_that_jam_are_out_of_service_and_doors_left_open_are_said():
    lk = locker()
    c = lk.compartments[1]
    lk.load(c, Deposit("d", "pickup", "BJ", 1, AT.isoformat()), 0.0, 3.0)
    assert lk.tick(2.0) == []
    assert [e[0] for e in lk.tick(3.5)] == ["locker.jammed"]
    assert c.state == "out" and c.deposit is None
    assert lk.choose("S").n == 2
    assert lk.sensed(3, True, False, 10.0)[0][0] == "locker.forced"
    assert [e[0] for e in lk.tick(10.0 + LEFT_OPEN_S + 1)] == ["locker.left_open"]


def test_what_a_bank_holds_survives_a_restart():
    lk = locker()
    d = held(lk, 2, "654321")
    lk.used["h"] = ["old", ""]
    lk.load(lk.compartments[3], Deposit("d3", "pickup", "BJ3", 1, AT.isoformat()), 0.0, 3.0)
    again = locker()
    again.restore(lk.saved())
    assert again.compartments[2].state == "held" and again.compartments[2].deposit == d
    assert again.used == {"h": ["old", ""]} and again.compartments[1].state == "free"
    # filled while the daemon was away: its door found closed at connect is its deposit
    assert again.sensed(3, False, True, 0.0)[0][0] == "locker.deposited"
    assert again.compartments[3].state == "held"


def test_the_pickup_code_is_six_digits_made_from_the_deposit():
    codes = {pickup_code(KEY, "hall", f"dep{i}") for i in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 190
    assert pickup_code(KEY, "hall", "dep1") == pickup_code(KEY, "hall", "dep1")
    assert pickup_code(KEY, "hall", "dep1") != pickup_code(b"x" * 32, "hall", "dep1")


def test_a_technicians_opening_is_theirs_not_forced():
    z = zone()
    z.bid("d1", "technician", 0.0)
    assert z.sensed("d1", {"door": True}, True, False, 1.0) == [
        ("gate.opened", {"zone": "z", "door": "d1", "by": "technician", "holder": None})]
    lk = locker()
    d = held(lk, 1, "123456")
    lk.compartments[1].bidden_until = 10.0
    assert lk.sensed(1, True, False, 5.0)[0][1]["for"] == "technician"
    lk.sensed(1, False, False, 6.0)
    assert lk.compartments[1].state == "held" and lk.compartments[1].deposit == d
    assert lk.sensed(1, True, False, 7.0)[0][0] == "locker.forced"  # once only
