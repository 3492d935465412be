"""locker.modbus: a bank of compartments. The driver opens a compartment's lock and reports
its door; which compartment holds what, and for whom, is the hall's (kioskd.lockers)."""

from __future__ import annotations

from typing import Any

from kioskd.drivers.relayboard import RelayBoardDriver, need


class ModbusLockerDriver(RelayBoardDriver):
    def _numbered(self, first: str) -> dict[str, int]:
        base = self.cfg.opt(first)
        return {str(n): base + n - 1 for n in range(1, self.cfg.opt("compartments") + 1)}

    def inputs(self) -> dict[str, int]:
        return self._numbered("first_input")

    def relay(self, name: str) -> int:
        return need(name, self._numbered("first_coil"))

    def door_open(self, states: dict[str, bool]) -> dict[str, bool]:
        on = self.cfg.opt("open_is_on")
        return {k: v == on for k, v in states.items()}

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "open":  # the technician's test: compartment N (1) opens
            n = str(args.get("compartment", 1))
            await self.pulse(n)
            return {"pulsed": n, "ms": self.cfg.opt("pulse_ms")}
        return await super().handle(command, **args)
