"""Onbon BX-5K/6K LED controller frames ("4K" protocol 02, protocols.md §5.1). Pure.

Frame: A5 x8 | escaped(packet + CRC16/ARC LE) | 5A. Packet: dst(2 LE) src(2 LE) 6 x 00
devtype proto(02) datalen(2 LE) data; data = group cmd response-flag process-mode 00 args.
Answers (Onbon's SDK, BxResp): group cmd error r r, an ACK `A0 00`, a NACK `A0 01` with the
error byte. Byte vectors from the sheet's sources: tests/vectors/bx.toml.

Other Onbon families frame differently (BX-5M1: protocol 05 right after the addresses, an
XOR header, no escaping, end 5A 5A; BX-5E/5Q: protocol F0) and are refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from kioskd.drivers.framing import skip_to
from kioskd.errors import (BoardError, ChecksumError, FrameError, FrameTooLong,
                           UnsupportedProtocol)

START, END = b"\xA5" * 8, b"\x5A"
HOST_ADDR = 0x8000
DEVTYPE_ANY, PROTOCOL = 0xFE, 0x02
MAX_PACKET = 1024  # the controller's receive buffer

PING = (0xA2, 0x00)
STATUS = (0xA1, 0x02)
CLEAR = (0xA3, 0x10)
DYNAMIC_TEXT = (0xA3, 0x06)
ACK, NACK = (0xA0, 0x00), (0xA0, 0x01)
MUST_REPLY, NO_REPLY = 0x01, 0x02  # the response flag

# card models and their device-type byte (Onbon BX-K SDK appendix); on the 6K cards x and width
# are pixels, on the 5K cards 8-pixel units
CARDS = {"BX-5K1": 0x51, "BX-5K2": 0x58, "BX-5MK1": 0x54, "BX-5MK2": 0x53, "BX-5K1Q-YY": 0x5C,
         "BX-6K1": 0x61, "BX-6K2": 0x62, "BX-6K3": 0x63, "BX-6K1-YY": 0x64, "BX-6K2-YY": 0x65,
         "BX-6K3-YY": 0x66, "BX-6K1-4G": 0x67, "BX-6K2-4G": 0x68}
MODELS = {v: k for k, v in CARDS.items()}
# other Onbon families that speak another framing: refused by name (config and on the wire)
OTHER_FAMILIES = {"BX-5M1": "protocol 05", "BX-5M2": "protocol 05", "BX-5M3": "protocol 05",
                  "BX-5M4": "protocol 05", "BX-5E1": "protocol F0", "BX-5E2": "protocol F0",
                  "BX-5E3": "protocol F0", "BX-5Q0": "protocol F0", "BX-5Q1": "protocol F0",
                  "BX-5Q2": "protocol F0"}
UNIT_8PX, UNIT_PX, UNIT_PX_FLAG = "8px", "px", "px+flag"
UNITS = (UNIT_8PX, UNIT_PX, UNIT_PX_FLAG)


def area_unit(devtype: int) -> str:
    """How a card counts x and width: pixels on a BX-6K (61-68), 8-pixel units otherwise."""
    return UNIT_PX if 0x61 <= devtype <= 0x68 else UNIT_8PX


def configured_unit(card: str, override: str | None) -> str | None:
    """The unit a board's config fixes: `area_unit`, else the named card's; None for `auto`
    (the controller's answers will say)."""
    if override:
        return override
    return area_unit(CARDS[card]) if card in CARDS else None

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


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC = _crc_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0), a byte at a time from a table: 100 windows
    calling at once frame, send and check a few hundred of these (the bitwise loop cost
    40 µs a frame, a third of a burst's CPU)."""
    crc = 0
    for b in data:
        crc = (crc >> 8) ^ _CRC[(crc ^ b) & 0xFF]
    return crc


def escape(data: bytes) -> bytes:
    # the escape bytes themselves first, so that an escape just made is not escaped again
    return (data.replace(b"\xA6", _ESC[0xA6]).replace(b"\xA5", _ESC[0xA5])
            .replace(b"\x5B", _ESC[0x5B]).replace(b"\x5A", _ESC[0x5A]))


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
            reply: bool = True, process_mode: int = 0) -> bytes:
    data = bytes([cmd[0], cmd[1], MUST_REPLY if reply else NO_REPLY, process_mode, 0]) + args
    return encode(Packet(address, HOST_ADDR, DEVTYPE_ANY, data))


def answer(to: Packet, error: int = 0, extra: bytes = b"", *, devtype: int = DEVTYPE_ANY) -> bytes:
    """The controller's answer to `to`: an ACK, or a NACK carrying `error` (the twin's)."""
    group, cmd = NACK if error else ACK
    return encode(Packet(to.src, to.dst, devtype, bytes([group, cmd, error, 0, 0]) + extra))


def check_answer(p: Packet) -> None:
    """An ACK passes; a NACK raises its BoardError; anything else is no answer at all."""
    if len(p.data) < 3:
        raise FrameError("board answer without an error byte")
    if p.command == ACK:
        return
    if p.command != NACK:
        raise FrameError(f"not an answer: group/cmd {p.data[0]:02X} {p.data[1]:02X}")
    status = p.data[2]
    code, meaning = ERRORS.get(status, ("board.error", "an error this table does not know"))
    raise BoardError(f"board error {status:02X}: {meaning}", code, status)


def foreign_family(raw: bytes) -> str | None:
    """The Onbon family a frame (A5s stripped, not yet unescaped) belongs to when it is not
    BX-5K/6K's protocol 02, or None. The 5M1 puts its protocol byte (05) right after the two
    addresses, where protocol 02 has reserved zeros."""
    if len(raw) >= 5 and raw[4] == 0x05:
        return "BX-5M (protocol 05)"
    if (len(raw) >= 5 and raw[4] == 0xF0) or (len(raw) >= 12 and raw[11] == 0xF0):
        return "BX-5E/5Q (protocol F0)"
    return None


