"""usb://VID:PID: vendor-bulk USB devices (the GA 467 "SAM" ID readers) through pyusb.

pyusb only blocks, so one thread per link reads packets and hands them to the event loop, and
writes run in a worker thread; every call has a libusb timeout, so no thread outlives a close by
more than POLL_MS. The layout follows the Synjones adapter (protocols.md §1.7): the interface of
class 255/0/0 (else the first with an IN and an OUT endpoint), frames written in packets of at
most 64 bytes, answers read a packet at a time (a bigger bulk read that times out mid-answer
would lose what it got: pyusb raises and drops the partial transfer).
"""

from __future__ import annotations

import asyncio
import errno
import threading
from typing import Any

from kioskd.drivers.spec import Endpoint
from kioskd.errors import DeviceAbsent, DeviceTimeout

PACKET = 64
POLL_MS = 100  # how long one blocking read may wait: bounds how late a closed reader stops
WRITE_MS = 1000

# The simulator's virtual bus (kioskd.sim.usbbus) when a twin is plugged into this process;
# None means libusb, that is, real hardware.
backend_override: Any = None


def _usb():
    import usb.core
    import usb.util

    return usb


def _port_path(dev: Any) -> str:
    ports = getattr(dev, "port_numbers", None) or ()
    return f"{dev.bus}-" + ".".join(str(p) for p in ports)


def _describe(ep: Endpoint) -> str:
    return f"USB {ep.vid:04x}:{ep.pid:04x}" + (f" at port {ep.usb_port}" if ep.usb_port else "") \
        + (f" serial {ep.usb_serial}" if ep.usb_serial else "")


def _absent(ep: Endpoint, exc: Exception) -> DeviceAbsent:
    if getattr(exc, "errno", None) == errno.EACCES:
        return DeviceAbsent(f"{_describe(ep)}: access denied; install udev/99-kioskd.rules and "
                            "add the daemon's user to group kioskd")
    if getattr(exc, "errno", None) == errno.EBUSY:
        return DeviceAbsent(f"{_describe(ep)}: busy (another program holds the interface)")
    return DeviceAbsent(f"{_describe(ep)}: {exc}")


class UsbLink:
    """The same face as transport.Link: write(), read() (raises DeviceAbsent), close()."""

    def __init__(self, ep: Endpoint, dev: Any, intf: Any, ep_in: Any, ep_out: Any):
        self.name, self._ep = _describe(ep), ep
        self._dev, self._intf, self._in, self._out = dev, intf, ep_in, ep_out
        self._packet = min(PACKET, int(ep_out.wMaxPacketSize) or PACKET)
        self._inbox: asyncio.Queue[bytes | DeviceAbsent] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._gone: DeviceAbsent | None = None
        self._thread = threading.Thread(target=self._read_packets, name=f"usb-read {self.name}",
                                        daemon=True)
        self._thread.start()

    def _read_packets(self) -> None:
        usb = _usb()
        size = int(self._in.wMaxPacketSize) or PACKET
        while not self._stop.is_set():
            try:
                data = bytes(self._in.read(size, timeout=POLL_MS))
            except usb.core.USBTimeoutError:
                continue
            except usb.core.USBError as exc:
                if not self._stop.is_set():
                    self._hand(_absent(self._ep, exc))
                return
            if data:
                self._hand(data)

    def _hand(self, item: bytes | DeviceAbsent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            self._stop.set()

    async def write(self, data: bytes) -> None:
        if self._gone or self._stop.is_set():
            raise self._gone or DeviceAbsent(f"{self.name}: closed")
        usb = _usb()

        def put() -> None:
            for i in range(0, len(data), self._packet):
                self._out.write(data[i:i + self._packet], timeout=WRITE_MS)

        try:
            await asyncio.to_thread(put)
        except usb.core.USBTimeoutError:
            raise DeviceTimeout(f"{self.name}: write not taken within {WRITE_MS} ms") from None
        except usb.core.USBError as exc:
            self._gone = _absent(self._ep, exc)
            raise self._gone from None

    async def read(self) -> bytes:
        if self._gone:
            raise self._gone
        item = await self._inbox.get()
        if isinstance(item, DeviceAbsent):
            self._gone = item
            raise item
        return item

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 2 * POLL_MS / 1000 + 1)
        usb = _usb()
        try:
            usb.util.release_interface(self._dev, self._intf.bInterfaceNumber)
        except usb.core.USBError:
            pass  # the device has gone: there is nothing left to release
        usb.util.dispose_resources(self._dev)


