"""Twin of a serial rating pad (docs/pad-serial.md): shows prompts, lets a test press a level."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.pad import proto
from kioskd.sim.twin import Twin


@dataclass(frozen=True)
class Prompt:
    txn: int
    window: int
    ticket: str
    clerk: str


class SerialPadTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = proto.PadCodec()
        self.address = dev.options.get("address", 1)
        self.prompt: Prompt | None = None  # what the screen shows now
        self.results: dict[int, bool] = {}  # txn -> accepted, the latest answer
        self.answers: list[tuple[int, bool]] = []  # every RESULT, in order

    def on_frame(self, f: proto.PadFrame) -> None:
        if f.addr != self.address:
            return
        if f.func == proto.PROMPT:
            self.prompt = Prompt(*proto.parse_prompt(f.data))
        elif f.func == proto.IDLE:
            self.prompt = None
        elif f.func == proto.RESULT:
            self.results[f.txn] = f.data[2:3] == b"\x00"
            self.answers.append((f.txn, self.results[f.txn]))
            return  # a result needs no answer
        elif f.func != proto.PING:
            return
        self.send(proto.encode(self.address, f.func | proto.REPLY, f.data[:2] + b"\x00"))

    def press(self, level: int, reasons: bytes = b"", txn: int | None = None) -> int:
        """The citizen presses a level on the prompt shown (or a forged txn, for tests)."""
        if txn is None:
            if self.prompt is None:
                raise RuntimeError("the pad shows no prompt")
            txn = self.prompt.txn
        self.send(proto.rating(self.address, txn, level, reasons))
        self.prompt = None
        return txn