SHOW, SCROLL = 0x01, 0x03  # display effects: at once; moving left (a notice longer than the board)
RUN_CYCLE = 0x00  # the vendor's default run mode; 02 deletes an area not updated in `timeout_s`
ALIGN_LEFT, ALIGN_RIGHT, ALIGN_CENTER = 0x00, 0x01, 0x02  # bits 1-0 (the C header's TEXT_ALIGN_*)
ALIGNS = {"left": ALIGN_LEFT, "right": ALIGN_RIGHT, "center": ALIGN_CENTER}
_FIXED = 1 + 2 + 2 + 2 + 2 + 3 + 2 + 9  # an area's bytes before its text length
_PX_FLAG = 0x8000  # x or width counted in pixels on a 5K card (the C source's high bit)


@dataclass(frozen=True)
class Area:
    """One realtime dynamic area: a rectangle of the board (pixels) and the text in it
    (encoded). The defaults are Onbon's own SDK's (bx.k.java BxAreaDynamic), but for the effect
    and the stay time, which kioskd has always sent."""

    text: bytes
    number: int = 0
    x: int = 0
    y: int = 0
    width: int = 64
    height: int = 32
    effect: int = SHOW
    run_mode: int = RUN_CYCLE
    timeout_s: int = 5
    align: int = ALIGN_LEFT
    lines: int = 0x02  # 01 single line, 02 several
    wrap: int = 0x01  # 01 breaks only where the text says, 02 wraps by itself
    speed: int = 0x00
    stay: int = 0x01  # in 0.5 s


def _coord(px: int, unit: str) -> bytes:
    value = px // 8 if unit == UNIT_8PX else px | (_PX_FLAG if unit == UNIT_PX_FLAG else 0)
    return value.to_bytes(2, "little")


def _px(raw: bytes, unit: str) -> int:
    value = int.from_bytes(raw, "little")
    if value & _PX_FLAG:
        return value & ~_PX_FLAG  # pixels whatever the card, by the flag
    return value * 8 if unit == UNIT_8PX else value


def _area_bytes(a: Area, unit: str) -> bytes:
    return (bytes([0x00]) + _coord(a.x, unit) + a.y.to_bytes(2, "little")
            + _coord(a.width, unit) + a.height.to_bytes(2, "little")
            + bytes([a.number, 0x00, a.run_mode]) + a.timeout_s.to_bytes(2, "little")
            + bytes([0x00, 0x00, a.align, a.lines, a.wrap, a.effect, 0x00, a.speed, a.stay])
            + len(a.text).to_bytes(4, "little") + a.text)


def dynamic_areas(areas: list[Area], unit: str = UNIT_8PX) -> bytes:
    """Args of A3 06: delete-count 0, update-count, then each area's length and bytes; x and
    width in the card's `unit` (8px on a BX-5K, px on a BX-6K)."""
    out = bytearray([0x00, len(areas)])
    for a in areas:
        data = _area_bytes(a, unit)
        out += len(data).to_bytes(2, "little") + data
    return bytes(out)


def dynamic_text(text: bytes, *, area: int = 0, width: int = 64, height: int = 32,
                 unit: str = UNIT_8PX) -> bytes:
    """Args of A3 06: one area holding `text` (already encoded): a window board."""
    return dynamic_areas([Area(text, area, 0, 0, width, height)], unit)


def parse_dynamic_areas(args: bytes, unit: str = UNIT_8PX) -> list[Area]:
    """The areas an A3 06 carries (for the twin), bounded by the bytes actually there; x and
    width read in the card's `unit`, returned in pixels."""
    if len(args) < 2:
        raise FrameError("A3 06 too short")
    if args[0]:
        raise FrameError("A3 06 deleting areas is not understood here")
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
        out.append(Area(a[_FIXED + 4:_FIXED + 4 + size], a[9], _px(a[1:3], unit),
                        int.from_bytes(a[3:5], "little"), _px(a[5:7], unit),
                        int.from_bytes(a[7:9], "little"), effect=a[19], run_mode=a[11],
                        timeout_s=int.from_bytes(a[12:14], "little"), align=a[16],
                        lines=a[17], wrap=a[18], speed=a[21], stay=a[22]))
        i += 2 + n
    return out


def parse_dynamic_text(args: bytes, unit: str = UNIT_8PX) -> bytes:
    """The text of the first area in A3 06 args."""
    areas = parse_dynamic_areas(args, unit)
    if not areas:
        raise FrameError("A3 06 updates no area")
    return areas[0].text


def plain_text(text: str) -> str:
    """Text for a citizen's eyes, safe on the card: a backslash starts an inline control code
    on BX cards (\\C2 colour, \\FO font...), so a literal one is shown as the full-width ＼
    (in GB2312), never sent as itself."""
    return text.replace("\\", "＼")


class BxCodec:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._foreign_end = False

    def feed(self, data: bytes) -> list[Packet | FrameError]:
        self._buf += data
        out: list[Packet | FrameError] = []
        while True:
            if self._foreign_end and self._buf:
                self._foreign_end = False
                if self._buf[:1] == END:
                    del self._buf[:1]  # the second end byte of a 5M frame (5A 5A)
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
            family = foreign_family(raw)
            if family is not None:
                self._foreign_end = True
                out.append(UnsupportedProtocol(
                    f"the board speaks {family}: board.bx drives BX-5K/6K cards (protocol 02)"))
                continue
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
