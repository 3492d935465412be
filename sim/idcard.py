"""Twin of a GA 467 ID-card reader: answers SAM frames byte for byte like a real reader."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.idcard import sam
from kioskd.sim.twin import Twin

# A made-up card with a valid check digit (GB 11643). Not a real person.
DEMO_CARD = sam.IdCard(
    "resident", name="张三丰", gender="男", birth=date(1950, 3, 7),
    id_number="110105195003070019", ethnicity="汉", address="北京市朝阳区示范路1号",
    issuer="北京市公安局朝阳分局", valid_from="20200101", valid_to="长期")
SAM_ID = bytes([5, 0, 1, 0]) + (20110617).to_bytes(4, "little") + (4156032).to_bytes(4, "little") \
    + (254740431).to_bytes(4, "little")


def make_card(name: str, birth: date, region: str = "110105", serial: int = 1,
              gender: str = "男", *, card_type: str = "resident", valid_to: str = "20400101",
              bad_check_digit: bool = False) -> sam.IdCard:
    """A fake card whose number passes the check digit (unless asked not to). card_type:
    resident, hkmotw ('J': region 810000/820000/830000) or foreigner ('I')."""
    if card_type == "foreigner":
        return sam.IdCard("foreigner", name=name, gender=gender, birth=birth,
                          id_number=f"USA1100{birth:%y%m}{serial:04d}", nationality="USA",
                          valid_from="20200101", valid_to=valid_to)
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    check = sam.check_char(first17)
    if bad_check_digit:
        check = sam.CHECK_CHARS[(sam.CHECK_CHARS.index(check) + 1) % 11]
    return sam.IdCard(card_type, name=name, gender=gender, birth=birth,
                      id_number=first17 + check, ethnicity="汉" if card_type == "resident" else "",
                      address="示范市示范路1号", issuer="示范市公安局",
                      valid_from="20200101", valid_to=valid_to,
                      permit_number=f"H{serial:08d}" if card_type == "hkmotw" else "")


class SamReaderTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = sam.SamCodec()
        self.card: sam.IdCard | None = None
        self.text_block: bytes | None = None  # raw override, to feed malformed cards
        self._read_done = False  # a real reader finds a card once per placement
        self.reads = 0
        self.empty_finds = 0  # FINDs answered "no card": the host has seen the reader empty
        self.sam_fault = False  # SAM self-test failed: 60 to the status check
        self.read_fault = False  # 41 to every read (a card pulled away mid-read)
        self.corrupt_next = 0  # this many answers go out with a wrong checksum
        self.delay = 0.0  # seconds before each answer (a slow reader)
        self.appended_address: str | None = None  # 30 03 answers 91 when None
        self.appended_extra = b""  # bytes some readers send after the 70 (Synjones reads 70)
        self.fingerprint = bytes(1024)  # two templates, as opaque as the photo

    def place(self, card: sam.IdCard = DEMO_CARD, *, text_block: bytes | None = None) -> None:
        self.card, self.text_block, self._read_done = card, text_block, False

    def lift(self) -> None:
        self.card, self._read_done = None, False

    async def lifted(self, timeout: float = 5.0) -> None:
        """Lift the card and wait until the host's poll has found the reader empty: a card
        placed again sooner is, to the host, the same placement (read once)."""
        seen = self.empty_finds
        self.lift()
        await self.watch.until(lambda: self.empty_finds > seen, timeout,
                               "the host sees no card")

    def send(self, data: bytes) -> None:
        if self.corrupt_next:
            self.corrupt_next -= 1
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, super().send, data)
        else:
            super().send(data)

    def on_frame(self, frame: sam.Frame) -> None:
        cmd = frame.command
        if cmd == sam.SAM_STATUS:
            self.send(sam.response(0x60 if self.sam_fault else sam.SW_OK))
        elif cmd == sam.RESET:
            self.send(sam.response(sam.SW_OK))
        elif cmd == sam.SAM_ID:
            self.send(sam.response(sam.SW_OK, SAM_ID))
        elif cmd == sam.FIND:
            if self.card and not self._read_done:
                self.send(sam.response(sam.SW_FOUND, bytes(4)))
            else:
                self.send(sam.response(0x80))
                self.empty_finds += 1
                self.watch.changed()
        elif cmd == sam.SELECT:
            self.send(sam.response(sam.SW_OK, bytes(8)) if self.card else sam.response(0x81))
        elif cmd in (sam.READ_TEXT_PHOTO, sam.READ_TEXT_PHOTO_FP) and self.card \
                and not self.read_fault:
            text = self.text_block or sam.encode_text(self.card)
            photo = b"WLf\x00~\x002\x00" + os.urandom(1016)  # opaque WLT, as a real card's
            fp = self.fingerprint if cmd == sam.READ_TEXT_PHOTO_FP else None
            self.send(sam.response(sam.SW_OK, sam.read_answer(text, photo, fp)))
            self._read_done = True
            self.reads += 1
        elif cmd in (sam.READ_TEXT_PHOTO, sam.READ_TEXT_PHOTO_FP):
            self.send(sam.response(0x41))
        elif cmd == sam.READ_NEW_ADDRESS and self.card:
            if self.appended_address is None:
                self.send(sam.response(sam.SW_NO_ITEM))
            else:
                self.send(sam.response(sam.SW_OK, self.appended_address[:35].ljust(35)
                                       .encode("utf-16-le") + self.appended_extra))
        else:
            self.send(sam.response(0x21))
