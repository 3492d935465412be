"""Barcode-gun codecs, pure: CR/LF lines from a serial gun, and key events from a USB keyboard
gun (evdev), with the AIM symbology prefix (`]Q1` = QR ...) when the gun is set to send it."""

from __future__ import annotations

from dataclasses import dataclass, field

from kioskd.errors import FrameError, FrameTooLong

MAX_CODE = 1024  # a QR holds more, but nothing a hall scans does; longer is line noise

# AIM symbology identifiers (ISO/IEC 15424): the letter after `]`
AIM = {"A": "code39", "C": "code128", "E": "ean-upc", "F": "codabar", "I": "itf", "L": "pdf417",
       "Q": "qr", "d": "datamatrix", "z": "aztec", "X": "other"}


@dataclass(frozen=True)
class Scan:
    code: str = field(repr=False)  # may be an ID number: never in a repr or a log
    symbology: str | None = None


def split_aim(code: str, aim: bool) -> Scan:
    if aim and len(code) >= 3 and code[0] == "]" and code[1] in AIM:
        return Scan(code[3:], AIM[code[1]])
    return Scan(code)


class LineCodec:
    """scanner.serial: one code per line, CR, LF or CR LF, in the gun's configured encoding
    (utf-8 or gb18030: a guess cannot tell them apart, 预约 in GB18030 is valid UTF-8)."""

    def __init__(self, aim: bool = False, encoding: str = "utf-8") -> None:
        self.aim, self.encoding = aim, encoding
        self._buf = bytearray()
        self._skipping = False  # inside a line that was too long: drop until its end

    def feed(self, data: bytes) -> list[Scan | FrameError]:
        self._buf += data
        out: list[Scan | FrameError] = []
        while True:
            ends = [i for i in (self._buf.find(b"\r"), self._buf.find(b"\n")) if i >= 0]
            if not ends:
                if len(self._buf) > MAX_CODE:
                    out.append(FrameTooLong(f"a code longer than {MAX_CODE} bytes dropped"))
                    self._buf.clear()
                    self._skipping = True
                return out
            end = min(ends)
            line = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if line:
                out.append(split_aim(line.decode(self.encoding, errors="replace"), self.aim))


# --- USB keyboard guns --------------------------------------------------------------------------
# evdev key codes (linux/input-event-codes.h) -> (plain, shifted) characters, US layout
_ROWS = [(2, "1234567890-=", "!@#$%^&*()_+"), (16, "qwertyuiop[]", "QWERTYUIOP{}"),
         (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'), (43, "\\zxcvbnm,./", "|ZXCVBNM<>?")]
KEYMAP: dict[int, tuple[str, str]] = {}
for first, plain, shifted in _ROWS:
    for i, (p, s) in enumerate(zip(plain, shifted)):
        KEYMAP[first + i] = (p, s)
KEYMAP[57] = (" ", " ")
KEYMAP.update({71: ("7", "7"), 72: ("8", "8"), 73: ("9", "9"), 74: ("-", "-"), 75: ("4", "4"),
               76: ("5", "5"), 77: ("6", "6"), 78: ("+", "+"), 79: ("1", "1"), 80: ("2", "2"),
               81: ("3", "3"), 82: ("0", "0"), 83: (".", "."), 55: ("*", "*"), 98: ("/", "/")})
SHIFTS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
ENTERS = {28, 96}  # KEY_ENTER, KEY_KPENTER
KEY_DOWN, KEY_UP = 1, 0


class KeyDecoder:
    """Key events in, codes out. A code ends at Enter; a pause longer than `gap` between keys
    starts a new code (a person typing, or a gun without a terminator); more than `max_len`
    characters is noise and is dropped whole."""

    def __init__(self, gap: float = 0.2, max_len: int = MAX_CODE, aim: bool = False) -> None:
        self.gap, self.max_len, self.aim = gap, max_len, aim
        self._chars: list[str] = []
        self._shift = 0
        self._last = 0.0
        self._too_long = False

    def feed(self, code: int, value: int, t: float) -> list[Scan | FrameError]:
        out: list[Scan | FrameError] = []
        if code in SHIFTS:
            self._shift = max(0, self._shift + (1 if value == KEY_DOWN else -1 if value == KEY_UP
                                                else 0))
            return out
        if value != KEY_DOWN:  # key up and autorepeat carry nothing for a gun
            return out
        if self._chars and t - self._last > self.gap:
            out.append(FrameError(f"{len(self._chars)} keys without Enter dropped (pause)"))
            self._chars, self._too_long = [], False
        self._last = t
        if code in ENTERS:
            if self._too_long:
                out.append(FrameTooLong(f"a code longer than {self.max_len} characters dropped"))
            elif self._chars:
                out.append(split_aim("".join(self._chars), self.aim))
            self._chars, self._too_long = [], False
            return out
        chars = KEYMAP.get(code)
        if chars is None:
            return out  # a key no gun sends (F1, arrows): ignored
        if len(self._chars) >= self.max_len:
            self._too_long = True
        else:
            self._chars.append(chars[1 if self._shift else 0])
        return out


def key_events(text: str, enter: bool = True) -> list[tuple[int, int]]:
    """The (code, value) events a US-layout gun sends for `text` (the twin and tests use it)."""
    reverse = {}
    for code, (plain, shifted) in KEYMAP.items():
        if code < 71 or code in (55, 98):  # main block, as a gun types it
            reverse.setdefault(plain, (code, False))
            reverse.setdefault(shifted, (code, True))
    events = []
    for ch in text:
        code, shift = reverse[ch]
        if shift:
            events.append((42, KEY_DOWN))
        events += [(code, KEY_DOWN), (code, KEY_UP)]
        if shift:
            events.append((42, KEY_UP))
    if enter:
        events += [(28, KEY_DOWN), (28, KEY_UP)]
    return events
