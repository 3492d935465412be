"""Twin of an ESC/POS ticket printer: interprets what it receives (text with its alignment, size
and weight, native QR codes, raster images, cuts) into tickets a test can read and a person can
look at (`render()`, a PNG: `glyphs` draws the text), and answers DLE EOT status queries and Automatic
Status Back from a settable state (paper near end or out, cover open, cutter jammed, offline)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kioskd.config import DeviceConfig
from kioskd.drivers.printer.escpos import status_byte
from kioskd.sim import glyphs
from kioskd.sim.twin import Twin

ESC, GS, DLE, FS, LF = 0x1B, 0x1D, 0x10, 0x1C, 0x0A
# command byte -> number of argument bytes, for the commands a ticket uses
ESC_ARGS = {0x40: 0, 0x61: 1, 0x45: 1, 0x2D: 1, 0x21: 1, 0x4D: 1, 0x74: 1, 0x64: 1, 0x4A: 1,
            0x47: 1, 0x7B: 1, 0x56: 1, 0x20: 1, 0x33: 1, 0x32: 0}
GS_ARGS = {0x21: 1, 0x42: 1, 0x68: 1, 0x77: 1, 0x48: 1, 0x66: 1, 0x61: 1, 0x62: 1, 0x4C: 2,
           0x57: 2}
FS_ARGS = {0x26: 0, 0x2E: 0, 0x21: 1, 0x57: 1, 0x2D: 1, 0x43: 1}


@dataclass
class Line:
    text: str
    align: int = 0  # 0 left, 1 centre, 2 right
    width: int = 1  # character magnification
    height: int = 1
    bold: bool = False


@dataclass
class Raster:
    width: int  # dots
    height: int
    bits: bytes  # 1 = black, rows of width/8 bytes
    align: int = 0


@dataclass
class QrCode:
    data: str
    module: int
    align: int = 1


@dataclass
class PrintedTicket:
    items: list[Line | Raster | QrCode] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, Line)]

    @property
    def big(self) -> list[str]:
        """Lines printed at 2x size or more."""
        return [i.text for i in self.items if isinstance(i, Line) and max(i.width, i.height) > 1]

    @property
    def qr(self) -> list[str]:
        return [i.data for i in self.items if isinstance(i, QrCode)]

    @property
    def images(self) -> list[Raster]:
        return [i for i in self.items if isinstance(i, Raster)]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class EscposInterpreter:
    """Feed bytes; it builds tickets and returns the status queries to answer, in order."""

    def __init__(self, encoding: str = "gb18030"):
        self.encoding = encoding
        self._buf = bytearray()
        self.current = PrintedTicket()
        self.done: list[PrintedTicket] = []
        self.unknown: list[str] = []
        self.asb = 0  # GS a n: which status changes to send by themselves
        self.chinese = True  # FS & mode: on at power-up on Chinese-market printers
        self._line = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.align, self.width, self.height, self.bold = 0, 1, 1, False
        self._qr, self._module = b"", 3

    def feed(self, data: bytes) -> list[int]:
        self._buf += data
        queries: list[int] = []
        i = 0
        buf = self._buf
        while i < len(buf):
            b = buf[i]
            need = self._length(buf, i)
            if need is None:
                break  # the rest of this command is still on the wire
            cmd = bytes(buf[i:i + need])
            i += need
            if b == DLE:
                if len(cmd) == 3:
                    queries.append(cmd[2])
            elif b in (ESC, GS, FS):
                queries += self._command(cmd)
            elif b == LF:
                self._newline()
            elif b >= 0x20 or b == 0x09:
                self._line.append(b)
        del self._buf[:i]
        return queries

    def _length(self, buf: bytearray, i: int) -> int | None:
        b = buf[i]
        if b == DLE:
            if len(buf) < i + 3:
                return None
            return 3 if buf[i + 1] == 0x04 else 1
        if b not in (ESC, GS, FS):
            return 1
        if len(buf) < i + 2:
            return None
        c = buf[i + 1]
        if b == GS and c == 0x28:  # GS ( k pL pH ...
            if len(buf) < i + 5:
                return None
            n = 5 + buf[i + 3] + 256 * buf[i + 4]
            return n if len(buf) >= i + n else None
        if b == GS and c == 0x76:  # GS v 0 m xL xH yL yH d...: a raster image
            if len(buf) < i + 8:
                return None
            n = 8 + (buf[i + 4] + 256 * buf[i + 5]) * (buf[i + 6] + 256 * buf[i + 7])
            return n if len(buf) >= i + n else None
        if b == GS and c == 0x56:  # GS V m [n]
            if len(buf) < i + 3:
                return None
            return 4 if buf[i + 2] in (0x41, 0x42) else 3
        table = {ESC: ESC_ARGS, GS: GS_ARGS, FS: FS_ARGS}[b]
        if c not in table:
            self.unknown.append(f"{b:02X} {c:02X}")
            return 2
        n = 2 + table[c]
        return n if len(buf) >= i + n else None

    def _command(self, cmd: bytes) -> list[int]:
        b, c = cmd[0], cmd[1]
        if b == ESC and c == 0x40:
            self._newline()
            self._reset()
        elif (b, c) == (ESC, 0x61):
            self.align = cmd[2] % 48 if cmd[2] >= 48 else cmd[2]
        elif (b, c) == (ESC, 0x45):
            self.bold = bool(cmd[2] & 1)
        elif (b, c) == (GS, 0x21):
            self.width, self.height = (cmd[2] >> 4) + 1, (cmd[2] & 0x0F) + 1
        elif (b, c) == (ESC, 0x21):
            self.width, self.height = 1 + bool(cmd[2] & 0x20), 1 + bool(cmd[2] & 0x10)
            self.bold = bool(cmd[2] & 0x08)
        elif (b, c) == (ESC, 0x64):
            self._newline()
            if cmd[2] >= 4:  # the tear-off feed: how a ticket ends on a printer without cutter
                self._end_ticket()
        elif (b, c) == (GS, 0x61):
            self.asb = cmd[2]
        elif (b, c) == (FS, 0x26):
            self.chinese = True
        elif (b, c) == (FS, 0x2E):
            self.chinese = False
        elif (b, c) == (GS, 0x28) and len(cmd) >= 8:
            fn = cmd[6]
            if fn == 67:
                self._module = cmd[7]
            elif fn == 80:  # store
                self._qr = cmd[8:]
            elif fn == 81:  # print
                self.current.items.append(QrCode(self._qr.decode("utf-8", "replace"),
                                                 self._module, self.align))
        elif (b, c) == (GS, 0x76):
            width, height = (cmd[4] + 256 * cmd[5]) * 8, cmd[6] + 256 * cmd[7]
            self.current.items.append(Raster(width, height, cmd[8:], self.align))
            # a printer executes DLE EOT wherever it appears, even inside image data
            return [cmd[j + 2] for j in range(8, len(cmd) - 2)
                    if cmd[j:j + 2] == b"\x10\x04" and cmd[j + 2] in (1, 2, 3, 4)]
        elif (b, c) == (GS, 0x56):
            self._end_ticket()
        return []

    def _end_ticket(self) -> None:
        self._newline()
        if self.current.items:
            self.done.append(self.current)
            self.current = PrintedTicket()

    def _newline(self) -> None:
        if not self._line:
            return
        raw = bytes(self._line)
        self._line.clear()
        text = raw.decode(self.encoding if self.chinese else "latin-1", errors="replace")
        self.current.items.append(Line(text, self.align, self.width, self.height, self.bold))


# --- a picture of a ticket ----------------------------------------------------------------------
def render(ticket: PrintedTicket, width: int = 576):
    """The ticket as paper: a PIL image `width` dots wide (576 = 80 mm, 384 = 58 mm)."""
    import qrcode
    from PIL import Image, ImageDraw

    parts: list[Any] = []
    for item in ticket.items:
        if isinstance(item, Line):
            img = Image.new("L", (max(1, glyphs.text_width(item.text, 24)) + 2, 30), 255)
            glyphs.draw_text(ImageDraw.Draw(img), (0, 0), item.text, 24, 0, bold=item.bold)
            img = img.resize((img.width * item.width, img.height * item.height))
            parts.append((img, item.align))
        elif isinstance(item, QrCode):
            code = qrcode.QRCode(box_size=item.module, border=1)
            code.add_data(item.data.encode("utf-8"))
            parts.append((code.make_image().get_image().convert("L"), item.align))
        else:
            img = Image.frombytes("1", (item.width, item.height), bytes(
                b ^ 0xFF for b in item.bits)).convert("L")  # ESC/POS: 1 = black
            parts.append((img, item.align))
    height = sum(p.height + 6 for p, _ in parts) + 40
    paper = Image.new("L", (width, height), 255)
    y = 20
    for img, align in parts:
        x = {0: 0, 1: (width - img.width) // 2, 2: width - img.width}.get(align, 0)
        paper.paste(img, (max(0, x), y))
        y += img.height + 6
    return paper


def paper_width(profile: str) -> int:
    from kioskd.drivers.printer.escpos import _escpos_dummy

    px = _escpos_dummy(profile).profile.profile_data.get("media", {}).get("width", {}).get("pixels")
    return px if isinstance(px, int) else 576


# --- the twin -----------------------------------------------------------------------------------
class PrinterTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = EscposInterpreter(dev.opt("encoding"))
        self.paper = "ok"  # ok, near_end, out
        self.cover_open = False
        self.cutter_error = False
        self.offline = False
        self.garbage_replies = False  # fault: status answers of the wrong shape

    @property
    def tickets(self) -> list[PrintedTicket]:
        return self.codec.done

    def change(self, **state: Any) -> None:
        """Set paper/cover_open/cutter_error/offline; with ASB on, tell the host at once."""
        for key, value in state.items():
            assert hasattr(self, key), key
            setattr(self, key, value)
        if self.codec.asb:
            self.send(self.asb_frame())

    def asb_frame(self) -> bytes:
        b1 = 0x10 | (0x08 if self._is_offline else 0) | (0x20 if self.cover_open else 0)
        b2 = 0x08 if self.cutter_error else 0
        b3 = {"ok": 0, "near_end": 0x03, "out": 0x0F}[self.paper]
        return bytes([b1, b2, b3, 0])

    @property
    def _is_offline(self) -> bool:
        return self.offline or self.cover_open or self.paper == "out" or self.cutter_error

    def _on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        if self.silent:
            return
        before = len(self.codec.done)
        for n in self.codec.feed(data):
            self.send(bytes([0xFF if self.garbage_replies else self._status(n)]))
        if self._is_offline:
            del self.codec.done[before:]  # nothing comes out of a printer that is stopped
        self.watch.changed()

    async def plug(self) -> None:
        done = self.codec.done
        await super().plug()
        self.codec.done = done

    def _status(self, n: int) -> int:
        if n == 1:
            return status_byte(*([3] if self._is_offline else []))
        if n == 2:
            return status_byte(*([2] if self.cover_open else []),
                               *([5] if self.paper == "out" else []),
                               *([6] if self.cutter_error else []))
        if n == 3:
            return status_byte(*([3] if self.cutter_error else []))
        if n == 4:
            return status_byte(*{"ok": [], "near_end": [2, 3], "out": [2, 3, 5, 6]}[self.paper])
        return status_byte()

    def save_png(self, path: Path, ticket: PrintedTicket | None = None) -> Path:
        img = render(ticket or self.tickets[-1], paper_width(self.dev.opt("profile")))
        img.save(path)
        return path


def sample(path: Path) -> Path:
    """The demo hall's first ticket, rendered: docs/ticket.png."""
    from kioskd.drivers.printer import escpos

    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30",
                          "demo-hall/2026-11-24/A001", wait_min=12)
    interp = EscposInterpreter()
    interp.feed(escpos.build_ticket(t))
    render(interp.done[0]).save(path)
    return path


if __name__ == "__main__":
    import sys

    print(sample(Path(sys.argv[1] if len(sys.argv) > 1 else "ticket.png")))
