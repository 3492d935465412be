"""The hall's screens in a real browser: Debian's chromium driven by Playwright against a
simulated hall the test starts. Controls and texts are found as a person finds them (visible
words); every page is checked with axe-core for serious or critical accessibility faults.
Here: tokens and cookies, the hall TV, the rating tablet, no full ID on any page; the kiosk in
test_screens_kiosk.py, the clerk's and manager's pages in test_screens_staff.py."""

from __future__ import annotations

import asyncio

from kioskd.sim.scenario import token
from support.browser import NEEDS_CHROMIUM, api_restart, kiosk_parts, no_serious_violations, screen, shot
from support.helpers import api


pytestmark = NEEDS_CHROMIUM


async def test_a_screen_without_its_token_says_what_to_do(sim, browser):
    base = sim.hall.api_url
    context, page = await screen(browser, 1280, 800)
    for url in (f"{base}/board", f"{base}/board?token=wrong",
                f"{base}/board?token={token(sim.hall.cfg, 'kiosk')}"):  # a kiosk's is no TV's
        response = await page.goto(url)
        assert response.status == 401
        await page.get_by_role("heading", name="此屏幕尚未配置").wait_for()
        assert "this screen is not set up" in (await page.content()).lower()
        assert "Traceback" not in await page.content()
    assert await context.cookies() == []
    await no_serious_violations(page)
    await context.close()


async def test_the_hall_tv_shows_calls_as_they_come_and_reconnects_by_itself(sim, browser,
                                                                             tmp_path):
    hall = sim.hall
    base, tv = hall.api_url, token(hall.cfg, "board")
    for category in "AAB":
        assert (await api(hall, "POST", "/api/tickets", {"category": "A" if category == "A"
                                                         else "B", "kiosk": "kiosk-1"}))[0] == 201
    context, page = await screen(browser, 1920, 1080)
    response = await page.goto(f"{base}/board?token={tv}")
    # set up once: the token went into an HttpOnly cookie and out of the address bar
    assert page.url == f"{base}/board" and response.status == 200
    (cookie,) = await context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] == tv
    assert await page.evaluate("document.cookie") == ""  # the page's scripts cannot read it
    await page.get_by_text(hall.cfg.hall.name).first.wait_for()
    waiting = page.locator("#waiting li", has_text="综合受理")
    await waiting.filter(has_text="2 人").wait_for()
    await page.locator("#calls").get_by_text("暂无叫号").wait_for()

    # a clerk calls: the TV shows it at once, highlighted, without a reload
    status, answer = await api(hall, "POST", "/api/windows/1/call-next", role="clerk", window=1)
    assert status == 200
    called = answer["events"][0]["data"]["ticket"]
    newest = page.locator("#calls li").first
    await newest.filter(has_text=called).filter(has_text="请到 1 号窗口").wait_for()
    assert "new" in await newest.get_attribute("class")
    await waiting.filter(has_text="1 人").wait_for()
    await no_serious_violations(page)
    await shot(page, "board", tmp_path)

    # a reload shows the same call, but not as news
    await page.reload()
    await page.locator("#calls li", has_text=called).wait_for()
    assert "new" not in (await page.locator("#calls li").first.get_attribute("class") or "")

    # the daemon's API goes away and comes back where it was: the TV says it is connecting,
    # then catches up by itself with what happened meanwhile (not highlighted)
    port = int(base.rsplit(":", 1)[1])
    await hall.api.stop()
    await page.get_by_text("连接中…").wait_for()
    await api_restart(hall, port)
    await page.get_by_text("连接中…").wait_for(state="hidden", timeout=15000)
    status, answer = await api(hall, "POST", "/api/windows/2/call-next", role="clerk", window=2)
    second = answer["events"][0]["data"]["ticket"]
    await page.locator("#calls li").first.filter(has_text=second).wait_for()
    await context.close()




