"""A wall clock that jumps (issue 19.1): days only go forward, no number is issued twice, a
leap while citizens wait is suspect until a technician confirms it or the clock agrees again.
The guard's rules alone, the simulated hall on a test clock that jumps, and the real daemon
under libfaketime with its clock moved while it runs."""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import sys
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from kioskd import config
from kioskd.clockguard import ClockGuard
from kioskd.journal import Journal
from kioskd.ledger import audit
from support.helpers import HALL_DAY, KIOSK_TOKEN, Subscriber, api, hall_toml, read_until

TZ = ZoneInfo("Asia/Shanghai")
T = datetime.combine(HALL_DAY, time(10), TZ)
H6 = timedelta(hours=6)
OPEN, NONE_OPEN = (lambda: True), (lambda: False)


# --- the guard's rules ---------------------------------------------------------------------
def test_a_clock_set_back_a_little_holds_the_halls_time():
    g = ClockGuard(H6, None, T, 0.0)
    assert g.read(T + timedelta(minutes=10), 600, tickets_open=OPEN) == T + timedelta(minutes=10)
    # NTP steps back 5 minutes: the hall's time stands until the clock passes it again
    assert g.read(T + timedelta(minutes=6), 660, tickets_open=OPEN) == T + timedelta(minutes=10)
    assert g.suspect is None
    assert g.read(T + timedelta(minutes=11), 960, tickets_open=OPEN) == T + timedelta(minutes=11)


def test_a_clock_set_back_far_is_suspect_and_the_hall_goes_on_by_its_own_reckoning():
    g = ClockGuard(H6, None, T, 0.0)
    got = g.read(T - timedelta(days=30), 60, tickets_open=NONE_OPEN)
    assert got == T + timedelta(seconds=60)
    assert g.suspect.direction == "back" and g.suspect.skew_s == -(30 * 86400 + 60)
    # the clock comes right (NTP): it agrees with the reckoning, and is believed again
    assert g.read(T + timedelta(seconds=125), 120, tickets_open=NONE_OPEN) == \
        T + timedelta(seconds=125)
    assert g.suspect is None


def test_a_leap_forward_while_citizens_wait_is_suspect_until_confirmed():
    g = ClockGuard(H6, None, T, 0.0)
    leap = T + timedelta(days=2)
    assert g.read(leap, 10, tickets_open=OPEN) == T + timedelta(seconds=10)
    assert g.suspect.direction == "forward"
    # still suspect once the queue empties: a wrong clock is not right because nobody waits
    assert g.read(leap + timedelta(seconds=10), 20, tickets_open=NONE_OPEN) == \
        T + timedelta(seconds=20)
    g.confirm(leap + timedelta(seconds=20), 30)
    assert g.suspect is None
    assert g.read(leap + timedelta(seconds=21), 31, tickets_open=OPEN) == leap + timedelta(seconds=21)


def test_a_leap_with_nobody_waiting_is_taken_and_one_within_the_bound_always():
    g = ClockGuard(H6, None, T, 0.0)
    assert g.read(T + timedelta(hours=5), 1, tickets_open=OPEN) == T + timedelta(hours=5)
    assert g.read(T + timedelta(days=1), 2, tickets_open=NONE_OPEN) == T + timedelta(days=1)
    assert g.suspect is None


def test_at_start_a_clock_behind_the_journal_is_behind():
    last = T + timedelta(days=30)
    g = ClockGuard(H6, last, T, 5.0)
    assert g.suspect is not None and g.suspect.direction == "back"
    assert g.read(T, 7.0, tickets_open=NONE_OPEN) == last + timedelta(seconds=2)
    slightly = ClockGuard(H6, T + timedelta(minutes=3), T, 0.0)
    assert slightly.suspect is None and slightly.read(T, 1, tickets_open=OPEN) == \
        T + timedelta(minutes=3)


# --- the simulated hall --------------------------------------------------------------------
async def take(hall) -> str:
    status, t = await api(hall, "POST", "/api/tickets", {"category": "A"})
    assert status == 201, t
    return t["ticket"]


async def health(hall) -> dict:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hall.api_url}/api/health") as r:
            return await r.json()


async def test_a_clock_set_back_a_month_reissues_nothing_and_keeps_the_queue(hall_of, demo_cfg):
    sim = await hall_of(demo_cfg)
    hall = sim.hall
    first = [await take(hall), await take(hall)]
    sim.clock.jump(days=-30)  # the RTC battery died and the box came back a month behind
    third = await take(hall)
    assert int(third[1:]) == int(first[-1][1:]) + 1, (first, third)
    assert hall.state.day == HALL_DAY.isoformat()
    assert {first[0], first[1], third} <= {t for t, v in hall.state.tickets.items()
                                           if v.status == "waiting"}
    h = await health(hall)
    assert h["clock"]["state"] == "suspect" and h["clock"]["direction"] == "back"
    suspect = hall.journal.last_of("clock.suspect", "9999")
    assert suspect is not None and suspect.ts.startswith(HALL_DAY.isoformat())
    # the hall's own time went on from where it was; the journal's times never went back
    ts = [e.ts for e in hall.journal.read()]
    assert ts == sorted(ts)
    sim.clock.jump(days=30)  # NTP comes
    await take(hall)
    assert (await health(hall))["clock"] == {"state": "ok"}
    assert hall.journal.last_of("clock.agreed", "9999") is not None
    # a restart on a clock behind the journal keeps the day and its numbers
    sim.clock.jump(days=-30)
    hall = await sim.restart_daemon()
    assert hall.state.day == HALL_DAY.isoformat()
    assert int((await take(hall))[1:]) == int(third[1:]) + 2
    assert audit(hall.journal) == []


