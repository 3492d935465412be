"""What devices do about events: each engine effect to its device (printing, boards, voice,
pads), and the hall's voice for the kiosks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kioskd.drivers.base import Driver
from kioskd.drivers.printer.escpos import FAULTS, TicketText
from kioskd.drivers.registry import Role
from kioskd.engine import queue
from kioskd.errors import DeviceError, KioskdError
from kioskd.privacy import link_sig
from kioskd.voice import wav_bytes


log = logging.getLogger("kioskd")

EFFECT_NAMES = {queue.PrintTicket: "print", queue.ShowOnBoard: "show", queue.PromptRating: "prompt",
                queue.CloseRating: "close", queue.Announce: "announce"}


def _clerk_label(clerk: str | None, staff_no: str) -> str:
    """Who served the citizen, as the rating pad shows it: name and 工号."""
    if not clerk:
        return ""
    return f"{clerk} 工号{staff_no}" if staff_no else clerk


class Effects:
    """Part of Hall: effects carried out, results returned as dicts for the API and journal."""

    # --- effects: what devices do about events -------------------------------------------------
    def device_for(self, role: Role, *, kiosk: str | None = None,
                   window: int | None = None) -> Driver | None:
        found = self.cfg.devices_of(kiosk=kiosk, window=window, role=role)
        return self.drivers.get(found[0].id) if found else None

    def kiosk_printer(self, kiosk: str) -> dict[str, Any]:
        """Whether a ticket printed at `kiosk` would come out; the kiosk page offers printed
        tickets only while it would, and shows them on screen otherwise."""
        found = self.cfg.devices_of(kiosk=kiosk, role=Role.PRINTER)
        if not found:
            return {"device": None, "prints": False, "reason": "printer.none"}
        sup = self.supervisors[found[0].id]
        st = sup.state
        if st.state not in ("ready", "stale"):
            return {"device": found[0].id, "prints": False, "state": st.state,
                    "condition": st.condition, "reason": f"device.{st.state}"}
        return {"device": found[0].id, "prints": st.condition not in FAULTS, "state": st.state,
                "condition": st.condition,
                "reason": None if st.condition not in FAULTS else f"printer.{st.condition}"}

    def ticket_text(self, ticket: str, category_name: str, ahead: int, wait_min: int | None,
                    issued_at: str) -> TicketText:
        tpl = self.cfg.ticket
        return TicketText(tpl.title or self.cfg.hall.name, category_name, ticket, ahead,
                          issued_at[:16].replace("T", " "),
                          tpl.qr_text(self.cfg.hall.id, issued_at[:10], ticket,
                                      link_sig(self.link_key, self.cfg.hall.id, issued_at[:10],
                                               ticket)),
                          footer=tpl.footer, wait_min=wait_min)

    async def print_at(self, kiosk: str, text: TicketText) -> dict[str, Any]:
        """Print one ticket at a kiosk; a failure is an answer (the kiosk shows the ticket on
        screen), never an exception: the ticket stays issued whatever the printer does."""
        out: dict[str, Any] = {"effect": "print", "ticket": text.number, "qr": text.qr}
        where = self.kiosk_printer(kiosk)
        if not where["prints"]:
            return {**out, "printed": False, "error": where["reason"]}
        printer = self.drivers[where["device"]]
        try:
            return {**out, **await printer.handle("print", ticket=text,
                                                  fields=self.cfg.ticket.fields)}
        except KioskdError as exc:
            log.warning("%s: ticket %s not printed (%s); shown on screen", kiosk, text.number,
                        exc.code)
            return {**out, "printed": False, "error": exc.code}

    async def _print(self, effect: queue.PrintTicket) -> dict[str, Any]:
        return await self.print_at(effect.kiosk, self.ticket_text(
            effect.ticket, effect.category_name, effect.ahead, effect.wait_min, effect.issued_at))

    async def _run_effect(self, effect: queue.Effect) -> dict[str, Any]:
        try:
            if isinstance(effect, queue.PrintTicket):
                return await self._print(effect)
            if isinstance(effect, queue.Announce):
                return self.announcer.call(effect.ticket, effect.window, effect.recall)
            if isinstance(effect, queue.ShowOnBoard):
                return await self.boards.show_window(effect.window, effect.ticket, effect.state)
            if isinstance(effect, (queue.PromptRating, queue.CloseRating)):
                name = EFFECT_NAMES[type(effect)]
                pad = self.device_for(Role.PAD, window=effect.window)
                if pad is None:
                    return {"effect": name, "error": "pad.none"}
                if isinstance(effect, queue.CloseRating):
                    return {"effect": name, **await pad.handle("idle")}
                return {"effect": name, **await pad.handle(
                    "prompt", window=effect.window, ticket=effect.ticket,
                    clerk=_clerk_label(effect.clerk, effect.staff_no),
                    reasons=self.cfg.rating.reasons, timeout_s=self.cfg.queue.rating_timeout_s)}
        except DeviceError as exc:
            log.warning("%s not carried out: %s (%s)", type(effect).__name__, exc, exc.code)
            return {"effect": EFFECT_NAMES[type(effect)], "error": exc.code}
        return {}

    async def announce(self, text: str, seconds: int) -> dict[str, Any]:
        """A notice from central on the boards for `seconds`, then each shows its own again;
        spoken once through the hall's announcement queue."""
        shown = await self.boards.announce(text, seconds)
        spoken = self.announcer.notice(text)
        return {**shown, "spoken": spoken.get("spoken", True)}

    async def speak_wav(self, text: str) -> bytes:
        """`text` in the hall's voice as a WAV (a kiosk's prompt, played by its own speaker);
        the same few prompts are asked for all day, so each is made once."""
        if text not in self._spoken:
            pcm = await asyncio.to_thread(self.announcer.render_once, text)
            self._spoken[text] = wav_bytes(pcm)
            while len(self._spoken) > 64:  # numbers taken: a day's worth would be megabytes
                self._spoken.pop(next(iter(self._spoken)))
        return self._spoken[text]
