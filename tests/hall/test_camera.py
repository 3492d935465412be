"""The document camera: generated pages (Chinese text and QR codes, turned, in perspective, on a
base plate larger than the page) read through OpenCV's capture path from a video file."""

from __future__ import annotations

import dataclasses
from datetime import date

import aiohttp
import cv2
import numpy as np
import pytest

from kioskd import config
from kioskd.drivers.camera.decode import make_decoder, unmangle_zbar
from kioskd.drivers.camera.page import find_page, flatten, order_corners
from kioskd.drivers.camera.still import StillWatch
from kioskd.scans import ScanStore
from kioskd.sim.camera import Script, cached_video
from kioskd.sim.scenario import token
from support.helpers import with_device


@pytest.fixture(scope="module")
def video():
    return cached_video(Script())


def frames_of(path) -> list[tuple[float, np.ndarray]]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append((cap.get(cv2.CAP_PROP_POS_MSEC) / 1000, frame))
    cap.release()
    return out


def still_frame(frames, page):
    return next(f for t, f in frames if page.start + 0.3 < t < page.end - 0.1)


# --- pure parts ----------------------------------------------------------------------------------
def test_page_found_within_2_px_though_the_base_plate_is_larger(video):
    path, truth = video
    frames = frames_of(path)
    for page in truth:
        found = find_page(cv2.cvtColor(still_frame(frames, page), cv2.COLOR_BGR2GRAY))
        assert found is not None
        assert np.abs(found.corners - page.corners).max() < 2.0
        flat = flatten(still_frame(frames, page), found)
        assert abs(flat.shape[1] / flat.shape[0] - 420 / 594) < 0.03  # A4 proportions back


def test_no_page_on_an_empty_plate(video):
    path, _ = video
    empty = frames_of(path)[0][1]
    assert find_page(cv2.cvtColor(empty, cv2.COLOR_BGR2GRAY)) is None


def test_corner_order_survives_turning():
    square = np.array([[10, 0], [20, 10], [10, 20], [0, 10]], np.float32)  # a diamond
    ordered = order_corners(square[[2, 0, 3, 1]])
    assert ordered.tolist() == order_corners(square).tolist()
    assert ordered[0].tolist() == [0, 10] or ordered[0].tolist() == [10, 0]


@pytest.mark.parametrize("decoder", ["zxing", "zbar"])
def test_each_decoder_reads_the_exact_chinese_text(video, decoder):
    path, truth = video
    frames = frames_of(path)
    dec = make_decoder(decoder)
    for page in truth:
        gray = cv2.cvtColor(still_frame(frames, page), cv2.COLOR_BGR2GRAY)
        assert [(c.code, c.symbology) for c in dec.decode(gray)] == [(page.qr, "qr")]


def test_zbar_shift_jis_mangling_is_undone():
    # zbar takes UTF-8 bytes that happen to be valid Shift-JIS for Shift-JIS, and converts
    for text in ("预约号：张三", "不动产登记", "社保卡申领", "材料清单"):
        raw = text.encode("utf-8")
        try:
            mangled = raw.decode("shift_jis")
        except UnicodeDecodeError:
            continue
        assert mangled != text
        assert unmangle_zbar(mangled.encode("utf-8")) == text
        break
    else:
        pytest.fail("no sample mangles; pick another")
    assert unmangle_zbar("中国 ABC".encode("utf-8")) == "中国 ABC"  # correct text stays
    assert unmangle_zbar("不动产".encode("gb18030")) == "不动产"  # a GBK code


def test_still_watch_fires_once_per_still_period():
    watch = StillWatch(still_s=0.5)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (120, 160), np.uint8)
    other = rng.integers(0, 255, (120, 160), np.uint8)
    seq = [base] * 10 + [other, base, other] + [other] * 10
    said = [watch.feed(i * 0.1, img) for i, img in enumerate(seq)]
    assert said.count("capture") == 2
    assert said[5] == "capture" and said[:5].count("settling") == 5


