"""Twins of Modbus relay boards (protocols.md §12) on pymodbus's own server: a zone's door
(`GateTwin`) and a locker bank (`LockerTwin`). Modbus TCP listens on 127.0.0.1; Modbus RTU sits
behind a pty the driver opens like an RS-485 adapter (pymodbus's serial server opens a second
pty, and the twin carries bytes between the two, so the driver's port stays put over a replug).

What the script does: a door opens when its relay pulses (and closes by itself after
`close_ms`, or when the script closes it), a person walks through the beam, a door is forced
or jams, the controller drops off the bus (`unplug`) or answers with Modbus exceptions
(`failing`). A pass beam latches until it is read, as the boards with latched inputs do: a
person who crosses between two polls is still counted.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.sim.broker import free_port
from kioskd.sim.wire import PtyPort
from kioskd.watch import Watch

CLOSE_MS = 1500  # a door pulsed open closes by itself after this long (sim = {close_ms = 0}:
# it stays open until the script closes it)


class RelayBoardTwin:
    def __init__(self, dev: DeviceConfig, link: Path):
        self.dev = dev
        self.link = Path(link)
        self.unit = dev.opt("unit")
        self.watch = Watch()
        self.coils: dict[int, bool] = {}
        self.inputs: dict[int, bool] = {}
        self.latched: set[int] = set()  # inputs that stay on until read once
        self.pulses: list[int] = []  # coils switched on, in order
        self.failing: int = 0  # answer every request with this Modbus exception code (0: no)
        self.silent = False  # RTU: the board hears nothing and answers nothing (a cut A/B pair)
        self.close_ms = int(dev.sim.get("close_ms", CLOSE_MS))
        self.tcp_port = int(dev.sim.get("port", 0))
        self._server = None
        self._ptys: tuple[PtyPort, PtyPort] | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}

    @property
    def url(self) -> str:
        if self.dev.url.scheme == "tcp":
            return f"tcp://127.0.0.1:{self.tcp_port}"
        return f"serial://{self.link}?baud={self.dev.url.baud}"

    # --- the board ------------------------------------------------------------------------------
    def _device(self):
        from pymodbus.simulator import DataType, SimData, SimDevice

        top = max([*self.inputs, *self.coils, 0]) // 16 + 1
        bits = [SimData(0, count=top, datatype=DataType.BITS)]
        regs = [SimData(0, count=1, datatype=DataType.REGISTERS)]
        return SimDevice(self.unit, simdata=(bits, list(bits), regs, list(regs)),
                         action=self._action)

    async def _action(self, fc: int, start: int, address: int, count: int,
                      registers: list[int], values):
        from pymodbus.constants import ExcCodes
        from pymodbus.simulator.simutils import SimUtils

        if self.failing:
            return ExcCodes(self.failing)
        if fc == 2:  # the sensors, as the script has them now
            bits = [self.inputs.get(i, False) for i in range(len(registers) * 16)]
            registers[:] = SimUtils.bitsToRegisters(bits)
            for i in range(address, address + count):
                if i in self.latched and self.inputs.get(i):
                    self.inputs[i] = False  # read once: the latch lets go
            self.watch.changed()
        elif fc in (5, 15) and values is not None:
            for i, on in enumerate(values):
                self._coil(address + i, bool(on))
        return None

    def _coil(self, n: int, on: bool) -> None:
        was = self.coils.get(n, False)
        self.coils[n] = on
        if on and not was:
            self.pulses.append(n)
            self.relay_on(n)
        self.watch.changed()

    def relay_on(self, coil: int) -> None:
        """What the relay does to the world (the family's twin)."""

    def set_input(self, n: int, on: bool) -> None:
        self.inputs[n] = on
        self.watch.changed()

    def _later(self, n: int, ms: int, then) -> None:
        if n in self._timers:
            self._timers.pop(n).cancel()
        if ms > 0:
            self._timers[n] = asyncio.get_running_loop().call_later(ms / 1000, then)

    # --- the wire -------------------------------------------------------------------------------
    async def start(self) -> None:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        await self.plug()

    async def plug(self) -> None:
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer

        if self.dev.url.scheme == "tcp":
            self.tcp_port = self.tcp_port or free_port()
            self._server = ModbusTcpServer(self._device(), address=("127.0.0.1", self.tcp_port))
        else:
            host = PtyPort(self.link, lambda data: None if self.silent else board.write(data))
            board = PtyPort(self.link.with_suffix(".board"), host.write)
            host.plug()
            board.plug()
            self._ptys = (host, board)
            self._server = ModbusSerialServer(self._device(), port=str(board.link),
                                              baudrate=self.dev.url.baud)
        await self._server.serve_forever(background=True)
        self.watch.changed()

    async def unplug(self) -> None:
        """The controller drops off: its power, its cable, its network."""
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        if self._ptys:
            for p in self._ptys:
                p.unplug()
            self._ptys = None
        self.watch.changed()

    async def stop(self) -> None:
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        await self.unplug()


class GateTwin(RelayBoardTwin):
    """A door: its relay pulsed, it opens (unless `jammed`) and closes after `close_ms`."""

    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.coil = dev.opt("open_coil")
        self.door, self.beam, self.exit = (dev.opt("door_input"), dev.opt("pass_input"),
                                           dev.opt("exit_input"))
        self.on = dev.opt("open_is_on")
        self.coils[self.coil] = False
        for n in (self.door, self.beam, self.exit):
            if n >= 0:
                self.inputs[n] = False
        self.inputs[self.door] = not self.on  # closed
        self.latched = {n for n in (self.beam, self.exit) if n >= 0}
        self.jammed = False

    @property
    def is_open(self) -> bool:
        return self.inputs[self.door] == self.on

    def relay_on(self, coil: int) -> None:
        if coil == self.coil and not self.jammed:
            self.open_door()
            self._later(coil, self.close_ms, self.close_door)

    def open_door(self) -> None:
        """The door swings open (pushed after a pulse, or forced)."""
        self.set_input(self.door, self.on)

    def close_door(self) -> None:
        self.set_input(self.door, not self.on)

    def walk_in(self) -> None:
        self.set_input(self.beam, True)

    def walk_out(self) -> None:
        self.set_input(self.exit, True)


class LockerTwin(RelayBoardTwin):
    """A bank of compartments: a lock pulsed, its door springs open and stays open until the
    script closes it (a citizen took the papers); `jammed` compartments do not open."""

    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.n = dev.opt("compartments")
        self.first_coil, self.first_input = dev.opt("first_coil"), dev.opt("first_input")
        self.on = dev.opt("open_is_on")
        for c in range(1, self.n + 1):
            self.coils[self.first_coil + c - 1] = False
            self.inputs[self.first_input + c - 1] = not self.on
        self.jammed: set[int] = set()

    def is_open(self, c: int) -> bool:
        return self.inputs[self.first_input + c - 1] == self.on

    def relay_on(self, coil: int) -> None:
        c = coil - self.first_coil + 1
        if 1 <= c <= self.n and c not in self.jammed:
            self.open(c)

    def open(self, c: int) -> None:
        """Compartment c's door open (sprung by its lock, or forced)."""
        self.set_input(self.first_input + c - 1, self.on)

    def close(self, c: int) -> None:
        self.set_input(self.first_input + c - 1, not self.on)
