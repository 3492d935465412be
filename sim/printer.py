"""Twin of an ESC/POS ticket printer: interprets what it receives into text a test can read,
and answers DLE EOT status queries from a settable state (paper out, cover open...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.printer.escpos import status_byte
from kioskd.sim.twin import Twin

ESC, GS, DLE, FS, LF = 0x1B, 0x1D, 0x10, 0x1C, 0x0A
# command byte -> number of argument bytes, for the commands a ticket uses
ESC_ARGS = {0x40: 0, 0x61: 1, 0x45: 1, 0x2D: 1, 0x21: 1, 0x4D: 1, 0x74: 1, 0x64: 1, 0x4A: 1,
            0x47: 1, 0x7B: 1, 0x56: 1, 0x20: 1, 0x33: 1, 0x32: 0}
GS_ARGS = {0x21: 1, 0x42: 1, 0x68: 1, 0x77: 1, 0x48: 1, 0x66: 1, 0x61: 1, 0x62: 1, 0x4C: 2,
           0x57: 2}
FS_ARGS = {0x26: 0, 0x2E: 0, 0x21: 1, 0x57: 1, 0x2D: 1, 0x43: 1}


@dataclass
class PrintedTicket:
    lines: list[str] = field(default_factory=list)
    big: list[str] = field(default_factory=list)  # lines printed at 2x size or more
    qr: list[str] = field(default_factory=list)

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
        self._line = bytearray()
        self._size = 0
        self._qr = b""

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
                queries.append(cmd[2])
            elif b in (ESC, GS, FS):
                self._command(cmd)
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
        if b == GS and c == 0x56:  # GS V m [n]
            if len(buf) < i + 3:
                return None
            return 4 if buf[i + 2] in (0x41, 0x42, 65, 66) else 3
        table = {ESC: ESC_ARGS, GS: GS_ARGS, FS: FS_ARGS}[b]
        if c not in table:
            self.unknown.append(f"{b:02X} {c:02X}")
            return 2
        n = 2 + table[c]
        return n if len(buf) >= i + n else None

    def _command(self, cmd: bytes) -> None:
        b, c = cmd[0], cmd[1]
        if b == ESC and c == 0x40:
            self._size = 0
        elif (b, c) == (GS, 0x21):
            self._size = cmd[2]
        elif (b, c) == (ESC, 0x21):
            self._size = 0x11 if cmd[2] & 0x30 else 0
        elif (b, c) == (ESC, 0x64):
            self._newline()
        elif (b, c) == (GS, 0x28) and cmd[4:5] and len(cmd) >= 8:
            fn = cmd[6]
            if fn == 80:  # store
                self._qr = cmd[8:]
            elif fn == 81:  # print
                self.current.qr.append(self._qr.decode("utf-8", "replace"))
        elif (b, c) == (GS, 0x56):
            self._newline()
            self.done.append(self.current)
            self.current = PrintedTicket()

    def _newline(self) -> None:
        if not self._line:
            return
        text = self._line.decode(self.encoding, errors="replace")
        self._line.clear()
        self.current.lines.append(text)
        if self._size & 0x77:
            self.current.big.append(text)


class PrinterTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = EscposInterpreter(dev.options.get("encoding", "gb18030"))
        self.paper = "ok"  # ok, near_end, out
        self.cover_open = False
        self.cutter_error = False

    @property
    def tickets(self) -> list[PrintedTicket]:
        return self.codec.done

    def _on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        if self.silent:
            return
        before = len(self.codec.done)
        for n in self.codec.feed(data):
            self.send(bytes([self._status(n)]))
        if self.paper == "out" or self.cover_open:
            del self.codec.done[before:]  # nothing comes out of a printer without paper
        self.watch.changed()

    async def plug(self) -> None:
        done = self.codec.done
        await super().plug()
        self.codec.done = done

    def _status(self, n: int) -> int:
        if n == 1:
            return status_byte(*([3] if self.cover_open or self.paper == "out" else []))
        if n == 2:
            return status_byte(*([2] if self.cover_open else []), *([5] if self.paper == "out" else []))
        if n == 3:
            return status_byte(*([3] if self.cutter_error else []))
        if n == 4:
            bits = {"ok": [], "near_end": [2, 3], "out": [2, 3, 5, 6]}[self.paper]
            return status_byte(*bits)
        return status_byte()
