"""`kioskd diag` driven with Textual's Pilot against a simulated hall (the daemon, its twins and a
real mosquitto, started by the test): what each screen shows, and what the twin devices got
from each device action. The console talks to the daemon's API only."""

from __future__ import annotations

from datetime import date

import pytest
from textual.widgets import DataTable, RichLog, Static

from kioskd.sim.idcard import make_card
from kioskd.sim.scenario import token
from kioskd.tui.app import DiagApp
from kioskd.tui.client import ApiClient

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
async def console(sim):
    """A running console on the simulated hall; yields (app, pilot)."""
    api = ApiClient(sim.hall.api_url, token(sim.hall.cfg, "technician"))
    app = DiagApp(api, poll_s=0.2)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.data.get("devices"), "the first refresh")
            yield app, pilot
    finally:
        await api.close()


async def until(pilot, pred, what: str, timeout: float = 10.0) -> None:
    """Let the app run until `pred()` holds (its workers and timers move on meanwhile)."""
    import asyncio

    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await pilot.pause(0.05)  # hands the loop to the app; not a wait for a time
    except TimeoutError:
        raise TimeoutError(f"not within {timeout} s: {what}") from None


def cells(app, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text(app, widget_id: str) -> str:
    return str(app.screen.query_one(f"#{widget_id}", Static).render())


async def test_devices_screen_shows_every_device_and_a_change_at_once(sim, console):
    app, pilot = console
    rows = cells(app, "devices")
    assert sorted(r[0] for r in rows) == sorted(d.id for d in sim.hall.cfg.devices)
    assert all(r[2] == "ready" for r in rows), rows
    assert "19 devices ready" in text(app, "banner")
    await sim.twin("board-w3").unplug()
    await until(pilot, lambda: any(r[0] == "board-w3" and r[2] != "ready"
                                   for r in cells(app, "devices")), "board-w3 shown down")
    assert "board-w3" in text(app, "banner")
    await sim.twin("board-w3").plug()


async def open_device(app, pilot, dev_id: str) -> None:
    rows = [r[0] for r in cells(app, "devices")]
    table = app.screen.query_one("#devices", DataTable)
    table.move_cursor(row=rows.index(dev_id))
    await pilot.press("enter")
    await until(pilot, lambda: getattr(app.screen, "dev_id", None) == dev_id, "device screen")


async def result_of(app, pilot, key: str, what: str) -> str:
    await pilot.press(key)
    await until(pilot, lambda: not app.screen.busy and text(app, "device-result").startswith(
        what + ":"), f"{what} answered")
    return text(app, "device-result")


async def test_printer_test_ticket_status_and_frames(sim, console):
    app, pilot = console
    await open_device(app, pilot, "printer-k1")
    printer = sim.twin("printer-k1")
    n = len(printer.tickets)
    shown = await result_of(app, pilot, "p", "print-test")
    assert "printed" in shown and len(printer.tickets) == n + 1
    assert "T000" in printer.tickets[-1].text
    shown = await result_of(app, pilot, "s", "status")
    assert "condition ok, paper ok" in shown
    await until(pilot, lambda: any(r[1] == "out" and r[3].startswith("10 04")
                                   for r in cells(app, "frames")), "DLE EOT in the raw view")
    await pilot.press("escape")
    assert app.screen.query("#devices")


async def test_reader_card_is_shown_masked(sim, console):
    app, pilot = console
    card = make_card("诸葛亮", date(1961, 7, 1), serial=8)
    sim.twin("reader-k1").place(card)
    await until(pilot, lambda: "reader-k1" in sim.hall.reader_cards, "card read")
    await open_device(app, pilot, "reader-k1")
    shown = await result_of(app, pilot, "c", "last")
    assert "诸**" in shown and "age 65" in shown  # on the hall's fixed day, 2026-11-24
    await until(pilot, lambda: cells(app, "frames"), "frames")
    everything = shown + str(cells(app, "frames"))
    assert card.id_number not in everything and "诸葛亮" not in everything
    assert "bytes hidden: card data" in everything


async def test_board_pattern_text_and_restore(sim, console):
    app, pilot = console
    board = sim.twin("board-w2")
    sim.hall.board_text[2] = "2号窗口 欢迎您"
    await open_device(app, pilot, "board-w2")
    await result_of(app, pilot, "p", "pattern")
    assert board.text.startswith("测试 TEST")
    await pilot.press("w")
    await pilot.press(*"OK 123")
    await pilot.press("enter")
    await until(pilot, lambda: board.text == "OK 123", "the board shows the text")
    await result_of(app, pilot, "x", "restore")
    assert board.text == "2号窗口 欢迎您"


async def test_pad_test_prompt_and_its_answer(sim, console):
    app, pilot = console
    pad = sim.twin("pad-w1")
    await open_device(app, pilot, "pad-w1")
    await result_of(app, pilot, "p", "prompt-test")
    await until(pilot, lambda: pad.prompt is not None, "the pad shows the prompt")
    pad.press(5)
    await until(pilot, lambda: sim.hall.test_ratings.get("pad-w1") == 5, "answered")
    assert "answered the test prompt with 5" in await result_of(app, pilot, "c", "last")


async def test_a_rating_tablet_is_enrolled_from_the_console(sim, console):
    import re

    app, pilot = console
    await open_device(app, pilot, "pad-w4")
    said = await result_of(app, pilot, "n", "enroll")
    code = re.search(r"enrollment code (\d{8}) \(good for 10 minutes, once\)", said).group(1)
    assert f"/pad/4?enroll={code}" in said
    # the code works once on the tablet (tests/hall/test_tablet.py follows it through)
    tablet, _ = sim.hall.tablets.redeem(4, code)
    assert tablet.device == "pad-w4"


async def test_camera_capture_and_reconnect(sim, console):
    app, pilot = console
    hall = sim.hall
    await open_device(app, pilot, "camera-w1")
    await result_of(app, pilot, "c", "capture")
    await until(pilot, lambda: "last page: none" not in text(app, "device-info"),
                "the saved page shown", 20)
    page = next(e.data for e in hall.journal.read() if e.type == "scan.captured")
    assert page["file"] in text(app, "device-info")
    assert (hall.state_dir / "scans").exists()
    before = hall.drivers["camera-w1"].counters.reconnects
    await result_of(app, pilot, "r", "reconnect")
    await until(pilot, lambda: hall.drivers["camera-w1"].counters.reconnects == before + 1
                and hall.supervisors["camera-w1"].state.state == "ready", "back", 20)
    await result_of(app, pilot, "t", "test")
    assert "answered" in text(app, "device-result")


async def test_queue_events_uplink_logs_and_help(sim, console):
    from support.helpers import api

    app, pilot = console
    s, b = await api(sim.hall, "POST", "/api/tickets", {"category": "A"})
    assert s == 201
    await pilot.press("q")
    await until(pilot, lambda: ["A", "综合受理", "1"] == cells(app, "categories")[0][:3],
                "one waiting in A")
    assert [r[0] for r in cells(app, "windows")] == ["1", "2", "3", "4"]
    await pilot.press("e")
    log = lambda: "\n".join(str(x) for x in app.screen.query_one(  # noqa: E731
        "#event-log", RichLog).lines)
    await api(sim.hall, "POST", "/api/windows/1/call-next", role="clerk", window=1)
    await until(pilot, lambda: "ticket.called" in log(), "the call in the stream")
    await pilot.press("slash")
    await pilot.press(*"ticket.called")
    await until(pilot, lambda: "ticket.called" in log() and "ticket.issued" not in log(),
                "filtered")
    await pilot.press("escape")  # back from the filter: keys are the console's again
    await pilot.press("u")
    await until(pilot, lambda: "yes" in text(app, "uplink"), "connected shown")
    assert "kioskd/v1/demo-hall" in text(app, "uplink")
    await pilot.press("l")
    await until(pilot, lambda: app.screen.query("#log-lines"), "logs")
    await pilot.press("question_mark")
    await until(pilot, lambda: app.screen.query("#help-text"), "help")
    assert "print a test ticket" in str(app.screen.query_one("#help-text", Static).render())


async def test_a_disk_running_low_is_on_the_banner_until_space_is_back(sim, console):
    app, pilot = console
    guard = sim.hall.disk
    low = guard.low_bytes
    # the threshold moved above what this disk has free (as [hall] disk_low_mb would be):
    # the real statvfs judges it low, nothing is faked
    guard.low_bytes = guard.free_bytes() + 10**12
    try:
        sim.hall.check_disk()
        await until(pilot, lambda: "disk low" in text(app, "banner"), "the disk on the banner")
        assert "MB free, reserve kept (free space)" in text(app, "banner")
    finally:
        guard.low_bytes = low
    sim.hall.check_disk()
    await until(pilot, lambda: "disk low" not in text(app, "banner"), "the banner clear again")


async def test_a_wrong_token_and_a_daemon_not_running_are_said_clearly(sim):
    for url, tok, words in ((sim.hall.api_url, "not-a-token", "refused the token"),
                            ("http://127.0.0.1:9", "x", "not running at")):
        api = ApiClient(url, tok)
        app = DiagApp(api, poll_s=0.2)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await until(pilot, lambda: app.problem is not None, "the problem")
                assert words in text(app, "banner")
        finally:
            await api.close()


def test_diag_without_a_token_says_how_to_give_one(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KIOSKD_TOKEN"}
    r = subprocess.run([sys.executable, "-m", "kioskd", "diag", "--api", "http://127.0.0.1:9",
                        "-c", str(tmp_path / "none.toml")], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=30)
    assert r.returncode == 2 and "--token" in r.stderr and "technician" in r.stderr


async def test_the_zone_door_and_the_locker_are_testable(sim, console):
    """The 24-hour zone's families in the console: pulse the door, read its sensors, open one
    compartment; Modbus frames in the raw view."""
    app, pilot = console
    door, locker = sim.twin("zone-door"), sim.twin("locker-1")
    await open_device(app, pilot, "zone-door")
    shown = await result_of(app, pilot, "o", "pulse")
    assert "door" in shown and door.pulses == [0]
    await sim.hall.watch.until(lambda: [e for e in sim.hall.journal.read()
                                        if e.type == "gate.opened"], 5, "the door seen open")
    assert not [e for e in sim.hall.journal.read() if e.type == "zone.entry"]  # nobody granted
    shown = await result_of(app, pilot, "s", "sensors")
    assert "pass" in shown and "exit" in shown
    await until(pilot, lambda: any(r[1] == "out" for r in cells(app, "frames")),
                "Modbus frames in the raw view")
    await pilot.press("escape")
    await open_device(app, pilot, "locker-1")
    await result_of(app, pilot, "o", "open")
    await locker.watch.until(lambda: locker.is_open(1), 5, "compartment 1 open")
    hall = sim.hall
    await hall.watch.until(lambda: [e for e in hall.journal.read() if e.type == "locker.opened"],
                           5, "the opening journaled")
    opened = [e.data for e in hall.journal.read() if e.type in ("locker.opened", "gate.opened")]
    assert [o["for"] if "for" in o else o["by"] for o in opened] == ["technician", "technician"]
    assert not [e for e in hall.journal.read() if e.type in ("locker.forced", "gate.forced")]
    locker.close(1)
    await pilot.press("escape")


def test_an_answer_that_comes_after_the_console_closed_is_dropped():
    """The event follower's refresh can finish while the console shuts down (seen in CI: a
    device came back as the test ended): with no screen left, it draws nothing and raises
    nothing, where it killed the app's worker with ScreenStackError."""
    app = DiagApp(ApiClient("http://127.0.0.1:1", "no-token-needed-here"))
    app._redraw()  # no screen: the app is not running
