"""The technician's API (what `kioskd diag` uses) against a simulated hall: device actions reach
the twins, frame traces and logs are masked, the uplink's status, the technician role only."""

from __future__ import annotations

import json
from datetime import date

from kioskd.drivers.idcard import sam
from kioskd.sim.idcard import make_card
from support.helpers import api


async def tech(hall, method: str, path: str, body=None):
    return await api(hall, method, path, body, role="technician")


async def test_printer_test_ticket_and_status_bytes(sim):
    hall = sim.hall
    printer = sim.twin("printer-k1")
    s, b = await tech(hall, "POST", "/api/devices/printer-k1/print-test")
    assert s == 200 and b["result"]["printed"], b
    assert "T000" in printer.tickets[-1].text and "设备测试" in printer.tickets[-1].text
    s, b = await tech(hall, "POST", "/api/devices/printer-k1/status")
    assert s == 200 and b["result"]["condition"] == "ok"
    s, b = await tech(hall, "GET", "/api/devices/printer-k1/frames?n=10")
    out = [f for f in b["frames"] if f["dir"] == "out"]
    assert any(f["hex"].startswith("10 04 01") and f["decoded"] == "DLE EOT 1: printer status"
               for f in out)  # as sent
    assert "0x12 paper sensor: paper ok" in [f["decoded"] for f in b["frames"]]
    assert all(f["at"] and f["dir"] in ("in", "out") for f in b["frames"])


async def test_a_readers_card_and_frames_show_masked_fields_only(sim):
    hall = sim.hall
    card = make_card("欧阳娜娜", date(1950, 3, 8), serial=77)
    sim.twin("reader-k1").place(card)
    await hall.watch.until(lambda: "reader-k1" in hall.reader_cards, 5, "card read")
    s, b = await tech(hall, "GET", "/api/devices/reader-k1/last")
    assert s == 200 and b["card"]["name"] == "欧***" and b["card"]["lane"] == "elderly"
    s, frames = await tech(hall, "GET", "/api/devices/reader-k1/frames?n=100")
    text = json.dumps(frames, ensure_ascii=False) + json.dumps(b, ensure_ascii=False)
    assert "bytes hidden: card data" in text
    # neither the number nor the name, in any form the answer carried them
    block = sam.encode_text(card)
    for secret in (card.id_number, card.name, card.id_number.encode("utf-16-le").hex(" "),
                   block[:30].hex(" "), block[30:60].hex(" ")):
        assert secret not in text


async def test_board_pattern_text_and_restore(sim):
    hall = sim.hall
    board = sim.twin("board-w1")
    hall.board_text[1] = "1号窗口 欢迎您"
    s, b = await tech(hall, "POST", "/api/devices/board-w1/pattern")
    assert s == 200 and board.text.startswith("测试 TEST")
    s, b = await tech(hall, "POST", "/api/devices/board-w1/show", {"text": "设备检修"})
    assert board.text == "设备检修"
    s, b = await tech(hall, "POST", "/api/devices/board-w1/restore")
    assert board.text == "1号窗口 欢迎您"


async def test_pad_test_prompt_is_answered_and_never_counted(sim):
    hall = sim.hall
    pad = sim.twin("pad-w1")
    s, b = await tech(hall, "POST", "/api/devices/pad-w1/prompt-test")
    assert s == 200, b
    await pad.watch.until(lambda: pad.prompt is not None, 5, "the pad shows the prompt")
    assert pad.prompt.ticket == "T000"
    words = "态度差 13800000000"
    pad.press(2, (1,), words)
    await hall.watch.until(lambda: hall.test_ratings.get("pad-w1") == 2, 5, "test rating")
    s, b = await tech(hall, "GET", "/api/devices/pad-w1/last")
    assert b["test_rating"] == 2
    assert not [e for e in hall.journal.read() if e.type.startswith("rating.")]
    # the citizen's words never reach the technician's raw view
    s, frames = await tech(hall, "GET", "/api/devices/pad-w1/frames")
    seen = json.dumps(frames, ensure_ascii=False)
    assert "RATING from pad 1" in seen and "bytes hidden: a rating" in seen
    assert words not in seen and "13800000000".encode().hex(" ")[:17] not in seen


async def test_reconnect_uplink_and_logs(kioskd_log, sim):
    hall = sim.hall  # kioskd_log: INFO records are made (the daemon's CLI sets INFO too)
    before = hall.drivers["board-w2"].counters.reconnects
    s, b = await tech(hall, "POST", "/api/devices/board-w2/reconnect")
    assert s == 200
    await hall.watch.until(lambda: hall.supervisors["board-w2"].state.state == "ready", 5,
                           "back")
    assert hall.drivers["board-w2"].counters.reconnects == before + 1
    s, b = await tech(hall, "GET", "/api/uplink")
    assert s == 200 and b["connected"] and b["prefix"] == "kioskd/v1/demo-hall"
    assert {"backlog", "central_upto", "reconnects", "last_error", "boot"} <= set(b)
    s, b = await tech(hall, "GET", "/api/logs?n=500")
    assert any("board-w2" in line["message"] and line["level"] == "INFO"
               for line in b["lines"])
    s, b = await api(hall, "GET", "/api/logs", role="clerk", window=1)
    assert s == 403


async def test_a_guns_codes_are_shown_as_kind_and_length_only(sim):
    hall = sim.hall
    sim.twin("scanner-k1").scan("110105194912310021")  # an ID number as a code
    await hall.watch.until(lambda: hall.last_codes.get("scanner-k1"), 5, "the code read")
    s, b = await tech(hall, "GET", "/api/devices/scanner-k1/last")
    assert b["codes"] == [{"symbology": None, "length": 18}]
    s, frames = await tech(hall, "GET", "/api/devices/scanner-k1/frames")
    assert "110105194912310021" not in json.dumps(frames) + json.dumps(b)
    assert "code of 18 characters" in json.dumps(frames)
