"""Finding the page in a document camera's frame and flattening it. Pure (numpy + OpenCV).

The page is looked for at a reduced scale (about 640 px on the long side, ~16 ms at 5 MP where
full scale took 29 ms, baselines.md) and warped at full scale. Among the four-cornered shapes
the page is the brightest, not the largest: a camera's base plate or a desk mat around it
makes a larger quadrilateral than the sheet of paper on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETECT_LONG_SIDE = 640
MIN_AREA = 0.08  # of the frame: smaller shapes are a card, a stamp, a hand
MAX_AREA = 0.97  # the whole frame's border is not a page
# Paper under the camera's own lamp is light grey to white; its base plate and a desk are not
# (an empty plate is a quadrilateral too, and must not be captured as a page).
PAPER_MIN = 140


@dataclass(frozen=True)
class Page:
    corners: np.ndarray  # 4x2 float32, full-scale pixels: top-left, top-right, bottom-right, bottom-left
    brightness: float  # mean grey inside, 0-255

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the flattened page, from its edges' lengths."""
        tl, tr, br, bl = self.corners
        w = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
        h = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
        return int(round(w)), int(round(h))


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Any four points -> top-left, top-right, bottom-right, bottom-left (by angle around the
    centre, so a page turned up to 45 degrees keeps its top)."""
    pts = pts.reshape(4, 2).astype(np.float32)
    c = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(angles)]  # from the left going clockwise (y down): tl first or bl first
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def find_page(frame: np.ndarray) -> Page | None:
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, DETECT_LONG_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1 else gray
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    edges = cv2.Canny(blur, 40, 120)
    # closing the edges joins a page outline broken by text touching it or by glare
    edges = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    area_frame = small.shape[0] * small.shape[1]
    best: tuple[float, np.ndarray] | None = None
    for c in contours:
        area = cv2.contourArea(c)
        if not MIN_AREA * area_frame <= area <= MAX_AREA * area_frame:
            continue
        quad = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(quad) != 4 or not cv2.isContourConvex(quad):
            continue
        mask = np.zeros_like(small)
        cv2.fillConvexPoly(mask, quad.reshape(4, 2), 255)
        # erode so the dark outline itself does not count against the inside
        mask = cv2.erode(mask, np.ones((7, 7), np.uint8))
        brightness = cv2.mean(small, mask=mask)[0]
        if best is None or brightness > best[0] + 1e-6:
            best = (brightness, quad)
    if best is None or best[0] < PAPER_MIN:
        return None
    corners = order_corners(best[1]) / scale
    # the dilated outline sits a pixel or two outside the paper's edge: refine on full scale
    refined = cv2.cornerSubPix(gray, corners.reshape(-1, 1, 2).astype(np.float32), (5, 5),
                               (-1, -1), (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 20, 0.1))
    return Page(refined.reshape(4, 2), best[0])


def flatten(frame: np.ndarray, page: Page) -> np.ndarray:
    """The page alone, as if scanned flat: perspective and skew taken out."""
    w, h = page.size
    target = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    m = cv2.getPerspectiveTransform(page.corners.astype(np.float32), target)
    return cv2.warpPerspective(frame, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
