"""Social-security cards (社会保障卡) as a PC/SC reader sees them (protocols.md §11). Pure:
the APDUs to send, and what their answers mean; no I/O.

The SSSE application is selected by name; EF05 (card information) is free to read; EF06
(the holder) may ask for the PIN on third-generation cards, which kioskd never guesses.
Every record answers as TLV (tag = the record number, length, value) and then SW 90 00.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kioskd.errors import DeviceFault

SSSE_NAME = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")  # "sx1.sh." + 社会保障 in GBK
SELECT_SSSE = bytes([0x00, 0xA4, 0x04, 0x00, len(SSSE_NAME)]) + SSSE_NAME
SELECT_EF05 = bytes.fromhex("00A4020002EF05")
SELECT_EF06 = bytes.fromhex("00A4020002EF06")

# EF05: 卡识别码 (16 bytes, region first), 卡有效期 (4 bytes BCD YYYYMMDD; 发卡日期 is 05),
# 社会保障卡卡号 (9 characters)
REC_CARD_ID, REC_VALID_TO, REC_CARD_NO = 0x01, 0x06, 0x07
# EF06: 社会保障号码 (the citizen ID number), 姓名, 性别, 出生日期 (BCD YYYYMMDD)
REC_ID_NUMBER, REC_NAME, REC_SEX, REC_BIRTH = 0x08, 0x09, 0x0A, 0x0D
RECORD_LE = {REC_CARD_ID: 0x12, REC_VALID_TO: 0x06, REC_CARD_NO: 0x0B, REC_ID_NUMBER: 0x14, REC_NAME: 0x20,
             REC_SEX: 0x03, REC_BIRTH: 0x06}

SW_OK = 0x9000
# what a card's status words say, when they are not 90 00
SW_PIN = {0x6982, 0x6983}  # security status not satisfied; PIN blocked
SW_NOT_FOUND = {0x6A82, 0x6A81, 0x6A86}  # no such application or file
SW_NO_RECORD = 0x6A83


class CardRefused(DeviceFault):
    """The card is on the reader and is not read, for a reason with its stable code."""


def read_record(record: int) -> bytes:
    """READ RECORD `record` of the current EF (P2 04), as long as the record is."""
    return bytes([0x00, 0xB2, record, 0x04, RECORD_LE[record]])


def sw(answer: bytes) -> int:
    if len(answer) < 2:
        raise CardRefused("the card answered with fewer than two bytes", "card.mute")
    return int.from_bytes(answer[-2:], "big")


def selected(answer: bytes) -> bool:
    """A SELECT worked: 90 00, or 61 xx (more data to get)."""
    word = sw(answer)
    return word == SW_OK or word >> 8 == 0x61


def record_value(record: int, answer: bytes) -> bytes:
    """The value of a TLV record answer; CardRefused with what the status words mean."""
    word = sw(answer)
    if word in SW_PIN:
        raise CardRefused("the card asks for its PIN before it gives the holder",
                          "card.pin_required")
    if word != SW_OK:
        raise CardRefused(f"record {record:02X}: status {word:04X}", "card.unreadable")
    body = answer[:-2]
    if len(body) < 2 or body[0] != record or len(body) < 2 + body[1]:
        raise CardRefused(f"record {record:02X} is not tag-length-value", "card.unreadable")
    return body[2:2 + body[1]]


def text(value: bytes) -> str:
    """A padded GBK text field (names, numbers)."""
    return value.rstrip(b"\x00\xff ").decode("gbk", "replace").strip()


def bcd_date(value: bytes, what: str = "birth date") -> date:
    digits = value.hex()
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise CardRefused(f"{what} {digits!r} is not a date", "card.unreadable") from None


@dataclass(frozen=True)
class SocialCard:
    """A social-security card as read. `id_number` is the citizen ID number: the driver turns
    it into the hall's keyed token and drops it; it is never shown, logged or sent."""

    card_no: str  # 社会保障卡卡号, 9 characters
    region: str  # the first six digits of the 卡识别码 (发卡地区)
    name: str = field(repr=False)
    birth: date = field(repr=False)
    id_number: str = field(repr=False)
    sex: str = ""  # "1" male, "2" female (GB/T 2261.1)
    valid_to: date | None = None  # 卡有效期; None: the card gives none

    def __repr__(self) -> str:
        return f"SocialCard(card_no={self.card_no[:2]}…, region={self.region})"


def parse(records: dict[int, bytes]) -> SocialCard:
    """The card from its records' values (after record_value)."""
    card_id = text(records[REC_CARD_ID])
    valid = records.get(REC_VALID_TO, b"")
    # a card without a validity (all nought or FF: not written at issue) is taken as valid
    valid_to = (bcd_date(valid, "validity") if len(valid) == 4
                and valid not in (b"\x00" * 4, b"\xff" * 4) else None)
    return SocialCard(text(records[REC_CARD_NO]), card_id[:6], text(records[REC_NAME]),
                      bcd_date(records[REC_BIRTH]), text(records[REC_ID_NUMBER]).upper(),
                      text(records.get(REC_SEX, b"")), valid_to)