def _find(ep: Endpoint) -> Any:
    usb = _usb()

    def match(dev: Any) -> bool:
        if ep.usb_port and _port_path(dev) != ep.usb_port:
            return False
        if ep.usb_serial:
            try:
                return usb.util.get_string(dev, dev.iSerialNumber) == ep.usb_serial
            except (usb.core.USBError, ValueError):
                return False
        return True

    found = list(usb.core.find(find_all=True, idVendor=ep.vid, idProduct=ep.pid,
                               custom_match=match, backend=backend_override))
    if not found:
        raise DeviceAbsent(f"{_describe(ep)}: not plugged in (see `lsusb -d {ep.vid:04x}:{ep.pid:04x}`)")
    if len(found) > 1:
        # two alike readers (kiosk and guide desk): guessing would swap whose card is whose
        ports = ", ".join(_port_path(d) for d in found)
        raise DeviceAbsent(f"{_describe(ep)}: {len(found)} such devices (ports {ports}); "
                           "add ?port= to the url to pick one")
    return found[0]


def _claim(ep: Endpoint) -> tuple[Any, Any, Any, Any]:
    usb = _usb()
    dev = _find(ep)
    try:
        try:
            cfg = dev.get_active_configuration()
        except usb.core.USBError:
            dev.set_configuration()
            cfg = dev.get_active_configuration()
        interfaces = list(cfg)
        ordered = [i for i in interfaces if (i.bInterfaceClass, i.bInterfaceSubClass,
                                              i.bInterfaceProtocol) == (255, 0, 0)]
        for intf in ordered + [i for i in interfaces if i not in ordered]:
            ep_in = usb.util.find_descriptor(intf, custom_match=lambda e: usb.util.endpoint_direction(
                e.bEndpointAddress) == usb.util.ENDPOINT_IN)
            ep_out = usb.util.find_descriptor(intf, custom_match=lambda e: usb.util.endpoint_direction(
                e.bEndpointAddress) == usb.util.ENDPOINT_OUT)
            if ep_in is not None and ep_out is not None:
                break
        else:
            raise DeviceAbsent(f"{_describe(ep)}: no interface with an IN and an OUT endpoint")
        try:
            if dev.is_kernel_driver_active(intf.bInterfaceNumber):
                dev.detach_kernel_driver(intf.bInterfaceNumber)
        except (NotImplementedError, usb.core.USBError):
            pass  # backends without kernel drivers (and readers no kernel driver wants)
        usb.util.claim_interface(dev, intf.bInterfaceNumber)
    except usb.core.USBError as exc:
        usb.util.dispose_resources(dev)
        raise _absent(ep, exc) from None
    return dev, intf, ep_in, ep_out


async def open_usb(ep: Endpoint, timeout: float) -> UsbLink:
    try:
        async with asyncio.timeout(timeout):
            dev, intf, ep_in, ep_out = await asyncio.to_thread(_claim, ep)
    except TimeoutError:
        raise DeviceTimeout(f"{_describe(ep)}: not opened within {timeout:.0f} s") from None
    except _usb().core.NoBackendError:
        raise DeviceAbsent("usb://: libusb is not installed (apt-get install libusb-1.0-0)") from None
    return UsbLink(ep, dev, intf, ep_in, ep_out)
