"""好差评 end to end, on the three pad types (serial, MQTT, the tablet page): the flow, what central receives, and every way a
clerk (or anyone else) might try to rate for the citizen — each refused, audited to central,
and absent from the statistics, while the citizen's own rating counts exactly once."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

import pytest

from kioskd.drivers.caller import proto as keypad_proto
from kioskd.engine import queue
from kioskd.sim.idcard import make_card
from support.helpers import HALL_DAY, api

PADS = {1: "pad-w1", 3: "pad-w3", 4: "pad-w4"}  # pad.serial, pad.mqtt, pad.web in the demo


class Clock:
    """The hall's time, standing still until the test moves it (a rating time limit is
    crossed without waiting): the fixed day at 10:00."""

    def __init__(self, tz):
        self.now = self.start = datetime.combine(HALL_DAY, time(10), tz)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:  # the test moves time on: it passes, the clock is not wrong
        return (self.now - self.start).total_seconds()


async def clocked(hall_of, cfg):
    """A simulated hall on a test clock (`sim.clock.now` moves it)."""
    return await hall_of(cfg, clock=Clock(cfg.hall.tz))


@pytest.fixture
async def rated_hall(hall_of, demo_cfg):
    return await clocked(hall_of, demo_cfg)


async def served(sim, window: int, *, card=None, case_no: str | None = None) -> tuple[str, object]:
    """A citizen takes a ticket, is called and served at `window`; the pad prompts. Returns
    the ticket and the pad twin."""
    hall = sim.hall
    clock = sim.clock
    if card is not None:
        reader = sim.twin("reader-k1")
        reader.place(card)
        await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "the card is read")
        reader.lift()
    status, t = await api(hall, "POST", "/api/tickets", {"category": "A"})
    assert status == 201, t
    assert (await api(hall, "POST", f"/api/windows/{window}/sign-in", role="clerk",
                      window=window))[0] == 200
    status, body = await api(hall, "POST", f"/api/windows/{window}/call", {"ticket": t["ticket"]},
                             role="clerk", window=window)
    assert status == 200, body
    clock.now += timedelta(minutes=5)
    status, body = await api(hall, "POST", f"/api/windows/{window}/finish",
                             {"case_no": case_no} if case_no else {}, role="clerk", window=window)
    assert status == 200, body
    pad = sim.twin(PADS.get(window, f"pad-w{window}"))
    await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.ticket == t["ticket"],
                          5, "the pad prompts")
    clock.now += timedelta(seconds=8)  # the citizen reads the screen
    return t["ticket"], pad


def events(hall, type_: str) -> list[dict]:
    return [e.data for e in hall.journal.read() if e.type == type_]


async def answered(pad, txn, n: int = 1) -> bool:
    await pad.watch.until(lambda: sum(a[0] == txn for a in pad.answers) >= n, 5, "the pad hears")
    return [ok for t, ok in pad.answers if t == txn][-1]


async def rated_once(hall, ticket: str) -> None:
    """The genuine rating is in the journal and the statistics exactly once."""
    assert [g["ticket"] for g in events(hall, "rating.given")] == [ticket]
    status, stats = await api(hall, "GET", "/api/stats")
    assert stats["ratings"]["rated"] == 1


# --- the flow --------------------------------------------------------------------------------
@pytest.mark.parametrize("window", [1, 3, 4], ids=["pad.serial", "pad.mqtt", "pad.web"])
async def test_good_rating_reaches_central_with_what_it_needs(rated_hall, sub, window):
    sim, hall = rated_hall, rated_hall.hall
    card = make_card("李秀兰", date(1980, 4, 2), serial=31)
    ticket, pad = await served(sim, window, card=card, case_no="440300-2026-000123")
    assert pad.prompt.clerk == f"clerk-w{window} 工号010{window}"
    assert [code for code, _ in pad.reasons] == [1, 2, 3, 4, 5]  # from [rating] reasons
    txn = pad.press(5)
    assert await answered(pad, txn)
    await pad.watch.until(lambda: pad.prompt is None, 5, "the pad back to idle")
    (given,) = events(hall, "rating.given")
    assert {k: given[k] for k in ("level", "reasons", "text", "window", "ticket", "clerk",
                                  "staff_no", "category", "matter_code", "case_no", "channel",
                                  "device")} == {
        "level": 5, "reasons": [], "text": "", "window": window, "ticket": ticket,
        "clerk": f"clerk-w{window}", "staff_no": f"010{window}", "category": "A",
        "matter_code": "11440300MB2C00001X4440111001000", "case_no": "440300-2026-000123",
        "channel": "hall_pad", "device": PADS[window]}
    # the citizen as a keyed token only: not the ID number, not the name
    assert given["citizen"] == hall.token_of(card.id_number)
    assert "citizen_name" not in given and card.id_number not in str(given)
    assert "flag" not in given and given["after_s"] == 8.0
    await sub.watch.until(lambda: any(e["type"] == "rating.given" for e in sub.events()), 5,
                          "central has it")
    await rated_once(hall, ticket)


@pytest.mark.parametrize("window", [1, 3, 4], ids=["pad.serial", "pad.mqtt", "pad.web"])
async def test_bad_rating_needs_a_reason_and_may_add_text(rated_hall, window):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, window)
    txn = pad.press(2)  # no reason: refused, and the prompt stays for the citizen to add one
    assert not await answered(pad, txn)
    assert pad.prompt is not None
    assert pad.press(1, (2, 3), "等了四十分钟") == txn
    assert await answered(pad, txn, 2)
    (given,) = events(hall, "rating.given")
    assert (given["level"], given["reasons"], given["text"]) == (1, [2, 3], "等了四十分钟")
    assert [r["code"] for r in events(hall, "rating.refused")] == ["rating.reason_required"]
    await rated_once(hall, ticket)


async def test_no_rating_within_the_limit_is_missed_and_the_pad_goes_idle(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, 1)
    sim.clock.now += timedelta(seconds=hall.cfg.queue.rating_timeout_s)
    await hall.execute(queue.Tick())  # what the hall's ticker runs every 15 s
    await pad.watch.until(lambda: pad.prompt is None, 5, "the pad back to idle")
    assert events(hall, "rating.missed") == [{"window": 1, "ticket": ticket}]
    await sub.watch.until(lambda: any(e["type"] == "rating.missed" for e in sub.events()), 5,
                          "central can follow up (SMS)")


async def test_scripted_pad_rates_by_itself(hall_of, demo_cfg):
    """The twins play a citizen from devices.toml: `sim = { script = [...] }`."""
    cfg = dataclasses.replace(demo_cfg, devices=tuple(
        dataclasses.replace(d, sim={"script": ["bad 2 1 太慢", "rate 4"], "delay_ms": 10})
        if d.id == "pad-w3" else d for d in demo_cfg.devices))
    sim = await clocked(hall_of, cfg)
    hall = sim.hall
    for n in (1, 2):
        ticket, pad = await served(sim, 3)
        await hall.watch.until(lambda: len(events(hall, "rating.given")) == n, 5, "rated")
    assert [(g["level"], g["reasons"], g["text"]) for g in events(hall, "rating.given")] == [
        (2, [1], "太慢"), (4, [], "")]


@pytest.mark.parametrize("device", ["pad-w1", "pad-w3", "pad-w4"])
async def test_a_pad_that_goes_offline_is_a_device_fault_and_asks_again_when_back(
        rated_hall, sub, device):
    sim, hall = rated_hall, rated_hall.hall
    window = int(device[-1])
    ticket, pad = await served(sim, window)
    await pad.go_offline()
    sup = hall.supervisors[device]
    await hall.watch.until(lambda: sup.state.state == "absent", 10, "the pad seen gone")
    await sub.watch.until(lambda: any(
        e["type"] == "device.state" and e["data"]["device"] == device
        and e["data"]["state"] == "absent" for e in sub.events()), 5, "central sees the fault")
    await pad.come_back()
    # back: the rating still open at its window is asked for again
    await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.ticket == ticket, 10,
                          "the pad prompts again")
    txn = pad.press(4)
    assert await answered(pad, txn)
    await rated_once(hall, ticket)


async def test_a_pad_that_stops_answering_is_stale_then_a_fault(hall_of, demo_cfg):
    cfg = dataclasses.replace(demo_cfg, devices=tuple(
        dataclasses.replace(d, options={**d.options, "ping_ms": 50, "timeout_ms": 100})
        if d.id == "pad-w2" else d for d in demo_cfg.devices))
    sim = await hall_of(cfg)
    hall, pad = sim.hall, sim.twin("pad-w2")
    pad.silent = True
    seen = []
    hall.listeners.add(lambda env: seen.append(env.data.get("state"))
                       if env.type == "device.state" and env.data["device"] == "pad-w2" else None)
    await hall.watch.until(lambda: "fault" in seen, 10, "a fault after three missed pings")
    assert seen.index("stale") < seen.index("fault")


# --- forgery: one test per attempt -------------------------------------------------------------
async def audited(hall, sub, code: str, n: int = 1) -> list[dict]:
    await sub.watch.until(lambda: sum(e["type"] == "rating.refused" and e["data"]["code"] == code
                                      for e in sub.events()) >= n, 5, f"{code} reaches central")
    return [r for r in events(hall, "rating.refused") if r["code"] == code]


async def genuine(sim, window: int = 1) -> tuple[str, object, object]:
    ticket, pad = await served(sim, window)
    txn = pad.press(5)
    assert await answered(pad, txn)
    return ticket, pad, txn



async def test_the_keypads_own_rating_keys_are_heard_and_refused(rated_hall, sub):
    """FUNC 11 (protocols.md §9): a level typed on the keypad's own rating keys. The keypad
    is answered as the deployed host answers (FUNC 01, so it stops sending); no rating."""
    sim, hall = rated_hall, rated_hall.hall
    keypad = sim.twin("callers")
    ticket, pad = await served(sim, 2)
    keypad.press(0x01, func=keypad_proto.FUNC_RATING)
    (tried,) = await audited(hall, sub, "rating.pad_only")
    assert (tried["via"], tried["device"], tried["ticket"], tried["func"], tried["key"]) == (
        "caller.serial", "callers", ticket, "11", 1)
    await keypad.watch.until(lambda: len(keypad.acked) == 1, 5, "the keypad hears its echo")
    assert keypad.acked == [bytes.fromhex("FF 68 03 03 68 02 01 01 04 16")]
    assert events(hall, "rating.given") == []
    txn = pad.press(4)  # the citizen's own rating is still taken
    assert await answered(pad, txn)
    await rated_once(hall, ticket)

@pytest.mark.parametrize("role,who", [("clerk", {"window": 1}), ("technician", {}),
                                      ("kiosk", {})])
async def test_no_api_token_can_rate(rated_hall, sub, role, who):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, 1)
    for path in ("/api/windows/1/rating", "/api/ratings"):
        status, body = await api(hall, "POST", path, {"ticket": ticket, "level": 5},
                                 role=role, **who)
        assert (status, body["error"]) == (403, "rating.pad_only")
    refused = await audited(hall, sub, "rating.pad_only", 2)
    assert {(r["via"], r["role"], r["ticket"], r["level"]) for r in refused} == {
        ("api", role, ticket, 5)}
    assert events(hall, "rating.given") == []
    txn = pad.press(3)  # the citizen's own rating is still taken
    assert await answered(pad, txn)
    await rated_once(hall, ticket)


async def test_the_keypad_can_ask_for_a_rating_but_not_give_one(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    keypad = sim.twin("callers")
    ticket, pad = await served(sim, 2)
    keypad.press(5, 0x0B)  # level then the rating key: 代评, as some keypads allow
    (tried,) = await audited(hall, sub, "rating.pad_only")
    assert (tried["via"], tried["device"], tried["ticket"], tried["level"]) == (
        "caller.serial", "callers", ticket, 5)
    await keypad.watch.until(lambda: len(keypad.acked) == 1, 5, "the keypad hears its echo")
    first = pad.prompt.txn
    keypad.press(0x0B)  # the rating key alone: ask again, on the same clock
    await hall.watch.until(lambda: len(events(hall, "rating.requested")) == 2, 5, "asked again")
    assert events(hall, "rating.requested")[-1]["again"] is True
    # a new prompt (a new txn) for the same ticket: the screen asked before is void
    await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.txn != first, 5,
                          "the pad prompts again")
    assert pad.prompt.ticket == ticket
    assert events(hall, "rating.given") == []
    txn = pad.press(5)
    assert await answered(pad, txn)
    await rated_once(hall, ticket)


async def test_another_windows_pad_cannot_rate(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, 1)
    other = sim.twin("pad-w2")
    # window 2's pad answers window 1's prompt (its txn and ticket), sealed with its own key
    txn = other.press(5, txn=pad.prompt.txn, ticket=ticket)
    assert not await answered(other, txn)
    (r,) = await audited(hall, sub, "rating.not_prompted")
    assert (r["device"], r["window"]) == ("pad-w2", 2)
    txn = pad.press(4)
    assert await answered(pad, txn)
    await rated_once(hall, ticket)


async def test_a_pad_cannot_pretend_to_be_another(rated_hall, sub):
    """On window 1's own line, a rating with window 1's prompt but sealed with another key
    (window 2's pad, or a laptop on the RS-485 bus): refused, and the prompt stays open."""
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, 1)
    txn = pad.press(5, key=sim.twin("pad-w2").key)
    assert not await answered(pad, txn)
    (r,) = await audited(hall, sub, "rating.bad_seal")
    assert (r["device"], r["ticket"]) == ("pad-w1", ticket)
    assert pad.prompt is not None
    assert pad.press(5) == txn
    assert await answered(pad, txn, 2)
    await rated_once(hall, ticket)


