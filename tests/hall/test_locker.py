"""The pickup and drop-off lockers (locker.modbus) against pymodbus's own server: a clerk's
deposit opens one free compartment, its pickup code opens it once (or the card of the citizen
the case is registered to), a drop-off waits for its window; every refusal is its own outcome
and opens nothing; no code is in any event, log or page."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kioskd import config
from kioskd.lockers.rules import LOCKOUT_AFTER, pickup_code
from kioskd.sim.idcard import make_card
from support.browser import NEEDS_CHROMIUM, no_serious_violations, screen, shot
from support.helpers import REPO, api

LOCKER = """
[[zone]]
id = "z8"

[[device]]
id = "locker-9"
type = "locker.modbus"
zone = "z8"
url = "{url}"
compartments = 4
sizes = ["S", "S", "M", "L"]
first_coil = 10
first_input = 20
poll_ms = 50
pulse_ms = 100
open_wait_ms = 800
reader = "locker-9-reader"
printer = "locker-9-printer"

[[device]]
id = "locker-9-printer"
type = "printer.escpos"
zone = "z8"
url = "serial:///dev/kioskd/locker-9-printer?baud=115200"

[[device]]
id = "locker-9-reader"
type = "idcard.sam"
zone = "z8"
url = "serial:///dev/kioskd/locker-9-reader?baud=115200"
poll_ms = 100

[[api.client]]
name = "locker-9-page"
role = "locker"
locker = "locker-9"
token = "locker-9-page-token-for-tests"
"""
CITIZEN = make_card("赵丽华", date(1975, 8, 1), gender="女")


@pytest.fixture
async def lockers(hall_of, tmp_path):
    return await locker_hall(hall_of, tmp_path)


async def locker_hall(hall_of, tmp_path, url="tcp://127.0.0.1:502"):
    path = tmp_path / "devices.toml"
    path.write_text((REPO / "devices.toml").read_text(encoding="utf-8")
                    + LOCKER.format(url=url), encoding="utf-8")
    sim = await hall_of(config.load(path))
    return sim, sim.hall, sim.twin("locker-9")


def events(hall, *types):
    return [e for e in hall.journal.read(0, 100_000) if e.type in types]


async def closed(hall, twin, n, kind):
    """The compartment's door, open as the hall has seen it, shut by hand; the hall sees it as
    `kind`. (A door opened and shut between two polls is not seen: a citizen takes seconds.)"""
    await hall.watch.until(lambda: hall.lockers.lockers["locker-9"].compartments[n].open, 5,
                           f"compartment {n} seen open")
    before = len(events(hall, kind))
    twin.close(n)
    await hall.watch.until(lambda: len(events(hall, kind)) > before, 5, f"{kind} journaled")
    return events(hall, kind)[-1].data


async def deposit(hall, twin, case="BJ2026120600017", size="S", window=1):
    status, body = await api(hall, "POST", "/api/lockers/locker-9/deposit",
                             {"case": case, "size": size}, role="clerk", window=window)
    assert status == 200, body
    assert twin.is_open(body["compartment"])
    held = await closed(hall, twin, body["compartment"], "locker.deposited")
    return body, held


def code_of(hall, deposit_id):
    """What central does: the code from the deposit id and the key it shares with the hall."""
    return pickup_code(hall.commands.key, hall.cfg.hall.id, deposit_id)


PAGE_TOKEN = "locker-9-page-token-for-tests"


async def at_locker(hall, path, body=None, method="POST"):
    """The locker's own page (its token: the demo hall has a locker page of its own)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{hall.api_url}/api/lockers/locker-9{path}", json=body,
                                headers={"Authorization": f"Bearer {PAGE_TOKEN}"}) as r:
            return r.status, await r.json()


async def test_a_pickup_opens_once_with_its_code(lockers):
    sim, hall, twin = lockers
    body, held = await deposit(hall, twin)
    assert body["compartment"] == 1 and twin.pulses == [10]  # the smallest free that fits
    assert held["case"] == "BJ2026120600017" and len(held["code_hash"]) == 32
    code = code_of(hall, held["deposit"])
    status, opened = await at_locker(hall, "/pickup", {"code": code})
    assert status == 200 and opened["compartment"] == 1, opened
    got = await closed(hall, twin, 1, "locker.collected")
    assert (got["deposit"], got["by"], got["case"]) == (held["deposit"], "code", held["case"])
    status, again = await at_locker(hall, "/pickup", {"code": code})
    assert (status, again["error"]) == (403, "locker.code_used")
    assert twin.pulses == [10, 10]  # opened for the clerk and for the citizen, nothing more


