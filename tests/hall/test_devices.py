"""Devices that go away, come back, babble or run out of paper do not stop the hall."""

from __future__ import annotations

import asyncio
import os
from datetime import date

import aiohttp
import pytest

from kioskd.sim.idcard import make_card
from kioskd.sim.scenario import token


def states_of(hall, device: str) -> list[str]:
    return [e.data["state"] for e in hall.journal.read() if e.type == "device.state"
            and e.data["device"] == device]


async def test_reader_unplugged_and_back(sim, sub):
    hall, reader = sim.hall, sim.twin("reader-k1")
    await reader.unplug()
    await hall.watch.until(lambda: states_of(hall, "reader-k1")[-1] == "absent", 10, "absent")
    await sub.watch.until(lambda: (sub.last("/device/reader-k1/state") or ({},))[0]
                          .get("state") == "absent", 5, "absent on MQTT")
    await reader.plug()
    await hall.watch.until(lambda: states_of(hall, "reader-k1")[-1] == "ready", 10, "back")
    assert states_of(hall, "reader-k1") == ["ready", "absent", "ready"]
    reader.place(make_card("李四", date(1990, 1, 1)))
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "a card read after return")


@pytest.mark.timeout(900)
async def test_a_reader_unplugged_and_back_again_and_again_leaks_nothing(sim, full,
                                                                       record_property):
    """The reliability matrix's replug loop: each time absent, then ready, one state row each;
    no descriptor and no task gained; a card read after the last return."""
    rounds = (20, 200)[full]
    record_property("counts", "20 / 200 unplug-replug rounds")
    hall, reader = sim.hall, sim.twin("reader-k1")
    files, tasks = len(os.listdir("/proc/self/fd")), len(asyncio.all_tasks())
    for i in range(rounds):
        await reader.unplug()
        await hall.watch.until(lambda: hall.supervisors["reader-k1"].state.state == "absent",
                               10, f"absent, round {i}")
        await reader.plug()
        await hall.watch.until(lambda: hall.supervisors["reader-k1"].state.state == "ready",
                               10, f"back, round {i}")
    assert states_of(hall, "reader-k1") == ["ready"] + ["absent", "ready"] * rounds
    assert len(os.listdir("/proc/self/fd")) <= files + 2  # +2: a socket of the moment
    assert len(asyncio.all_tasks()) <= tasks
    reader.place(make_card("李四", date(1990, 1, 1)))
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "a card read after return")


async def test_garbage_from_reader_is_skipped(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    for _ in range(5):
        reader.garbage(200)
    reader.place(make_card("王五", date(1980, 2, 2)))
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 10, "card read through noise")
    assert hall.kiosk_cards["kiosk-1"].holder.masked_name == "王*"
    assert hall.drivers["reader-k1"].counters.errors > 0
    assert hall.supervisors["reader-k1"].state.state == "ready"


async def test_bad_check_digit_gives_no_ticket(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    card = make_card("赵六", date(1975, 5, 5))
    forged = type(card)(**{**card.__dict__, "id_number": card.id_number[:17] +
                           ("0" if card.id_number[17] != "0" else "1")})
    reader.place(forged)
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hall.api_url}/api/tickets", json={"category": "A"},
                             headers={"Authorization": "Bearer " + token(hall.cfg, "kiosk")}) as r:
            assert r.status == 409 and (await r.json())["error"] == "idcard.bad_check_digit"
    assert not [e for e in hall.journal.read() if e.type == "ticket.issued"]


@pytest.mark.parametrize("board_id,window,category", [("board-w1", 1, "A"),  # on a pty
                                                      ("board-w2", 2, "B")])  # over tcp
async def test_board_comes_back_showing_the_current_call(sim, board_id, window, category):
    hall, board = sim.hall, sim.twin(board_id)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hall.api_url}/api/tickets", json={"category": category},
                             headers={"Authorization": "Bearer " + token(hall.cfg, "kiosk")}) as r:
            assert r.status == 201
        await board.unplug()
        await hall.watch.until(lambda: states_of(hall, board_id)[-1:] == ["absent"], 10)
        async with http.post(f"{hall.api_url}/api/windows/{window}/call-next", headers={
                "Authorization": "Bearer " + token(hall.cfg, "clerk", window=window)}) as r:
            assert r.status == 200  # the call goes on without the board
    await board.plug()
    expected = f"{category}001 请到{window}号窗口"
    await board.watch.until(lambda: board.text == expected, 10, "board refreshed")


async def test_paper_out_keeps_the_ticket(sim):
    hall, printer = sim.hall, sim.twin("printer-k1")
    printer.paper = "out"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hall.api_url}/api/tickets", json={"category": "C"},
                             headers={"Authorization": "Bearer " + token(hall.cfg, "kiosk")}) as r:
            body = await r.json()
    assert r.status == 201 and body["ticket"] == "C001"
    assert body["printed"] is False and body["print_error"] == "printer.paper_out"
    assert [e.data["ticket"] for e in hall.journal.read() if e.type == "ticket.issued"] == ["C001"]
    assert not printer.tickets


async def test_reader_that_stops_answering_goes_stale_then_fault_then_back(sim):
    hall, reader = sim.hall, sim.twin("reader-k1")
    reader.silent = True
    await hall.watch.until(lambda: states_of(hall, "reader-k1")[-1] == "fault", 10, "fault")
    assert states_of(hall, "reader-k1") == ["ready", "stale", "fault"]
    reader.silent = False
    await hall.watch.until(lambda: states_of(hall, "reader-k1")[-1] == "ready", 10, "back")
    assert hall.drivers["reader-k1"].counters.reconnects >= 1
