"""caller.serial: clerks' keypads on one bus. Keys become window actions, routed by the app
through the queue engine exactly as the clerk's API calls are; no key gives a rating.

One device is one serial line: a single keypad (`window`, `address`), or several windows'
keypads sharing an RS-485 bus (`keypads = [{address = 1, window = 1}, …]`); config gives
both as `keypads`, address -> window.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.caller import proto

log = logging.getLogger("kioskd.drivers")


@dataclass(frozen=True)
class KeyPress:
    window: int
    address: int
    keys: bytes
    rating: bool = False  # FUNC 11: the keypad's own rating keys, which no one may use to rate


class KeypadDriver(Driver):

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._acks: set[asyncio.Task] = set()
        self._strangers: set[int] = set()
        self._odd_funcs: set[int] = set()

    @property
    def windows(self) -> dict[int, int]:
        return self.cfg.options["keypads"]

    def make_codec(self) -> proto.KeypadCodec:
        return proto.KeypadCodec()

    async def identify(self) -> str:
        # a keypad speaks only when pressed: there is nothing to ask it
        pads = ", ".join(f"{a}→window {w}" for a, w in sorted(self.windows.items()))
        return f"keypad bus: {pads}"

    def describe_frame(self, frame: proto.KeyFrame) -> str:
        if frame.func == proto.FUNC_RATING:
            return f"keypad {frame.addr}: rating keys {frame.keys.hex(' ')} (refused)"
        command = proto.command_of(frame.keys)
        what = command.action if command else "no command"
        return f"keypad {frame.addr}: keys {frame.keys.hex(' ')} ({what})"

    def on_frame(self, frame: proto.KeyFrame) -> None:
        window = self.windows.get(frame.addr)
        if window is None:
            # not ours: no echo, so the keypad keeps trying and shows it is not heard
            if frame.addr not in self._strangers:
                self._strangers.add(frame.addr)
                log.warning("%s: a keypad at address %d is on the bus but in no keypads entry",
                            self.id, frame.addr)
            return
        if frame.func == proto.FUNC_RATING:
            # heard (echoed as the deployed host does, or the keypad retries forever), then
            # refused by the app: a rating typed on a clerk's keypad is never a rating
            self._spawn_ack(proto.rating_echo(frame))
            self.emit(DeviceInput(self.id, "keys",
                                  KeyPress(window, frame.addr, frame.keys, rating=True)))
            return
        if frame.func != proto.FUNC_KEY and frame.func not in self._odd_funcs:
            # the deployed host reads keys from every FUNC but 11, so kioskd does too (a
            # keypad's FUNC is not shown by any source); said once, for the technician
            self._odd_funcs.add(frame.func)
            log.info("%s: keypad %d sends FUNC %02X; its keys are read as FUNC 01's", self.id,
                     frame.addr, frame.func)
        self._spawn_ack(frame.raw)
        self.emit(DeviceInput(self.id, "keys", KeyPress(window, frame.addr, frame.keys)))

    def _spawn_ack(self, raw: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self.send(raw))
        self._acks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._acked)

    def _acked(self, task: asyncio.Task) -> None:
        self._acks.discard(task)
        if not task.cancelled():
            task.exception()  # a lost echo is no error here: the keypad sends its frame again
