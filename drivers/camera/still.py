"""When to capture: the page has been still for a while. Pure: frames in, decisions out.

Frames are compared as 160-px-wide grey thumbnails (about 0.1 ms each); sensor noise moves the
mean difference by ~1 level, a hand or a page sliding by tens. Time comes with each frame (the
camera's clock, or a video file's own), so a recorded video gives the same answer at any speed.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_W = 160
MOTION = 4.0  # mean absolute grey difference between thumbnails that counts as movement
BLACK = 12.0  # mean grey under which a frame is black (lens cap, dead sensor, lamp off)


def thumbnail(gray: np.ndarray) -> np.ndarray:
    scale = THUMB_W / gray.shape[1]
    return cv2.resize(gray, (THUMB_W, max(1, int(gray.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)


def is_black(thumb: np.ndarray) -> bool:
    return float(thumb.mean()) < BLACK


class StillWatch:
    """feed() says "moving", "settling" (still, not long enough), "still" (long enough: the
    first such frame of a still period says "capture" instead, once)."""

    def __init__(self, still_s: float = 0.8):
        self.still_s = still_s
        self._prev: np.ndarray | None = None
        self._since: float | None = None
        self._fired = False

    def feed(self, t: float, thumb: np.ndarray) -> str:
        prev, self._prev = self._prev, thumb
        if prev is None or prev.shape != thumb.shape:
            self._since = t
            return "settling"
        diff = float(cv2.absdiff(prev, thumb).mean())
        if diff > MOTION:
            self._since, self._fired = None, False
            return "moving"
        if self._since is None:
            self._since = t
        if t - self._since < self.still_s:
            return "settling"
        if not self._fired:
            self._fired = True
            return "capture"
        return "still"
