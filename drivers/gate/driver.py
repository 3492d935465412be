"""gate.modbus: the zone's door or turnstile. The relay opens it; its sensors say the rest
(door open or closed, somebody passed, somebody left), and the hall's zone rules decide what
that was: an entry, a forced door, a door held open."""

from __future__ import annotations

from typing import Any

from kioskd.drivers.gate.family import NOT_FITTED
from kioskd.drivers.relayboard import RelayBoardDriver, need


class ModbusGateDriver(RelayBoardDriver):
    def inputs(self) -> dict[str, int]:
        where = {"door": self.cfg.opt("door_input")}
        for name in ("pass", "exit"):
            if self.cfg.opt(f"{name}_input") != NOT_FITTED:
                where[name] = self.cfg.opt(f"{name}_input")
        return where

    def relay(self, name: str) -> int:
        return need(name, {"door": self.cfg.opt("open_coil")})

    def door_open(self, states: dict[str, bool]) -> bool | None:
        if "door" not in states:
            return None
        return states["door"] == self.cfg.opt("open_is_on")

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "pulse":  # the technician's test: the door opens, and nothing is granted
            await self.pulse("door")
            return {"pulsed": "door", "ms": self.cfg.opt("pulse_ms")}
        return await super().handle(command, **args)
