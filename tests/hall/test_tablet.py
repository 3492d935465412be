"""The rating tablet (pad.web) as a device: enrolled once by a technician, its own key and
token, the citizen's signature kept with the ticket. The rating rules themselves are the same
as every pad's and run for pad.web in tests/hall/test_ratings.py; the page in Chromium is in
tests/hall/test_screens.py."""

from __future__ import annotations

import struct
import zlib

import aiohttp
import pytest

from kioskd.sim.scenario import token
from kioskd.tablets import CODE_TRIES
from support.helpers import api

PAD = "pad-w4"


def png(width: int = 40, height: int = 20) -> bytes:
    """A small real PNG (a grey box): what a signing area sends."""
    raw = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                                0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def events(hall, type_: str) -> list[dict]:
    return [e.data for e in hall.journal.read() if e.type == type_]


async def get(hall, path: str, cookie: str, method: str = "GET", **kw):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{hall.api_url}{path}", allow_redirects=False,
                                headers={"Cookie": f"kioskd_token={cookie}"}, **kw) as r:
            return r.status, (await r.json() if r.content_type == "application/json"
                              else await r.text()), r.cookies


async def serving(sim, window: int = 4) -> str:
    hall = sim.hall
    status, t = await api(hall, "POST", "/api/tickets", {"category": "A"})
    assert status == 201
    assert (await api(hall, "POST", f"/api/windows/{window}/sign-in", role="clerk",
                      window=window))[0] == 200
    status, _ = await api(hall, "POST", f"/api/windows/{window}/call", {"ticket": t["ticket"]},
                          role="clerk", window=window)
    assert status == 200
    return t["ticket"]


# --- enrollment -------------------------------------------------------------------------------
async def test_a_technician_enrolls_a_tablet_with_a_one_time_code(sim):
    hall = sim.hall
    status, offer = await api(hall, "POST", f"/api/pads/{PAD}/enroll", role="technician")
    assert status == 200 and offer["window"] == 4 and len(offer["code"]) == 8
    assert offer["url"] == f"/pad/4?enroll={offer['code']}"
    # nobody else may ask for one
    for role, who in (("clerk", {"window": 4}), ("manager", {}), ("kiosk", {})):
        assert (await api(hall, "POST", f"/api/pads/{PAD}/enroll", role=role, **who))[0] == 403
    assert (await api(hall, "POST", "/api/pads/pad-w1/enroll", role="technician"))[0] == 404

    status, _, cookies = await get(hall, f"/pad/4?enroll={offer['code']}", "")
    assert status == 303
    tablet = cookies["kioskd_token"]
    assert tablet["httponly"] and tablet["samesite"] == "Strict"
    # the code is spent
    status, page, _ = await get(hall, f"/pad/4?enroll={offer['code']}", "")
    assert status == 401 and "没有待用的登记码" in page
    # the key, once
    status, body, _ = await get(hall, f"/api/pads/{PAD}/key", tablet.value, "POST")
    assert status == 200 and bytes.fromhex(body["key"]) == hall.tablets.key(PAD)
    status, body, _ = await get(hall, f"/api/pads/{PAD}/key", tablet.value, "POST")
    assert (status, body["error"]) == (409, "tablet.key_taken")
    # on disk: the key and the token's digest, 0600; never the token
    stored = hall.state_dir / "keys" / "tablets" / f"{PAD}.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert tablet.value not in stored.read_text()
    assert [e["device"] for e in events(hall, "tablet.enroll_offered")] == [PAD]
    assert [e["device"] for e in events(hall, "tablet.enrolled")][-1] == PAD

    # the old tablet (the twin) is out at once: its socket closed, its token refused
    twin = sim.twin(PAD)
    await twin.watch.until(lambda: twin.evicted, 5, "the old tablet is refused")
    status, _, _ = await get(hall, "/api/pads/whoami", twin.cookie)
    assert status == 401
    status, who, _ = await get(hall, "/api/pads/whoami", tablet.value)
    assert who == {"device": PAD, "window": 4}


async def test_a_tablets_token_opens_its_own_page_and_link_only(sim):
    hall = sim.hall
    tablet = sim.twin(PAD).cookie
    assert (await get(hall, "/pad/4", tablet))[0] == 200
    for page in ("/pad/1", "/window/4", "/kiosk/kiosk-1", "/manage", "/board"):
        assert (await get(hall, page, tablet))[0] == 401, page
    assert (await get(hall, "/api/windows/4/call-next", tablet, "POST"))[0] == 403
    assert (await get(hall, "/api/tickets", tablet, "POST", json={"category": "A"}))[0] == 403
    # a clerk's token is no tablet's: neither the pad's page nor its link
    clerk = token(hall.cfg, "clerk", window=4)
    assert (await get(hall, "/pad/4", clerk))[0] == 401
    status, body, _ = await get(hall, f"/api/pads/{PAD}/link", clerk)
    assert (status, body["error"]) == (403, "auth.role")


async def test_wrong_codes_are_counted_and_void_the_code(sim):
    hall = sim.hall
    _, offer = await api(hall, "POST", f"/api/pads/{PAD}/enroll", role="technician")
    wrong = f"{(int(offer['code']) + 1) % 10 ** 8:08d}"
    for _ in range(CODE_TRIES - 1):
        status, page, _ = await get(hall, "/pad/4/enroll", "", "POST", data={"code": wrong})
        assert status == 401 and "登记码不正确" in page
    status, page, _ = await get(hall, "/pad/4/enroll", "", "POST", data={"code": wrong})
    assert "已作废" in page
    status, page, _ = await get(hall, "/pad/4/enroll", "", "POST", data={"code": offer["code"]})
    assert status == 401  # the right code, too late
    # the unenrolled page says what to do and offers the code form, never a trace
    assert "登记码" in page and "<form" in page and "Traceback" not in page


