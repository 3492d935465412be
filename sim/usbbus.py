"""A virtual USB bus inside this process: a pyusb backend whose devices are twins.

Why a pyusb backend and not a kernel device: a USB device the kernel believes in needs
dummy_hcd with gadgetfs or functionfs (root, kernel modules) that neither CI nor a laptop has.
One layer up, pyusb's backend interface is the last point where bytes are bytes, so the driver
runs all of its real code (find, configuration, interface and endpoint choice, packet writes,
timed reads, ENODEV on unplug) and only libusb itself is stood in for.
"""

from __future__ import annotations

import array
import asyncio
import errno
import threading
from types import SimpleNamespace
from typing import Callable

import usb.backend
import usb.core

from kioskd.drivers import usblink

EP_OUT, EP_IN, PACKET = 0x01, 0x81, 64


def _gone() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", -4, errno.ENODEV)


class UsbPort:
    """One vendor-bulk device on the bus: what the driver writes goes to `on_bytes` on the
    twin's loop; what the twin writes waits here until the driver reads it, a packet at a time."""

    def __init__(self, vid: int, pid: int, port: str, on_bytes: Callable[[bytes], None]):
        self.vid, self.pid, self.port, self.on_bytes = vid, pid, port, on_bytes
        self._out = bytearray()
        self._cv = threading.Condition()
        self.plugged = False
        self.configured = 0
        self.write_sizes: list[int] = []  # every OUT transfer's length, to check the packet rule
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def link(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}?port={self.port}"

    def plug(self) -> None:
        self._loop = asyncio.get_running_loop()
        with self._cv:
            self._out.clear()
            self.plugged, self.configured = True, 0
        BUS.attach(self)

    def unplug(self) -> None:
        BUS.detach(self)
        with self._cv:
            self.plugged = False
            self._cv.notify_all()

    def write(self, data: bytes) -> None:
        with self._cv:
            if self.plugged:
                self._out += data
                self._cv.notify_all()

    # called from the driver's threads, through the backend
    def host_wrote(self, data: bytes) -> None:
        if not self.plugged or self._loop is None:
            raise _gone()
        self.write_sizes.append(len(data))
        self._loop.call_soon_threadsafe(self.on_bytes, bytes(data))

    def host_reads(self, size: int, timeout_ms: int) -> bytes:
        with self._cv:
            if not self._cv.wait_for(lambda: self._out or not self.plugged,
                                     (timeout_ms or 60_000) / 1000):
                raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
            if not self.plugged:
                raise _gone()
            data = bytes(self._out[:min(size, PACKET)])
            del self._out[:len(data)]
            return data


def _descriptors(port: UsbPort) -> SimpleNamespace:
    bus, _, path = port.port.partition("-")
    return SimpleNamespace(
        bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
        bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=port.vid, idProduct=port.pid,
        bcdDevice=0x0100, iManufacturer=0, iProduct=0, iSerialNumber=0, bNumConfigurations=1,
        address=None, bus=int(bus), port_number=int(path.split(".")[-1]),
        port_numbers=tuple(int(p) for p in path.split(".")), speed=3)


class SimBackend(usb.backend.IBackend):
    """Each device: one configuration (value 1), one interface of class 255/0/0, bulk OUT 0x01
    and bulk IN 0x81 of 64 bytes: the Synjones reader's layout."""

    def __init__(self) -> None:
        self._ports: list[UsbPort] = []
        self._lock = threading.Lock()
        self._next = 0

    def free_port(self) -> str:
        """A port path no device on this bus uses: bus 9, as no real host has that many."""
        with self._lock:
            self._next += 1
            return f"9-{self._next}"

    def attach(self, port: UsbPort) -> None:
        with self._lock:
            self._ports.append(port)
        # from now on this process's usb:// links find devices here and not through libusb
        usblink.backend_override = self

    def detach(self, port: UsbPort) -> None:
        with self._lock:
            if port in self._ports:
                self._ports.remove(port)

    def enumerate_devices(self):
        with self._lock:
            return list(self._ports)

    def get_device_descriptor(self, dev):
        return _descriptors(dev)

    def get_configuration_descriptor(self, dev, config):
        return SimpleNamespace(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
                               bConfigurationValue=1, iConfiguration=0, bmAttributes=0x80,
                               bMaxPower=50, extra_descriptors=[])

    def get_interface_descriptor(self, dev, intf, alt, config):
        if intf != 0 or alt != 0:
            raise IndexError("no such interface")
        return SimpleNamespace(bLength=9, bDescriptorType=4, bInterfaceNumber=0,
                               bAlternateSetting=0, bNumEndpoints=2, bInterfaceClass=255,
                               bInterfaceSubClass=0, bInterfaceProtocol=0, iInterface=0,
                               extra_descriptors=[])

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        return SimpleNamespace(bLength=7, bDescriptorType=5, bEndpointAddress=(EP_OUT, EP_IN)[ep],
                               bmAttributes=2, wMaxPacketSize=PACKET, bInterval=0, bRefresh=0,
                               bSynchAddress=0, extra_descriptors=[])

    def open_device(self, dev):
        if not dev.plugged:
            raise _gone()
        return dev

    def close_device(self, dev_handle):
        pass

    def set_configuration(self, dev_handle, config_value):
        if not dev_handle.plugged:
            raise _gone()
        dev_handle.configured = config_value

    def get_configuration(self, dev_handle):
        if not dev_handle.plugged:
            raise _gone()
        return dev_handle.configured  # 0 until set, as a freshly plugged device

    def claim_interface(self, dev_handle, intf):
        if not dev_handle.plugged:
            raise _gone()

    def release_interface(self, dev_handle, intf):
        pass

    def is_kernel_driver_active(self, dev_handle, intf):
        return False

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        dev_handle.host_wrote(bytes(data))
        return len(data)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        data = dev_handle.host_reads(len(buff), timeout)
        buff[:len(data)] = array.array("B", data)
        return len(data)


BUS = SimBackend()
