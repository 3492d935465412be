"""Snapshots of the console's main screens at 80x24 and 120x40.

A stand-in for the daemon, on purpose: a snapshot needs screens that do not move, and a live
hall's clocks, counters and ports always do. The stand-in answers from a recording of a real
simulated hall (tests/fixtures/diag-hall.json, `python -m kioskd.sim.recording ...`); the
Pilot tests in test_diag.py drive the same screens against the live hall.
Update after a deliberate change of a screen: `pytest tests/hall/test_diag_snapshots.py
--snapshot-update`, and look at the report's pictures first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kioskd.tui.app import DiagApp
from kioskd.tui.recorded import RecordedApi, load

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "diag-hall.json"
SIZES = [(80, 24), (120, 40)]


def settle(keys: list[str], ready):
    """run_before: press the keys, then let the app run until `ready(app)` (bounded)."""
    async def run(pilot) -> None:
        async with asyncio.timeout(10):
            while not pilot.app.data:
                await pilot.pause(0.05)
            for key in keys:
                await pilot.press(key)
            while not ready(pilot.app):
                await pilot.pause(0.05)
    return run


def frames_loaded(app) -> bool:
    """Rows in, and the table scrolled to the newest (the cursor goes there on load; the
    scroll follows a refresh later: a snapshot taken between them showed the top rows)."""
    tables = app.screen.query("#frames")
    if not tables:
        return False
    table = tables.first()
    return (table.row_count > 0 and table.cursor_row == table.row_count - 1
            and table.scroll_y == table.max_scroll_y)


def logs_loaded(app) -> bool:
    """Lines written, and the log scrolled to its end (it follows the newest line)."""
    logs = app.screen.query("#log-lines")
    if not logs:
        return False
    log = logs.first()
    return len(log.lines) > 0 and log.scroll_y == log.max_scroll_y


SCREENS = {
    "devices": ([], lambda app: app.screen.query("#devices")),
    "printer": (["down", "enter"], frames_loaded),
    "queue": (["q"], lambda app: app.screen.query("#categories")),
    "events": (["e"], lambda app: app.screen.query("#event-log")
               and len(app.screen.query_one("#event-log").lines) > 0),
    "uplink": (["u"], lambda app: app.screen.query("#uplink")),
    "logs": (["l"], logs_loaded),
    "help": (["question_mark"], lambda app: app.screen.query("#help-text")),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, screen, size):
    keys, ready = SCREENS[screen]
    app = DiagApp(RecordedApi(load(RECORDING)))
    assert snap_compare(app, terminal_size=size, run_before=settle(keys, ready))


def test_ascii_borders(snap_compare):
    """For the Linux console: no box-drawing characters in the borders."""
    app = DiagApp(RecordedApi(load(RECORDING)), ascii_borders=True)
    assert snap_compare(app, terminal_size=(80, 24),
                        run_before=settle([], lambda app: app.screen.query("#devices")))