async def test_a_cookie_from_a_screen_acts_only_from_its_own_origin(sim):
    """The screen's cookie authorises its page's API calls; a change asked from another origin
    with it is refused (SameSite=Strict keeps browsers from sending it; this is the second lock)."""
    import aiohttp

    hall = sim.hall
    kiosk = token(hall.cfg, "kiosk")
    async with aiohttp.ClientSession(cookies={"kioskd_token": kiosk}) as http:
        async with http.get(f"{hall.api_url}/api/queue") as r:
            assert r.status == 200
        async with http.post(f"{hall.api_url}/api/tickets", json={"category": "A"},
                             headers={"Origin": "http://evil.example"}) as r:
            assert (r.status, (await r.json())["error"]) == (403, "auth.origin")
        async with http.post(f"{hall.api_url}/api/tickets", json={"category": "A"},
                             headers={"Origin": hall.api_url}) as r:
            assert r.status == 201




async def test_the_rating_tablet_is_enrolled_then_the_citizen_rates_and_signs_on_it(sim, browser,
                                                                                     tmp_path):
    """The tablet page in Chromium: enrolled with a technician's code (typed on the page), the
    idle screen names who serves, a bad rating with a reason reaches central sealed with the
    key the page holds, and a signature drawn with the pointer is kept as a PNG."""
    hall = sim.hall
    context, page = await screen(browser, 1280, 800)
    response = await page.goto(f"{hall.api_url}/pad/4")
    assert response.status == 401
    await page.get_by_role("heading", name="此屏幕尚未配置").wait_for()
    await no_serious_violations(page)
    _, offer = await api(hall, "POST", "/api/pads/pad-w4/enroll", role="technician")
    await page.get_by_label("登记码").fill(offer["code"])
    await page.get_by_role("button", name="登记").click()
    await page.wait_for_url(f"{hall.api_url}/pad/4")
    assert await page.evaluate("document.cookie") == ""  # the token: HttpOnly
    twin = sim.twin("pad-w4")
    await twin.watch.until(lambda: twin.evicted, 5, "the twin is no longer the tablet")
    sup = hall.supervisors["pad-w4"]
    await hall.watch.until(lambda: sup.state.state == "ready", 10, "the page is the tablet")

    assert (await api(hall, "POST", "/api/tickets", {"category": "A"}))[0] == 201
    assert (await api(hall, "POST", "/api/windows/4/sign-in", role="clerk", window=4))[0] == 200
    await page.reload()
    await page.get_by_text("为您服务：clerk-w4　工号 0104").wait_for()
    await no_serious_violations(page)
    await shot(page, "pad-idle", tmp_path)
    status, called = await api(hall, "POST", "/api/windows/4/call-next", role="clerk", window=4)
    ticket = called["events"][0]["data"]["ticket"]

    # 请签名: the citizen signs with the pointer; the image is kept with the ticket
    assert (await api(hall, "POST", "/api/windows/4/ask-signature", role="clerk",
                      window=4))[0] == 200
    await page.get_by_role("heading", name="请在下方签名").wait_for()
    area = await page.locator("canvas").bounding_box()
    await page.mouse.move(area["x"] + 60, area["y"] + 60)
    await page.mouse.down()
    for i in range(1, 12):
        await page.mouse.move(area["x"] + 60 + i * 40, area["y"] + 60 + (i % 3) * 30)
    await page.mouse.up()
    await shot(page, "pad-signature", tmp_path)
    await page.get_by_role("button", name="确认签名").click()
    await page.get_by_text("签名已提交").wait_for()
    await hall.watch.until(lambda: hall.journal.of_type("signature.captured"), 5, "kept")
    (captured,) = [e.data for e in hall.journal.of_type("signature.captured")]
    image = (hall.state_dir / "signatures" / captured["file"]).read_bytes()
    assert captured["ticket"] == ticket and image.startswith(b"\x89PNG")

    # the rating: 不满意 needs a reason; the page's seal is the daemon's
    assert (await api(hall, "POST", "/api/windows/4/finish", role="clerk", window=4))[0] == 200
    await page.get_by_role("heading", name="请对本次服务进行评价").wait_for()
    import re

    level_button = lambda name: page.get_by_role("button", name=re.compile(f"^{name}( |$)"))  # noqa: E731
    for level in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        box = await level_button(level).bounding_box()
        assert box["height"] >= 48 and box["width"] >= 48  # touch targets
    await no_serious_violations(page)
    await shot(page, "pad-prompt", tmp_path)
    await level_button("不满意").click()
    await page.get_by_role("button", name="提交评价").click()
    await page.get_by_text("请至少选择一项原因").wait_for()  # said on the page, nothing sent
    await page.get_by_role("button", name="办事效率").click()
    await page.get_by_label("其他意见").fill("等得有点久")
    await page.get_by_role("button", name="提交评价").click()
    await page.get_by_text("感谢您的评价").wait_for()
    await hall.watch.until(lambda: hall.journal.of_type("rating.given"), 5, "rated")
    (given,) = [e.data for e in hall.journal.of_type("rating.given")]
    assert (given["ticket"], given["level"], given["reasons"], given["text"], given["device"]) == (
        ticket, 2, [2], "等得有点久", "pad-w4")
    assert [e.data for e in hall.journal.of_type("rating.refused")] == []
    await page.get_by_text("为您服务：clerk-w4").wait_for(timeout=10000)  # back to idle
    await context.close()


