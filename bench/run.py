"""Benchmarks: kioskd's figure beside the raw library doing the same work, and the ratio.

Run: make bench   (or .venv/bin/python bench/run.py [--n N]). Compare ratios from one run;
absolute figures on these machines are noisy (shared/baselines.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import serial


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, ours: list[float], raw: list[float], unit: str = "ms") -> None:
    o, r = statistics.median(ours), statistics.median(raw)
    p99 = lambda xs: sorted(xs)[int(len(xs) * 0.99) - 1]  # noqa: E731
    print(f"{name:<44} kioskd p50 {o:8.4f} {unit} p99 {p99(ours):8.4f} | raw p50 {r:8.4f} "
          f"p99 {p99(raw):8.4f} | ratio {o / r:5.2f}x")


def bench_journal(n: int, folder: Path) -> None:
    from kioskd.journal import Journal

    j = Journal(folder / "j.sqlite3", "bench")
    data = {"ticket": "A001", "category": "A", "category_name": "综合受理", "kiosk": "kiosk-1",
            "lane": None, "ahead": 3, "holder": "f" * 24, "day": "2026-11-24"}
    ours = timed(lambda: j.append([("ticket.issued", data)], "2026-11-24T09:00:00.000+08:00"), n)
    db = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, body TEXT)")
    body = "x" * 300

    def raw():
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(body) VALUES (?)", (body,))
        db.execute("COMMIT")
    report("journal append, 1 event per durable commit", ours, timed(raw, n))


def bench_queue_ops(n: int, folder: Path) -> None:
    """Durable queue operations (issue, call-next, finish: decide -> journal -> evolve, as the
    hall runs them) per second, beside raw SQLite inserts, one per durable commit, same settings."""
    from datetime import datetime, timedelta

    from kioskd import config
    from kioskd.engine import queue as q
    from kioskd.journal import Journal
    from kioskd.ledger import commit

    cfg = config.load(Path(__file__).resolve().parent.parent / "devices.toml")
    j = Journal(folder / "ops.sqlite3", "bench")
    now = datetime(2026, 11, 24, 9, 0, tzinfo=cfg.hall.tz)
    state = q.initial_state(cfg, now.date().isoformat())
    cmds = [q.IssueTicket("A", "kiosk-1"), q.WindowAction(1, "call-next"),
            q.WindowAction(1, "finish")]
    ops = n * len(cmds)
    t0 = time.perf_counter()
    for i in range(ops):
        at = now + timedelta(milliseconds=i)
        commit(state, j, q.decide(state, cmds[i % 3], at), at)
    ours = ops / (time.perf_counter() - t0)
    db = sqlite3.connect(folder / "raw-ops.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t(seq INTEGER PRIMARY KEY, body TEXT)")
    body = "x" * 300
    t0 = time.perf_counter()
    for _ in range(ops):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t(body) VALUES (?)", (body,))
        db.execute("COMMIT")
    raw = ops / (time.perf_counter() - t0)
    print(f"{'queue ops (issue/call/finish), durable':<44} kioskd {ours:8.0f} ops/s | raw insert "
          f"{raw:8.0f} /s | ratio {ours / raw:5.2f}x | a busy hall needs ~10 ops/s")


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
                   else await asyncio.to_thread(_raw_mqtt_round_trip, sim.device_broker.port, n,
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
    for c, topic in ((a, "bench/back"), (b, "bench/go")):
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


def _fill(journal, n: int) -> None:
    """n rows as a busy hall journals them, in commits of 1000 (the bench is not about them)."""
    data = {"device": "load", "type": "test", "state": "ready", "condition": "ok",
            "detail": "x" * 120}
    for i in range(0, n, 1000):
        journal.append([("device.state", data)] * min(1000, n - i),
                       "2026-12-01T09:00:00.000+08:00")


async def bench_backlog(n: int, folder: Path) -> None:
    """A hall back from an outage with n rows waiting: the uplink replays them (read from the
    journal, QoS 1, 20 on the wire) until the broker took all, and until central (`kioskd
    collect`, its own process as in a city) acknowledged all; beside raw paho publishing the
    same payloads on the same broker, QoS 1, 20 in flight, until the last PUBACK, while the
    same central takes them. Beyond 10,000 rows the hall waits for central's acks (AHEAD)."""
    import subprocess
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kioskd.config import UplinkConfig
    from kioskd.journal import Journal
    from kioskd.sim.broker import Mosquitto
    from kioskd.uplink.mqtt import Uplink
    from kioskd.watch import Watch

    broker = Mosquitto(folder / "bl-broker")
    await broker.start()
    try:
        journal = Journal(folder / "bl.sqlite3", "bench-hall")
        _fill(journal, n)
        payloads = [e.to_json().replace('"hall":"bench-hall"', '"hall":"bench-raw"')
                    for e in journal.read(limit=n)]
        central = subprocess.Popen(
            [sys.executable, "-m", "kioskd", "collect", "--broker", broker.url, "--db",
             str(folder / "bl-central.sqlite3"), "--group", "bench"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await asyncio.to_thread(_until_central_listens, broker.port, mqtt, CallbackAPIVersion)
        watch = Watch()
        up = Uplink(UplinkConfig(broker.url, "127.0.0.1", broker.port), "bench-hall", journal,
                    watch.changed)
        t0 = time.perf_counter()
        await up.start()
        while not (up._sent_upto == n and not up._inflight):  # every PUBACK is in
            await asyncio.sleep(0.001)
        sent = time.perf_counter() - t0
        await watch.until(lambda: journal.backlog() == 0, 300, "central acknowledged all")
        acked = time.perf_counter() - t0
        await up.stop()
        journal.close()

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw")
        c.max_inflight_messages_set(20)
        done = threading.Event()
        count = [0]

        def on_publish(*_):
            count[0] += 1
            if count[0] == n:
                done.set()
        c.on_publish = on_publish
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        t0 = time.perf_counter()
        for p in payloads:
            c.publish("kioskd/v1/bench-raw/event/device.state", p, qos=1)
        await asyncio.to_thread(done.wait, 300)
        raw = time.perf_counter() - t0
        c.disconnect()
        c.loop_stop()
        central.terminate()
        central.wait()
    finally:
        await broker.stop()
    print(f"{'backlog replay, ' + str(n) + ' rows, broker took all':<44} kioskd {n / sent:8.0f} "
          f"ev/s | raw paho {n / raw:8.0f} ev/s | ratio {raw / sent:5.2f}x")
    print(f"{'  ... and central acknowledged all':<44} kioskd {n / acked:8.0f} ev/s "
          f"({acked:.2f} s)")


def _until_central_listens(port: int, mqtt, api) -> None:
    """A probe row published until central acknowledges it: then its subscription exists."""
    import json
    import threading

    acked = threading.Event()
    c = mqtt.Client(api.VERSION2, client_id="bench-probe")
    c.on_message = lambda *a: acked.set()
    c.connect("127.0.0.1", port)
    c.subscribe("kioskd/v1/bench-probe/ack", qos=1)
    c.loop_start()
    env = {"v": 1, "hall": "bench-probe", "seq": 1, "id": "p", "ts": "t", "type": "probe",
           "data": {}, "prev": ""}
    try:
        for _ in range(100):
            c.publish("kioskd/v1/bench-probe/event/probe", json.dumps(env), qos=1)
            if acked.wait(0.2):
                return
        raise RuntimeError("central (kioskd collect) never acknowledged the probe")
    finally:
        c.disconnect()
        c.loop_stop()


def bench_backlog_memory(n: int, folder: Path) -> None:
    """The daemon's resident memory with n events waiting (broker unreachable), beside the same
    daemon with an empty journal: the backlog stays on disk, not in memory."""
    import subprocess

    from kioskd.journal import Journal
    from kioskd.sim.broker import free_port

    def rss_of_daemon(state: Path) -> int:
        cfg = folder / "mem.toml"
        cfg.write_text(f'[hall]\nid = "bench-hall"\nname = "x"\n[uplink]\n'
                       f'url = "mqtt://127.0.0.1:{free_port()}"\n[api]\n'
                       f'listen = "127.0.0.1:{free_port()}"\n[[category]]\ncode = "A"\n'
                       f'name = "A"\n[[window]]\nnumber = 1\ncategories = ["A"]\n')
        proc = subprocess.Popen([sys.executable, "-m", "kioskd", "run", "-c", str(cfg)],
                                env={**os.environ, "STATE_DIRECTORY": str(state)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for line in proc.stderr:
                if b"no connection to broker" in line:  # started, and the uplink tried
                    break
            status = Path(f"/proc/{proc.pid}/status").read_text()
            return int(next(ln for ln in status.splitlines()
                            if ln.startswith("VmRSS")).split()[1])
        finally:
            proc.terminate()
            proc.wait()
    empty = rss_of_daemon(folder / "mem-empty")
    j = Journal(folder / "mem-full" / "journal.sqlite3", "bench-hall")
    _fill(j, n)
    j.close()
    full = rss_of_daemon(folder / "mem-full")
    print(f"{'daemon RSS, ' + str(n) + ' events waiting':<44} kioskd {full / 1024:8.1f} MiB | "
          f"empty journal {empty / 1024:8.1f} MiB | ratio {full / empty:5.2f}x")


def _calls_hall(windows: int) -> str:
    """A hall of `windows` windows, each with a BX window board over TCP, and a hall board."""
    lines = ['[hall]', 'id = "bench-hall"', 'name = "压测大厅"', '[uplink]',
             'url = "mqtt://127.0.0.1:1883"', '[voice]', 'output = "wav"',
             '[[category]]', 'code = "A"', 'name = "综合受理"', 'daily_quota = 100000']
    for w in range(1, windows + 1):
        lines += ['[[window]]', f'number = {w}', 'categories = ["A"]']
        lines += ['[[device]]', f'id = "board-w{w}"', 'type = "board.bx"', f'window = {w}',
                  f'url = "tcp://127.0.0.1:{10000 + w}"']  # the twin's port replaces it
    lines += ['[[device]]', 'id = "board-hall"', 'type = "board.bx"', 'hall = true',
              'url = "tcp://127.0.0.1:10000"', 'calls = 5', 'notice = "欢迎"']
    return "\n".join(lines) + "\n"


async def bench_calls(n: int, folder: Path, windows: int = 100) -> None:
    """From a window's call (the engine's command) to its board's frame arriving at the board
    twin (journaled, effect run, BX frame encoded, written, CRC-checked by the twin) and to the
    announcement queued; one window calling alone, then `windows` windows calling at once.
    Beside the raw work: a SQLite commit and the same BX frame written on a TCP socket. The
    speaker is stopped, so espeak-ng's synthesis (seconds a call, tests/hall/test_voice.py) does not
    share the two cores with what is measured."""
    from kioskd import config
    from kioskd.drivers.board import bx
    from kioskd.engine import queue
    from kioskd.sim.hall import SimHall

    path = folder / "calls.toml"
    path.write_text(_calls_hall(windows), encoding="utf-8")
    sim = SimHall(config.load(path), folder / "calls-hall", api_port=0)
    hall = await sim.start()
    try:
        await hall.watch.until(lambda: all(s.state.state == "ready"
                                           for s in hall.supervisors.values()), 30, "ready")
        for t in hall._tasks:
            if t.get_name() == "voice":
                t.cancel()
        queued: dict[int, float] = {}
        real_call = hall.announcer.call

        def call(ticket, window, recall=False):
            queued[window] = time.perf_counter()
            return real_call(ticket, window, recall)
        hall.announcer.call = call
        shown: dict[int, float] = {}
        for w in range(1, windows + 1):
            twin = sim.twin(f"board-w{w}")
            # the moment the twin has decoded the text (CRC checked): not any byte, as a ping's
            twin._shown = (lambda rows, replace, w=w, old=twin._shown:
                           (shown.setdefault(w, time.perf_counter()), old(rows, replace))[1])
        hall_twin = sim.twin("board-hall")

        async def round_of(ws: list[int]) -> tuple[list[float], list[float]]:
            for _ in ws:
                await hall.execute(queue.IssueTicket("A"))
            shown.clear()
            queued.clear()
            t0 = time.perf_counter()
            await asyncio.gather(*(hall.execute(queue.WindowAction(w, "call-next")) for w in ws))
            # each call's execute waited for its board's answer: every text has arrived
            assert len(shown) == len(ws), (len(shown), len(ws))
            for w in ws:
                await hall.execute(queue.WindowAction(w, "skip"))
            return ([(shown[w] - t0) * 1000 for w in ws], [(queued[w] - t0) * 1000 for w in ws])

        board1, voice1 = [], []
        for _ in range(n):
            b, v = await round_of([1])
            board1 += b
            voice1 += v
        frame = bx.request(bx.DYNAMIC_TEXT, bx.dynamic_text("A001 请到1号窗口".encode("gb2312")))
        raw = await _raw_tcp_frame(n, frame, folder / "raw-calls.sqlite3")
        report("call -> window board frame (1 window)", board1, raw)
        report("call -> announcement queued (1 window)", voice1, raw)
        boardn, voicen = [], []
        hall_frames = len(hall_twin.history)
        rounds = max(n // 20, 3)
        for _ in range(rounds):
            b, v = await round_of(list(range(1, windows + 1)))
            boardn += b
            voicen += v
        raw = await _raw_tcp_frame(rounds, frame, folder / "raw-calls.sqlite3", windows)
        report(f"call -> window board frame ({windows} at once)", boardn, raw)
        report(f"call -> announcement queued ({windows} at once)", voicen, raw)
        print(f"{'':<44} hall board: {len(hall_twin.history) - hall_frames} frames for "
              f"{rounds * windows * 2} queue changes ({rounds} bursts of {windows} calls and "
              f"{windows} skips), coalesced")
    finally:
        await sim.stop()


async def _raw_tcp_frame(n: int, frame: bytes, db: Path, burst: int = 1) -> list[float]:
    """The floor of a call: one SQLite row committed (WAL, synchronous=FULL, as the journal)
    and one BX frame written on asyncio streams to a peer that reads it whole; `burst` of them
    back to back, each timed from the burst's start."""
    got: asyncio.Queue = asyncio.Queue()

    async def peer(reader, writer):
        try:
            while await reader.readexactly(len(frame)):
                got.put_nowait(time.perf_counter())
        except asyncio.IncompleteReadError:
            writer.close()  # the bench is done with it

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS e (seq INTEGER PRIMARY KEY, data TEXT)")
    out = []
    for _ in range(n):
        t = time.perf_counter()
        for _ in range(burst):
            conn.execute("INSERT INTO e (data) VALUES (?)", ('{"ticket": "A001", "window": 1}',))
            conn.commit()
            writer.write(frame)
            await writer.drain()
        for _ in range(burst):
            out.append((await got.get() - t) * 1000)
    conn.close()
    writer.close()
    server.close()
    return out


async def _pages(n: int, folder: Path) -> None:
    from pages import bench_pages  # bench/pages.py: Chromium, when installed

    await bench_pages(n, folder, report)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--backlog", type=int, default=20_000, help="rows replayed after an outage")
    ap.add_argument("--only", help="run only the benchmarks whose name contains this")
    args = ap.parse_args()
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        print(f"kioskd benchmarks, n={args.n}, python {sys.version.split()[0]}")
        n = args.n
        runs = {
            "journal": lambda: bench_journal(n, folder),
            "queue": lambda: bench_queue_ops(n, folder),
            "ticket": lambda: bench_ticket(n),
            "sam": lambda: asyncio.run(bench_sam_read(min(n, 300), folder)),
            "usb": lambda: asyncio.run(bench_usb_read(min(n, 300), folder)),
            "card": lambda: asyncio.run(bench_card_event(min(n, 200), folder)),
            "camera": lambda: bench_camera(min(n, 100)),
            "rating": lambda: asyncio.run(bench_rating(min(n, 100), folder)),
            "calls": lambda: asyncio.run(bench_calls(min(n, 200), folder)),
            "backlog": lambda: asyncio.run(bench_backlog(args.backlog, folder)),
            "memory": lambda: bench_backlog_memory(100_000, folder),
            "pages": lambda: asyncio.run(_pages(min(n, 100), folder)),
        }
        for name, run in runs.items():
            if not args.only or args.only in name:
                run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
