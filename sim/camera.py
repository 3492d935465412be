"""Document-camera twin: a generated video that the driver opens through the same OpenCV capture
path as a real camera (file://). Pages with Chinese text and QR codes lie on a base plate,
turned and seen in perspective; each is held still, then moved away for the next.

The twin knows the truth of every still period (the page's true corners, its QR text), so
tests can check the crop and the decode against it.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kioskd.config import DeviceConfig
from kioskd.sim import glyphs

FPS = 10


@dataclass(frozen=True)
class StillPage:
    start: float  # seconds into the video
    end: float
    corners: np.ndarray  # 4x2: the page's true corners, tl tr br bl
    qr: str


def document(title: str, qr_text: str, size: tuple[int, int] = (420, 594)) -> np.ndarray:
    """An A4-proportioned page (BGR): a Chinese heading, lines of text, a QR of `qr_text`."""
    import qrcode
    from PIL import Image, ImageDraw

    w, h = size
    page = Image.new("RGB", (w, h), (250, 250, 246))
    draw = ImageDraw.Draw(page)
    glyphs.draw_text(draw, (30, 24), title, 26, (20, 20, 20))
    for i, line in enumerate(["申请人：张*三", "事项：不动产登记", "材料：身份证复印件一份",
                              "经办窗口：1号窗口", "日期：2026年11月24日"]):
        glyphs.draw_text(draw, (30, 80 + 26 * i), line, 15, (40, 40, 40))
    code = qrcode.QRCode(box_size=5, border=2)
    code.add_data(qr_text.encode("utf-8"))
    img = code.make_image().get_image().convert("RGB")
    page.paste(img, (w - img.width - 24, h - img.height - 24))
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def quad(center: tuple[float, float], size: tuple[float, float], angle_deg: float,
         tilt: float = 0.0) -> np.ndarray:
    """Corners tl tr br bl of a page of `size` at `center`, turned by `angle_deg`, its top edge
    shortened by `tilt` (a camera that is not straight above it)."""
    w, h = size
    pts = np.array([[-w / 2 * (1 - tilt), -h / 2], [w / 2 * (1 - tilt), -h / 2],
                    [w / 2, h / 2], [-w / 2, h / 2]])
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (pts @ rot.T + np.array(center)).astype(np.float32)


def scene(page: np.ndarray | None, corners: np.ndarray | None, frame: tuple[int, int],
          rng: np.random.Generator) -> np.ndarray:
    """A frame: dark desk, a larger grey base plate, the page warped onto `corners`, noise."""
    fw, fh = frame
    img = np.full((fh, fw, 3), 45, np.uint8)
    m = int(min(fw, fh) * 0.06)
    cv2.rectangle(img, (m, m), (fw - m, fh - m), (105, 110, 110), -1)  # the camera's base plate
    if page is not None and corners is not None:
        ph, pw = page.shape[:2]
        src = np.array([[0, 0], [pw - 1, 0], [pw - 1, ph - 1], [0, ph - 1]], np.float32)
        mtx = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
        warped = cv2.warpPerspective(page, mtx, (fw, fh))
        mask = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), mtx, (fw, fh))
        img[mask > 127] = warped[mask > 127]
    noise = rng.normal(0, 2.0, img.shape)  # sensor noise: still frames are never identical
    return np.clip(img + noise, 0, 255).astype(np.uint8)


@dataclass
class Script:
    """What the video shows: for each page, a move in, a still hold, a move out."""

    frame: tuple[int, int] = (1280, 960)
    pages: list[tuple[str, str, float]] = field(default_factory=lambda: [
        ("不动产登记申请表", "预约号：YY20261124-0001 张*三 不动产登记", -12.0),
        ("社会保障卡申领表", "https://zwfw.example.cn/材料/0002?窗口=1", 23.0),
    ])
    still_s: float = 1.2
    move_s: float = 0.6
    black: bool = False


def plan(script: Script, fps: int = FPS) -> tuple[list[tuple[int, np.ndarray | None]], list[StillPage]]:
    """Every frame as (page index or -1, the page's corners or None), and the truth of each
    still period; no pixels yet."""
    fw, fh = script.frame
    page_h = fh * 0.7
    size = (page_h * 420 / 594, page_h)
    frames: list[tuple[int, np.ndarray | None]] = [(-1, None)]
    truth: list[StillPage] = []
    steps = max(2, int(script.move_s * fps))
    for i, (_title, qr_text, angle) in enumerate(script.pages):
        rest = quad((fw / 2, fh / 2), size, angle, tilt=0.06)
        for k in range(steps):  # slides in from the right
            frames.append((i, rest + np.array([(1 - (k + 1) / steps) * fw * 0.8, 0], np.float32)))
        start = len(frames) / fps
        frames += [(i, rest)] * int(script.still_s * fps)
        truth.append(StillPage(start, len(frames) / fps, rest, qr_text))
        for k in range(steps):  # and out to the left
            frames.append((i, rest - np.array([(k + 1) / steps * fw * 0.8, 0], np.float32)))
    frames.append((-1, None))
    return frames, truth


def write_video(path: Path, script: Script, fps: int = FPS) -> list[StillPage]:
    frames, truth = plan(script, fps)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, script.frame)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    rng = np.random.default_rng(7)
    docs = [document(title, qr) for title, qr, _ in script.pages]
    for i, corners in frames:
        img = scene(docs[i] if i >= 0 else None, corners, script.frame, rng)
        writer.write(np.zeros_like(img) if script.black else img)
    writer.release()
    return truth


def cached_video(script: Script) -> tuple[Path, list[StillPage]]:
    """Each script's video is made once (a few seconds) and shared by every simulated hall
    after that, in $KIOSKD_SIM_CACHE (the tests: one folder a session) or the temp folder;
    keyed by the code that draws it and the font it draws with, so a changed twin never reuses
    an old video."""
    source = Path(__file__).read_bytes() + Path(glyphs.__file__).read_bytes()
    key = hashlib.sha256(source + repr((script, glyphs.cjk_font_path())).encode()).hexdigest()[:16]
    folder = Path(os.environ.get("KIOSKD_SIM_CACHE") or tempfile.gettempdir()) / "kioskd-sim-video"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.avi"
    if not path.exists():
        tmp = folder / f"{key}.{os.getpid()}.avi"
        write_video(tmp, script)
        tmp.replace(path)
    return path, plan(script)[1]


class CameraTwin:
    """`url` is file://…avi; `sim = {frame = [w, h], black = true}` in devices.toml scripts
    the faults of a camera that ignores the size asked for, or delivers black frames."""

    def __init__(self, dev: DeviceConfig, link: Path):
        self.dev = dev
        self.path = Path(link).with_suffix(".avi")
        opts = dev.sim or {}
        self.script = Script(frame=tuple(opts.get("frame", (1280, 960))),
                             black=bool(opts.get("black", False)))
        self.truth: list[StillPage] = []

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    async def start(self) -> None:
        import asyncio

        self.path.parent.mkdir(parents=True, exist_ok=True)
        video, self.truth = await asyncio.to_thread(cached_video, self.script)
        tmp = self.path.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(video)
        tmp.replace(self.path)

    async def stop(self) -> None:
        pass

    async def unplug(self) -> None:
        self.path.unlink(missing_ok=True)

    async def plug(self) -> None:
        await self.start()
