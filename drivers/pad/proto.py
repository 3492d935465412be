"""pad.serial: the rating-pad protocol kioskd defines (docs/pad-serial.md). Pure.

No public serial protocol for 评价器 exists (protocols.md §6, §10); this one follows the style
of the caller-keypad bus (§9) and DL/T 645:

    68 | LEN | 68 | ADDR | FUNC | DATA (LEN bytes) | CHK | 16
    CHK = sum of the bytes from the second 68 to the end of DATA, mod 256.

host -> pad   01 PROMPT   txn(2 BE) window(1) ticket-len(1) ticket(ASCII) clerk(UTF-8, rest)
              02 IDLE     txn(2 BE)
              03 RESULT   txn(2 BE) status(1: 00 accepted, else refused)
              04 REASONS  txn(2 BE) then per reason: code(1) name-len(1) name(UTF-8)
              10 PING     txn(2 BE)
pad -> host   81/82/84/90 txn(2 BE) status(1)           answers to 01/02/04/10
              21 RATING   txn(2 BE of the prompt) level(1: 1..5) n(1) reasons(n x 1 byte codes)
                          seal(8) text(UTF-8, rest)
"""

from __future__ import annotations

from dataclasses import dataclass

from kioskd.drivers.framing import EndFramed
from kioskd.errors import FrameError

START, END = 0x68, 0x16
PROMPT, IDLE, RESULT, REASONS, PING, RATING = 0x01, 0x02, 0x03, 0x04, 0x10, 0x21
REPLY = 0x80
MAX_DATA = 255  # LEN is one byte


@dataclass(frozen=True)
class PadFrame:
    addr: int
    func: int
    data: bytes

    @property
    def txn(self) -> int:
        return int.from_bytes(self.data[:2], "big") if len(self.data) >= 2 else -1


def encode(addr: int, func: int, data: bytes) -> bytes:
    if len(data) > MAX_DATA:
        raise FrameError(f"pad frame data {len(data)} > {MAX_DATA} bytes")
    body = bytes([START, addr, func]) + data
    return bytes([START, len(data)]) + body + bytes([sum(body) & 0xFF, END])


def prompt(addr: int, txn: int, window: int, ticket: str, clerk: str = "") -> bytes:
    t = ticket.encode("ascii")
    return encode(addr, PROMPT, txn.to_bytes(2, "big") + bytes([window, len(t)]) + t
                  + clerk.encode("utf-8")[:64])


def parse_prompt(data: bytes) -> tuple[int, int, str, str]:
    txn, window, n = int.from_bytes(data[:2], "big"), data[2], data[3]
    return txn, window, data[4:4 + n].decode("ascii"), data[4 + n:].decode("utf-8", "replace")


def reasons_frame(addr: int, txn: int, reasons: list[tuple[int, str]]) -> bytes:
    data = bytearray(txn.to_bytes(2, "big"))
    for code, name in reasons:
        raw = name.encode("utf-8")[:40]
        data += bytes([code, len(raw)]) + raw
    return encode(addr, REASONS, bytes(data))


def parse_reasons(data: bytes) -> list[tuple[int, str]]:
    out, i = [], 2
    while i + 2 <= len(data):
        code, n = data[i], data[i + 1]
        out.append((code, data[i + 2:i + 2 + n].decode("utf-8", "replace")))
        i += 2 + n
    return out


@dataclass(frozen=True)
class RatingData:
    txn: int
    level: int
    reasons: tuple[int, ...]
    seal: bytes
    text: str


def rating(addr: int, txn: int, level: int, reasons: tuple[int, ...] = (), seal: bytes = b"",
           text: str = "") -> bytes:
    return encode(addr, RATING, txn.to_bytes(2, "big") + bytes([level, len(reasons), *reasons])
                  + seal.ljust(8, b"\0")[:8] + text.encode("utf-8"))


def parse_rating(data: bytes) -> RatingData:
    if len(data) < 4 or len(data) < 4 + data[3] + 8:
        raise FrameError(f"a RATING of {len(data)} bytes is too short for its reasons and seal")
    n = data[3]
    return RatingData(int.from_bytes(data[:2], "big"), data[2], tuple(data[4:4 + n]),
                      data[4 + n:12 + n], data[12 + n:].decode("utf-8", "replace"))


def _pad_body(header: bytes) -> int | str:
    if header[2] != START or header[1] > MAX_DATA:
        return "not a pad frame header"
    return 2 + header[1]  # ADDR FUNC, then LEN bytes of data


class PadCodec:
    def __init__(self) -> None:
        self._frames = EndFramed("pad", bytes([START]), 3, _pad_body, 2)

    @property
    def pending(self) -> int:
        return self._frames.pending

    def feed(self, data: bytes) -> list[PadFrame | FrameError]:
        return [f if isinstance(f, FrameError) else PadFrame(f[3], f[4], f[5:-2])
                for f in self._frames.feed(data)]
