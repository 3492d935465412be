"""What devices do about events: each engine effect to its device (printing, boards, voice,
pads), and the hall's voice for the kiosks."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from kioskd.drivers.base import Driver
from kioskd.drivers.printer.escpos import FAULTS, TicketText
from kioskd.drivers.registry import Role
from kioskd.engine import queue
from kioskd.errors import DeviceError, KioskdError
from kioskd.privacy import link_sig
from kioskd.voice import wav_bytes

log = logging.getLogger("kioskd")


def _clerk_label(clerk: str | None, staff_no: str) -> str:
    """Who served the citizen, as the rating pad shows it: name and 工号."""
    if not clerk:
        return ""
    return f"{clerk} 工号{staff_no}" if staff_no else clerk


@dataclass(frozen=True)
class EffectResult:
    """What came of one effect: its name, the device's error code if it was not carried out,
    and what the device answered (a print's `printed` and `qr`, a prompt's transaction)."""

    effect: str  # print, show, announce, prompt, close
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        error = {"error": self.error} if self.error else {}
        return {"effect": self.effect, **self.detail, **error}


@dataclass(frozen=True)
class EffectHandler:
    """How one type of effect is carried out: `lane` names what it uses (a kiosk's printer,
    a window's board or pad, the hall's speaker): effects in one lane run in their order,
    effects in different lanes at once."""

    name: str
    lane: Callable[[Any], tuple]
    run: Callable[[Any, Any], Awaitable[dict[str, Any]]]
    waits: bool = True  # False: it only queues work (the speaker's), and returns at once


class Effects:
    """Part of Hall: what devices do about events, one handler per type of effect (HANDLERS)."""

    async def carry_out(self, effects: list[queue.Effect]) -> list[EffectResult]:
        """Every effect by its handler; independent ones at once (a call's announcement is
        queued while its board is written), each lane in order (a board shown idle, then the
        next number). Results come back in the effects' order."""
        lanes: dict[tuple, list[int]] = {}
        for i, effect in enumerate(effects):
            lanes.setdefault(HANDLERS[type(effect)].lane(effect), []).append(i)
        results: list[EffectResult | None] = [None] * len(effects)

        async def lane(indexes: list[int]) -> None:
            for i in indexes:
                results[i] = await self.run_effect(effects[i])

        # lanes that only queue go first, here: nothing they do waits for a device
        quick = [ix for ix in lanes.values() if not any(HANDLERS[type(effects[i])].waits
                                                        for i in ix)]
        for ix in quick:
            await lane(ix)
        slow = [ix for ix in lanes.values() if ix not in quick]
        if len(slow) == 1:  # the common case: no task to make
            await lane(slow[0])
        elif slow:
            await asyncio.gather(*(lane(ix) for ix in slow))
        return [r for r in results if r is not None]

    async def run_effect(self, effect: queue.Effect) -> EffectResult:
        handler = HANDLERS[type(effect)]
        try:
            answer = dict(await handler.run(self, effect))
        except DeviceError as exc:
            log.warning("%s not carried out: %s (%s)", type(effect).__name__, exc, exc.code)
            return EffectResult(handler.name, exc.code)
        answer.pop("effect", None)
        return EffectResult(handler.name, answer.pop("error", None), answer)

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

    async def _call_aloud(self, effect: queue.Announce) -> dict[str, Any]:
        return self.announcer.call(effect.ticket, effect.window, effect.recall)

    async def _show(self, effect: queue.ShowOnBoard) -> dict[str, Any]:
        return await self.boards.show_window(effect.window, effect.ticket, effect.state)

    async def _prompt(self, effect: queue.PromptRating) -> dict[str, Any]:
        pad = self.device_for(Role.PAD, window=effect.window)
        if pad is None:
            return {"error": "pad.none"}
        return await pad.handle("prompt", window=effect.window, ticket=effect.ticket,
                                clerk=_clerk_label(effect.clerk, effect.staff_no),
                                reasons=self.cfg.rating.reasons,
                                timeout_s=self.cfg.queue.rating_timeout_s)

    async def _close(self, effect: queue.CloseRating) -> dict[str, Any]:
        pad = self.device_for(Role.PAD, window=effect.window)
        return {"error": "pad.none"} if pad is None else await pad.handle("idle")

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


# every type of effect the engine makes, and who carries it out: a new effect is its line here
HANDLERS: dict[type, EffectHandler] = {
    queue.PrintTicket: EffectHandler("print", lambda e: ("printer", e.kiosk), Effects._print),
    queue.Announce: EffectHandler("announce", lambda e: ("speaker",), Effects._call_aloud,
                                  waits=False),
    queue.ShowOnBoard: EffectHandler("show", lambda e: ("board", e.window), Effects._show),
    queue.PromptRating: EffectHandler("prompt", lambda e: ("pad", e.window), Effects._prompt),
    queue.CloseRating: EffectHandler("close", lambda e: ("pad", e.window), Effects._close),
}
