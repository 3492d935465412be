"""Barcode guns: scanner.serial (CR/LF lines on a serial port) and scanner.hid (a USB keyboard
gun read through evdev, grabbed so that its keystrokes reach no console and no other program)."""

from __future__ import annotations

import logging
from typing import Any

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.scanner.codes import KeyDecoder, LineCodec, Scan
from kioskd.errors import DeviceAbsent, DeviceFault, FrameError

log = logging.getLogger("kioskd.drivers.scanner")


class _Scanner(Driver):
    # a code may be an ID number: the raw view shows its length only
    def trace_hex(self, direction: str, data: bytes) -> str:
        return f"({len(data)} bytes hidden: a code may be personal data)"

    def describe_frame(self, frame: Any) -> str:
        if isinstance(frame, Scan):
            return f"code of {len(frame.code)} characters ({frame.symbology or 'no AIM id'})"
        return super().describe_frame(frame)

    def scanned(self, item: Scan | FrameError) -> None:
        if isinstance(item, FrameError):
            self.counters.errors += 1
            self.counters.last_error = f"{item.code}: {item}"
            log.info("%s: %s", self.id, item)
            return
        self.counters.frames_in += 1
        self.emit(DeviceInput(self.id, "code", item))


class SerialScannerDriver(_Scanner):

    def make_codec(self) -> LineCodec:
        return LineCodec(aim=self.cfg.opt("aim"),
                         encoding=self.cfg.opt("encoding"))

    async def identify(self) -> str:
        return f"serial gun on {self.cfg.url.path or self.cfg.url}"  # guns answer nothing

    def on_frame(self, frame: Scan) -> None:
        self.scanned(frame)


def _input_device(path: str) -> Any:
    import evdev  # only where a HID gun is configured

    return evdev.InputDevice(path)


class HidScannerDriver(_Scanner):
    # how a path becomes an evdev device (python-evdev's InputDevice); the one seam a test on a
    # kernel without /dev/uinput fills with a stand-in (tests/hall/test_scanner.py, PipeGun)
    input_device = staticmethod(_input_device)

    def make_codec(self) -> KeyDecoder:
        return KeyDecoder(gap=self.cfg.opt("gap_ms") / 1000, max_len=self.cfg.opt("max_len"),
                          aim=self.cfg.opt("aim"))

    async def open(self) -> None:
        self.codec = self.make_codec()
        path = self.cfg.url.path
        try:
            self._dev: Any = self.input_device(path)
        except OSError as exc:
            raise DeviceAbsent(f"{path}: {exc.strerror or exc}") from None
        try:
            self._dev.grab()  # exclusive: the gun's keys must not type into a console
        except OSError as exc:
            self._dev.close()
            raise DeviceFault(f"{path}: cannot grab it ({exc.strerror or exc}); another program "
                              "holds the gun", "scanner.grab") from None

    async def identify(self) -> str:
        return f"HID gun {self._dev.name!r}"

    async def run(self) -> None:
        from evdev import ecodes

        try:
            async for ev in self._dev.async_read_loop():
                if ev.type == ecodes.EV_KEY:
                    for item in self.codec.feed(ev.code, ev.value, ev.timestamp()):
                        self.scanned(item)
        except OSError as exc:  # ENODEV: the gun was pulled out
            raise DeviceAbsent(f"{self.cfg.url.path}: {exc.strerror or exc}") from None
        raise DeviceAbsent(f"{self.cfg.url.path}: gone")

    async def close(self) -> None:
        self.ready = False
        dev = getattr(self, "_dev", None)
        if dev is not None:
            try:
                dev.ungrab()
            except OSError:
                pass  # already gone
            dev.close()
            self._dev = None
