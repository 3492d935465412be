"""Twins of the boards: an Onbon BX controller (checks the CRC and escaping, keeps the text of
every dynamic area it would show) and a networked board.mqtt (docs/board-mqtt.md).

`text` is what the board shows, its rows top to bottom joined by newlines; `history` every
text it showed. Faults: `fail_with = [0x03, ...]` answers the next requests with those BX error
codes (busy, CRC, no font...); `silent`, `unplug`, garbage as every twin.
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


class BxBoardTwin(BoardFace, Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self._face_init()
        self.codec = bx.BxCodec()
        self.address = dev.options.get("address", 1)
        self.encoding = dev.options.get("encoding", "gb2312")
        self.fail_with: list[int] = []
        self.refused: list[int] = []  # the error codes it answered with

    def on_frame(self, p: bx.Packet) -> None:
        if p.dst not in (self.address, 0xFFFF, 0xFFFE) or len(p.data) < 5:
            return
        if self.fail_with:
            code = self.fail_with.pop(0)
            self.refused.append(code)
            self.send(bx.answer(p, code))
            return
        args = p.data[5:]
        if p.command == bx.DYNAMIC_TEXT:
            try:
                areas = bx.parse_dynamic_areas(args)
                rows = {a.number: a.text.decode(self.encoding) for a in areas}
            except (FrameError, UnicodeDecodeError):
                # bytes it has no font for: the controller's "font library missing"
                self.send(bx.answer(p, 0x0C))
                return
            self.scrolling = ({a.number for a in areas if a.effect == bx.SCROLL}
                              | (self.scrolling - set(rows)))
            self._shown(rows, replace=False)
        elif p.command == bx.CLEAR:
            self._shown({}, replace=True)
        elif p.command not in (bx.PING, bx.STATUS):
            self.send(bx.answer(p, 0x02))
            return
        if p.data[2]:  # response flag
            self.send(bx.answer(p, 0x00))


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