async def test_no_page_ever_shows_a_full_id_number_or_name(sim, browser):
    """A card's holder goes through every screen (kiosk, window, tablet, TV, manager): neither
    the ID number nor the full name is on any page, nor in any answer a page fetched."""
    from datetime import date

    from kioskd.sim.idcard import make_card

    hall, cfg = sim.hall, sim.hall.cfg
    reader, _ = kiosk_parts(sim)
    card = make_card("欧阳明远", date(1950, 3, 7), serial=77)
    reader.place(card)
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "the card is read")
    status, t = await api(hall, "POST", "/api/tickets", {"category": "A", "kiosk": "kiosk-1"})
    assert status == 201 and t["holder"] == "欧***"
    await reader.lifted()
    reader.place(card)  # and on the reader again, for the kiosk's screen
    await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "read again")
    await api(hall, "POST", "/api/windows/4/sign-in", role="clerk", window=4)
    await api(hall, "POST", "/api/windows/4/call", {"ticket": t["ticket"]}, role="clerk", window=4)
    _, offer = await api(hall, "POST", "/api/pads/pad-w4/enroll", role="technician")
    pages = [(f"/kiosk/kiosk-1?token={token(cfg, 'kiosk', kiosk='kiosk-1')}", "#card .holder"),
             (f"/window/4?token={token(cfg, 'clerk', window=4)}", "#current .holder"),
             (offer["url"], "#clerk"), (f"/board?token={token(cfg, 'board')}", "#calls li"),
             (f"/manage?token={token(cfg, 'manager')}", "#windows table")]
    seen: list[str] = []
    for url, shown in pages:
        context, page = await screen(browser, 1366, 900)
        reading: list[asyncio.Task] = []

        async def keep(response) -> None:
            if "/api/" in response.url and response.status == 200 and \
                    "json" in (response.headers.get("content-type") or ""):
                seen.append(await response.text())

        page.on("response", lambda r: reading.append(asyncio.ensure_future(keep(r))))
        await page.goto(f"{hall.api_url}{url}")
        await page.locator(shown).first.wait_for()
        seen.append(await page.content())
        async with asyncio.timeout(10):  # every answer the page has had, read before it closes
            await asyncio.gather(*reading)
        await context.close()
    everything = "\n".join(seen)
    assert "欧***" in everything  # the masked name is there: the pages did show the holder
    assert card.id_number not in everything and "欧阳明远" not in everything
