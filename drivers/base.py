"""The one driver shape: a pure codec (bytes <-> frames) plus an async driver around a Link.

The supervisor owns the lifecycle (open -> identify -> run -> close, and reconnecting); a driver
never retries on its own and never exits on a transient fault: it raises, the supervisor decides.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Protocol

from kioskd.drivers.spec import DeviceConfig
from kioskd.drivers.transport import Link, open_link
from kioskd.drivers.usblink import UsbLink
from kioskd.errors import (DeviceAbsent, DeviceNotReady, DeviceTimeout, FrameError,
                           UnsupportedProtocol)
from kioskd.threadhop import on_loop

log = logging.getLogger("kioskd.drivers")


MISSES_BEFORE_FAULT = 3
TRACE_N = 100  # frames each driver keeps for the technician's raw view
TRACE_BYTES = 48  # bytes of a frame shown in hex; the rest is counted


@dataclass(frozen=True)
class Trace:
    """One exchange with the device, as the technician's raw view shows it (masked)."""

    at: float
    direction: str  # "out" (to the device) or "in"
    hex: str
    decoded: str


class NoFrames:
    """The codec of a driver whose library frames the wire itself (pyscard, pymodbus): it sees
    no bytes."""

    def feed(self, data: bytes) -> list[Any]:
        return []


class Codec(Protocol):
    def feed(self, data: bytes) -> list[Any]:
        """Take bytes as they come; return the complete frames in order. Bad input comes back
        as a FrameError item in the list (not raised), so the good frames around it survive."""


@dataclass(frozen=True)
class DeviceInput:
    """Something a device reports by itself (a card was read, a rating was pressed)."""

    device: str
    kind: str
    payload: Any


@dataclass
class Counters:
    frames_in: int = 0
    frames_out: int = 0
    errors: int = 0
    reconnects: int = 0
    last_error: str = ""