def test_scan_store_pdf_and_retention(tmp_path):
    store = ScanStore(tmp_path)
    ok, jpeg = cv2.imencode(".jpg", np.full((60, 40, 3), 200, np.uint8))
    a = store.save_jpeg("2026-11-10", "w1", jpeg.tobytes())
    b = store.save_jpeg("2026-11-24", "w1", jpeg.tobytes())
    doc = store.save_pdf("2026-11-24", "w1-doc", [b, b])
    assert b"/Count 2" in store.path(doc).read_bytes()
    assert store.purge(date(2026, 11, 24), 7) == 1
    assert not store.path(a).exists() and store.path(b).exists()
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


def test_pages_saved_at_once_from_threads_each_keep_their_own_number(tmp_path):
    """The hall saves pages with asyncio.to_thread: two at once once took one number, and the
    second page was lost (its .part renamed away under it)."""
    import threading

    store = ScanStore(tmp_path)
    for round_ in range(5):
        start = threading.Barrier(8)
        ids: list[str] = []

        def save(i: int) -> None:
            start.wait()
            ids.append(store.save_jpeg(f"2026-11-{10 + round_}", "w1", bytes([i]) * 5000))
        threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(set(ids)) == 8
        assert sorted(store.path(f).read_bytes()[0] for f in ids) == list(range(8))


# --- through the hall ----------------------------------------------------------------------------
def with_camera(cfg: config.Config, sim: dict | None = None, **options) -> config.Config:
    return with_device(cfg, "camera-w1", sim=sim, **options)


def captured(hall, kind="page"):
    return [e.data for e in hall.journal.read() if e.type == "scan.captured"
            and e.data["kind"] == kind]


async def test_each_still_page_is_captured_once_cropped_and_bundled(hall_of, demo_cfg, sub):
    s = await hall_of(with_camera(demo_cfg, pace=False, loop=False))
    hall, twin = s.hall, s.twin("camera-w1")
    await hall.watch.until(lambda: len(captured(hall)) >= 2, 20, "two pages captured")
    pages = captured(hall)
    assert len(pages) == len(twin.truth) == 2
    for p in pages:
        assert p["cropped"] and p["auto"] and p["codes"] == 1
        img = cv2.imread(str(hall.scans.path(p["file"])))
        assert abs(img.shape[1] / img.shape[0] - 420 / 594) < 0.03
    # the page's QR is the citizen's business: not in the journal, nor on MQTT
    journal = str([e.data for e in hall.journal.read()])
    assert all(t.qr not in journal for t in twin.truth)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{hall.api_url}/api/windows/1/document",
                             headers={"Authorization": "Bearer " + token(hall.cfg, "clerk")}) as r:
            assert r.status == 200, await r.text()
    (doc,) = captured(hall, "document")
    assert doc["pages"] == [p["file"] for p in pages]
    pdf = hall.scans.path(doc["file"]).read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Count 2" in pdf
    await sub.watch.until(lambda: sum(e["type"] == "scan.captured" for e in sub.events()) == 3,
                          5, "scan events at central")
    assert all(t.qr.encode() not in sub.payloads() for t in twin.truth)


async def test_a_camera_that_ignores_the_size_is_reported(hall_of, demo_cfg):
    s = await hall_of(with_camera(demo_cfg, sim={"frame": [640, 480]}, pace=False))
    sup = s.hall.supervisors["camera-w1"]
    assert sup.state.state == "ready" and sup.state.condition == "settings_ignored"
    assert "asked 1280x960" in sup.state.detail and "640x480" in sup.state.detail


async def test_black_frames_are_reported(hall_of, demo_cfg):
    s = await hall_of(with_camera(demo_cfg, sim={"black": True}, pace=False))
    hall = s.hall
    await hall.watch.until(lambda: hall.supervisors["camera-w1"].state.condition == "black_frames",
                           10, "black frames seen")
    assert not captured(hall)


@pytest.mark.parametrize("url", ["file:///nonexistent/cam.avi", "v4l2:///dev/video97"])
async def test_no_camera_is_absent_with_the_reason(demo_cfg, url):
    from kioskd.drivers.camera.driver import CameraDriver
    from kioskd.errors import DeviceAbsent

    dev = dataclasses.replace(demo_cfg.device("camera-w1"),
                              url=config.parse_endpoint(url, ("file", "v4l2")))
    with pytest.raises(DeviceAbsent, match="no such"):
        await CameraDriver(dev, lambda i: None).open()
