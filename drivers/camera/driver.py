"""camera.uvc: a document camera (高拍仪) through OpenCV: v4l2:///dev/video0, v4l2://0, or
file:///path/video.avi (a recorded or generated video, read through the same capture path).

One thread reads frames (OpenCV blocks); it watches for a still page, captures it once per
still period (crop, flatten, JPEG), and decodes codes on still frames. It hands results to the
event loop; the hall stores the files and records `scan.captured`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.camera import page as pages
from kioskd.drivers.camera.decode import make_decoder
from kioskd.drivers.camera.still import StillWatch, is_black, thumbnail
from kioskd.errors import DeviceAbsent, DeviceNotReady

log = logging.getLogger("kioskd.drivers.camera")

MAX_PIXELS = 2592 * 1944  # 5 MP: what document cameras deliver; more is refused, not tried
BLACK_FRAMES = 5  # in a row before the camera is reported as delivering black frames


@dataclass(frozen=True)
class Capture:
    """One page as captured: JPEG bytes (to the hall's store, never further)."""

    jpeg: bytes = field(repr=False)
    width: int
    height: int
    cropped: bool  # False: no page was found, the whole frame was kept
    auto: bool
    codes: int
    corners: tuple[tuple[float, float], ...] | None = None  # in frame pixels, when cropped


@dataclass(frozen=True)
class Settings:
    width: int
    height: int
    fourcc: str
    fps: float


def fourcc_text(value: float) -> str:
    v = int(value)
    return "".join(chr((v >> 8 * i) & 0xFF) for i in range(4)).strip("\x00") or "?"


class CameraDriver(Driver):

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._cap: Any = None
        self._stop = threading.Event()
        self._manual = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.settings: Settings | None = None
        self.asked: tuple[int, int] = (0, 0)
        self._settled = ("ok", "")  # the condition identify() found, to return to after a fault
        self.frames = 0

    def make_codec(self) -> None:
        return None

    # --- opening: ask, then read back what the camera really does ------------------------------
    def _source(self) -> tuple[Any, int | None]:
        import cv2

        ep = self.cfg.url
        if ep.scheme == "file":
            if not Path(ep.path).is_file():
                raise DeviceAbsent(f"{ep}: no such file")
            return ep.path, None
        if ep.path.isdigit():
            return int(ep.path), cv2.CAP_V4L2
        if not Path(ep.path).exists():
            raise DeviceAbsent(f"{ep}: no such device (is the camera plugged in?)")
        return ep.path, cv2.CAP_V4L2

    def _open_capture(self) -> None:
        import cv2

        source, api = self._source()
        cap = cv2.VideoCapture(source) if api is None else cv2.VideoCapture(source, api)
        if not cap.isOpened():
            raise DeviceAbsent(f"{self.cfg.url}: OpenCV could not open it")
        w, h = self.cfg.opt("width"), self.cfg.opt("height")
        self.asked = (w, h)
        # MJPG first: many UVC cameras offer their large sizes only compressed, and a size
        # asked for before the format is silently cut down to what YUYV can carry over USB 2
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise DeviceAbsent(f"{self.cfg.url}: opened, but gives no frames")
        # the properties are what the driver claims; the frame is what it does
        self.settings = Settings(frame.shape[1], frame.shape[0],
                                 fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)),
                                 cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if self.cfg.url.scheme == "file":
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        self._cap = cap

    async def open(self) -> None:
        self._stop.clear()
        await asyncio.to_thread(self._open_capture)

    async def identify(self) -> str:
        s = self.settings
        assert s is not None
        desc = f"{s.width}x{s.height} {s.fourcc} {s.fps:.0f} fps"
        if s.width * s.height > MAX_PIXELS:
            raise DeviceNotReady(f"{self.id}: {desc} is over 5 MP; set width/height lower")
        if (s.width, s.height) != self.asked:
            detail = (f"asked {self.asked[0]}x{self.asked[1]} MJPG, delivers {desc}: the "
                      "camera ignored the request (captures are at the size it delivers)")
            log.warning("%s: %s", self.id, detail)
            self._settled = ("settings_ignored", detail)
        else:
            self._settled = ("ok", desc)
        self.set_condition(*self._settled)
        return self._settled[1]

    # --- the frame loop ------------------------------------------------------------------------
    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.run_in_thread(self._frames, "camera")

    def _hand(self, fn, *args: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            self._stop.set()

    def _frames(self) -> None:
        import cv2

        from_file = self.cfg.url.scheme == "file"
        pace = from_file and self.cfg.opt("pace")
        loop_file = self.cfg.opt("loop")
        decoder = make_decoder(self.cfg.opt("decoder"))
        watch = StillWatch(self.cfg.opt("still_ms") / 1000)
        auto = self.cfg.opt("auto_capture")
        black = 0
        seen: set[str] = set()  # codes already reported in this still period
        started = time.monotonic()
        cap = self._cap
        while not self._stop.is_set():
            ok, frame = cap.read()
            if not ok:
                if from_file and loop_file:
                    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    started = time.monotonic()
                    watch = StillWatch(watch.still_s)
                    continue
                if from_file:
                    self._stop.wait()  # the recording is over: an idle camera
                    return
                raise DeviceAbsent(f"{self.cfg.url}: the camera stopped delivering frames")
            self.frames += 1
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000 if from_file else time.monotonic()
            if pace:
                self._stop.wait(max(0.0, started + t - time.monotonic()))
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            thumb = thumbnail(gray)
            if is_black(thumb):
                black += 1
                if black == BLACK_FRAMES:
                    self._hand(self.set_condition, "black_frames",
                               "black frames: lens covered, lamp off or sensor failed")
                continue
            if black >= BLACK_FRAMES:  # frames have content again
                self._hand(self.set_condition, *self._settled)
            black = 0
            state = watch.feed(t, thumb)
            if state == "moving":
                seen.clear()
            elif state in ("still", "capture") or self._manual.is_set():
                codes = decoder.decode(gray) if len(seen) < 4 else []
                for code in codes:
                    if code.code not in seen:
                        seen.add(code.code)
                        self._hand(self.emit, DeviceInput(self.id, "code", code))
                if (state == "capture" and auto) or self._manual.is_set():
                    manual = self._manual.is_set()
                    self._manual.clear()
                    self._capture(frame, gray, len(codes), auto=not manual)

    def _capture(self, frame, gray, codes: int, auto: bool) -> None:
        import cv2

        found = pages.find_page(gray)
        if found is None and auto:
            return  # a still base plate with nothing on it
        img = pages.flatten(frame, found) if found else frame
        ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY,
                                              self.cfg.opt("jpeg_quality")])
        if not ok:
            log.error("%s: JPEG encoding failed", self.id)
            return
        corners = tuple((float(x), float(y)) for x, y in found.corners) if found else None
        cap = Capture(jpeg.tobytes(), img.shape[1], img.shape[0], found is not None, auto, codes,
                      corners)
        self._hand(self.emit, DeviceInput(self.id, "scan", cap))

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "capture":
            self._manual.set()  # the next frame is captured, page or not
            return {"requested": True}
        if command == "status":
            s = self.settings
            return {"condition": self.condition, "frames": self.frames,
                    "delivers": f"{s.width}x{s.height} {s.fourcc}" if s else None,
                    "asked": f"{self.asked[0]}x{self.asked[1]} MJPG"}
        return await super().handle(command, **args)

    async def close(self) -> None:
        self.ready = False
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5.0)
            self._thread = None
        if self._cap is not None:
            cap, self._cap = self._cap, None
            await asyncio.to_thread(cap.release)


__all__ = ["CameraDriver", "Capture"]
