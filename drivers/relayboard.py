"""A relay board on Modbus (protocols.md §12) as one Driver shape for doors, turnstiles and
lockers: relays (coils) are pulsed open, sensors (discrete inputs) are polled, and a sensor
that changed is reported to the hall as `sensors` (its name and its new state). What a name
means (a door, a pass beam, compartment 7) is the family's; what it means to the hall (an
entry, a forced door, a collected pickup) is the hall's rules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kioskd.drivers.base import DeviceInput, Driver, NoFrames
from kioskd.drivers.modbuslink import ModbusLink
from kioskd.errors import DeviceNotReady, DeviceFault


@dataclass(frozen=True)
class Sensed:
    """Sensors that changed (or, `first`, all of them as found at connect): name -> on."""

    states: dict[str, bool]
    first: bool = False


class RelayBoardDriver(Driver):
    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.link: ModbusLink | None = None
        self.states: dict[str, bool] = {}

    # --- what a family says --------------------------------------------------------------------
    def inputs(self) -> dict[str, int]:
        """Sensor name -> its discrete input."""
        raise NotImplementedError

    def relay(self, name: str) -> int:
        """The coil that opens `name`; DeviceFault if there is none."""
        raise NotImplementedError

    # --- the wire --------------------------------------------------------------------------------
    def make_codec(self) -> NoFrames:
        return NoFrames()

    async def open(self) -> None:
        """pymodbus's client is the link: no byte stream for the base class to read."""
        self.states = {}  # what the board shows at connect is said again, as `first`
        self.link = ModbusLink(self.cfg.url, self.cfg.opt("unit"), self.timeout, self.id,
                               self._traced)
        await self.link.open()

    def _traced(self, direction: str, data: bytes) -> None:
        if direction == "out":
            self.counters.frames_out += 1
        else:
            self.counters.frames_in += 1
        self.traced(direction, data)  # relays and sensors: nothing personal on this wire

    async def identify(self) -> str:
        states = await self.read()
        return ", ".join(f"{k} {'on' if v else 'off'}" for k, v in states.items())

    async def read(self) -> dict[str, bool]:
        if self.link is None:
            raise DeviceNotReady(f"{self.id} is not connected")
        where = self.inputs()
        if not where:
            return {}
        low = min(where.values())
        bits = await self.link.read_inputs(low, max(where.values()) - low + 1)
        return {name: bits[i - low] for name, i in where.items()}

    async def poll(self) -> None:
        period = self.cfg.opt("poll_ms") / 1000
        while True:
            states = await self.probe(self.read())
            if states is not None:
                changed = {k: v for k, v in states.items() if self.states.get(k) != v}
                first = not self.states
                self.states = states
                if changed:
                    self.emit(DeviceInput(self.id, "sensors", Sensed(changed, first)))
            await asyncio.sleep(period)  # the board's poll period: sensors cannot push

    async def run(self) -> None:
        await self.poll()

    async def pulse(self, name: str) -> None:
        """Pulse the relay of `name` open (the lock's own time, `pulse_ms`)."""
        if self.link is None or not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        await self.link.pulse(self.relay(name), self.cfg.opt("pulse_ms"))

    async def hold(self, name: str, on: bool) -> None:
        """Hold the relay of `name` on (an emergency: the door stays open) or let it go."""
        if self.link is None or not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        await self.link.write_coil(self.relay(name), on)

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "sensors":
            return await self.read()
        return await super().handle(command, **args)

    async def close(self) -> None:
        self.ready = False
        if self.link is not None:
            await self.link.close()
            self.link = None


def need(name: str, where: dict[str, int]) -> int:
    if name not in where:
        raise DeviceFault(f"no {name!r} here (has {', '.join(where) or 'none'})", "relay.unknown")
    return where[name]
