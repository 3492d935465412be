"""Barcode guns: the line codec and the HID key decoder (from recorded key events), a fuzz of
both, the serial gun twin checking an appointment in at the kiosk, the HID driver's whole read
path on the kernel's event bytes (everywhere), and the uinput gun where the kernel offers
uinput."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import os
import struct
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kioskd.drivers.scanner.codes import (KEY_DOWN, KEY_UP, MAX_CODE, KeyDecoder, LineCodec,
                                          Scan, key_events)
from kioskd.engine import queue as q
from kioskd.errors import FrameError, FrameTooLong
from kioskd.sim.scanner import uinput_usable


def scans(items):
    return [(s.code, s.symbology) for s in items if isinstance(s, Scan)]


@pytest.mark.parametrize("wire,expected", [
    (b"YY0001\r\n", [("YY0001", None)]),
    (b"A\rB\nC\r\n", [("A", None), ("B", None), ("C", None)]),
    ("预约YY0003\n".encode("utf-8"), [("预约YY0003", None)]),
    (b"]Q1YY0004\r\n", [("YY0004", "qr")]),
    (b"]C0123\r\n]E04006381333931\r\n", [("123", "code128"), ("4006381333931", "ean-upc")]),
])
def test_line_codec_whole_and_byte_by_byte(wire, expected):
    assert scans(LineCodec(aim=True).feed(wire)) == expected
    codec, out = LineCodec(aim=True), []
    for i in range(len(wire)):
        out += codec.feed(wire[i:i + 1])
    assert scans(out) == expected


def test_gb18030_gun():
    wire = "预约YY0002\r".encode("gb18030")
    assert scans(LineCodec(encoding="gb18030").feed(wire)) == [("预约YY0002", None)]


def test_line_codec_drops_an_overlong_line_and_reads_the_next():
    codec = LineCodec()
    out = codec.feed(b"x" * (MAX_CODE + 10)) + codec.feed(b"yyy\r\nOK\r\n")
    assert any(isinstance(i, FrameTooLong) for i in out) and scans(out) == [("OK", None)]


RECORDED = [  # evdev (code, value) from a gun typing "Ab-1" Enter, with autorepeat noise
    (42, KEY_DOWN), (30, KEY_DOWN), (30, KEY_UP), (42, KEY_UP), (48, KEY_DOWN), (48, 2),
    (48, KEY_UP), (12, KEY_DOWN), (12, KEY_UP), (2, KEY_DOWN), (2, KEY_UP), (28, KEY_DOWN),
    (28, KEY_UP)]


def test_key_decoder_from_recorded_events():
    d = KeyDecoder()
    out = [x for code, value in RECORDED for x in d.feed(code, value, 0.0)]
    assert scans(out) == [("Ab-1", None)]
    assert key_events("Ab-1") == [e for e in RECORDED if e[1] != 2]


def test_key_decoder_pause_max_length_and_aim():
    d = KeyDecoder(gap=0.2, max_len=6, aim=True)
    feed = lambda events, t: [x for c, v in events for x in d.feed(c, v, t)]  # noqa: E731
    out = feed(key_events("12", enter=False), 0.0) + feed(key_events("]Q1YY1"), 1.0)
    assert isinstance(out[0], FrameError) and scans(out) == [("YY1", "qr")]
    out = feed(key_events("1234567"), 2.0)
    assert isinstance(out[0], FrameTooLong) and scans(out) == []
    assert scans(feed(key_events("OK"), 2.1)) == [("OK", None)]


@given(st.binary(max_size=3000), st.integers(1, 97))
def test_line_codec_fuzz(data, step):
    codec = LineCodec()
    for i in range(0, len(data), step):
        codec.feed(data[i:i + step])
        assert len(codec._buf) <= MAX_CODE + step
    assert scans(codec.feed(b"\r\nGOOD\r\n"))[-1] == ("GOOD", None)


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 2)), max_size=300))
def test_key_decoder_fuzz(events):
    d = KeyDecoder()
    for code, value in events:
        d.feed(code, value, 0.0)
    d.feed(42, KEY_UP, 0.0)  # whatever shift state the noise left
    d.feed(42, KEY_UP, 0.0)
    d.feed(28, KEY_DOWN, 0.0)  # end whatever the noise typed
    out = [x for c, v in key_events("GOOD") for x in d.feed(c, v, 0.0)]
    assert scans(out)[-1] == ("GOOD", None)


async def test_appointment_qr_at_the_kiosk_checks_in_and_prints(sim):
    hall = sim.hall
    now = hall.now()
    await hall.execute(q.LoadAppointments("v1", ({
        "code": "YY0100", "category": "C", "start": (now + timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(minutes=35)).isoformat()},)))
    gun, printer = sim.twin("scanner-k1"), sim.twin("printer-k1")
    gun.scan("YY0100", aim="]Q1")
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_notices, 5, "the scan's outcome")
    assert hall.kiosk_notices["kiosk-1"]["ticket"] == "C001"
    await printer.watch.until(lambda: printer.tickets, 5, "the ticket printed")
    assert "C001" in printer.tickets[-1].big
    del hall.kiosk_notices["kiosk-1"]
    gun.scan("YY0100", aim="]Q1")  # the same QR again
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_notices, 5, "the second scan")
    assert hall.kiosk_notices["kiosk-1"]["error"] == "appointment.used"
    assert hall.kiosk_notices["kiosk-1"]["words"] == "此预约已签到，请勿重复取号"


@pytest.mark.skipif(uinput_usable() is not None, reason=f"uinput gun: {uinput_usable()}; the "
                    "HID driver ran on the kernel's event bytes instead (test_hid_gun_*)")
async def test_uinput_gun_is_grabbed_and_read(tmp_path):
    import dataclasses

    from kioskd import config
    from kioskd.drivers.scanner.driver import HidScannerDriver
    from kioskd.drivers.supervisor import Supervisor
    from kioskd.sim.scanner import HidScannerTwin
    from kioskd.watch import Watch

    dev = config.DeviceConfig("gun", "scanner.hid", config.Endpoint("evdev"), window=1)
    twin = HidScannerTwin(dev, tmp_path)
    await twin.start()
    got, watch = [], Watch()
    drv = HidScannerDriver(dataclasses.replace(dev, url=config.parse_endpoint(
        twin.url, ("evdev",))), lambda inp: (got.append(inp.payload), watch.changed()))
    sup = Supervisor(drv, lambda st: watch.changed())
    import asyncio
    task = asyncio.create_task(sup.run_forever())
    try:
        await watch.until(lambda: sup.state.state == "ready", 5, "grabbed")
        twin.scan("YY0200")
        await watch.until(lambda: got, 5, "the code")
        assert got[-1].code == "YY0200"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await twin.stop()


# --- scanner.hid on the kernel's event bytes, where there is no uinput ---------------------------
EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit Linux: timeval, type, code, value


class PipeGun:
    """Stands in for python-evdev's InputDevice, which needs a kernel event device (a mock is
    the only way where /dev/uinput is missing, as in CI): the test writes `struct input_event`
    records, the bytes a gun's /dev/input/eventN gives, into a pipe; they come out as evdev's own
    InputEvent objects. The pipe's end closing is the gun pulled out (ENODEV, as the kernel)."""

    pipes: dict[str, int] = {}  # path -> the read end the test made
    busy: set[str] = set()  # paths another program has grabbed
    grabs: list[str] = []

    def __init__(self, path: str):
        if path not in self.pipes:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.path, self.name, self._fd = path, "PipeGun 2D scanner", self.pipes[path]

    def grab(self) -> None:
        if self.path in self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.grabs.append(self.path)

    def ungrab(self) -> None:
        self.grabs.remove(self.path)

    def close(self) -> None:
        pass  # the test owns the pipe

    async def async_read_loop(self):
        from evdev import InputEvent

        loop, buf = asyncio.get_running_loop(), b""
        while True:
            ready = loop.create_future()
            loop.add_reader(self._fd, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_reader(self._fd)
            data = os.read(self._fd, 4096)
            if not data:
                raise OSError(errno.ENODEV, "No such device")
            buf += data
            while len(buf) >= EVENT.size:
                yield InputEvent(*EVENT.unpack_from(buf))
                buf = buf[EVENT.size:]


def kernel_bytes(text: str, t0: float = 1_700_000_000.0) -> bytes:
    """What the kernel writes for a gun typing `text` and Enter: a key event and a SYN_REPORT
    each, 4 ms apart."""
    out = b""
    for i, (code, value) in enumerate(key_events(text)):
        sec, usec = divmod(int((t0 + i * 0.004) * 1e6), 1_000_000)
        out += EVENT.pack(sec, usec, 1, code, value) + EVENT.pack(sec, usec, 0, 0, 0)
    return out


@pytest.fixture
def pipe_gun(monkeypatch, tmp_path):
    from kioskd import config
    from kioskd.drivers.scanner.driver import HidScannerDriver
    from kioskd.drivers.supervisor import Backoff, Supervisor
    from kioskd.watch import Watch

    monkeypatch.setattr(HidScannerDriver, "input_device", staticmethod(PipeGun))
    r, w = os.pipe()
    os.set_blocking(r, False)
    path = str(tmp_path / "event7")
    PipeGun.pipes[path] = r
    dev = config.DeviceConfig("gun", "scanner.hid", config.parse_endpoint(
        f"evdev://{path}", ("evdev",)), window=1, options={"aim": True})
    got, states, watch = [], [], Watch()
    drv = HidScannerDriver(dev, lambda inp: (got.append(inp.payload), watch.changed()))
    sup = Supervisor(drv, lambda st: (states.append(st), watch.changed()),
                     Backoff(first=0.05, cap=0.2))
    yield dataclasses.make_dataclass("Gun", ["w", "path", "got", "states", "watch", "sup"])(
        w, path, got, states, watch, sup)
    PipeGun.pipes.pop(path, None)
    PipeGun.busy.discard(path)
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


async def test_hid_gun_is_grabbed_read_and_reported_gone(pipe_gun):
    g = pipe_gun
    task = asyncio.create_task(g.sup.run_forever())
    try:
        await g.watch.until(lambda: g.sup.state.state == "ready", 5, "grabbed")
        assert PipeGun.grabs == [g.path]  # exclusively: its keys type into no console
        os.write(g.w, kernel_bytes("]Q1YY0300"))
        os.write(g.w, kernel_bytes("A-1")[:EVENT.size * 3])  # half a code, then the rest
        os.write(g.w, kernel_bytes("A-1")[EVENT.size * 3:])
        await g.watch.until(lambda: len(g.got) == 2, 5, "both codes")
        assert [(s.code, s.symbology) for s in g.got] == [("YY0300", "qr"), ("A-1", None)]
        os.close(g.w)  # pulled out
        await g.watch.until(lambda: g.states[-1].state == "absent", 5, "gone")
        assert "No such device" in g.states[-1].detail and PipeGun.grabs == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_hid_gun_another_program_holds_is_a_fault_in_words(pipe_gun):
    g = pipe_gun
    PipeGun.busy.add(g.path)
    task = asyncio.create_task(g.sup.run_forever())
    try:
        await g.watch.until(lambda: g.states and g.states[-1].state == "fault", 5, "refused")
        assert "another program holds the gun" in g.states[-1].detail
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
