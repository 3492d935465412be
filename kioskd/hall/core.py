"""The hall daemon: wires config, journal, engine, drivers, uplink and the local API together.

Every command takes one path (`execute`): decide -> journal (durable) -> evolve -> publish ->
effects. The first three run without an await between them, so two windows calling at the same
instant are serialised by the event loop and can never get the same ticket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from kioskd.budget import Budget
from kioskd.config import Config, state_dir
from kioskd.drivers.base import Driver
from kioskd.drivers.supervisor import Backoff, Supervisor
from kioskd.drivers.weblink import WebLinks
from kioskd.hall.effects import Effects
from kioskd.hall.inputs import Inputs, KioskCard
from kioskd.hall.lifecycle import Lifecycle
from kioskd.hall.path import CommandPath
from kioskd.hall.retention import Retention
from kioskd.hall.technician import Technician
from kioskd.hall.views import Views
from kioskd.journal import Envelope
from kioskd.lockers.keeper import LockerKeeper
from kioskd.logring import LogRing
from kioskd.scans import ScanStore
from kioskd.showing import BoardKeeper
from kioskd.signatures import Signatures
from kioskd.watch import Watch
from kioskd.zone.keeper import ZoneKeeper

log = logging.getLogger("kioskd")


REFUSALS_PER_MIN = 10  # refused rating attempts journaled per token or device a minute


class Hall(Lifecycle, CommandPath, Retention, Effects, Inputs, Technician, Views):
    """One hall: its config, journal, engine state, devices, uplink and API, split by job
    over the mixins of this package; the API and central's commands see it as HallPort."""

    def __init__(self, cfg: Config, *, state: Path | None = None, backoff: Backoff = Backoff(),
                 clock: Callable[[], datetime] | None = None, api: bool = True):
        self.cfg = cfg
        self.state_dir = state or state_dir(cfg)
        self.backoff = backoff
        self.tz = cfg.hall.tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        # a test clock that is moved on says how far time truly passed (its own monotonic)
        self.monotonic: Callable[[], float] = getattr(clock, "monotonic", time.monotonic)
        self.with_api = api
        self.drivers: dict[str, Driver] = {}
        self.supervisors: dict[str, Supervisor] = {}
        self.kiosk_cards: dict[str, KioskCard] = {}
        self.reader_cards: dict[str, KioskCard] = {}  # the last card each reader read
        self.test_ratings: dict[str, int] = {}  # the level a pad gave to a technician's prompt
        # the last codes a gun or camera read, as kind and length only (a code may be personal)
        self.last_codes: dict[str, list[dict[str, Any]]] = {}
        self.logs = LogRing()
        self.boards = BoardKeeper(cfg, self.drivers, lambda: self.state, self.spawn)
        self.board_text = self.boards.window_text  # what each window board should show now
        self.scans = ScanStore(self.state_dir / "scans", cfg.hall.scan_quota_mb)
        self.signatures = Signatures(self)
        self.zones = ZoneKeeper(self)  # the 24-hour zone's doors
        self.lockers = LockerKeeper(self)  # 自助寄取柜
        self.web_links = WebLinks()  # the tablets' pages, connected through the API
        self.window_pages: dict[int, list[str]] = {}  # captured since the window's last document
        # the gun's last check-in at each kiosk (its ticket, or why not), shown once by the page
        self.kiosk_notices: dict[str, dict[str, Any]] = {}
        # real-name halls: ticket -> the card holder's name, in memory only, until the rating
        self.real_names: dict[str, str] = {}
        # ticket -> the card holder's masked name (张*), in memory only, for the clerk's page
        self.masked_names: dict[str, str] = {}
        self.listeners: set[Callable[[Envelope], None]] = set()
        self._spoken: dict[str, bytes] = {}  # kiosk prompts made in the hall's voice
        self.api_url = ""
        self._tasks: list[asyncio.Task] = []
        self._device_tasks: dict[str, asyncio.Task] = {}  # device id -> its supervisor's run
        self._side: set[asyncio.Task] = set()  # short jobs started by device callbacks
        self._stopping = asyncio.Event()
        self.watch = Watch()  # changed() after every event, card read and device state
        self._refusals = Budget(REFUSALS_PER_MIN, 60, lambda: self.monotonic())

