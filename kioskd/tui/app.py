"""`kioskd diag`: the technician's console. Keyboard first, usable at 80x24 over SSH and on the
Linux console (`--ascii` borders). It polls the daemon's local API once a second and follows the
live event stream; a device that changes state is redrawn at once."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from rich.markup import escape
from textual.app import App, ScreenStackError
from textual.binding import Binding

from kioskd.tui.client import ApiClient, DiagError
from kioskd.tui.screens.device import DeviceScreen
from kioskd.tui.screens.devices import DevicesScreen
from kioskd.tui.screens.events import EventsScreen
from kioskd.tui.screens.help import HelpScreen
from kioskd.tui.screens.logs import LogsScreen
from kioskd.tui.screens.queue import QueueScreen
from kioskd.tui.screens.uplink import UplinkScreen

POLL_S = 1.0
EVENTS_N = 1000


class DiagApp(App):
    CSS_PATH = "diag.tcss"
    TITLE = "kioskd diag"
    MODES = {"devices": DevicesScreen, "queue": QueueScreen, "events": EventsScreen,
             "uplink": UplinkScreen, "logs": LogsScreen}
    DEFAULT_MODE = "devices"
    BINDINGS = [
        Binding("d", "switch_mode('devices')", "Devices"),
        Binding("q", "switch_mode('queue')", "Queue"),
        Binding("e", "switch_mode('events')", "Events"),
        Binding("u", "switch_mode('uplink')", "Uplink"),
        Binding("l", "switch_mode('logs')", "Logs"),
        Binding("question_mark", "help", "Help"),
        Binding("c", "confirm_clock", "Confirm clock", show=False),  # shown in the banner
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, api: ApiClient, *, ascii_borders: bool = False, poll_s: float = POLL_S,
                 live: bool = True):
        super().__init__()
        self.api = api
        self.ascii_borders = ascii_borders
        self.poll_s = poll_s
        self.live = live  # False: show the data given, poll nothing (snapshots, screenshots)
        self.data: dict[str, Any] = {}
        self.events: collections.deque[dict] = collections.deque(maxlen=EVENTS_N)
        self.problem: DiagError | None = None
        self.hall = ""

    def on_mount(self) -> None:
        if self.ascii_borders:
            self.add_class("ascii")  # the Linux console has no box-drawing glyphs to spare
        if self.live:
            self.set_interval(self.poll_s, self.refresh_data)
            self.run_worker(self.refresh_data(), group="poll")
            self.run_worker(self._follow_events(), group="events")

    # --- data ----------------------------------------------------------------------------------
    async def refresh_data(self) -> None:
        try:
            devices, q, up = await asyncio.gather(
                self.api.get("/api/devices"), self.api.get("/api/queue"),
                self.api.get("/api/uplink"))
        except DiagError as exc:
            self.report(exc)
            return
        self.problem = None
        self.data = {"devices": devices["devices"], "queue": q, "uplink": up}
        self.hall = up.get("prefix", "").rsplit("/", 1)[-1]
        self._redraw()

    async def _follow_events(self) -> None:
        while True:
            try:
                async for env in self.api.events():
                    self.events.append(env)
                    if env.get("type") == "device.state":
                        await self.refresh_data()  # a device changed: show it now
                    else:
                        self._redraw()
            except DiagError as exc:
                self.report(exc)
            await asyncio.sleep(self.poll_s)  # the daemon went away: try again at poll pace

    def report(self, exc: DiagError) -> None:
        self.problem = exc
        self._redraw()

    def banner(self) -> str:
        if self.problem is not None:
            return f"[b red]{escape(str(self.problem))}[/]"
        up = self.data.get("uplink") or {}
        link = "[green]central: connected[/]" if up.get("connected") else \
            "[red]central: offline[/]"
        devices = self.data.get("devices", [])
        down = [d["id"] for d in devices if d["state"] not in ("ready",)]
        state = f"[red]not ready: {', '.join(down)}[/]" if down else \
            f"[green]{len(devices)} devices ready[/]"
        where = self.api.base.split("//", 1)[-1]
        clock = up.get("clock") or {}
        if clock.get("state") == "suspect":  # the hall runs on its own time: a technician's job
            state += (f"  [b red]clock suspect: the wall clock says {escape(clock['wall'])}, "
                      f"the hall reckons {escape(clock['hall_time'])} (c: confirm)[/]")
        disk = up.get("disk") or {}
        if disk.get("state") == "low":  # tickets may soon not commit: a technician's job now
            state += (f"  [b red]disk low: {disk['free_mb']:.0f} MB free, reserve "
                      f"{'kept' if disk.get('reserve') else 'given up'} (free space)[/]")
        return f"{self.hall or '?'} @ {where}  {link}  {state}"

    def _redraw(self) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # the console is closing: an answer that came late
            return
        if hasattr(screen, "refresh_view") and screen.is_mounted:
            screen.refresh_view()

    # --- navigation ----------------------------------------------------------------------------
    def open_device(self, dev_id: str) -> None:
        self.push_screen(DeviceScreen(dev_id))

    async def action_confirm_clock(self) -> None:
        """The technician checked the wall clock against a trusted one: the hall believes it."""
        if ((self.data.get("uplink") or {}).get("clock") or {}).get("state") != "suspect":
            return
        try:
            await self.api.post("/api/clock/confirm")
        except DiagError as exc:
            self.report(exc)
            return
        await self.refresh_data()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


async def run(api_url: str, token: str, ascii_borders: bool) -> int:
    async with ApiClient(api_url, token) as api:
        app = DiagApp(api, ascii_borders=ascii_borders)
        await app.run_async()
    return 0