async def test_a_leap_forward_waits_for_the_technician(hall_of, demo_cfg):
    sim = await hall_of(demo_cfg)
    hall = sim.hall
    waiting = await take(hall)
    sim.clock.jump(days=3)
    hall.tick_soon()
    nxt = await take(hall)
    assert hall.state.day == HALL_DAY.isoformat() and waiting in hall.state.tickets
    assert int(nxt[1:]) == int(waiting[1:]) + 1
    status, up = await api(hall, "GET", "/api/uplink", role="technician")
    assert up["clock"]["state"] == "suspect" and up["clock"]["direction"] == "forward"
    assert (await api(hall, "POST", "/api/clock/confirm"))[0] == 403  # a kiosk may not
    status, body = await api(hall, "POST", "/api/clock/confirm", role="technician")
    assert status == 200 and body == {"state": "ok"}
    confirmed = hall.journal.last_of("clock.confirmed", "9999")
    assert confirmed.data["by"] and confirmed.data["wall"]
    new_day = (HALL_DAY + timedelta(days=3)).isoformat()
    await hall.watch.until(lambda: hall.state.day == new_day, 10, "the confirmed day begins")
    assert await take(hall) == nxt[0] + "001"
    assert audit(hall.journal) == []


def test_verify_journal_names_a_reissued_number_and_a_day_that_went_back(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", "h")
    ts = T.isoformat(timespec="milliseconds")
    issued = lambda day, n: ("ticket.issued", {"day": day, "ticket": n, "category": "A"})  # noqa: E731
    j.append([issued("2026-11-24", "A001"), issued("2026-11-24", "A002"),
              ("stats.daily", {"next_day": "2026-11-25"}), issued("2026-11-25", "A001"),
              issued("2026-10-26", "A001"), issued("2026-11-25", "A001")], ts=ts)
    assert audit(j) == ["seq 5: the day goes back from 2026-11-25 to 2026-10-26",
                        "seq 6: ticket A001 issued twice on 2026-11-25"]
    j.close()


# --- the real daemon under libfaketime ---------------------------------------------------------
@pytest.mark.timeout(120)
async def test_the_daemon_under_a_jumping_clock(tmp_path, broker):
    """`kioskd run` with its wall clock read from a file libfaketime rereads: set a month back
    while it runs, then right again; central hears of both, numbers go on."""
    if not shutil.which("faketime"):
        pytest.fail("faketime is not installed: apt-get install faketime (make test does)")
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    assert libs, "libfaketime.so.1 not found (Debian's faketime package)"
    lib = libs[0]
    clock_file = tmp_path / "faketime"
    clock_file.write_text("@2026-11-24 10:00:00\n")
    cfg_path = tmp_path / "devices.toml"
    cfg_path.write_text(hall_toml("clock-hall", f'url = "mqtt://127.0.0.1:{broker.port}"'))
    config.load(cfg_path)
    sub = await Subscriber(broker.port, "kioskd/v1/clock-hall/event/#").start()
    env = {**os.environ, "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": str(clock_file),
           "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "STATE_DIRECTORY": str(tmp_path / "state"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "run", "-c", str(cfg_path), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            await read_until(proc.stderr, lines, lambda ls: any("running" in x for x in ls))
        url = re.search(r"API (http://\S+)", "".join(lines)).group(1)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KIOSK_TOKEN}"}) as http:
            async def ticket() -> str:
                async with http.post(f"{url}/api/tickets", json={"category": "A"}) as r:
                    body = await r.json()
                    assert r.status == 201, body
                    return body["ticket"]
            assert [await ticket(), await ticket()] == ["A001", "A002"]
            clock_file.write_text("@2026-10-25 10:00:00\n")
            assert await ticket() == "A003"
            async with http.get(f"{url}/api/health") as r:
                assert (await r.json())["clock"]["direction"] == "back"
            clock_file.write_text("@2026-11-24 10:01:00\n")
            assert await ticket() == "A004"
        await sub.watch.until(lambda: {"clock.suspect", "clock.agreed"} <= {
            e["type"] for e in sub.events()} and sum(
            e["type"] == "ticket.issued" for e in sub.events()) == 4, 10, "central hears it all")
        suspect = next(e for e in sub.events() if e["type"] == "clock.suspect")
        assert suspect["data"]["wall"].startswith("2026-10-25T") and \
            suspect["data"]["wall"].endswith("+08:00")
        issued = [e["data"]["ticket"] for e in sub.events() if e["type"] == "ticket.issued"]
        assert issued == ["A001", "A002", "A003", "A004"]
    finally:
        if proc.returncode is None:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 20)
        sub.stop()
    assert "Traceback" not in "".join(lines) + (await proc.stderr.read()).decode()
    verify = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kioskd", "verify-journal", "-c", str(cfg_path),
        env={**os.environ, "STATE_DIRECTORY": str(tmp_path / "state")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out = (await verify.communicate())[0].decode()
    assert verify.returncode == 0 and "no number issued twice" in out, out
