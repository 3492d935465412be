"""The social-security card twin (protocols.md §11): a card behind the real pcscd, through
Debian's vsmartcard-vpcd. vpcd listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00"; the
next reader on the next port); the twin connects when a card is inserted and hangs up when it
is taken out, and answers what pcscd asks on the card's behalf: power, reset, the ATR, APDUs.
Each message is a 2-byte big-endian length and its payload; a 1-byte payload is a control.

Scripted cards: a social-security card (its holder's records in EF05/EF06), one that wants
its PIN for EF06, a bank card (no SSSE application), a card pulled out after `pulled_after`
APDUs.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kioskd.drivers.cardreader import ssc
from kioskd.drivers.spec import DeviceConfig
from kioskd.watch import Watch

VPCD_PORT = 35963  # vpcd's first reader, Virtual PCD 00 00 (reader.conf.d/vpcd: 0x8C7B)
ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")  # a contact CPU card's
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


@dataclass(frozen=True)
class SimCard:
    """What is on the card. kind: social (EF05/EF06 free), pin (EF06 asks for the PIN),
    bank (no SSSE application)."""

    name: str = "王秀英"
    birth: date = date(1952, 5, 1)
    id_number: str = "110105195205010014"  # sim.idcard.make_card("王秀英", 1952-05-01)
    card_no: str = "A12345678"
    region: str = "110100"
    kind: str = "social"
    valid_to: date = date(2031, 5, 1)  # 卡有效期
    pulled_after: int | None = None  # the citizen takes it out after this many APDUs
    records: dict[int, bytes] = field(default_factory=dict, repr=False)

    def record(self, n: int) -> bytes:
        if n in self.records:
            return self.records[n]
        values = {ssc.REC_CARD_ID: f"{self.region}{'0' * 10}".encode(),  # 16: region first
                  ssc.REC_VALID_TO: bytes.fromhex(f"{self.valid_to:%Y%m%d}"),
                  ssc.REC_CARD_NO: self.card_no.encode(),
                  ssc.REC_ID_NUMBER: self.id_number.encode(),
                  ssc.REC_NAME: self.name.encode("gbk").ljust(30, b"\x00"),
                  ssc.REC_SEX: b"2",
                  ssc.REC_BIRTH: bytes.fromhex(f"{self.birth:%Y%m%d}")}
        return values[n]


class SocialCardTwin:
    """A PC/SC card slot as the card sees it (one vpcd port); `insert()` and `remove()`."""

    def __init__(self, dev: DeviceConfig, link: Path | None = None, *, port: int = VPCD_PORT):
        self.dev = dev
        self.port = int(dev.sim.get("vpcd_port", port))
        self.watch = Watch()
        self.card: SimCard | None = None
        self.apdus: list[bytes] = []  # what the host sent the card, in order
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task | None = None
        self._file = b""  # the selected EF

    @property
    def url(self) -> str:
        return self.dev.url.raw

    async def start(self) -> None:
        """Nothing to do until a card goes in: an empty slot is the twin not connected."""

    async def stop(self) -> None:
        await self.remove()

    async def insert(self, card: SimCard = SimCard()) -> None:
        await self.remove()
        self.card, self._file = card, b""
        reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._task = asyncio.create_task(self._serve(reader, self._writer),
                                         name=f"vicc:{self.dev.id}")
        self.watch.changed()

    async def remove(self) -> None:
        """The card taken out: vpcd sees the connection go."""
        task, writer, self._task, self._writer = self._task, self._writer, None, None
        if writer is not None:
            writer.close()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.card = None
        self.watch.changed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (n,) = struct.unpack(">H", await reader.readexactly(2))
                message = await reader.readexactly(n)
                if n == 1:
                    if message[0] == GET_ATR:
                        self._send(writer, ATR)
                    elif message[0] in (POWER_ON, RESET):
                        self._file = b""
                    continue
                self.apdus.append(message)
                card = self.card
                if card and card.pulled_after is not None and len(self.apdus) > card.pulled_after:
                    writer.close()  # gone from the slot in the middle of the read
                    return
                self._send(writer, self.answer(message))
                self.watch.changed()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    @staticmethod
    def _send(writer: asyncio.StreamWriter, payload: bytes) -> None:
        writer.write(struct.pack(">H", len(payload)) + payload)

    def answer(self, apdu: bytes) -> bytes:
        """The card's R-APDU to a C-APDU (§11): SELECT by name or by file, READ RECORD."""
        card = self.card
        assert card is not None
        if apdu == ssc.SELECT_SSSE:
            return b"\x6a\x82" if card.kind == "bank" else b"\x90\x00"
        if card.kind == "bank":
            return b"\x6d\x00"  # a bank card knows no such command in this context
        if apdu in (ssc.SELECT_EF05, ssc.SELECT_EF06):
            self._file = apdu[-2:]
            return b"\x90\x00"
        if apdu[:2] == b"\x00\xb2" and len(apdu) == 5:
            n = apdu[2]
            if self._file == b"\xef\x06" and card.kind == "pin":
                return b"\x69\x82"  # security status not satisfied: the PIN first
            wanted = {b"\xef\x05": (ssc.REC_CARD_ID, ssc.REC_VALID_TO, ssc.REC_CARD_NO),
                      b"\xef\x06": (ssc.REC_ID_NUMBER, ssc.REC_NAME, ssc.REC_SEX, ssc.REC_BIRTH)}
            if n not in wanted.get(self._file, ()):
                return b"\x6a\x83"
            value = card.record(n)
            return bytes([n, len(value)]) + value + b"\x90\x00"
        return b"\x6d\x00"