async def test_a_ticket_not_yet_finished_cannot_be_rated(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    status, t = await api(hall, "POST", "/api/tickets", {"category": "A"})
    await api(hall, "POST", "/api/windows/1/sign-in", role="clerk", window=1)
    await api(hall, "POST", "/api/windows/1/call", {"ticket": t["ticket"]}, role="clerk", window=1)
    pad = sim.twin("pad-w1")
    assert pad.prompt is None  # no prompt before the finish
    txn = pad.press(5, txn=1234, ticket=t["ticket"])  # a forged prompt id
    assert not await answered(pad, txn)
    await audited(hall, sub, "rating.not_prompted")
    status, body = await api(hall, "POST", "/api/windows/1/finish", role="clerk", window=1)
    await pad.watch.until(lambda: pad.prompt is not None, 5, "prompted at the finish")
    sim.clock.now += timedelta(seconds=5)
    txn = pad.press(5)
    assert await answered(pad, txn)
    await rated_once(hall, t["ticket"])


async def test_a_second_rating_of_one_service_is_refused(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad, txn = await genuine(sim)
    pad.press(1, (1,), txn=txn, ticket=ticket)  # the same prompt, a changed mind
    assert not await answered(pad, txn, 2)
    await audited(hall, sub, "rating.not_prompted")
    await rated_once(hall, ticket)


@pytest.mark.parametrize("window", [1, 3, 4], ids=["pad.serial", "pad.mqtt", "pad.web"])
async def test_a_replayed_pad_message_is_refused(rated_hall, sub, window):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, window)
    sent = []
    original = pad.send_rating
    pad.send_rating = lambda *a: (sent.append(a), original(*a))  # record what went on the wire
    txn = pad.press(5)
    assert await answered(pad, txn)
    original(*sent[0])  # the same message, byte for byte, again
    assert not await answered(pad, txn, 2)
    await audited(hall, sub, "rating.not_prompted")
    await rated_once(hall, ticket)


async def test_a_rating_after_the_time_limit_is_refused(rated_hall, sub):
    sim, hall = rated_hall, rated_hall.hall
    ticket, pad = await served(sim, 1)
    sim.clock.now += timedelta(seconds=hall.cfg.queue.rating_timeout_s + 1)
    txn = pad.press(5)  # before the ticker closed it: the engine still checks the time
    assert not await answered(pad, txn)
    (r,) = await audited(hall, sub, "rating.timeout")
    assert r["ticket"] == ticket
    assert events(hall, "rating.given") == []
    status, stats = await api(hall, "GET", "/api/stats")
    assert stats["ratings"]["rated"] == 0


async def test_real_name_hall_sends_the_name_never_the_id_number(hall_of, demo_cfg, sub):
    cfg = dataclasses.replace(demo_cfg, rating=dataclasses.replace(demo_cfg.rating,
                                                                   real_name=True))
    sim = await clocked(hall_of, cfg)
    card = make_card("王小明", date(1992, 6, 1), serial=41)
    ticket, pad = await served(sim, 1, card=card)
    txn = pad.press(5)
    assert await answered(pad, txn)
    (given,) = events(sim.hall, "rating.given")
    assert given["citizen_name"] == "王小明"
    assert given["citizen"] == sim.hall.token_of(card.id_number)
    await sub.watch.until(lambda: any(e["type"] == "rating.given" for e in sub.events()), 5, "")
    assert card.id_number.encode() not in sub.payloads()


@pytest.mark.parametrize("device", ["pad-w1", "pad-w3", "pad-w4"])
async def test_pings_never_take_a_prompts_answer(hall_of, demo_cfg, device):
    """Pings every 10 ms while prompts go out: each request gets its own answer (a prompt
    once claimed the ping's answer slot and the ping timed out: a false `stale`)."""
    cfg = dataclasses.replace(demo_cfg, devices=tuple(
        dataclasses.replace(d, options={**d.options, "ping_ms": 10})
        if d.id == device else d for d in demo_cfg.devices))
    sim = await hall_of(cfg)
    hall, pad = sim.hall, sim.twin(device)
    window = int(device[-1])
    seen = []
    hall.listeners.add(lambda env: seen.append(env.data["state"])
                       if env.type == "device.state" and env.data["device"] == device else None)
    await hall.execute(queue.WindowAction(window, "sign-in", clerk=f"clerk-w{window}"))
    for _ in range(15):
        envs, _ = await hall.execute(queue.IssueTicket("A"))
        await hall.execute(queue.WindowAction(window, "call", ticket=envs[0].data["ticket"]))
        envs, results = await hall.execute(queue.WindowAction(window, "finish"))
        assert results[-1].effect == "prompt" and results[-1].ok, results
        await pad.watch.until(lambda: pad.prompt is not None, 5, "prompted")
    assert "stale" not in seen and "fault" not in seen
    # and the listener does see this pad's states: silenced, it goes stale
    pad.silent = True
    await hall.watch.until(lambda: "stale" in seen, 10, "stale once it stops answering")


async def test_refused_attempts_in_a_loop_are_journaled_ten_a_minute_and_all_counted(rated_hall):
    """One clerk token trying 300 times (300 rows in 3 s, once): every attempt is refused, ten
    a minute are journaled, and the next row says how many more there were."""
    sim, hall = rated_hall, rated_hall.hall
    before = len(events(hall, "rating.refused"))
    for _ in range(300):
        status, body = await api(hall, "POST", "/api/ratings", {"ticket": "A001", "level": 5},
                                 role="clerk", window=1)
        assert (status, body["error"]) == (403, "rating.pad_only")
    rows = events(hall, "rating.refused")[before:]
    assert len(rows) == 10 and all("suppressed" not in r for r in rows)
    sim.clock.now += timedelta(seconds=61)
    await api(hall, "POST", "/api/ratings", {"ticket": "A001", "level": 5}, role="clerk",
              window=1)
    last = events(hall, "rating.refused")[-1]
    assert last["suppressed"] == 290 and last["role"] == "clerk"
    # another source has its own budget
    status, _ = await api(hall, "POST", "/api/ratings", {"level": 5}, role="technician")
    assert events(hall, "rating.refused")[-1]["role"] == "technician"