class Driver:
    default_timeout: ClassVar[float] = 1.0

    def __init__(self, cfg: DeviceConfig, emit: Callable[[DeviceInput], None]):
        self.cfg = cfg
        self.id = cfg.id
        self.type = cfg.type  # its family declares it: drivers/FAMILY/family.py
        self.emit = emit
        try:  # the family's table has the default (drivers/FAMILY/family.py)
            self.timeout = cfg.opt("timeout_ms") / 1000
        except KeyError:  # a type that asks its device nothing and waits for no answer
            self.timeout = self.default_timeout
        self.codec: Codec = self.make_codec()
        self.counters = Counters()
        self.ready = False
        self.on_stale: Callable[[bool, str], None] = lambda stale, detail: None
        # what the device says of itself while connected (a printer's paper): "ok" or a word
        self.condition = "ok"
        self.on_condition: Callable[[str, str], None] = lambda condition, detail: None
        self._link: Link | UsbLink | None = None
        self._reader: asyncio.Task | None = None
        self._pending: asyncio.Future | None = None
        self.awaiting: Any = None  # the txn of the request in flight, for is_reply to match
        self._lock = asyncio.Lock()
        self._misses = 0
        self.trace: collections.deque[Trace] = collections.deque(maxlen=TRACE_N)
        self._thread: threading.Thread | None = None  # run_in_thread's

    # --- what each device type provides ---------------------------------------------------
    def make_codec(self) -> Codec:
        raise NotImplementedError

    async def identify(self) -> str:
        """Talk to the device once to prove it is there; return a short description."""
        return ""

    async def poll(self) -> None:
        """Periodic work while ready (card polling, keep-alive). Return never, or raise."""
        await asyncio.Event().wait()

    def is_reply(self, frame: Any) -> bool:
        return True

    async def pause(self, delay: float) -> None:
        """The supervisor's wait before opening again; a device that can say it has arrived
        (a tablet's page connecting) ends it early."""
        await asyncio.sleep(delay)

    def on_frame(self, frame: Any) -> None:
        """A frame nobody asked for."""
        log.debug("%s: unsolicited frame ignored", self.id)

    # what the technician's raw view may show: devices that carry personal data override these
    def trace_hex(self, direction: str, data: bytes) -> str:
        more = f" … ({len(data)} bytes)" if len(data) > TRACE_BYTES else ""
        return data[:TRACE_BYTES].hex(" ") + more

    def describe_sent(self, data: bytes) -> str:
        return ""

    def describe_frame(self, frame: Any) -> str:
        text = repr(frame)
        return text if len(text) <= 120 else text[:117] + "..."

    def traced(self, direction: str, data: bytes, decoded: str = "") -> None:
        self.trace.append(Trace(time.time(), direction, self.trace_hex(direction, data), decoded))

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "test":  # every device: talk to it once, as at connect
            if not self.ready:
                raise DeviceNotReady(f"{self.id} is not ready")
            return {"answered": await self.identify(), "condition": self.condition}
        raise DeviceNotReady(f"{self.id}: no command {command!r}")

    # --- lifecycle, driven by the supervisor ----------------------------------------------
    async def connect(self) -> Link | UsbLink:
        """The wire to the device, by its url; networked devices (MQTT) override it."""
        return await open_link(self.cfg.url)

    async def open(self) -> None:
        self.codec = self.make_codec()  # no half frame survives a reconnect
        self._link = await self.connect()
        self._reader = asyncio.create_task(self._read_loop(), name=f"read:{self.id}")

    async def run(self) -> None:
        assert self._reader is not None
        poller = asyncio.create_task(self.poll(), name=f"poll:{self.id}")
        try:
            done, _ = await asyncio.wait({self._reader, poller},
                                         return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise DeviceAbsent(f"{self.id}: stopped")
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)

    async def close(self) -> None:
        self.ready = False
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._link:
            await self._link.close()
            self._link = None

    def set_condition(self, condition: str, detail: str) -> None:
        if condition != self.condition:
            self.condition = condition
            self.on_condition(condition, detail)

    def health(self) -> dict[str, Any]:
        c = self.counters
        return {"frames_in": c.frames_in, "frames_out": c.frames_out, "errors": c.errors,
                "reconnects": c.reconnects, "last_error": c.last_error}

    @property
    def awaiting_answer(self) -> bool:
        """A request was sent and its answer has not come (nor its time-out)."""
        return self._pending is not None and not self._pending.done()

    # --- helpers for drivers ----------------------------------------------------------------
    async def run_in_thread(self, work: Callable[[], None], name: str) -> None:
        """`work` (a blocking library's loop: OpenCV's frames, pcscd's waits) in a thread of
        its own, kept in `self._thread` so that close() can wait for it to let go of the
        device; what it raises is raised here, on the loop, and its end is DeviceAbsent."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future = loop.create_future()

        def body() -> None:
            error: BaseException | None = None
            try:
                work()
            except BaseException as exc:  # handed to the loop, which raises it
                error = exc

            def finish() -> None:
                if not done.done():
                    done.set_exception(error) if error else done.set_result(None)
            on_loop(loop, finish)

        self._thread = threading.Thread(target=body, name=f"{name} {self.id}", daemon=True)
        self._thread.start()
        await done
        raise DeviceAbsent(f"{self.id}: stopped")

    async def probe(self, request: Awaitable[Any]) -> Any | None:
        """One periodic request (a poll, a keep-alive). A miss marks the device stale and gives
        None; an answer after misses marks it ready again; MISSES_BEFORE_FAULT misses in a row
        raise, and the supervisor reconnects."""
        try:
            answer = await request
        except DeviceTimeout as exc:
            self._misses += 1
            if self._misses >= MISSES_BEFORE_FAULT:
                raise
            self.on_stale(True, str(exc))
            return None
        if self._misses:
            self._misses = 0
            self.on_stale(False, "answering again")
        return answer

    async def send(self, data: bytes) -> None:
        if self._link is None:
            raise DeviceNotReady(f"{self.id} is not connected")
        self.counters.frames_out += 1
        self.traced("out", data, self.describe_sent(data))
        await self._link.write(data)

    async def transact(self, data: bytes, timeout: float | None = None, *, txn: Any = None) -> Any:
        """Send a request and wait for the frame that answers it; one at a time per device.
        `txn` is set (as `awaiting`) under the lock, so a request queued behind another cannot
        make the first one's answer look foreign to is_reply."""
        async with self._lock:
            self.awaiting = txn
            self._pending = asyncio.get_running_loop().create_future()
            try:
                await self.send(data)
                # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancel that arrives
                # as the answer does, and the supervisor could then never stop this driver
                async with asyncio.timeout(timeout or self.timeout):
                    return await self._pending
            except TimeoutError:
                raise DeviceTimeout(f"{self.id}: no answer within {timeout or self.timeout:.1f} s") from None
            finally:
                self._pending = None

    async def _read_loop(self) -> None:
        assert self._link is not None
        try:
            while True:
                data = await self._link.read()
                frames = self.codec.feed(data)
                self.traced("in", data, "; ".join(
                    f"{f.code}: {f}" if isinstance(f, FrameError) else self.describe_frame(f)
                    for f in frames))
                for frame in frames:
                    if isinstance(frame, FrameError):
                        self.counters.errors += 1
                        self.counters.last_error = f"{frame.code}: {frame}"
                        log.warning("%s: %s (%s); resynchronised", self.id, frame, frame.code)
                        pending = self._pending
                        if isinstance(frame, UnsupportedProtocol) and pending is not None \
                                and not pending.done():
                            pending.set_exception(frame)  # no answer will ever come
                        continue
                    self.counters.frames_in += 1
                    pending = self._pending
                    if pending is not None and not pending.done() and self.is_reply(frame):
                        pending.set_result(frame)
                    else:
                        self.on_frame(frame)
        except DeviceAbsent as exc:
            if self._pending is not None and not self._pending.done():
                self._pending.set_exception(exc)
            raise