async def test_a_tablet_whose_page_closes_is_absent_until_it_connects_again(sim):
    hall = sim.hall
    twin = sim.twin(PAD)
    await twin.go_offline()
    sup = hall.supervisors[PAD]
    await hall.watch.until(lambda: sup.state.state == "absent", 10, "the tablet seen gone")
    assert "/pad/4" in sup.state.detail
    await twin.come_back()
    await hall.watch.until(lambda: sup.state.state == "ready", 5, "back when the page connects")


# --- signatures -------------------------------------------------------------------------------
async def test_the_citizen_signs_on_the_tablet_and_the_image_is_kept_with_the_ticket(sim, sub):
    hall, twin = sim.hall, sim.twin(PAD)
    ticket = await serving(sim)
    status, body = await api(hall, "POST", "/api/windows/4/ask-signature", role="clerk", window=4)
    assert status == 200, body
    await twin.watch.until(lambda: twin.sign_asked is not None, 5, "the signing area shows")
    assert twin.sign_asked.ticket == ticket
    image = png()
    txn = twin.sign(image)
    await twin.watch.until(lambda: (txn, True) in twin.signed, 5, "the tablet hears 已签名")
    (captured,) = events(hall, "signature.captured")
    assert captured["ticket"] == ticket and captured["window"] == 4
    assert captured["file"] == f"{hall.state.day}/{ticket}-0001.png"
    path = hall.state_dir / "signatures" / captured["file"]
    assert path.read_bytes() == image
    # the event names the file; the image never leaves the hall
    await sub.watch.until(lambda: any(e["type"] == "signature.captured" for e in sub.events()),
                          5, "central hears of it")
    assert image not in sub.payloads()
    # one signature per request: the same message again is refused, and nothing more is kept
    twin.sign(image, txn=txn)
    await twin.watch.until(lambda: (txn, False) in twin.signed, 5, "refused")
    assert [r["code"] for r in events(hall, "signature.refused")] == ["signature.not_asked"]
    assert len(list(path.parent.iterdir())) == 1


async def test_a_signature_not_sealed_with_the_tablets_key_is_refused(sim):
    hall, twin = sim.hall, sim.twin(PAD)
    await serving(sim)
    await api(hall, "POST", "/api/windows/4/ask-signature", role="clerk", window=4)
    await twin.watch.until(lambda: twin.sign_asked is not None, 5, "the signing area shows")
    txn = twin.sign(png(), key=b"k" * 32)
    await twin.watch.until(lambda: (txn, False) in twin.signed, 5, "refused")
    assert [r["code"] for r in events(hall, "signature.refused")] == ["signature.bad_seal"]
    assert events(hall, "signature.captured") == []
    # and an image that is no PNG, sealed properly, is refused as well
    twin.sign(b"GIF89a" + bytes(40))
    await hall.watch.until(lambda: len(events(hall, "signature.refused")) == 2, 5, "refused")
    assert events(hall, "signature.refused")[-1]["code"] == "signature.not_png"
    assert not (hall.state_dir / "signatures").exists() or not any(
        (hall.state_dir / "signatures").rglob("*.png"))


@pytest.mark.parametrize("window,code", [(1, "signature.no_tablet"), (4, "signature.no_ticket")])
async def test_asking_for_a_signature_says_why_it_cannot(sim, window, code):
    hall = sim.hall
    if code == "signature.no_tablet":
        await serving(sim, window)  # window 1's pad is a serial pad: it cannot take one
    status, body = await api(hall, "POST", f"/api/windows/{window}/ask-signature", role="clerk",
                             window=window)
    assert (status, body["error"]) == (409, code)


async def test_signatures_go_with_the_scans_retention(sim):
    from datetime import date, timedelta

    hall = sim.hall
    old = hall.state_dir / "signatures" / "2026-01-01"
    old.mkdir(parents=True)
    (old / "A001-0001.png").write_bytes(png())
    today = date.fromisoformat(hall.state.day)
    keep = hall.state_dir / "signatures" / (today - timedelta(days=1)).isoformat()
    keep.mkdir()
    (keep / "A002-0001.png").write_bytes(png())
    hall.purge()
    assert not old.exists() and keep.exists()


async def test_the_tablet_shows_the_photo_of_the_clerk_at_its_window(demo_cfg, hall_of, tmp_path):
    import dataclasses

    photo = tmp_path / "0104.png"
    photo.write_bytes(png(60, 80))
    cfg = dataclasses.replace(demo_cfg, api=dataclasses.replace(demo_cfg.api, clients=tuple(
        dataclasses.replace(c, photo=photo) if c.name == "clerk-w4" else c
        for c in demo_cfg.api.clients)))
    sim = await hall_of(cfg)
    hall, tablet = sim.hall, sim.twin(PAD).cookie
    status, view, _ = await get(hall, f"/api/pads/{PAD}", tablet)
    assert view["clerk"] is None and view["photo"] is False  # nobody signed in yet
    assert (await get(hall, f"/api/pads/{PAD}/photo", tablet))[0] == 404
    await api(hall, "POST", "/api/windows/4/sign-in", role="clerk", window=4)
    status, view, _ = await get(hall, f"/api/pads/{PAD}", tablet)
    assert (view["clerk"], view["staff_no"], view["photo"]) == ("clerk-w4", "0104", True)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hall.api_url}/api/pads/{PAD}/photo",
                            headers={"Cookie": f"kioskd_token={tablet}"}) as r:
            assert r.status == 200 and await r.read() == photo.read_bytes()
