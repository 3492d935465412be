"""The hall's keeper of its locker banks: the clerk's deposits and collections, the citizen's
code or card at the locker's page, the drop-off, the doors' sensors and alarms; journaled by
the pure rules of `kioskd.lockers.rules`, and kept over a restart in STATE/lockers.json (the
deposits and the used codes' hashes: a document waits days for its owner)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from kioskd.drivers.printer.escpos import TicketText
from kioskd.drivers.registry import Role
from kioskd.errors import KioskdError, Refused
from kioskd.lockers.rules import (SIZES, Compartment, Deposit, Locker, code_hash,
                                  pickup_code)

if TYPE_CHECKING:
    from kioskd.config import Config, DeviceConfig
    from kioskd.drivers.relayboard import Sensed
    from kioskd.hall import Hall
    from kioskd.hall.inputs import KioskCard

log = logging.getLogger("kioskd.lockers")

CHECK_S = 0.5  # how often doors are checked (jammed, left open)
ALARMS = ("locker.forced", "locker.jammed", "locker.left_open")  # the technician is told


class LockerKeeper:
    def __init__(self, hall: Hall):
        self.hall = hall
        self.lockers: dict[str, Locker] = {}
        self.notices: dict[str, dict[str, Any]] = {}  # locker -> what its page shows now
        self.configure(hall.cfg)

    @property
    def path(self):
        return self.hall.state_dir / "lockers.json"

    def configure(self, cfg: Config) -> None:
        """The banks of a (new) config; a bank that stays keeps its compartments."""
        old, self.lockers = self.lockers, {}
        for dev in cfg.devices:
            if dev.role is not Role.LOCKER:
                continue
            n = dev.opt("compartments")
            sizes = dev.opt("sizes") or ["M"] * n
            kept = old.get(dev.id)
            if kept and len(kept.compartments) == n:
                self.lockers[dev.id] = kept
                continue
            self.lockers[dev.id] = Locker(dev.id, {i: Compartment(i, sizes[i - 1])
                                                   for i in range(1, n + 1)})

    def load(self) -> None:
        """What the banks held when the daemon stopped."""
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("lockers: %s is unreadable (%s): every compartment starts free; open "
                      "them and check by hand", self.path, exc)
            return
        for lid, s in saved.items():
            if lid in self.lockers:
                self.lockers[lid].restore(s)

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({lid: lk.saved() for lid, lk in self.lockers.items()}, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)

    def _record(self, locker: str, events: list[tuple[str, dict]]) -> None:
        for type_, data in events:
            self.hall.record(type_, data)
            if type_ == "locker.deposited" and data["kind"] == "dropoff":
                self.hall.spawn(self._slip(locker, data), f"locker-slip:{locker}")
            if type_ in ALARMS:
                log.warning("locker %s: %s at compartment %s", locker, type_, data.get("compartment"))
                driver = self.hall.drivers.get(locker)
                if driver is not None:
                    driver.set_condition("alarm", f"{type_} at compartment {data['compartment']}")
        if events:
            self._save()
            self.hall.watch.changed()

    def _locker(self, locker_id: str) -> Locker:
        if locker_id not in self.lockers:
            raise Refused("locker.unknown", f"no locker {locker_id!r}")
        return self.lockers[locker_id]

    def _wait_s(self, locker_id: str) -> float:
        return self.hall.cfg.device(locker_id).opt("open_wait_ms") / 1000

    async def _open(self, locker: Locker, c: Compartment) -> dict[str, Any]:
        """Pulse its lock and wait (bounded) for its door: open, or jammed (Refused)."""
        try:
            await self.hall.drivers[locker.id].pulse(str(c.n))
        except KioskdError as exc:
            c.must_open_by = None
            if c.state == "loading":
                c.state, c.deposit = "free", None
            elif c.state == "collecting":
                c.state = "held"
            raise Refused("locker.fault", f"locker {locker.id} cannot open compartment {c.n} "
                                          f"now ({exc.code})") from None
        try:  # the door opens, or the check calls it jammed (must_open_by gone)
            await self.hall.watch.until(lambda: c.open or c.must_open_by is None,
                                        self._wait_s(locker.id) + 2, f"compartment {c.n} opening")
        except TimeoutError:
            pass
        if not c.open:
            raise Refused("locker.jammed", f"compartment {c.n} did not open: it is out of "
                                           "service; try again for another")
        return {"locker": locker.id, "compartment": c.n, "size": c.size}

    # --- 出件: the clerk deposits, the citizen collects -----------------------------------------
    async def deposit(self, locker_id: str, case: str, window: int, size: str,
                      holder: str | None) -> dict[str, Any]:
        locker = self._locker(locker_id)
        if not case.strip() or len(case) > 64:
            raise Refused("locker.case", "give the case's number (办件编号), up to 64 characters")
        c = locker.choose(size)
        now = self.hall.now()
        hours = self.hall.cfg.device(locker_id).opt("code_hours")
        d = self._pickup(locker, case.strip(), window, now, now + timedelta(hours=hours), holder)
        locker.load(c, d, self.hall.monotonic(), self._wait_s(locker_id))
        opened = await self._open(locker, c)
        return {**opened, "deposit": d.id, "expires": d.expires,
                "by_card": holder is not None}

    def _pickup(self, locker: Locker, case: str, window: int, now, expires,
                holder: str | None) -> Deposit:
        """A deposit whose code no other held deposit of this bank shares (central makes the
        code from the deposit id, so a clash is settled by another id)."""
        hall = self.hall
        while True:
            did = secrets.token_hex(8)
            code = pickup_code(hall.commands.key, hall.cfg.hall.id, did)
            h = code_hash(hall.key, did, code)
            clash = any(x.deposit and x.deposit.code_hash == code_hash(hall.key, x.deposit.id,
                                                                        code)
                        for x in locker.compartments.values() if x.state == "held")
            if not clash:
                return Deposit(did, "pickup", case, window, now.isoformat(timespec="seconds"),
                               expires.isoformat(timespec="seconds"), h, holder)

    async def pickup(self, locker_id: str, code: str) -> dict[str, Any]:
        """The citizen's code at the locker's page."""
        locker = self._locker(locker_id)
        c, why, events = locker.by_code(self.hall.key, code, self.hall.now(),
                                        self.hall.monotonic())
        self._record(locker_id, events)
        if c is None:
            raise Refused(why, {"locker.bad_code": "wrong code",
                                "locker.code_expired": "the code has expired: ask at a window",
                                "locker.code_used": "that code was used already"}[why])
        locker.collect(c, "code", self.hall.monotonic(), self._wait_s(locker_id))
        return await self._open(locker, c)

    def card(self, dev: DeviceConfig, card: KioskCard, locker_id: str) -> None:
        """A card at the reader beside a locker: its holder's pickups open."""
        locker = self.lockers[locker_id]
        found = locker.by_holder(card.holder.token, self.hall.now()) if card.holder else []
        error = card.error or (None if found else "locker.nothing_for_card")
        self.notices[locker_id] = {"compartments": [c.n for c in found], "error": error,
                                   "masked_name": card.holder.masked_name if card.holder else None}
        if error:  # said on the page (which follows locker.* events), never counted as a wrong code
            self._record(locker_id, [("locker.refused", {"locker": locker_id, "code": error,
                                                         "reader": dev.id})])
        for c in found:
            locker.collect(c, "card", self.hall.monotonic(), self._wait_s(locker_id))
            self.hall.spawn(self._open_quietly(locker, c), f"locker-open:{locker_id}")
        self.hall.watch.changed()

    async def _open_quietly(self, locker: Locker, c: Compartment) -> None:
        try:
            await self._open(locker, c)
        except Refused as exc:
            log.warning("locker %s: compartment %d for a card: %s", locker.id, c.n, exc.code)

    # --- 寄件: the citizen leaves materials, the window collects ---------------------------------
    async def dropoff(self, locker_id: str, window: int, size: str) -> dict[str, Any]:
        locker = self._locker(locker_id)
        if window not in self.hall.state.windows:
            raise Refused("locker.window", f"no window {window}")
        c = locker.choose(size)
        receipt = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
        d = Deposit(secrets.token_hex(8), "dropoff", receipt, window,
                    self.hall.now().isoformat(timespec="seconds"))
        locker.load(c, d, self.hall.monotonic(), self._wait_s(locker_id))
        opened = await self._open(locker, c)
        return {**opened, "receipt": receipt, "window": window}

    async def _slip(self, locker_id: str, d: dict[str, Any]) -> None:
        """A drop-off's receipt on the locker's printer, where it has one: the receipt large,
        the window and the compartment (what the citizen shows at the window)."""
        printer = self.hall.cfg.device(locker_id).opt("printer")
        if not printer or printer not in self.hall.drivers:
            return
        hall = self.hall
        text = TicketText(hall.cfg.hall.name, f"寄件回执 {d['window']} 号窗口", d["case"], 0,
                          hall.now().strftime("%Y-%m-%d %H:%M"), d["case"],
                          f"材料已存入 {locker_id} {d['compartment']} 号柜，请凭此回执到窗口办理")
        try:
            await hall.drivers[printer].handle("print", ticket=text,
                                               fields=("title", "category", "number", "time",
                                                       "footer"))
        except KioskdError as exc:  # the receipt is on the screen already
            log.warning("locker %s: receipt not printed (%s)", locker_id, exc.code)

    async def clerk_open(self, locker_id: str, n: int, window: int, clerk: str) -> dict[str, Any]:
        """A clerk takes out what waits for their window (a drop-off, or an expired pickup
        they deposited)."""
        locker = self._locker(locker_id)
        c = locker.compartments.get(n)
        if c is None:
            raise Refused("locker.no_compartment", f"locker {locker_id} has no compartment {n}")
        if c.state != "held" or c.deposit is None or c.deposit.window != window:
            raise Refused("locker.not_yours", f"compartment {n} holds nothing for window {window}")
        locker.collect(c, f"clerk:{clerk}", self.hall.monotonic(), self._wait_s(locker_id))
        return await self._open(locker, c)

    async def technician_open(self, locker_id: str, n: int = 1) -> dict[str, Any]:
        """The console's "open compartment": it opens, journaled as the technician's (what it
        holds stays held)."""
        locker = self._locker(locker_id)
        if n not in locker.compartments:
            raise Refused("locker.no_compartment", f"locker {locker_id} has no compartment {n}")
        locker.compartments[n].bidden_until = self.hall.monotonic() + self._wait_s(locker_id) + 5
        return await self.hall.drivers[locker_id].handle("open", compartment=n)

    # --- the doors ---------------------------------------------------------------------------------
    def sensed(self, dev: DeviceConfig, sensed: Sensed) -> None:
        locker = self.lockers.get(dev.id)
        if locker is None:
            return
        on = dev.opt("open_is_on")
        events = []
        for name, state in sensed.states.items():
            events += locker.sensed(int(name), state == on, sensed.first, self.hall.monotonic())
        self._record(dev.id, events)

    def check(self) -> None:
        mono = self.hall.monotonic()
        for lid, locker in self.lockers.items():
            self._record(lid, locker.tick(mono))

    async def run(self) -> None:
        self.load()
        while True:
            self.check()
            await asyncio.sleep(CHECK_S)

    def reader_of(self, dev_id: str) -> str | None:
        """The locker whose card reader `dev_id` is."""
        return next((d.id for d in self.hall.cfg.devices
                     if d.role is Role.LOCKER and d.opt("reader") == dev_id), None)

    # --- views -------------------------------------------------------------------------------------
    def view(self, locker_id: str) -> dict[str, Any]:
        """The locker's page: what it offers, and nothing of what it holds."""
        locker = self._locker(locker_id)
        free = {s: sum(1 for c in locker.compartments.values()
                       if c.state == "free" and c.size == s) for s in SIZES}
        return {"id": locker_id, "free": free,
                "locked_out": self.hall.monotonic() < locker.locked_until,
                "windows": sorted(self.hall.state.windows),
                "notice": self.notices.pop(locker_id, None)}

    def waiting_for(self, window: int) -> list[dict[str, Any]]:
        """What waits in the lockers for a window: drop-offs, and its pickups not collected."""
        out = []
        for lid, locker in self.lockers.items():
            for c in locker.compartments.values():
                d = c.deposit
                if c.state == "held" and d and d.window == window:
                    out.append({"locker": lid, "compartment": c.n, "kind": d.kind,
                                "case": d.case, "at": d.at, "expires": d.expires or None})
        return out

    def technician_view(self) -> list[dict[str, Any]]:
        mono = self.hall.monotonic()
        return [lk.view(mono) for lk in self.lockers.values()]
