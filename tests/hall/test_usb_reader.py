"""usb:// ID readers: the guide desk's vendor-bulk SAM reader on the simulator's virtual USB bus.

The bus is a pyusb backend (kioskd.sim.usbbus): a kernel-visible fake USB device would need
dummy_hcd and gadgetfs, which no CI machine here has, so libusb is the one layer stood in for;
pyusb's own find/configure/claim/transfer code and all of ours run as on hardware.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest

from kioskd import config
from kioskd.drivers import usblink
from kioskd.errors import DeviceAbsent
from kioskd.sim.idcard import make_card
from kioskd.sim.usbbus import UsbPort
from support.helpers import api

SAM_USB = ("usb", "serial")


def ep(url: str) -> config.Endpoint:
    return config.parse_endpoint(url, SAM_USB)


async def test_writes_go_in_64_byte_packets_and_answers_come_back_whole():
    got: list[bytes] = []
    port = UsbPort(0x0400, 0xC35A, "9-90", got.append)
    port.plug()
    link = await usblink.open_usb(ep("usb://0400:c35a?port=9-90"), 3)
    try:
        await link.write(bytes(200))
        assert port.write_sizes == [64, 64, 64, 8]  # the Synjones adapter's packet rule
        answer = bytes(range(256)) * 5 + bytes(15)  # a text+photo read is 1295 bytes
        port.write(answer)
        data = b""
        async with asyncio.timeout(5):
            while len(data) < len(answer):
                data += await link.read()
        assert data == answer
        assert b"".join(got) == bytes(200)
    finally:
        await link.close()
        port.unplug()


async def test_unplug_is_reported_to_reader_and_writer():
    port = UsbPort(0x0400, 0xC35A, "9-91", lambda b: None)
    port.plug()
    link = await usblink.open_usb(ep("usb://0400:c35a?port=9-91"), 3)
    try:
        port.unplug()
        with pytest.raises(DeviceAbsent, match="No such device"):
            async with asyncio.timeout(5):
                await link.read()
        with pytest.raises(DeviceAbsent):
            await link.write(b"x")
    finally:
        await link.close()


async def test_two_alike_readers_need_a_port_to_tell_them_apart():
    a = UsbPort(0x0316, 0x5020, "9-92", lambda b: None)
    b = UsbPort(0x0316, 0x5020, "9-93.1", lambda b: None)
    a.plug(), b.plug()
    try:
        with pytest.raises(DeviceAbsent, match=r"2 such devices \(ports 9-92, 9-93.1\).*\?port="):
            await usblink.open_usb(ep("usb://0316:5020"), 3)
        link = await usblink.open_usb(ep("usb://0316:5020?port=9-93.1"), 3)
        await link.write(b"\xaa")
        assert b.write_sizes == [1] and a.write_sizes == []
        await link.close()
        with pytest.raises(DeviceAbsent, match="not plugged in"):
            await usblink.open_usb(ep("usb://0316:5020?port=9-94"), 3)
    finally:
        a.unplug(), b.unplug()


@pytest.mark.parametrize("url,problem", [
    ("usb://400:c35a", "expected usb://VID:PID"),
    ("usb://0400:c35a?bus=1", "unknown usb:// parameter 'bus'"),
    ("usb://0400:c35a?port=front", "not a USB port path"),
])
def test_bad_usb_urls_say_what_is_wrong(url, problem):
    with pytest.raises(ValueError, match=problem.replace("?", r"\?")):
        ep(url)


def test_a_usb_url_names_vid_pid_and_socket():
    got = ep("usb://0400:C35A?port=1-1.2")
    assert (got.vid, got.pid, got.usb_port) == (0x0400, 0xC35A, "1-1.2")


# --- the guide desk, through the whole hall ------------------------------------------------------
async def test_guide_desk_usb_reader_takes_a_priority_ticket_for_the_holder(sim):
    hall, reader = sim.hall, sim.twin("reader-g1")
    assert hall.cfg.devices_of(kiosk="guide-1")[0].url.scheme == "usb"
    card = make_card("王五", date(1990, 3, 3), serial=41)
    reader.place(card)
    await hall.watch.until(lambda: "guide-1" in hall.kiosk_cards, 5, "card read over USB")
    status, body = await api(hall, "POST", "/api/tickets",
                             {"category": "A", "priority": "disabled"}, kiosk="guide-1")
    assert status == 201, body
    assert body["lane"] == "disabled"
    issued = [e for e in hall.journal.read() if e.type == "ticket.issued"][-1]
    # per-person rules see the same keyed token at the guide desk as at a kiosk
    assert issued.data["holder"] == hall.token_of(card.id_number)
    assert card.id_number not in str(issued.data)


async def test_a_self_service_kiosk_cannot_give_itself_a_priority_lane(sim):
    hall = sim.hall
    status, body = await api(hall, "POST", "/api/tickets",
                             {"category": "A", "priority": "disabled"}, kiosk="kiosk-1")
    assert (status, body["error"]) == (403, "request.priority_at_guide_desk")


async def test_usb_reader_unplugged_and_back_is_ready_within_2_s(sim):
    hall, reader = sim.hall, sim.twin("reader-g1")
    sup = hall.supervisors["reader-g1"]
    await reader.unplug()
    await hall.watch.until(lambda: sup.state.state != "ready", 5, "unplug noticed")
    t0 = time.monotonic()
    await reader.plug()
    await hall.watch.until(lambda: sup.state.state == "ready", 10, "ready again")
    back = time.monotonic() - t0
    reader.place(make_card("赵六", date(1980, 1, 1), serial=42))
    await hall.watch.until(lambda: "guide-1" in hall.kiosk_cards, 5, "a card after the replug")
    print(f"usb reader back in {back * 1000:.0f} ms")
