"""What devices report, by kind (INPUTS): cards, codes, keys, ratings, signatures, pages."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from kioskd import cardwords
from kioskd.config import DeviceConfig
from kioskd.drivers.base import DeviceInput
from kioskd.drivers.caller import proto as keypad
from kioskd.drivers.caller.driver import KeyPress
from kioskd.drivers.cardreader.driver import HeldCard
from kioskd.drivers.registry import Role
from kioskd.engine import queue
from kioskd.errors import KioskdError, Refused
from kioskd.hall.effects import EffectResult
from kioskd.hall.technician import TEST_TICKET
from kioskd.journal import Envelope
from kioskd.privacy import Holder, age_on, holder_token, mask_name

log = logging.getLogger("kioskd")


CARD_FRESH_S = 120  # a card read at a kiosk is used for the next ticket within this time


def issued_view(envs: list[Envelope], results: list[EffectResult]) -> dict[str, Any]:
    """A ticket just issued as the kiosk shows it: the number, the line ahead, and whether it
    printed (else the page shows it with its QR)."""
    d = next(e for e in envs if e.type == "ticket.issued").data
    printed = next((r.as_json() for r in results if r.effect == "print"), {})
    return {"ticket": d["ticket"], "number": d["ticket"], "category": d["category"],
            "ahead": d["ahead"], "wait_min": d["wait_min"], "lane": d["lane"],
            "appointment": d["appointment"],
            "printed": bool(printed.get("printed")), "print_error": printed.get("error"),
            "on_screen": not printed.get("printed"), "qr": printed.get("qr")}


@dataclass
class KioskCard:
    holder: Holder | None
    error: str | None
    at: float


class Inputs:
    """Part of Hall: a device's input to its handler; the citizen's card and rating."""

    # --- what devices report -------------------------------------------------------------------
    def _on_input(self, inp: DeviceInput) -> None:
        """What a device reported, to the handler of its kind (one table, INPUTS)."""
        handler = INPUTS.get(inp.kind)
        if handler is None:
            log.warning("%s: an input of kind %r that nothing handles", inp.device, inp.kind)
            return
        handler(self, self.cfg.device(inp.device), inp)

    def _card_read(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.reader_cards[dev.id] = c = self._card(inp)
        locker = self.lockers.reader_of(dev.id)
        if locker:  # the reader beside a locker: its holder's pickups open
            self.lockers.card(dev, c, locker)
        elif dev.zone:  # a reader at the 24-hour zone's door
            self.zones.card(dev, c)
        if dev.kiosk:
            self.kiosk_cards[dev.kiosk] = c
            log.info("card at kiosk %s: %s", dev.kiosk,
                     c.error or f"{c.holder.masked_name}, age {c.holder.age}")
            self.watch.changed()

    def _code_read(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        seen = self.last_codes.setdefault(dev.id, [])
        seen.append({"symbology": inp.payload.symbology, "length": len(inp.payload.code)})
        del seen[:-8]
        if dev.kiosk:
            self.spawn(self._scanned_at_kiosk(dev.kiosk, inp.payload), f"scan:{dev.id}")
        else:
            # a window's gun scans documents for the clerk: their use arrives with the scan
            # workflow; the code itself may be personal data, so only its length is logged
            log.info("%s: a %s code of %d characters", dev.id, inp.payload.symbology or "bar",
                     len(inp.payload.code))

    def _keys_pressed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self._keys(inp.payload, inp.device), f"keys:{dev.id}")

    def _rating_pressed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self._rating(dev.window, inp), f"rating:{dev.id}")

    def _signed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self.signatures.received(dev.id, dev.window, inp.payload), f"sign:{dev.id}")

    def _sensors(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        """A relay board's sensors: a zone's door, or a locker's compartments."""
        if dev.role is Role.GATE:
            self.zones.sensed(dev, inp.payload)
        elif dev.role is Role.LOCKER:
            self.lockers.sensed(dev, inp.payload)

    def _page_scanned(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        if dev.window is not None:
            self.spawn(self._page_captured(dev.id, dev.window, inp.payload), f"page:{dev.id}")

    async def _page_captured(self, device: str, window: int, cap) -> None:
        """A page from a window's document camera: to disk, then `scan.captured` (its id and
        shape, never its content) tied to the ticket being served there."""
        try:
            file_id = await asyncio.to_thread(self.scans.save_jpeg, self.state.day,
                                              f"w{window}", cap.jpeg)
        except OSError as exc:  # a full disk: the clerk is told by the missing page, and we log
            log.error("%s: page not saved: %s", device, exc)
            return
        self.window_pages.setdefault(window, []).append(file_id)
        self.record("scan.captured", {
            "device": device, "window": window, "ticket": self._serving(window),
            "kind": "page", "file": file_id,
            "width": cap.width, "height": cap.height, "cropped": cap.cropped, "auto": cap.auto,
            "codes": cap.codes})

    async def close_document(self, window: int) -> Envelope:
        """The pages captured at a window since its last document, as one PDF."""
        pages = self.window_pages.get(window, [])
        if not pages:
            raise Refused("scan.no_pages", f"window {window} has captured no page since its "
                                           "last document")
        file_id = await asyncio.to_thread(self.scans.save_pdf, self.state.day, f"w{window}-doc",
                                          list(pages))
        self.window_pages[window] = []
        return self.record("scan.captured", {
            "device": None, "window": window, "kind": "document", "file": file_id,
            "pages": list(pages), "ticket": self._serving(window)})

    def _serving(self, window: int) -> str | None:
        """The ticket called or served at `window` now: what a captured page belongs to."""
        w = self.state.windows.get(window)
        return w.current if w else None

    async def _scanned_at_kiosk(self, kiosk: str, scan) -> None:
        """An appointment QR at a kiosk checks the appointment in (and prints its ticket)."""
        try:
            envs, results = await self.execute(queue.CheckIn(kiosk, scan.code.strip()))
        except Refused as exc:
            log.info("kiosk %s: scanned code not checked in: %s", kiosk, exc.code)
            zh, en = cardwords.checkin_words(exc.code)
            self.kiosk_notices[kiosk] = {"error": exc.code, "words": zh, "words_en": en}
        else:
            self.kiosk_notices[kiosk] = issued_view(envs, results)
        self.watch.changed()

    def _card(self, inp: DeviceInput) -> KioskCard:
        if inp.kind == "card_error":
            return KioskCard(None, inp.payload, time.monotonic())
        card = inp.payload
        today = self.now().date()  # the hall's local date, not UTC's
        if isinstance(card, HeldCard):  # a card reader gives the holder, keyed already
            if card.valid_to is not None and card.valid_to < today:
                return KioskCard(None, "card.expired", time.monotonic())
            return KioskCard(Holder(card.token, card.masked_name, age_on(card.birth, today)),
                             None, time.monotonic())
        if not card.number_valid:
            return KioskCard(None, "idcard.bad_check_digit", time.monotonic())
        if card.expired_on(today):
            return KioskCard(None, "idcard.expired", time.monotonic())
        age = age_on(card.birth, today)
        holder = Holder(holder_token(self.key, card.id_number), mask_name(card.name), age,
                        card.name if self.cfg.rating.real_name else "")
        return KioskCard(holder, None, time.monotonic())

    def token_of(self, id_number: str) -> str:
        return holder_token(self.key, id_number)

    def holder_of(self, id_number: str, name: str) -> tuple[str, str]:
        """What the hall keeps of a card's holder: the keyed token, the masked name."""
        return self.token_of(id_number), mask_name(name)

    def take_card(self, kiosk: str) -> Holder | None:
        """The holder of the card just read at `kiosk`, used once; Refused if it was bad."""
        card = self.kiosk_cards.pop(kiosk, None)
        if card is None or time.monotonic() - card.at > CARD_FRESH_S:
            return None
        if card.error:
            raise Refused(card.error, " / ".join(cardwords.words(card.error)))
        return card.holder

    async def _rating(self, window: int | None, inp: DeviceInput) -> None:
        """A rating from a device. Only a window's pad can give one, for the prompt it was last
        sent, sealed with its own key; the engine then checks the ticket, the time and "once"."""
        r = inp.payload
        dev = self.cfg.device(inp.device)
        code = None
        if r.get("ticket") == TEST_TICKET and r.get("sealed"):
            # the technician's test prompt: the pad works; nothing is rated
            log.info("%s: test rating %s (a technician's prompt; not counted)", inp.device,
                     r.get("level"))
            self.test_ratings[inp.device] = r.get("level")
            self.watch.changed()
            await self.drivers[inp.device].result(r["txn"], True, None)
            return
        try:
            if dev.role is not Role.PAD or window is None:
                raise Refused("rating.not_a_pad", f"{dev.type} cannot rate")
            if r["ticket"] is None:
                raise Refused("rating.not_prompted", "the pad rated no prompt of ours")
            if not r["sealed"]:
                raise Refused("rating.bad_seal", "the rating is not sealed with this pad's key")
            await self.execute(queue.GiveRating(
                window, r["ticket"], r["level"], inp.device, tuple(r["reasons"]), r["text"],
                self.real_names.get(r["ticket"])))
            self.real_names.pop(r["ticket"], None)
        except Refused as exc:
            code = exc.code
            self.refuse_rating(exc.code, window=window, via=dev.type, device=inp.device,
                               ticket=r.get("ticket"), level=r.get("level"))
        pad = self.drivers[inp.device]
        if hasattr(pad, "result"):
            try:
                await pad.result(r["txn"], code is None, code)
            except KioskdError as exc:
                log.warning("%s: could not confirm the rating: %s", inp.device, exc.code)

    async def _keys(self, press: KeyPress, device: str) -> None:
        """A clerk's keypad: each command goes through the engine as the clerk's API call does.
        A level typed before the rating key (代评) is refused and audited."""
        window, keys = press.window, press.keys
        w = self.state.windows[window]
        if press.rating:  # FUNC 11: the keypad's own rating keys
            self.refuse_rating("rating.pad_only", via="caller.serial", device=device,
                               window=window, ticket=w.awaiting_rating,
                               key=keys[0] if keys else None, func="11")
            return
        level = keypad.rating_attempt(keys)
        if level is not None:
            self.refuse_rating("rating.pad_only", via="caller.serial", device=device,
                               window=window, ticket=w.awaiting_rating, level=level)
            return
        command = keypad.command_of(keys)
        if command is None:
            log.info("%s: keys %s at window %d are no command", device, keys.hex(" "), window)
            return
        action = command.action
        if action == "pause" and w.state == "paused":
            action = "resume"  # one key toggles
        ticket = None
        if action == "call-back":  # the ticket held here last
            held = [t for t in self.state.tickets.values()
                    if t.status == "held" and t.window == window]
            ticket = held[-1].number if held else None
        try:
            await self.execute(queue.WindowAction(window, action, ticket=ticket,
                                                  to_window=command.to_window, clerk=w.clerk,
                                                  staff_no=w.staff_no))
        except Refused as exc:
            log.info("%s: %s at window %d refused: %s", device, action, window, exc.code)

    def refuse_rating(self, code: str, **who: Any) -> Envelope | None:
        """The audit trail central receives: every refused rating attempt, with who tried what.
        Never counted: statistics read rating.given only. One token or device trying in a
        loop (300 rows in 3 s, seen) journals REFUSALS_PER_MIN a minute; the rest are counted
        and the next row says how many (`suppressed`), so central's count stays whole."""
        suppressed = self._refusals.take(str(who.get("client") or who.get("device")
                                                 or who.get("via")))
        if suppressed is None:
            return None
        log.warning("rating refused (%s): %s%s", code,
                    ", ".join(f"{k}={v}" for k, v in who.items() if v is not None),
                    f" (and {suppressed} more from it, not journaled)" if suppressed else "")
        return self.record("rating.refused", {"code": code, **who,
                                              **({"suppressed": suppressed} if suppressed else {})})



# what each kind of device input goes to: a new kind of input is one line here and its handler
INPUTS: dict[str, Callable[[Any, DeviceConfig, DeviceInput], None]] = {
    "card": Inputs._card_read, "card_error": Inputs._card_read, "code": Inputs._code_read,
    "keys": Inputs._keys_pressed, "rating": Inputs._rating_pressed, "signature": Inputs._signed,
    "scan": Inputs._page_scanned, "sensors": Inputs._sensors}
