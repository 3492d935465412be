"""Onbon BX-5/BX-6 LED controller frames (protocols.md §5.1). Pure.

Frame: A5 x8 | escaped(packet + CRC16/ARC LE) | 5A. Packet: dst(2 LE) src(2 LE) 6 x 00
devtype proto(02) datalen(2 LE) data; data = group cmd response-flag 2 x 00 args.
Answers: the sheet shows no answer frame; we take the controller's answer to be a packet with
src and dst swapped whose data is group cmd error-code [...]. Check on hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

from kioskd.drivers.framing import skip_to
from kioskd.errors import ChecksumError, DeviceFault, FrameError, FrameTooLong

START, END = b"\xA5" * 8, b"\x5A"
HOST_ADDR = 0x8000
DEVTYPE_ANY, PROTOCOL = 0xFE, 0x02
MAX_PACKET = 1024  # the controller's receive buffer

PING = (0xA2, 0x00)
STATUS = (0xA1, 0x02)
CLEAR = (0xA3, 0x10)
DYNAMIC_TEXT = (0xA3, 0x06)

ERRORS = {0x01: "board.bad_group", 0x02: "board.bad_command", 0x03: "board.busy",
          0x04: "board.out_of_memory", 0x05: "board.crc", 0x06: "board.no_file",
          0x07: "board.flash", 0x08: "board.download", 0x09: "board.filename",
          0x0A: "board.file_type", 0x0B: "board.file_crc", 0x0C: "board.no_font",
          0x0D: "board.firmware_type", 0x0E: "board.datetime_format"}

_ESC = {0xA5: b"\xA6\x02", 0xA6: b"\xA6\x01", 0x5A: b"\x5B\x02", 0x5B: b"\x5B\x01"}
_UNESC = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}


def crc16_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def escape(data: bytes) -> bytes:
    return b"".join(_ESC.get(b, bytes([b])) for b in data)


def unescape(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b in (0xA6, 0x5B):
            pair = (b, data[i + 1] if i + 1 < len(data) else -1)
            if pair not in _UNESC:
                raise FrameError(f"bad escape {b:02X} at {i}")
            out.append(_UNESC[pair])
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


@dataclass(frozen=True)
class Packet:
    dst: int
    src: int
    devtype: int
    data: bytes

    @property
    def command(self) -> tuple[int, int]:
        return self.data[0], self.data[1]


def encode(p: Packet) -> bytes:
    body = (p.dst.to_bytes(2, "little") + p.src.to_bytes(2, "little") + bytes(6)
            + bytes([p.devtype, PROTOCOL]) + len(p.data).to_bytes(2, "little") + p.data)
    return START + escape(body + crc16_arc(body).to_bytes(2, "little")) + END


def request(cmd: tuple[int, int], args: bytes = b"", *, address: int = 1,
            reply: bool = True) -> bytes:
    data = bytes([cmd[0], cmd[1], 1 if reply else 0, 0, 0]) + args
    return encode(Packet(address, HOST_ADDR, DEVTYPE_ANY, data))


def answer(to: Packet, error: int = 0, extra: bytes = b"") -> bytes:
    return encode(Packet(to.src, to.dst, to.devtype, bytes([*to.command, error]) + extra))


def check_answer(p: Packet) -> None:
    if len(p.data) < 3:
        raise FrameError("board answer without an error byte")
    if p.data[2]:
        raise DeviceFault(f"board error {p.data[2]:02X}", ERRORS.get(p.data[2], "board.error"))


def dynamic_text(text: bytes, *, area: int = 0, width: int = 64, height: int = 32) -> bytes:
    """Args of A3 06: one realtime dynamic area holding `text` (already encoded)."""
    area_data = (bytes([0x00]) + (0).to_bytes(2, "little") + (0).to_bytes(2, "little")
                 + (width // 8).to_bytes(2, "little") + height.to_bytes(2, "little")
                 + bytes([area, 0x00, 0x02]) + (0).to_bytes(2, "little")
                 + bytes([0x00, 0x00, 0x01, 0x02, 0x01, 0x01, 0x00, 0x00, 0x01])
                 + len(text).to_bytes(4, "little") + text)
    # leading 2D 00 is the process mode (the header's two bytes carry it), then
    # delete-count 0, update-count 1, area length
    return bytes([0x00, 0x01]) + len(area_data).to_bytes(2, "little") + area_data


def parse_dynamic_text(args: bytes) -> bytes:
    """The text of the first area in A3 06 args (for the simulator)."""
    if len(args) < 4:
        raise FrameError("A3 06 too short")
    area = args[4:4 + int.from_bytes(args[2:4], "little")]
    fixed = 1 + 2 + 2 + 2 + 2 + 3 + 2 + 9
    if len(area) < fixed + 4:
        raise FrameError("A3 06 area too short")
    n = int.from_bytes(area[fixed:fixed + 4], "little")
    return area[fixed + 4:fixed + 4 + n]


class BxCodec:
    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Packet | FrameError]:
        self._buf += data
        out: list[Packet | FrameError] = []
        while True:
            if not skip_to(self._buf, b"\xA5", out):
                return out
            end = self._buf.find(END)
            if end < 0:
                if len(self._buf) > 8 + 2 * (MAX_PACKET + 16) + 1:
                    out.append(FrameTooLong("no frame end within the controller's buffer size"))
                    self._buf.clear()
                return out
            raw = bytes(self._buf[:end]).lstrip(b"\xA5")
            del self._buf[:end + 1]
            try:
                body = unescape(raw)
            except FrameError as exc:
                out.append(exc)
                continue
            if len(body) < 16:
                out.append(FrameError(f"packet of {len(body)} bytes is too short"))
                continue
            if crc16_arc(body[:-2]) != int.from_bytes(body[-2:], "little"):
                out.append(ChecksumError("board frame CRC mismatch"))
                continue
            size = int.from_bytes(body[12:14], "little")
            if size != len(body) - 16:
                out.append(FrameError(f"data length {size}, frame carries {len(body) - 16}"))
                continue
            out.append(Packet(int.from_bytes(body[0:2], "little"),
                              int.from_bytes(body[2:4], "little"), body[10], body[14:-2]))
