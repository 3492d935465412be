"""Devices at the wire: a ticket built, a SAM card read over a pty and USB, a card to its
event, a camera frame decoded, a rating round trip over a pty and MQTT."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import date
from pathlib import Path

import serial

from measure import report, timed


def bench_ticket(n: int) -> None:
    from kioskd.drivers.printer import escpos

    t = escpos.TicketText("示范区政务服务中心", "综合受理", "A001", 3, "2026-11-24 09:30",
                          "demo-hall/2026-11-24/A001")
    ours = timed(lambda: escpos.build_ticket(t), n)
    from escpos.printer import Dummy

    def raw():
        p = Dummy()
        p.text("示范区政务服务中心\n综合受理\nA001\n您前面还有 3 人等候\n2026-11-24 09:30\n")
        p.qr("demo-hall/2026-11-24/A001", native=True, size=6)
        p.cut()
        return p.output
    report("ESC/POS ticket bytes (text + native QR + cut)", ours, timed(raw, n))


async def time_reads(drv, twin, n: int) -> list[float]:
    """n text+photo reads through an opened-here driver, in ms each."""
    from kioskd.drivers.idcard import sam

    await drv.open()
    ours = []
    for _ in range(n):
        twin._read_done = False
        t = time.perf_counter()
        (await drv.transact(sam.command(sam.READ_TEXT_PHOTO), timeout=3.5)).ok()
        ours.append((time.perf_counter() - t) * 1000)
    await drv.close()
    return ours


async def bench_sam_read(n: int, folder: Path) -> None:
    """A full card read (select + read 1295 bytes) over a pty: driver vs raw pyserial."""
    from kioskd import config
    from kioskd.drivers.idcard import sam
    from kioskd.drivers.idcard.driver import SamReaderDriver
    from kioskd.sim.idcard import SamReaderTwin, make_card

    dev = config.DeviceConfig("r", "idcard.sam", config.Endpoint("serial", baud=115200))
    twin = SamReaderTwin(dev, folder / "reader")
    await twin.start()
    twin.place(make_card("张三", date(1970, 1, 1)))
    drv = SamReaderDriver(config.DeviceConfig(
        "r", "idcard.sam", config.parse_endpoint(twin.url, ("serial",))), lambda i: None)
    ours = await time_reads(drv, twin, n)

    # raw: pyserial in a thread (it blocks), the same twin answering on the loop
    port = serial.Serial(str(twin.port.link), 115200, timeout=1)

    def raw_once() -> float:
        t = time.perf_counter()
        port.write(sam.command(sam.READ_TEXT_PHOTO))
        got = port.read(1295)
        assert len(got) == 1295
        return (time.perf_counter() - t) * 1000
    raw = []
    for _ in range(n):
        twin._read_done = False
        raw.append(await asyncio.get_running_loop().run_in_executor(None, raw_once))
    port.close()
    await twin.stop()
    report("ID card read answer (1295 B) over a pty", ours, raw)


async def bench_usb_read(n: int, folder: Path) -> None:
    """The same read over the simulator's virtual USB bus: the driver (reader thread, 64-byte
    packets handed to the loop) vs raw pyusb reading packets in a thread."""
    import usb.core

    from kioskd import config
    from kioskd.drivers.idcard import sam
    from kioskd.drivers.idcard.driver import SamReaderDriver
    from kioskd.sim.idcard import SamReaderTwin, make_card
    from kioskd.sim.usbbus import BUS

    url = "usb://0400:c35a?port=9-77"
    dev = config.DeviceConfig("r", "idcard.sam", config.parse_endpoint(url, ("usb",)))
    twin = SamReaderTwin(dev, folder / "usb")
    await twin.start()
    twin.place(make_card("张三", date(1970, 1, 1)))
    drv = SamReaderDriver(dev, lambda i: None)
    ours = await time_reads(drv, twin, n)

    raw_dev = usb.core.find(idVendor=0x0400, idProduct=0xC35A, backend=BUS)
    raw_dev.set_configuration()

    def raw_once() -> float:
        t = time.perf_counter()
        raw_dev.write(0x01, sam.command(sam.READ_TEXT_PHOTO))
        got = b""
        while len(got) < 1295:
            got += bytes(raw_dev.read(0x81, 64, timeout=1000))
        return (time.perf_counter() - t) * 1000
    raw = []
    for _ in range(n):
        twin._read_done = False
        raw.append(await asyncio.to_thread(raw_once))
    await twin.stop()
    report("ID card read answer (1295 B) over virtual USB", ours, raw)


async def bench_card_event(n: int, folder: Path) -> None:
    """From the moment the reader twin has written the last byte of a 1295-byte read answer to
    the driver's card event (decoded, photo dropped), beside the wire time of that answer."""
    from kioskd import config
    from kioskd.drivers.idcard.driver import SamReaderDriver
    from kioskd.sim.idcard import SamReaderTwin, make_card

    class TimedTwin(SamReaderTwin):
        sent_at = 0.0

        def send(self, data: bytes) -> None:
            super().send(data)
            if len(data) == 1295:
                TimedTwin.sent_at = time.perf_counter()

    dev = config.DeviceConfig("r", "idcard.sam", config.Endpoint("serial", baud=115200))
    twin = TimedTwin(dev, folder / "reader-ev")
    await twin.start()
    got: asyncio.Queue = asyncio.Queue()
    drv = SamReaderDriver(config.DeviceConfig(
        "r", "idcard.sam", config.parse_endpoint(twin.url, ("serial",)),
        options={"poll_ms": 10}), lambda inp: got.put_nowait(time.perf_counter()))
    await drv.open()
    run = asyncio.create_task(drv.run())
    lat = []
    for i in range(n):
        twin.place(make_card("张三", date(1970, 1, 1), serial=i % 900))
        t_event = await got.get()
        lat.append((t_event - TimedTwin.sent_at) * 1000)
        twin.lift()
        seen = twin.received  # the driver must find the reader empty before the next card
        await twin.watch.until(lambda: twin.received >= seen + 30, 5, "polls of an empty reader")
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    await drv.close()
    await twin.stop()
    wire = 1295 * 10 / 115200 * 1000
    p50 = statistics.median(lat)
    print(f"{'card event after the last answer byte':<44} kioskd p50 {p50:8.4f} ms p99 "
          f"{sorted(lat)[int(len(lat) * 0.99) - 1]:8.4f} | wire time at 115200 {wire:6.1f} ms | "
          f"{p50 / wire * 100:5.2f}% of it")


