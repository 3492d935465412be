"""caller.serial: a clerk's keypad. Keys become window actions, routed by the app through the
queue engine exactly as the clerk's API calls are; no key gives a rating."""

from __future__ import annotations

import asyncio

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.caller import proto


class KeypadDriver(Driver):
    type = "caller.serial"

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._acks: set[asyncio.Task] = set()

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
        self._acks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._acked)

    def _acked(self, task: asyncio.Task) -> None:
        self._acks.discard(task)
        if not task.cancelled():
            task.exception()  # a lost echo is no error here: the keypad sends its frame again
