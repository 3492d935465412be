"""idcard.sam: polls a GA 467 reader for cards and reports each card once per placement."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.idcard import sam
from kioskd.errors import DeviceFault, DeviceTimeout, FrameError

log = logging.getLogger("kioskd.drivers.idcard")
PREAMBLE = b"\xaa\xaa\xaa\x96\x69"  # every SAM frame's start (protocols.md §1.2)


def format_sam_id(data: bytes) -> str:
    """`05.01-20110617-0004156032-0254740431` (protocols.md §1.6, 10-digit padding)."""
    if len(data) < 16:
        raise FrameError(f"SAM id is {len(data)} bytes, expected 16")
    n = lambda i: int.from_bytes(data[i:i + 4], "little")  # noqa: E731
    return f"{data[0]:02d}.{data[2]:02d}-{n(4)}-{n(8):010d}-{n(12):010d}"


class SamReaderDriver(Driver):

    def make_codec(self) -> sam.SamCodec:
        return sam.SamCodec()

    # a card's answer holds the holder's name and number: the raw view shows the frame's head
    # (preamble, length, status) and counts the rest
    def trace_hex(self, direction: str, data: bytes) -> str:
        if direction == "out" or (data.startswith(PREAMBLE) and len(data) <= 16):
            return super().trace_hex(direction, data)  # commands, and bare status replies
        head = data[:10] if data.startswith(PREAMBLE) else b""
        return (head.hex(" ") + " … " if head else "") + \
            f"({len(data) - len(head)} bytes hidden: card data)"

    def describe_frame(self, frame: sam.Frame) -> str:
        p = frame.payload
        if len(p) < 3:
            return f"SAM reply of {len(p)} bytes"
        return f"SAM reply SW {p[0]:02X} {p[1]:02X} {p[2]:02X}, {len(p) - 3} data bytes"

    async def identify(self) -> str:
        (await self.transact(sam.command(sam.SAM_STATUS))).ok()
        return "SAM " + format_sam_id((await self.transact(sam.command(sam.SAM_ID))).ok())

    async def poll(self) -> None:
        interval = self.cfg.opt("poll_ms") / 1000
        present = False  # a card was read and has not left the reader since
        while True:
            found = await self.probe(self.transact(sam.command(sam.FIND)))
            if found is None:
                continue
            if found.sw3 != sam.SW_FOUND:
                present = False
            elif not present:
                present = await self._read_card()
            await asyncio.sleep(interval)

    async def _read_card(self) -> bool:
        fingerprint = self.cfg.opt("fingerprint")
        try:
            (await self.transact(sam.command(sam.SELECT))).ok()
            read = sam.READ_TEXT_PHOTO_FP if fingerprint else sam.READ_TEXT_PHOTO
            data = (await self.transact(sam.command(read), timeout=3.5)).ok()
            # the photo and the fingerprint templates are dropped here, never stored or sent
            text, _photo, fp = sam.split_read(data, fingerprint)
            card = sam.decode_text(text)
            if fp:
                card = dataclasses.replace(card, fingerprint=True)
            if self.cfg.opt("appended_address"):
                extra = await self.transact(sam.command(sam.READ_NEW_ADDRESS), timeout=1.0)
                if extra.sw3 != sam.SW_NO_ITEM:  # 91: the card has no appended address
                    card = dataclasses.replace(card, address=sam.decode_address(extra.ok()))
        except (DeviceFault, FrameError, DeviceTimeout) as exc:
            # a card pulled away mid-read: report it and try again on the next find
            self.counters.errors += 1
            self.counters.last_error = f"{exc.code}: {exc}"
            log.info("%s: card read failed (%s)", self.id, exc.code)
            self.emit(DeviceInput(self.id, "card_error", exc.code))
            return False
        self.emit(DeviceInput(self.id, "card", card))
        return True