def camera_frame(size: tuple[int, int]):
    """A document-camera frame of `size`: a page with a Chinese QR, turned, on a base plate."""
    import numpy as np

    from kioskd.sim.camera import document, quad, scene

    fw, fh = size
    page_h = fh * 0.7
    corners = quad((fw / 2, fh / 2), (page_h * 420 / 594, page_h), -12, tilt=0.06)
    doc = document("不动产登记申请表", "预约号：YY20261124-0001 张*三 不动产登记",
                   size=(int(page_h * 420 / 594), int(page_h)))
    return scene(doc, corners, size, np.random.default_rng(3))


def bench_camera(n: int) -> None:
    """Per frame: each decoder through kioskd against the raw library call; and a capture
    (find the page, flatten it, JPEG) against OpenCV's JPEG of the whole frame alone."""
    import cv2
    import zxingcpp
    from pyzbar import pyzbar

    from kioskd.drivers.camera import page as pages
    from kioskd.drivers.camera.decode import make_decoder

    for size in ((1920, 1080), (2592, 1944)):
        frame = camera_frame(size)
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        label = f"{size[0]}x{size[1]}"
        zx = make_decoder("zxing")
        assert zx.decode(gray), "zxing found nothing"
        report(f"decode {label}, zxing-cpp", timed(lambda: zx.decode(gray), n),
               timed(lambda: zxingcpp.read_barcodes(gray), n))
        zb = make_decoder("zbar")
        assert zb.decode(gray), "zbar found nothing"
        report(f"decode {label}, pyzbar", timed(lambda: zb.decode(gray), max(5, n // 10)),
               timed(lambda: pyzbar.decode(gray), max(5, n // 10)))

        def capture():
            found = pages.find_page(gray)
            cv2.imencode(".jpg", pages.flatten(frame, found), [cv2.IMWRITE_JPEG_QUALITY, 85])
        report(f"capture {label}: crop+flatten+JPEG", timed(capture, max(5, n // 10)),
               timed(lambda: cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85]),
                     max(5, n // 10)))
    print(f"{'(a 30 frame/s preview leaves':<44} 33.3 ms a frame)")


async def bench_rating(n: int, folder: Path) -> None:
    """A citizen's press on the pad to the pad hearing "accepted" (sealed, checked, journaled,
    answered), on pad.serial and pad.mqtt in a simulated hall; beside the raw round trip of
    the same transport (pyserial on a pty with an echoing peer; paho through mosquitto)."""
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kioskd import config
    from kioskd.engine import queue
    from kioskd.sim.hall import SimHall

    cfg = config.load(Path(__file__).resolve().parent.parent / "devices.toml")
    sim = SimHall(cfg, folder / "rating-hall", api_port=0)
    hall = await sim.start()
    try:
        for window, pad_id in ((1, "pad-w1"), (3, "pad-w3")):
            pad = sim.twin(pad_id)
            lat = []
            await hall.execute(queue.WindowAction(window, "sign-in", clerk=f"clerk-w{window}"))
            for _ in range(n):
                envs, _ = await hall.execute(queue.IssueTicket("A"))
                await hall.execute(queue.WindowAction(window, "call", ticket=envs[0].data["ticket"]))
                await hall.execute(queue.WindowAction(window, "finish"))
                await pad.watch.until(lambda: pad.prompt is not None, 5, "prompt")
                t = time.perf_counter()
                txn = pad.press(5)
                await pad.watch.until(lambda: txn in pad.results, 5, "result")
                lat.append((time.perf_counter() - t) * 1000)
            raw = (await asyncio.to_thread(_raw_pty_round_trip, n) if window == 1
                   # the same mosquitto, unlocked (the device broker takes only its devices'
                   # logins: an anonymous raw client there timed out, 5000 ms a round trip)
                   else await asyncio.to_thread(_raw_mqtt_round_trip, sim.broker.port, n,
                                                mqtt, CallbackAPIVersion, threading))
            report(f"rating press -> result heard ({pad_id}, {cfg.device(pad_id).type})", lat, raw)
    finally:
        await sim.stop()


def _raw_pty_round_trip(n: int) -> list[float]:
    """pyserial writes a 19-byte RATING frame; the peer echoes a 4-byte RESULT frame."""
    import threading

    master, slave = os.openpty()
    stop = threading.Event()

    def peer():
        while not stop.is_set():
            if os.read(master, 64):
                os.write(master, b"\x68\x03\x68\x01\x03\x00\x07\x00\x0b\x16")
    threading.Thread(target=peer, daemon=True).start()
    port = serial.Serial(os.ttyname(slave), 9600, timeout=2)
    frame = bytes(19)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        port.write(frame)
        port.read(10)
        out.append((time.perf_counter() - t) * 1000)
    stop.set()
    port.close()
    return out


def _raw_mqtt_round_trip(port: int, n: int, mqtt, api, threading) -> list[float]:
    """paho publishes a rating-sized JSON; a second client answers on another topic."""
    got = threading.Event()
    a = mqtt.Client(api.VERSION2, client_id="bench-a")
    b = mqtt.Client(api.VERSION2, client_id="bench-b")
    a.on_message = lambda c, u, m: got.set()
    b.on_message = lambda c, u, m: b.publish("bench/back", m.payload, qos=1)
    from kioskd.drivers.mqttlink import no_nagle

    for c, topic in ((a, "bench/back"), (b, "bench/go")):
        # as kioskd's clients do: without TCP_NODELAY each small message waits ~40 ms
        c.on_connect = lambda client, *_: no_nagle(client)
        c.connect("127.0.0.1", port)
        c.subscribe(topic, qos=1)
        c.loop_start()
    time.sleep(0.5)  # subscriptions settle (a benchmark, not a test)
    payload = b'{"transaction": "0123456789abcdef", "level": 5, "reasons": [], "text": "", ' \
              b'"seal": "0123456789abcdef"}'
    out = []
    for _ in range(n):
        got.clear()
        t = time.perf_counter()
        a.publish("bench/go", payload, qos=1)
        got.wait(5)
        out.append((time.perf_counter() - t) * 1000)
    for c in (a, b):
        c.disconnect()
        c.loop_stop()
    return out