async def test_a_compartment_is_never_given_out_twice(lockers):
    sim, hall, twin = lockers
    given = [(await deposit(hall, twin, case=f"BJ-{i}", size="S"))[0]["compartment"]
             for i in range(4)]
    assert sorted(given) == [1, 2, 3, 4]  # S, S, then the M and the L
    status, body = await api(hall, "POST", "/api/lockers/locker-9/deposit",
                             {"case": "BJ-5"}, role="clerk", window=1)
    assert (status, body["error"]) == (409, "locker.full")
    status, big = await api(hall, "POST", "/api/lockers/locker-9/deposit",
                            {"case": "BJ-6", "size": "XL"}, role="clerk", window=1)
    assert (status, big["error"]) == (400, "locker.size")


async def test_wrong_codes_lock_the_page_out_for_five_minutes(lockers):
    sim, hall, twin = lockers
    _, held = await deposit(hall, twin)
    code = code_of(hall, held["deposit"])
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(LOCKOUT_AFTER):
        status, body = await at_locker(hall, "/pickup", {"code": wrong})
        assert (status, body["error"]) == (403, "locker.bad_code")
    status, body = await at_locker(hall, "/pickup", {"code": code})
    assert (status, body["error"]) == (429, "locker.locked_out")  # even the right one
    assert events(hall, "locker.locked_out") and twin.pulses == [10]
    sim.clock.advance(minutes=5, seconds=1)
    status, body = await at_locker(hall, "/pickup", {"code": code})
    assert status == 200, body


async def test_an_expired_code_opens_nothing_and_the_clerk_takes_it_back(lockers):
    sim, hall, twin = lockers
    _, held = await deposit(hall, twin)
    sim.clock.advance(hours=73)  # code_hours = 72
    status, body = await at_locker(hall, "/pickup", {"code": code_of(hall, held["deposit"])})
    assert (status, body["error"]) == (403, "locker.code_expired")
    status, view = await api(hall, "GET", "/api/windows/1", role="clerk", window=1)
    assert [w["case"] for w in view["lockers"]] == [held["case"]]
    status, body = await api(hall, "POST", "/api/lockers/locker-9/collect", {"compartment": 1},
                             role="clerk", window=2)
    assert (status, body["error"]) == (409, "locker.not_yours")  # another window's
    status, body = await api(hall, "POST", "/api/lockers/locker-9/collect", {"compartment": 9},
                             role="clerk", window=1)
    assert (status, body["error"]) == (404, "locker.no_compartment")
    status, body = await api(hall, "POST", "/api/lockers/locker-9/collect", {"compartment": 1},
                             role="clerk", window=1)
    assert status == 200, body
    got = await closed(hall, twin, 1, "locker.collected")
    assert got["by"] == "clerk:clerk-w1"


async def test_the_card_the_case_was_registered_to_opens_it(lockers):
    sim, hall, twin = lockers
    kiosk_reader = sim.twin("reader-k1")
    kiosk_reader.place(CITIZEN)
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 10, "the card at the kiosk")
    status, ticket = await api(hall, "POST", "/api/tickets", {"category": "A"}, kiosk="kiosk-1")
    assert status == 201, ticket
    await kiosk_reader.lifted()
    status, called = await api(hall, "POST", "/api/windows/1/call-next", {}, role="clerk",
                               window=1)
    assert status == 200, called
    body, held = await deposit(hall, twin)
    assert body["by_card"] and held["holder"] == hall.token_of(CITIZEN.id_number)
    reader = sim.twin("locker-9-reader")
    reader.place(make_card("钱多多", date(1990, 1, 1)))  # somebody else's card: nothing opens
    await hall.watch.until(lambda: hall.lockers.notices.get("locker-9"), 10, "a card read")
    assert hall.lockers.notices["locker-9"]["error"] == "locker.nothing_for_card"
    await reader.lifted()
    reader.place(CITIZEN)
    await twin.watch.until(lambda: twin.is_open(body["compartment"]), 10, "opened for the card")
    got = await closed(hall, twin, body["compartment"], "locker.collected")
    assert got["by"] == "card"
    await reader.lifted()


async def test_a_drop_off_waits_for_its_window(lockers):
    sim, hall, twin = lockers
    status, body = await at_locker(hall, "/dropoff", {"window": 2, "size": "M"})
    assert status == 200 and body["compartment"] == 3 and len(body["receipt"]) == 6, body
    dropped = await closed(hall, twin, 3, "locker.deposited")
    assert (dropped["kind"], dropped["window"], dropped["code_hash"]) == ("dropoff", 2, None)
    printer = sim.twin("locker-9-printer")  # the receipt, where the locker has a printer
    await printer.watch.until(lambda: printer.tickets, 10, "the receipt printed")
    assert body["receipt"] in printer.tickets[-1].big and "2 号窗口" in printer.tickets[-1].text
    status, view = await api(hall, "GET", "/api/windows/2", role="clerk", window=2)
    assert view["lockers"] == [{"locker": "locker-9", "compartment": 3, "kind": "dropoff",
                                "case": body["receipt"], "at": dropped.get("at") or
                                view["lockers"][0]["at"], "expires": None}]
    status, taken = await api(hall, "POST", "/api/lockers/locker-9/collect", {"compartment": 3},
                              role="clerk", window=2)
    assert status == 200, taken
    assert (await closed(hall, twin, 3, "locker.collected"))["kind"] == "dropoff"


