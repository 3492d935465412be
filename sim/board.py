"""Twin of an Onbon BX window board: decodes dynamic-area text and answers like a controller."""

from __future__ import annotations

from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.board import bx
from kioskd.sim.twin import Twin


class BxBoardTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = bx.BxCodec()
        self.address = dev.options.get("address", 1)
        self.encoding = dev.options.get("encoding", "gb2312")
        self.text = ""
        self.history: list[str] = []

    def on_frame(self, p: bx.Packet) -> None:
        if p.dst not in (self.address, 0xFFFF, 0xFFFE) or len(p.data) < 5:
            return
        args = p.data[5:]
        if p.command == bx.DYNAMIC_TEXT:
            try:
                self.text = bx.parse_dynamic_text(args).decode(self.encoding, "replace")
            except Exception:
                self.send(bx.answer(p, 0x02))
                return
            self.history.append(self.text)
        elif p.command == bx.CLEAR:
            self.text = ""
        elif p.command not in (bx.PING, bx.STATUS):
            self.send(bx.answer(p, 0x02))
            return
        if p.data[2]:  # response flag
            self.send(bx.answer(p, 0x00))
