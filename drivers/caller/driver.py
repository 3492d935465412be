"""caller.serial: a clerk's keypad. Keys become window actions, routed by the app through the
queue engine exactly as the clerk's API calls are; no key gives a rating."""

from __future__ import annotations

import asyncio

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.caller import proto


class KeypadDriver(Driver):
    type = "caller.serial"

    @property
    def address(self) -> int:
        return self.cfg.options.get("address", 1)

    def make_codec(self) -> proto.KeypadCodec:
        return proto.KeypadCodec()

    async def identify(self) -> str:
        return f"keypad at address {self.address}"  # a keypad speaks only when pressed

    def on_frame(self, frame: proto.KeyFrame) -> None:
        if frame.addr != self.address:
            return  # another window's keypad on the same bus
        self._spawn_ack(frame.raw)
        self.emit(DeviceInput(self.id, "keys", frame.keys))

    def _spawn_ack(self, raw: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self.send(raw))
        task.add_done_callback(lambda t: t.exception())  # a lost echo: the keypad sends again
