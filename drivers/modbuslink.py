"""Modbus to a relay or lock board (protocols.md §12), with pymodbus: RTU over serial://
(RS-485, 9600 8N1 on most boards) or Modbus TCP over tcp://. A relay is a coil (FC 05), a
sensor a discrete input (FC 02); a board's unit (slave address) is the device's option.

Only pymodbus's own exceptions are turned into ours here: no answer is DeviceTimeout, a lost
connection DeviceAbsent, a Modbus exception answer DeviceFault with a stable code
(`modbus.illegal_address`, `modbus.device_failure`, ...), so the hall can say which it was.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from kioskd.drivers.spec import Endpoint
from kioskd.errors import DeviceAbsent, DeviceFault, DeviceTimeout

# Modbus exception codes (the answer's byte) by their stable names
EXCEPTIONS = {1: "illegal_function", 2: "illegal_address", 3: "illegal_value",
              4: "device_failure", 5: "acknowledge", 6: "device_busy",
              10: "gateway_path_unavailable", 11: "gateway_no_response"}


def _quiet_pymodbus() -> None:
    # pymodbus logs every failed request at ERROR and its frames at DEBUG: the driver says
    # what failed, once, with its device id
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


class ModbusLink:
    def __init__(self, ep: Endpoint, unit: int, timeout: float, name: str,
                 trace: Callable[[str, bytes], None]):
        self.ep, self.unit, self.timeout, self.name = ep, unit, timeout, name
        self._trace = trace
        self._client = None

    def _packet(self, sending: bool, data: bytes) -> bytes:
        self._trace("out" if sending else "in", data)
        return data

    async def open(self) -> None:
        _quiet_pymodbus()
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

        # reconnect_delay 0: pymodbus does not reconnect by itself; the supervisor does
        common = dict(timeout=self.timeout, retries=0, reconnect_delay=0,
                      trace_packet=self._packet)
        if self.ep.scheme == "serial":
            client = AsyncModbusSerialClient(self.ep.path, baudrate=self.ep.baud, **common)
        else:
            client = AsyncModbusTcpClient(self.ep.host, port=self.ep.port, **common)
        try:
            ok = await client.connect()
        except OSError as exc:
            ok, why = False, str(exc)
        else:
            why = "no connection"
        if not ok:
            client.close()
            raise DeviceAbsent(f"{self.name}: cannot open {self.ep.raw} ({why})")
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _call(self, what: str, request) -> list[bool]:
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        if self._client is None:
            raise DeviceAbsent(f"{self.name}: not connected")
        # pymodbus waits with asyncio.wait_for, which on 3.11 can drop a cancel that comes as
        # the answer does (the supervisor could then never stop this driver: seen in tests):
        # the request runs as a task of its own, and this wait is the one cancelled
        task = asyncio.ensure_future(request(device_id=self.unit))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.timeout + 0.5)
        except asyncio.CancelledError:
            task.cancel()
            raise
        try:
            if not done:
                task.cancel()
                raise TimeoutError
            answer = task.result()
        except (TimeoutError, ModbusIOException):
            raise DeviceTimeout(f"{self.name}: no answer to {what} within "
                                f"{self.timeout:.1f} s (unit {self.unit})") from None
        except ConnectionException as exc:
            raise DeviceAbsent(f"{self.name}: {exc}") from None
        except ModbusException as exc:
            raise DeviceFault(f"{self.name}: {what}: {exc}", "modbus.error") from None
        if answer.isError():
            code = getattr(answer, "exception_code", 0)
            name = EXCEPTIONS.get(code, f"exception_{code}")
            raise DeviceFault(f"{self.name}: the board refused {what}: {name} ({code})",
                              f"modbus.{name}")
        return list(answer.bits)

    async def read_inputs(self, address: int, count: int) -> list[bool]:
        """Discrete inputs (FC 02): the sensors."""
        assert self._client is not None
        bits = await self._call(f"read inputs {address}+{count}",
                                lambda **kw: self._client.read_discrete_inputs(
                                    address, count=count, **kw))
        return bits[:count]

    async def write_coil(self, address: int, on: bool) -> None:
        """A relay (FC 05)."""
        assert self._client is not None
        await self._call(f"coil {address} {'on' if on else 'off'}",
                         lambda **kw: self._client.write_coil(address, on, **kw))

    async def pulse(self, address: int, ms: int) -> None:
        """A momentary "open": the coil on, then off after `ms`; off again even if cancelled,
        so that a lock is never left powered open."""
        await self.write_coil(address, True)
        try:
            await asyncio.sleep(ms / 1000)
        finally:
            await asyncio.shield(self.write_coil(address, False))
