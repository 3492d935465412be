"""The queue through the running daemon: windows calling at the same instant, skip and transfer
over the API, appointment upload and check-in with the ID card, statistics, estimates on the
printed ticket, and a restart that rebuilds the same queue from the journal."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import aiohttp

from kioskd.engine import queue as q
from kioskd.sim.idcard import make_card
from kioskd.sim.scenario import token
from test_api import bearer


async def post(http, url, headers, body=None):
    async with http.post(url, json=body, headers=headers) as r:
        return r.status, await r.json()


async def test_two_windows_calling_at_the_same_instant(sim):
    hall = sim.hall
    cfg, base = hall.cfg, hall.api_url
    kiosk = bearer(token(cfg, "kiosk"))
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            assert (await post(http, f"{base}/api/tickets", kiosk, {"category": "A"}))[0] == 201
        for _ in range(5):  # three windows at once, again and again
            results = await asyncio.gather(*(
                post(http, f"{base}/api/windows/{w}/call-next", bearer(token(cfg, "clerk", window=w)))
                for w in (1, 2, 3)))
            called = [b["events"][0]["data"]["ticket"] for s, b in results if s == 200]
            assert len(called) == len(set(called))
            for w in (1, 2, 3):
                await post(http, f"{base}/api/windows/{w}/finish",
                           bearer(token(cfg, "clerk", window=w)))
            await post(http, f"{base}/api/tickets", kiosk, {"category": "A"})
            await post(http, f"{base}/api/tickets", kiosk, {"category": "A"})
    finished = [e.data["ticket"] for e in hall.journal.read() if e.type == "service.finished"]
    assert len(finished) == len(set(finished)) >= 3


async def test_skip_transfer_stats_and_estimate_over_the_api(sim):
    hall = sim.hall
    cfg, base = hall.cfg, hall.api_url
    kiosk, tech = bearer(token(cfg, "kiosk")), bearer(token(cfg, "technician"))
    clerk1 = bearer(token(cfg, "clerk", window=1))
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            s, t = await post(http, f"{base}/api/tickets", kiosk, {"category": "C"})
        assert (t["ticket"], t["ahead"], t["wait_min"]) == ("C003", 2, 5)  # 2 windows serve C
        printed = sim.twin("printer-k1").tickets[-1].text
        assert "您前面还有 2 人等候" in printed and "预计等候约 5 分钟" in printed
        s, b = await post(http, f"{base}/api/windows/1/call-next", clerk1)
        assert b["events"][0]["data"]["ticket"] == "C001"
        s, b = await post(http, f"{base}/api/windows/1/skip", clerk1)
        assert s == 200 and b["events"][0]["type"] == "ticket.skipped"
        s, b = await post(http, f"{base}/api/windows/1/call-next", clerk1)
        s, b = await post(http, f"{base}/api/windows/1/transfer", clerk1, {"to_category": "B"})
        assert b["events"][0]["data"] == {"window": 1, "ticket": "C002", "to_category": "B",
                                          "to_window": None, "kept_place": True, "order": 1}
        s, b = await post(http, f"{base}/api/windows/1/transfer", clerk1, {"to_window": "2"})
        assert s == 400 and b["error"] == "request.to_window"
        s, b = await post(http, f"{base}/api/windows/1/call", clerk1, {"ticket": ["C003"]})
        assert s == 400 and b["error"] == "request.ticket"
        s, b = await post(http, f"{base}/api/windows/2/call-next",
                          bearer(token(cfg, "clerk", window=2)))
        assert b["events"][0]["data"]["ticket"] == "C002"  # now a B matter, at the B window
        w2 = b["window"]  # the window as it is after the action: as /api/queue lists it
        assert (w2["number"], w2["current"], w2["state"]) == (2, "C002", "open")
        s, b = await post(http, f"{base}/api/windows/1/sign-in", clerk1)
        assert b["window"]["clerk"] == "clerk-w1"
        async with http.get(f"{base}/api/stats", headers=kiosk) as r:
            stats = await r.json()
        assert stats["categories"]["C"]["issued"] == 3 and stats["categories"]["C"]["skipped"] == 1
        async with http.get(f"{base}/api/queue", headers=kiosk) as r:
            queue = await r.json()
        assert [w["ticket"] for w in queue["waiting"]] == ["C003"] and queue["skipped"] == ["C001"]
        assert queue["waiting"][0]["wait_min"] == 0
        assert next(w for w in queue["windows"] if w["number"] == 2) == w2
        assert (await post(http, f"{base}/api/windows/1/fly", tech))[0] == 404


async def test_appointment_upload_and_card_check_in_keep_no_id_number(sim, kioskd_log):
    hall = sim.hall
    cfg, base = hall.cfg, hall.api_url
    kiosk, tech = bearer(token(cfg, "kiosk")), bearer(token(cfg, "technician"))
    card = make_card("李四", date(1990, 5, 1), serial=41)
    now = hall.now()
    slot = {"category": "B", "start": (now + timedelta(minutes=10)).isoformat(),
            "end": (now + timedelta(minutes=40)).isoformat()}
    async with aiohttp.ClientSession() as http:
        s, b = await post(http, f"{base}/api/appointments", tech, {"version": "2026-11-24.1", "items": [
            {"code": "YY0001", "id_number": card.id_number, **slot},
            {"code": "YY0002", **slot}]})
        assert s == 200 and b["loaded"] == 2
        s, b = await post(http, f"{base}/api/appointments", kiosk, {"items": []})
        assert s == 403
        s, b = await post(http, f"{base}/api/appointments", tech, {"items": [{"code": "x"}]})
        assert s == 400 and b["error"] == "appointments.item"
        await post(http, f"{base}/api/tickets", kiosk, {"category": "B"})  # B001, walked in
        reader = sim.twin("reader-k1")
        reader.place(card)
        await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "card read")
        s, b = await post(http, f"{base}/api/checkin", kiosk, {})
        assert s == 201 and (b["lane"], b["appointment"]) == ("appointment", "YY0001")
        s, b = await post(http, f"{base}/api/checkin", kiosk, {"code": "YY0001"})
        assert s == 409 and b["error"] == "appointment.used"
        s, b = await post(http, f"{base}/api/windows/2/call-next",
                          bearer(token(cfg, "clerk", window=2)))
        assert b["events"][0]["data"]["ticket"] == "B002"  # the appointment before the walk-in
    everything = str([e.to_json() for e in hall.journal.read()]) + kioskd_log.text
    assert card.id_number not in everything
    assert card.id_number[:14] not in everything  # not even most of it


async def test_restart_rebuilds_the_same_queue(sim):
    hall = sim.hall
    for cmd in [q.IssueTicket("A"), q.IssueTicket("B", lane="disabled"), q.IssueTicket("C"),
                q.WindowAction(1, "call-next"), q.WindowAction(1, "hold"),
                q.WindowAction(3, "call-next"), q.WindowAction(3, "skip"),
                q.WindowAction(2, "pause")]:
        await hall.execute(cmd)
    before = hall.state
    await sim.restart_daemon()
    assert sim.hall.state == before
    envs, _ = await sim.hall.execute(q.IssueTicket("A"))
    assert envs[-1].data["ticket"] == "A002"
