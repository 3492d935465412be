"""pad.serial: prompts the citizen for a rating and reports what they press."""

from __future__ import annotations

import itertools
from typing import Any

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.pad import proto
from kioskd.errors import DeviceFault, DeviceNotReady


class SerialPadDriver(Driver):
    type = "pad.serial"
    default_timeout = 1.0

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._txn = itertools.count(1)
        self.prompted: dict[int, str] = {}  # txn -> ticket the pad was asked to rate

    @property
    def address(self) -> int:
        return self.cfg.options.get("address", 1)

    def make_codec(self) -> proto.PadCodec:
        return proto.PadCodec()

    def is_reply(self, frame: proto.PadFrame) -> bool:
        return bool(frame.func & proto.REPLY)

    async def _ask(self, frame: bytes) -> proto.PadFrame:
        reply = await self.transact(frame)
        if len(reply.data) < 3 or reply.data[2]:
            raise DeviceFault(f"{self.id}: pad refused the request", "pad.refused")
        return reply

    async def identify(self) -> str:
        await self._ask(proto.encode(self.address, proto.PING, next(self._txn).to_bytes(2, "big")))
        return f"pad at address {self.address}"

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "prompt":
            txn = next(self._txn) & 0xFFFF
            self.prompted = {txn: args["ticket"]}  # only the latest prompt may be answered
            await self._ask(proto.prompt(self.address, txn, args["window"], args["ticket"],
                                         args.get("clerk", "")))
            return {"txn": txn}
        if command == "idle":
            self.prompted = {}
            await self._ask(proto.encode(self.address, proto.IDLE,
                                         (next(self._txn) & 0xFFFF).to_bytes(2, "big")))
            return {}
        return await super().handle(command, **args)

    def on_frame(self, frame: proto.PadFrame) -> None:
        if frame.func != proto.RATING or len(frame.data) < 3:
            return super().on_frame(frame)
        ticket = self.prompted.pop(frame.txn, None)
        self.emit(DeviceInput(self.id, "rating", {
            "ticket": ticket, "txn": frame.txn, "level": frame.data[2],
            "reasons": tuple(f"R{b:02d}" for b in frame.data[3:])}))

    async def result(self, txn: int, accepted: bool) -> None:
        await self.send(proto.encode(self.address, proto.RESULT,
                                     txn.to_bytes(2, "big") + bytes([0 if accepted else 1])))
