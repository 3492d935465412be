"""Transports by URL: they only move bytes. serial:// (also ptys), tcp:// and usb:// (usblink)."""

from __future__ import annotations

import asyncio

import serial
import serial_asyncio_fast

from kioskd.drivers.spec import Endpoint
from kioskd.drivers.usblink import UsbLink, open_usb
from kioskd.errors import DeviceAbsent, DeviceTimeout

READ_CHUNK = 4096


class Link:
    """A byte stream to one device. `read()` raises DeviceAbsent when the device goes away."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str):
        self._reader, self._writer, self.name = reader, writer, name

    async def write(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise DeviceAbsent(f"{self.name}: closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, serial.SerialException, ConnectionError) as exc:
            raise DeviceAbsent(f"{self.name}: write failed: {exc}") from None

    async def read(self) -> bytes:
        try:
            data = await self._reader.read(READ_CHUNK)
        except (OSError, serial.SerialException, ConnectionError) as exc:
            raise DeviceAbsent(f"{self.name}: read failed: {exc}") from None
        if not data:
            raise DeviceAbsent(f"{self.name}: the device closed the connection")
        return data

    async def close(self) -> None:
        self._writer.close()
        try:
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        except (OSError, serial.SerialException, ConnectionError, TimeoutError):
            pass  # closing a port that already went away


async def open_link(ep: Endpoint, timeout: float = 3.0) -> Link | UsbLink:
    if ep.scheme == "usb":
        return await open_usb(ep, timeout)
    try:
        if ep.scheme == "serial":
            async with asyncio.timeout(timeout):
                reader, writer = await serial_asyncio_fast.open_serial_connection(
                    url=ep.path, baudrate=ep.baud)
            return Link(reader, writer, ep.path)
        if ep.scheme == "tcp":
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(ep.host, ep.port)
            return Link(reader, writer, f"{ep.host}:{ep.port}")
    except TimeoutError:
        raise DeviceTimeout(f"{ep}: no connection within {timeout:.0f} s") from None
    except (OSError, serial.SerialException) as exc:
        raise DeviceAbsent(f"{ep}: {getattr(exc, 'strerror', None) or exc}") from None
    raise DeviceAbsent(f"{ep}: transport {ep.scheme}:// is not implemented yet")
