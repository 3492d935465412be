"""What every device twin shares: a wire, a codec, scriptable faults, and waiting on changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kioskd.config import DeviceConfig
from kioskd.sim.usbbus import BUS, UsbPort
from kioskd.sim.wire import PtyPort, TcpPort
from kioskd.watch import Watch


class Twin:
    """Base of the device twins. Subclasses set `codec` and implement `on_frame`."""

    def __init__(self, dev: DeviceConfig, link: Path):
        self.dev = dev
        # the twin sits on the same kind of wire as the device it stands for
        self.port: PtyPort | TcpPort | UsbPort
        if dev.url.scheme == "tcp":
            self.port = TcpPort(self._on_bytes)
        elif dev.url.scheme == "usb":
            self.port = UsbPort(dev.url.vid, dev.url.pid, dev.url.usb_port or BUS.free_port(),
                                self._on_bytes)
        else:
            self.port = PtyPort(link, self._on_bytes)
        self.watch = Watch()
        self.silent = False  # fault: swallow requests, answer nothing
        self.received = 0
        self.codec: Any = None

    @property
    def url(self) -> str:
        if isinstance(self.port, TcpPort):
            return f"tcp://{self.port.link}"
        if isinstance(self.port, UsbPort):
            return f"usb://{self.port.link}"
        return f"serial://{self.port.link}?baud={self.dev.url.baud}"

    async def start(self) -> None:
        await self._plug()

    async def stop(self) -> None:
        await self._unplug()

    async def _plug(self) -> None:
        if isinstance(self.port, TcpPort):
            await self.port.plug()
        else:
            self.port.plug()

    async def _unplug(self) -> None:
        if isinstance(self.port, TcpPort):
            await self.port.unplug()
        else:
            self.port.unplug()

    async def unplug(self) -> None:
        """Fault: the device goes away (USB pulled, power cut, network cable out)."""
        await self._unplug()
        self.watch.changed()

    async def plug(self) -> None:
        self.codec = type(self.codec)()
        await self._plug()
        self.watch.changed()

    def send(self, data: bytes) -> None:
        self.port.write(data)

    def garbage(self, n: int = 64) -> bytes:
        """Fault: line noise from the device."""
        noise = os.urandom(n)
        self.port.write(noise)
        return noise

    def _on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        if self.silent:
            return
        for frame in self.codec.feed(data):
            if isinstance(frame, Exception):
                continue  # a real device ignores what it cannot parse
            self.on_frame(frame)
        self.watch.changed()

    def on_frame(self, frame: Any) -> None:
        raise NotImplementedError