async def test_doors_that_jam_or_are_forced_are_alarms(lockers):
    sim, hall, twin = lockers
    twin.jammed = {1}
    status, body = await api(hall, "POST", "/api/lockers/locker-9/deposit", {"case": "BJ-1"},
                             role="clerk", window=1)
    assert (status, body["error"]) == (409, "locker.jammed")
    assert events(hall, "locker.jammed")[-1].data["compartment"] == 1
    assert hall.drivers["locker-9"].condition == "alarm"
    body, _ = await deposit(hall, twin, case="BJ-2")
    assert body["compartment"] == 2  # the jammed one is out of service
    twin.open(4)  # nothing asked it to open
    await hall.watch.until(lambda: events(hall, "locker.forced"), 5, "a forced compartment")
    assert events(hall, "locker.forced")[-1].data["compartment"] == 4


async def test_a_board_answering_exceptions_opens_nothing(lockers):
    sim, hall, twin = lockers
    twin.failing = 2  # ILLEGAL DATA ADDRESS
    await hall.watch.until(lambda: hall.supervisors["locker-9"].state.state == "fault", 10,
                           "the board in fault")
    status, body = await api(hall, "POST", "/api/lockers/locker-9/deposit", {"case": "BJ-1"},
                             role="clerk", window=1)
    assert (status, body["error"]) == (409, "locker.fault")
    assert twin.pulses == [] and hall.lockers.lockers["locker-9"].compartments[1].state == "free"


async def test_deposits_are_kept_over_a_restart(hall_of, tmp_path):
    sim, hall, twin = await locker_hall(hall_of, tmp_path,
                                        url="serial:///dev/kioskd/locker?baud=9600")  # RTU
    _, held = await deposit(hall, twin)
    hall = await sim.restart_daemon()
    await hall.watch.until(lambda: hall.lockers.lockers["locker-9"].compartments[1].state
                           == "held", 5, "the deposit back")
    status, body = await at_locker(hall, "/pickup", {"code": code_of(hall, held["deposit"])})
    assert status == 200, body


async def test_no_code_in_any_event_log_or_page(lockers, kioskd_log):
    sim, hall, twin = lockers
    _, held = await deposit(hall, twin)
    code = code_of(hall, held["deposit"])
    pages = [await at_locker(hall, "", method="GET"),
             await api(hall, "GET", "/api/lockers", role="technician"),
             await api(hall, "GET", "/api/windows/1", role="clerk", window=1),
             await api(hall, "GET", "/api/devices/locker-9/frames", role="technician")]
    await at_locker(hall, "/pickup", {"code": code})
    seen = "\n".join([kioskd_log.text, *(json.dumps(p, ensure_ascii=False) for p in pages),
                      *(json.dumps(e.data, ensure_ascii=False)
                        for e in hall.journal.read(0, 100_000)),
                      (hall.state_dir / "lockers.json").read_text()])
    assert code not in seen


@NEEDS_CHROMIUM
async def test_the_locker_page_opens_by_code_and_takes_a_drop_off(lockers, browser, tmp_path):
    sim, hall, twin = lockers
    _, held = await deposit(hall, twin)
    context, page = await screen(browser, 1080, 1920)
    base = hall.api_url
    await page.goto(f"{base}/locker/locker-9?token={PAGE_TOKEN}")
    assert page.url == f"{base}/locker/locker-9"
    await page.get_by_role("button", name="输入取件码").wait_for()
    await no_serious_violations(page)
    await shot(page, "locker", tmp_path)
    code = code_of(hall, held["deposit"])
    await page.get_by_role("button", name="输入取件码").click()
    for digit in code:
        await page.locator("#keypad").get_by_role("button", name=digit, exact=True).click()
    assert code not in await page.content()  # typed, never shown
    await page.get_by_role("button", name="开柜").click()
    await page.locator("#compartment", has_text="1 号柜").wait_for()
    await twin.watch.until(lambda: twin.is_open(1), 5, "opened by the page")
    await closed(hall, twin, 1, "locker.collected")
    await page.get_by_role("button", name="完成").click()
    # 寄件 for window 3
    await page.get_by_role("button", name="寄存材料给窗口").click()
    await page.get_by_role("button", name="3 号窗口").click()
    await page.locator("#receipt").wait_for()
    await no_serious_violations(page)
    assert twin.is_open(1)  # the smallest free one again
    await context.close()
