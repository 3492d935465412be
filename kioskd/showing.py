"""Getting onto the boards what they should show now (kioskd/boards.py says what that is).

A window board gets its line with each call; a hall board gets the latest calls and counts
after any change, coalesced (one request in flight per board, then the newest view: a burst of
a hundred calls is a few frames, not a hundred). A board that comes back is sent what it
should show, not what it had. Central's notice (`announce`) covers the window boards for its
time and runs as the hall boards' notice row, so that calls keep showing there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kioskd import boards
from kioskd.config import Config, DeviceConfig
from kioskd.drivers.base import Driver
from kioskd.engine.state import HallState
from kioskd.errors import DeviceError
from kioskd.drivers.registry import Role

log = logging.getLogger("kioskd.boards")


class BoardKeeper:
    def __init__(self, cfg: Config, drivers: dict[str, Driver],
                 state: Callable[[], HallState], spawn: Callable[[Any, str], None]):
        self.cfg, self.drivers, self._state, self._spawn = cfg, drivers, state, spawn
        self.window_text: dict[int, str] = {}
        # hall boards showing names: ticket -> masked name (张*), in memory only, today only
        self.names: dict[str, str] = {}
        self.notice = ""  # central's, shown for its time instead of the boards' own notice
        self._shown: dict[str, boards.HallView] = {}  # hall board -> the view it shows
        self._busy: set[str] = set()
        self._dirty: set[str] = set()
        self._window_boards = self._boards_by_window(cfg)

    def reconfigure(self, cfg: Config) -> None:
        """A reloaded devices.toml: the boards' options and the hall's name from it."""
        self.cfg = cfg
        self._window_boards = self._boards_by_window(cfg)

    @staticmethod
    def _boards_by_window(cfg: Config) -> dict[int, str]:
        """Each window's board (the first listed): asked with every call, and a hall of 100
        windows has 200 devices to look through."""
        found: dict[int, str] = {}
        for d in cfg.devices:
            if d.role is Role.BOARD and d.window is not None:
                found.setdefault(d.window, d.id)
        return found

    @property
    def hall_boards(self) -> list[DeviceConfig]:
        return [d for d in self.cfg.devices if d.hall and d.role is Role.BOARD]

    @property
    def wants_names(self) -> bool:
        return any(d.options.get("names") == "masked" for d in self.hall_boards)

    def window_board(self, window: int) -> Driver | None:
        found = self._window_boards.get(window)
        return self.drivers.get(found) if found else None

    # --- window boards -------------------------------------------------------------------------
    async def show_window(self, window: int, ticket: str | None, state: str) -> dict[str, Any]:
        board = self.window_board(window)
        text = boards.window_text(window, ticket, state,
                                  board.cfg.options if board is not None else None)
        self.window_text[window] = text
        if board is None:
            return {"effect": "show", "error": "board.none"}
        return {"effect": "show", **await board.handle("show", text=text)}

    # --- hall boards ---------------------------------------------------------------------------
    def view_for(self, dev: DeviceConfig) -> boards.HallView:
        o = dev.options
        return boards.hall_view(self._state(), calls=o.get("calls", 5),
                                names=self.names if o.get("names") == "masked" else None,
                                notice=self.notice or o.get("notice", ""))

    def screen_view(self, calls: int) -> boards.HallView:
        """The hall TV page's view: the LED hall boards' rules (names only where one of them
        shows names, their notice or central's)."""
        notice = next((d.options.get("notice", "") for d in self.hall_boards), "")
        return boards.hall_view(self._state(), calls=calls,
                                names=self.names if self.wants_names else None,
                                notice=self.notice or notice)

    def changed(self) -> None:
        """The queue changed: every hall board whose view differs gets the new one."""
        for dev in self.hall_boards:
            if dev.id in self._busy:
                self._dirty.add(dev.id)  # its sender takes the newest view when done
            elif (dev.id in self.drivers and self.drivers[dev.id].ready
                  and self.view_for(dev) != self._shown.get(dev.id)):  # else: when it is ready
                self._busy.add(dev.id)
                self._spawn(self._send_hall(dev), f"hall-board:{dev.id}")

    async def _send_hall(self, dev: DeviceConfig) -> None:
        try:
            while True:
                self._dirty.discard(dev.id)
                view = self.view_for(dev)
                if view != self._shown.get(dev.id):
                    try:
                        await self.drivers[dev.id].handle("show-hall", view=view)
                        self._shown[dev.id] = view
                    except DeviceError as exc:
                        # shown when it is back (device_ready), from the view of that moment
                        log.warning("%s: hall view not shown: %s", dev.id, exc.code)
                        self._shown.pop(dev.id, None)
                        return
                if dev.id not in self._dirty:
                    return
        finally:
            self._busy.discard(dev.id)

    def new_day(self) -> None:
        self.names.clear()

    # --- every board ---------------------------------------------------------------------------
    async def restore(self, dev: DeviceConfig) -> Any:
        """A board shows its own again: a window's line (else nothing), the hall view."""
        board = self.drivers[dev.id]
        if dev.hall:
            self._shown.pop(dev.id, None)
            view = self.view_for(dev)
            result = await board.handle("show-hall", view=view)
            self._shown[dev.id] = view
            return result
        text = self.window_text.get(dev.window) if dev.window is not None else None
        return await board.handle("show", text=text) if text else await board.handle("clear")

    def device_ready(self, dev: DeviceConfig) -> None:
        if dev.hall:
            self._shown.pop(dev.id, None)
            self.changed()
        elif dev.window in self.window_text:
            self._spawn(self._refresh(dev), f"refresh:{dev.id}")

    async def _refresh(self, dev: DeviceConfig) -> None:
        try:
            await self.restore(dev)
        except DeviceError as exc:
            log.warning("%s: refresh failed: %s", dev.id, exc.code)

    async def announce(self, text: str, seconds: int) -> dict[str, Any]:
        """Central's notice: over every window board, in every hall board's notice row."""
        shown, failed = [], {}
        self.notice = text
        for dev in self.cfg.devices:
            if not dev.role is Role.BOARD or dev.id not in self.drivers:
                continue
            try:
                if dev.hall:
                    await self.restore(dev)
                else:
                    await self.drivers[dev.id].handle("show", text=text)
                shown.append(dev.id)
            except DeviceError as exc:
                failed[dev.id] = exc.code
        self._spawn(self._after_notice(text, seconds), "notice-end")
        return {"shown_on": shown, "failed": failed}

    async def _after_notice(self, text: str, seconds: int) -> None:
        await asyncio.sleep(seconds)  # the notice's time on the boards, not a wait for an event
        if self.notice != text:
            return  # a newer notice has the boards now; its own end restores them
        self.notice = ""
        for dev in self.cfg.devices:
            if dev.role is Role.BOARD and dev.id in self.drivers:
                try:
                    await self.restore(dev)
                except DeviceError as exc:
                    log.warning("%s: not restored after the notice: %s", dev.id, exc.code)
