"""Barcode-gun twins: a serial gun on a pty, and a USB keyboard gun through uinput (where the
kernel offers /dev/uinput)."""

from __future__ import annotations

import os
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.scanner.codes import key_events
from kioskd.sim.twin import Twin

UINPUT = Path("/dev/uinput")


class SerialScannerTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = _Nothing()

    def scan(self, code: str, *, encoding: str = "utf-8", aim: str = "", end: bytes = b"\r\n") -> None:
        self.send((aim + code).encode(encoding) + end)

    def on_frame(self, frame) -> None:  # a gun takes no commands
        pass


class _Nothing:
    def feed(self, data: bytes) -> list:
        return []


def uinput_usable() -> str | None:
    """None when a uinput gun can be made here, else why not."""
    if not UINPUT.exists():
        return "/dev/uinput does not exist on this machine (no uinput module or not in a VM/container that passes it)"
    if not os.access(UINPUT, os.R_OK | os.W_OK):
        return "/dev/uinput is not writable by this user"
    return None


class HidScannerTwin:
    """A keyboard gun made with uinput: `scan()` types the code and Enter, as a gun does."""

    def __init__(self, dev: DeviceConfig, link: Path):
        self.dev = dev
        self._ui = None

    @property
    def url(self) -> str:
        assert self._ui is not None
        return f"evdev://{self._ui.device.path}"

    async def start(self) -> None:
        from evdev import UInput, ecodes

        self._ui = UInput({ecodes.EV_KEY: list(range(1, 100))}, name="kioskd-sim-gun")

    async def stop(self) -> None:
        if self._ui is not None:
            self._ui.close()
            self._ui = None

    async def unplug(self) -> None:
        await self.stop()

    async def plug(self) -> None:
        await self.start()

    def scan(self, code: str) -> None:
        from evdev import ecodes

        assert self._ui is not None
        for key, value in key_events(code):
            self._ui.write(ecodes.EV_KEY, key, value)
            self._ui.syn()
