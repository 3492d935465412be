"""Twins of the boards: an Onbon BX-5K/6K controller (checks the CRC and escaping, reads x and
width in its card's unit, keeps the text and the pixel rectangle of every dynamic area it would
show) and a networked board.mqtt (docs/board-mqtt.md).

`text` is what the board shows, its rows top to bottom joined by newlines; `history` every
text it showed; `areas` the last rectangle of each area, in pixels. The BX twin answers as
Onbon's SDK reads answers (ACK A0 00, NACK A0 01 + error), with its card's device type
(`sim = {card = "BX-6K1"}`; default the device's `card`, else BX-5K1). Faults: `fail_with =
[0x03, ...]` answers the next requests with those BX error codes (busy, CRC, no font...);
`sim = {family = "BX-5M1"}` answers in that family's framing instead; `silent`, `unplug`,
garbage as every twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kioskd.config import DeviceConfig
from kioskd.drivers.board import bx
from kioskd.drivers.pad import message
from kioskd.errors import FrameError
from kioskd.sim.twin import MqttTwin, Twin


class BoardFace:
    """What both twins share: the rows on the face of the board."""

    def _face_init(self) -> None:
        self.rows: dict[int, str] = {}  # area (row) -> its text
        self.scrolling: set[int] = set()
        self.history: list[str] = []
        self.hall: dict[str, Any] | None = None  # board.mqtt: the last hall view as sent

    @property
    def text(self) -> str:
        lines = [self.rows[k] for k in sorted(self.rows)]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n") if self.text else []

    def _shown(self, rows: dict[int, str], replace: bool) -> None:
        if replace:
            self.rows = {}
        self.rows.update(rows)
        self.history.append(self.text)


# a BX-5M1's frame (atmega1337/bx-5m1 bx5.py, its status request as captured): what a board of
# that family puts on the line, which board.bx must name, not count as CRC errors
BX5M1_STATUS = bytes.fromhex(
    "a5a5a5a5a5a5a5a5 0100 0080 05 00 5200 01 00 326c 0090 96 5d 000000000000 0500 2e7b 82"
    " 01a20f0000 5a5a".replace(" ", ""))


class BxBoardTwin(BoardFace, Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self._face_init()
        self.codec = bx.BxCodec()
        self.address = dev.opt("address")
        self.encoding = dev.opt("encoding")
        configured = dev.opt("card")
        self.card = dev.sim.get("card") or (configured if configured != "auto" else "BX-5K1")
        self.devtype = bx.CARDS[self.card]
        self.family = dev.sim.get("family")  # another Onbon family's framing (a wrong board)
        self.areas: dict[int, bx.Area] = {}
        self.fail_with: list[int] = []
        self.refused: list[int] = []  # the error codes it answered with

    def _answer(self, p: bx.Packet, error: int = 0) -> None:
        self.send(bx.answer(p, error, devtype=self.devtype))

    def on_frame(self, p: bx.Packet) -> None:
        if p.dst not in (self.address, 0xFFFF, 0xFFFE) or len(p.data) < 5:
            return
        if self.family:
            # a BX-5M1 (atmega1337/bx-5m1's captured frame): protocol 05, XOR header, 5A 5A
            self.send(BX5M1_STATUS)
            return
        if self.fail_with:
            code = self.fail_with.pop(0)
            self.refused.append(code)
            self._answer(p, code)
            return
        args = p.data[5:]
        if p.command == bx.DYNAMIC_TEXT:
            try:
                areas = bx.parse_dynamic_areas(args, bx.area_unit(self.devtype))
                rows = {a.number: a.text.decode(self.encoding) for a in areas}
            except (FrameError, UnicodeDecodeError):
                # bytes it has no font for: the controller's "font library missing"
                self._answer(p, 0x0C)
                return
            self.scrolling = ({a.number for a in areas if a.effect == bx.SCROLL}
                              | (self.scrolling - set(rows)))
            self.areas.update({a.number: a for a in areas})
            self._shown(rows, replace=False)
        elif p.command == bx.CLEAR:
            self._shown({}, replace=True)
        elif p.command not in (bx.PING, bx.STATUS):
            self._answer(p, 0x02)
            return
        if p.data[2] == bx.MUST_REPLY:  # 02: the host asked for no answer
            self._answer(p)


class MqttBoardTwin(BoardFace, MqttTwin):
    """An ESP32 board: shows `lines` (a hall view's too), answers every request."""

    def __init__(self, dev: DeviceConfig, link: Path):
        MqttTwin.__init__(self, dev, link)
        self._face_init()
        self.codec = message.MessageCodec(("request",))

    def on_frame(self, m: message.PadMessage) -> None:
        op = m.data.get("op")
        lines = m.data.get("lines")
        if op in ("show", "hall") and isinstance(lines, list):
            self.hall = m.data if op == "hall" else None
            self._shown(dict(enumerate(str(x) for x in lines)), replace=True)
        elif op != "ping":
            self._publish("response", {"transaction": m.txn, "status": "error",
                                       "error": f"unknown op {op!r}"})
            return
        self._publish("response", {"transaction": m.txn, "status": "ok"})
