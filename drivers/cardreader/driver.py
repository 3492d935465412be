"""cardreader.pcsc: a contact-card reader (读卡器) on pcscd, any CCID reader, reading the
social-security card (protocols.md §11) with pyscard.

One thread waits on pcscd for the reader's state (SCardGetStatusChange, cancelled at close);
a card put on the reader is read at once, and what the hall gets is the holder's keyed token,
masked name and birth date: the citizen ID number and the name are turned into these here
(the hall gives the function, `holder_of`) and go no further. A card that is not read is an
outcome with its code: `card.pin_required`, `card.unsupported` (not a social-security card: a
bank card, a transport card), `card.removed` (pulled out mid-read), `card.mute` (no answer),
`card.unreadable`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from kioskd.drivers.base import DeviceInput, Driver, NoFrames
from kioskd.drivers.cardreader import ssc
from kioskd.errors import DeviceAbsent, DeviceFault, DeviceNotReady
from kioskd.threadhop import on_loop

log = logging.getLogger("kioskd.drivers")

# pcscd's answers (winscard.h), as numbers: pyscard is imported only when a reader opens
REMOVED = {0x80100069, 0x8010000C}  # SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD
MUTE = {0x80100066, 0x80100067, 0x8010000F, 0x8010002F, 0x80100013, 0x80100016}
MUTE_RC = 0x80100066  # SCARD_W_UNRESPONSIVE_CARD
GONE = {0x80100009, 0x80100017, 0x8010001D, 0x8010001E, 0x8010002E}  # no reader, no pcscd
TIMEOUT, CANCELLED = 0x8010000A, 0x80100002
PRESENT, MUTE_STATE = 0x20, 0x200
REMOVAL_MS = 500  # how long a failed exchange waits to learn whether the card was taken out


@dataclass(frozen=True)
class HeldCard:
    """What a card reader gives the hall: the holder as the hall keeps them (the keyed token,
    the masked name) and the birth date for the age lane; no number of any kind."""

    token: str
    masked_name: str
    birth: date
    valid_to: date | None = None  # the card's 有效期, when it gives one

    def __repr__(self) -> str:
        return f"HeldCard({self.masked_name}, token {self.token[:8]}…)"


class PcscCardDriver(Driver):
    # what the hall keeps of a holder, given by the hall: (the keyed token of the ID number,
    # the masked name). The number and the name are turned into these here, and dropped.
    holder_of: Callable[[str, str], tuple[str, str]] | None = None

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.reader = ""
        self._stop = threading.Event()
        self._context: Any = None

    def make_codec(self) -> NoFrames:
        return NoFrames()

    # --- opening: pcscd and the reader ---------------------------------------------------------
    def _scard(self) -> Any:
        try:
            from smartcard import scard
        except ImportError:
            raise DeviceAbsent(f"{self.id}: pyscard is not installed (pip install "
                               "'kioskd[pcsc]'; it builds against libpcsclite-dev)") from None
        return scard

    def _find_reader(self) -> str:
        scard = self._scard()
        rc, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if rc != scard.SCARD_S_SUCCESS:
            raise DeviceAbsent(f"{self.id}: pcscd is not running "
                               f"({scard.SCardGetErrorMessage(rc)})")
        rc, names = scard.SCardListReaders(context, [])
        names = list(names) if rc == scard.SCARD_S_SUCCESS else []
        want = self.cfg.url.path
        found = (names[int(want)] if want.isdigit() and int(want) < len(names)
                 else next((n for n in names if n.startswith(want)), None) if want else None)
        if found is None:
            scard.SCardReleaseContext(context)
            raise DeviceAbsent(f"{self.id}: no PC/SC reader {want!r} (pcscd has "
                               f"{', '.join(names) or 'none'})")
        self._context = context
        return found

    async def open(self) -> None:
        self._stop.clear()
        self.reader = await asyncio.to_thread(self._find_reader)

    async def identify(self) -> str:
        if self.holder_of is None:
            raise DeviceNotReady(f"{self.id}: the hall gave no holder key")
        return self.reader

    def describe(self) -> str:
        return f"PC/SC reader {self.reader or self.cfg.url.path}"

    # --- the reader's state, in a thread of its own ------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        await self.run_in_thread(lambda: self._watch(loop), "pcsc")

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        scard = self._scard()
        state = scard.SCARD_STATE_UNAWARE
        wait_ms = self.cfg.opt("poll_ms")
        while not self._stop.is_set():
            rc, states = scard.SCardGetStatusChange(self._context, wait_ms,
                                                    [(self.reader, state)])
            if rc == TIMEOUT:
                continue
            if rc == CANCELLED or self._stop.is_set():
                return
            if rc != scard.SCARD_S_SUCCESS:
                raise DeviceAbsent(f"{self.id}: {scard.SCardGetErrorMessage(rc)}")
            event = states[0][1]
            present = bool(event & PRESENT) and not bool(state & PRESENT)
            state = event & ~scard.SCARD_STATE_CHANGED
            if present:
                self._read(scard, loop, mute=bool(event & MUTE_STATE))

    def _read(self, scard: Any, loop: asyncio.AbstractEventLoop, mute: bool) -> None:
        try:
            if mute:
                raise ssc.CardRefused("the card gives no answer to reset", "card.mute")
            held = self._read_card(scard)
        except DeviceAbsent:
            raise
        except DeviceFault as exc:
            self.counters.errors += 1
            self.counters.last_error = f"{exc.code}: {exc}"
            log.info("%s: card not read (%s)", self.id, exc.code)
            on_loop(loop, self.emit, DeviceInput(self.id, "card_error", exc.code))
            return
        self.counters.frames_in += 1
        on_loop(loop, self.emit, DeviceInput(self.id, "card", held))

    def _read_card(self, scard: Any) -> HeldCard:
        rc, card, protocol = scard.SCardConnect(
            self._context, self.reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        self._check(scard, rc)
        try:
            def send(apdu: bytes, what: str) -> bytes:
                return self._transmit(scard, card, protocol, apdu, what)

            if not ssc.selected(send(ssc.SELECT_SSSE, "SELECT SSSE")):
                raise ssc.CardRefused("not a social-security card (no SSSE application)",
                                      "card.unsupported")
            records: dict[int, bytes] = {}
            for ef, numbers in ((ssc.SELECT_EF05, (ssc.REC_CARD_ID, ssc.REC_VALID_TO,
                                                   ssc.REC_CARD_NO)),
                                (ssc.SELECT_EF06, (ssc.REC_ID_NUMBER, ssc.REC_NAME,
                                                   ssc.REC_SEX, ssc.REC_BIRTH))):
                if not ssc.selected(send(ef, f"SELECT {ef[-2:].hex().upper()}")):
                    raise ssc.CardRefused(f"no file {ef[-2:].hex().upper()}", "card.unreadable")
                for n in numbers:
                    records[n] = ssc.record_value(n, send(ssc.read_record(n),
                                                          f"READ RECORD {n:02X}"))
            read = ssc.parse(records)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        assert self.holder_of is not None
        # the number and the name stop here: the hall gets the token and the masked name
        token, masked = self.holder_of(read.id_number, read.name)
        return HeldCard(token, masked, read.birth, read.valid_to)

    def _transmit(self, scard: Any, card: Any, protocol: int, apdu: bytes, what: str) -> bytes:
        self.counters.frames_out += 1
        self.traced("out", apdu[:5], what)  # a command's header: no citizen's data in it
        rc, answer = scard.SCardTransmit(card, protocol, list(apdu))
        self._check(scard, rc)
        answer = bytes(answer)
        if len(answer) < 2:  # nothing came back: the card went, or it does not answer
            self._check(scard, MUTE_RC)
        if len(answer) == 2 and answer[0] == 0x61:  # T=0: the answer waits for GET RESPONSE
            rc, answer = scard.SCardTransmit(card, protocol, [0x00, 0xC0, 0x00, 0x00, answer[1]])
            self._check(scard, rc)
            answer = bytes(answer)
        # what came back, without what it says: the status words and the length only
        self.traced("in", answer[-2:], f"{what}: {len(answer) - 2} bytes (hidden), "
                                       f"SW {answer[-2:].hex().upper()}")
        return answer

    def _check(self, scard: Any, rc: int) -> None:
        if rc == scard.SCARD_S_SUCCESS:
            return
        if rc in REMOVED:
            raise ssc.CardRefused("the card was taken out while it was read", "card.removed")
        if rc in MUTE:
            # a card pulled out mid-command reads, on some readers, as a failed exchange:
            # the slot says which it was
            if not self._card_present(scard):
                raise ssc.CardRefused("the card was taken out while it was read", "card.removed")
            raise ssc.CardRefused(f"the card does not answer ({scard.SCardGetErrorMessage(rc)})",
                                  "card.mute")
        if rc in GONE:
            raise DeviceAbsent(f"{self.id}: {scard.SCardGetErrorMessage(rc)}")
        raise ssc.CardRefused(scard.SCardGetErrorMessage(rc), "card.unreadable")

    def _card_present(self, scard: Any) -> bool:
        """Whether the card is still in the slot, after a failed exchange: a reader may tell
        its removal a moment later (vpcd at its next poll), so wait a little for a change."""
        rc, states = scard.SCardGetStatusChange(self._context, REMOVAL_MS,
                                                [(self.reader, PRESENT)])
        if rc == TIMEOUT:
            return True  # nothing changed: still there
        return rc == scard.SCARD_S_SUCCESS and bool(states[0][1] & PRESENT)

    async def close(self) -> None:
        self.ready = False
        self._stop.set()
        scard = None
        if self._context is not None:
            scard = self._scard()
            scard.SCardCancel(self._context)  # the wait in the thread returns now
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
            self._thread = None
        if self._context is not None and scard is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None

