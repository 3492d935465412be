"""Onbon BX-5/BX-6 LED controller frames (protocols.md §5.1). Pure.

Frame: A5 x8 | escaped(packet + CRC16/ARC LE) | 5A. Packet: dst(2 LE) src(2 LE) 6 x 00
devtype proto(02) datalen(2 LE) data; data = group cmd response-flag 2 x 00 args.
Answers: the sheet shows no answer frame; we take the controller's answer to be a packet with
src and dst swapped whose data is group cmd error-code [...]. Check on hardware.
"""

from __future__ import annotations

from dataclasses import dataclass

from kioskd.drivers.framing import skip_to
from kioskd.errors import BoardError, ChecksumError, FrameError, FrameTooLong

START, END = b"\xA5" * 8, b"\x5A"
HOST_ADDR = 0x8000
DEVTYPE_ANY, PROTOCOL = 0xFE, 0x02
MAX_PACKET = 1024  # the controller's receive buffer

PING = (0xA2, 0x00)
STATUS = (0xA1, 0x02)
CLEAR = (0xA3, 0x10)
DYNAMIC_TEXT = (0xA3, 0x06)

# the answer's error byte: stable code, and what a technician reads
ERRORS = {0x01: ("board.bad_group", "command group error"),
          0x02: ("board.bad_command", "command not found"),
          0x03: ("board.busy", "controller busy"),
          0x04: ("board.out_of_memory", "out of memory"),
          0x05: ("board.crc", "the controller saw a CRC error"),
          0x06: ("board.no_file", "file does not exist"),
          0x07: ("board.flash", "flash error"),
          0x08: ("board.download", "download error"),
          0x09: ("board.filename", "file name error"),
          0x0A: ("board.file_type", "file type error"),
          0x0B: ("board.file_crc", "file CRC error"),
          0x0C: ("board.no_font", "font library missing (text in an encoding it has no font for?)"),
          0x0D: ("board.firmware_type", "firmware type error"),
          0x0E: ("board.datetime_format", "date/time format error")}
TRANSIENT = {0x03, 0x05}  # busy, or a frame garbled on the line: the same request again may pass

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
    status = p.data[2]
    if status:
        code, meaning = ERRORS.get(status, ("board.error", "an error this table does not know"))
        raise BoardError(f"board error {status:02X}: {meaning}", code, status)


SHOW, SCROLL = 0x01, 0x03  # display effects: at once; moving left (a notice longer than the board)
_FIXED = 1 + 2 + 2 + 2 + 2 + 3 + 2 + 9  # an area's bytes before its text length


@dataclass(frozen=True)
class Area:
    """One realtime dynamic area: a rectangle of the board and the text in it (encoded)."""

    text: bytes
    number: int = 0
    x: int = 0  # px, a multiple of 8 (the protocol counts x and width in 8 px)
    y: int = 0
    width: int = 64
    height: int = 32
    effect: int = SHOW


def _area_bytes(a: Area) -> bytes:
    return (bytes([0x00]) + (a.x // 8).to_bytes(2, "little") + a.y.to_bytes(2, "little")
            + (a.width // 8).to_bytes(2, "little") + a.height.to_bytes(2, "little")
            + bytes([a.number, 0x00, 0x02]) + (0).to_bytes(2, "little")
            + bytes([0x00, 0x00, 0x01, 0x02, 0x01, a.effect, 0x00, 0x00, 0x01])
            + len(a.text).to_bytes(4, "little") + a.text)


def dynamic_areas(areas: list[Area]) -> bytes:
    """Args of A3 06: delete-count 0, update-count, then each area's length and bytes (the
    process mode 2D 00 rides in the data header's two bytes)."""
    out = bytearray([0x00, len(areas)])
    for a in areas:
        data = _area_bytes(a)
        out += len(data).to_bytes(2, "little") + data
    return bytes(out)


def dynamic_text(text: bytes, *, area: int = 0, width: int = 64, height: int = 32) -> bytes:
    """Args of A3 06: one area holding `text` (already encoded): a window board."""
    return dynamic_areas([Area(text, area, 0, 0, width, height)])


def parse_dynamic_areas(args: bytes) -> list[Area]:
    """The areas an A3 06 carries (for the twin), bounded by the bytes actually there."""
    if len(args) < 2:
        raise FrameError("A3 06 too short")
    out, i = [], 2
    for _ in range(args[1]):
        if i + 2 > len(args):
            raise FrameError("A3 06 ends before its areas")
        n = int.from_bytes(args[i:i + 2], "little")
        a = args[i + 2:i + 2 + n]
        if len(a) != n or n < _FIXED + 4:
            raise FrameError("A3 06 area too short")
        size = int.from_bytes(a[_FIXED:_FIXED + 4], "little")
        if _FIXED + 4 + size > n:
            raise FrameError("A3 06 text longer than its area")
        out.append(Area(a[_FIXED + 4:_FIXED + 4 + size], a[9],
                        int.from_bytes(a[1:3], "little") * 8, int.from_bytes(a[3:5], "little"),
                        int.from_bytes(a[5:7], "little") * 8, int.from_bytes(a[7:9], "little"),
                        a[_FIXED - 4]))
        i += 2 + n
    return out


def parse_dynamic_text(args: bytes) -> bytes:
    """The text of the first area in A3 06 args."""
    areas = parse_dynamic_areas(args)
    if not areas:
        raise FrameError("A3 06 updates no area")
    return areas[0].text


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
