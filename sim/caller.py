"""Twin of a clerk's keypad (protocols.md §9): presses keys, by test or by script, and keeps
the acknowledgements (echoes) it heard."""

from __future__ import annotations

from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.caller import proto
from kioskd.sim.twin import Twin


class KeypadTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = proto.KeypadCodec()
        self.address = dev.options.get("address", 1)
        self.acked: list[bytes] = []

    def press(self, *keys: int) -> bytes:
        """One frame: the keys typed, the last one the command (e.g. 0x06, 0x0F = skip)."""
        frame = proto.encode(self.address, bytes(keys))
        self.send(frame)
        return frame

    def on_frame(self, frame: proto.KeyFrame) -> None:
        self.acked.append(frame.raw)
