"""The slice, end to end: card -> ticket printed -> called -> board -> finished -> rated ->
every step on the real broker, in order, and the ID number nowhere."""

from __future__ import annotations

from datetime import date

import aiohttp

from kioskd.privacy import link_sig
from kioskd.sim.idcard import make_card
from kioskd.sim.scenario import token, visit
from support.helpers import Subscriber

FLOW = ["ticket.issued", "ticket.called", "service.started", "service.finished",
        "rating.requested", "rating.given"]


async def test_citizen_flow_reaches_central(sim, sub, kioskd_log):
    hall = sim.hall
    # (the subscriber listened before the hall started: it sees every event from seq 1)
    card = make_card("张三丰", date(1950, 3, 7), serial=16)
    async with aiohttp.ClientSession() as http:
        v = await visit(sim, http, card=card, category="A", window=1, rating=5)

    # the printer twin's decoded ticket has the hall, the category and the number
    printed = sim.twin("printer-k1").tickets[-1]
    assert v.ticket["ticket"] == "A001"
    assert "示范区政务服务中心" in printed.text and "综合受理" in printed.text
    assert "A001" in printed.big  # the number is printed large
    # the QR is central's later-rating link, signed for this ticket (numbers are guessable)
    day = hall.state.day
    sig = link_sig(hall.link_key, "demo-hall", day, "A001")
    assert printed.qr == [f"https://hcp.example.gov.cn/r/demo-hall/{day}/A001/{sig}"]
    assert sig != link_sig(hall.link_key, "demo-hall", day, "A002")
    assert v.board == "A001 请到1号窗口"
    assert v.ticket["lane"] == "elderly"  # born 1950: 60+ by the hall's local date
    assert v.ticket["holder"] == "张**"
    assert v.accepted

    types = lambda: [e["type"] for e in sub.events()]  # noqa: E731
    await sub.watch.until(lambda: "rating.given" in types(), 10, "rating.given on MQTT")
    flow = [t for t in types() if not t.startswith("device.")]
    assert flow == FLOW
    seqs = sub.seqs()
    assert sorted(set(seqs)) == list(range(1, max(seqs) + 1)), "seq has gaps"
    rating = next(e for e in sub.events() if e["type"] == "rating.given")
    assert rating["data"]["level"] == 5 and rating["data"]["ticket"] == "A001"
    assert rating["data"]["device"] == "pad-w1"
    env = sub.events()[0]
    assert set(env) == {"v", "hall", "seq", "id", "ts", "type", "data", "prev"}
    assert env["ts"][-6] in "+-"  # RFC 3339 with the hall's offset
    # a subscriber arriving now gets the retained state at once
    late = await Subscriber(sim.broker.port, f"kioskd/v1/{hall.cfg.hall.id}/state").start()
    try:
        await late.watch.until(lambda: late.messages, 5, "retained state")
        state, retained = late.last(f"kioskd/v1/{hall.cfg.hall.id}/state")
        assert state["online"] is True and retained
    finally:
        late.stop()

    # personal data: the full ID number is nowhere outside the card
    number = card.id_number
    assert number not in kioskd_log.text
    assert number.encode() not in sub.payloads()
    assert number not in printed.text
    assert number[6:14] not in sub.payloads().decode()  # not even the birth date part
    assert number not in str([e.to_json() for e in hall.journal.read()])
    api = [str(v.ticket)]
    async with aiohttp.ClientSession() as http:
        for path in ("queue", "stats", "devices", "health"):
            async with http.get(f"{hall.api_url}/api/{path}",
                                headers={"Authorization": "Bearer " + token(hall.cfg, "technician")}) as r:
                api.append(await r.text())
    assert number not in "".join(api) and number[6:14] not in "".join(api)


# (who may rate, and every forgery attempt: tests/hall/test_ratings.py)


async def test_pad_shows_the_clerk_and_goes_idle_when_the_next_citizen_is_called(sim):
    hall, pad = sim.hall, sim.twin("pad-w1")
    clerk = {"Authorization": "Bearer " + token(hall.cfg, "clerk", window=1)}
    kiosk = {"Authorization": "Bearer " + token(hall.cfg, "kiosk")}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hall.api_url}/api/windows/1/sign-in", headers=clerk) as r:
            assert r.status == 200
        for _ in range(2):
            async with http.post(f"{hall.api_url}/api/tickets", json={"category": "A"},
                                 headers=kiosk) as r:
                assert r.status == 201
        for action in ("call-next", "finish"):
            async with http.post(f"{hall.api_url}/api/windows/1/{action}", headers=clerk) as r:
                assert r.status == 200
        await pad.watch.until(lambda: pad.prompt is not None, 5, "the pad prompts")
        assert (pad.prompt.ticket, pad.prompt.clerk) == ("A001", "clerk-w1 工号0101")
        async with http.post(f"{hall.api_url}/api/windows/1/call-next", headers=clerk) as r:
            assert r.status == 200
    await pad.watch.until(lambda: pad.prompt is None, 5, "the pad back to idle")
    missed = [e.data for e in hall.journal.read() if e.type == "rating.missed"]
    assert missed == [{"window": 1, "ticket": "A001", "by": "next_call"}]


async def test_the_24_hour_zone_reaches_central_with_no_number_and_no_code(sim, sub, kioskd_log):
    """The demo hall's zone and locker, played as `kioskd sim --demo` plays them: a night-time
    entry and a pickup by code. Central gets every step; the ID number and the pickup code are
    in no payload, log, journal row or page."""
    from kioskd.lockers.rules import pickup_code
    from kioskd.sim.scenario import locker_pickup, night_entry

    hall = sim.hall
    card = make_card("诸葛亮", date(1981, 7, 2), serial=23)
    entry = await night_entry(sim, card, "night")
    assert entry["event"] == "zone.entry" and entry["masked_name"] == "诸**"
    async with aiohttp.ClientSession() as http:
        got = await locker_pickup(sim, http, "locker-1", "BJ2026120600042", 1)
    deposited = next(e for e in hall.journal.read() if e.type == "locker.deposited")
    code = pickup_code(hall.commands.key, hall.cfg.hall.id, deposited.data["deposit"])
    types = lambda: [e["type"] for e in sub.events()]  # noqa: E731
    await sub.watch.until(lambda: "locker.collected" in types(), 10, "the pickup at central")
    for step in ("zone.entry", "gate.opened", "gate.passed", "locker.deposited",
                 "locker.collected"):
        assert step in types(), step
    assert got["compartment"] == deposited.data["compartment"]
    pages = []
    async with aiohttp.ClientSession() as http:
        for path in ("zones", "lockers", "devices", "health", "lockers/locker-1"):
            async with http.get(f"{hall.api_url}/api/{path}", headers={
                    "Authorization": "Bearer " + token(hall.cfg, "technician")}) as r:
                pages.append(await r.text())
    everything = "\n".join([kioskd_log.text, sub.payloads().decode(), *pages,
                            str([e.to_json() for e in hall.journal.read()])])
    for secret in (card.id_number, card.id_number[6:14], code, "诸葛亮"):
        assert secret not in everything, secret
