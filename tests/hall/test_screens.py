"""The hall's screens in a real browser: Debian's chromium driven by Playwright against a
simulated hall the test starts. Controls and texts are found as a person finds them (visible
words); every page is checked with axe-core for serious or critical accessibility faults."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from kioskd.sim.scenario import token
from support.helpers import api
from kioskd.drivers.registry import Role

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screens"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed (scripts/system-deps)")


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # as root the sandbox cannot start; the rest keeps chromium off the closed network
        b = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required"])
        yield b
        await b.close()


async def screen(browser, width: int, height: int):
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        locale="zh-CN")
    return context, await context.new_page()


async def no_serious_violations(page) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == []


async def shot(page, name: str, tmp_path: Path) -> None:
    """docs/screens/NAME.png when KIOSKD_SHOTS=write (the README shows them), else a temp file."""
    folder = SHOTS if os.environ.get("KIOSKD_SHOTS") == "write" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"))


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


async def api_restart(hall, port: int) -> None:
    from kioskd.api.server import ApiServer

    hall.api = ApiServer(hall)
    assert await hall.api.start(port=port) == hall.api_url


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


def kiosk_parts(sim, kiosk: str = "kiosk-1"):
    cfg = sim.hall.cfg
    return (sim.twin(cfg.devices_of(kiosk=kiosk, role=Role.READER)[0].id),
            sim.twin(cfg.devices_of(kiosk=kiosk, role=Role.PRINTER)[0].id))


async def open_kiosk(browser, sim, width=1080, height=1920):
    context, page = await screen(browser, width, height)
    base, tok = sim.hall.api_url, token(sim.hall.cfg, "kiosk", kiosk="kiosk-1")
    await page.goto(f"{base}/kiosk/kiosk-1?token={tok}")
    assert page.url == f"{base}/kiosk/kiosk-1"
    await page.get_by_role("button", name="综合受理").wait_for()
    return context, page


async def test_a_citizen_takes_a_number_at_the_kiosk_by_touch_and_by_card(sim, browser, tmp_path):
    from datetime import date

    from kioskd.sim.idcard import make_card

    hall = sim.hall
    reader, printer = kiosk_parts(sim)
    context, page = await open_kiosk(browser, sim)
    await no_serious_violations(page)
    await shot(page, "kiosk-portrait", tmp_path)
    # another kiosk's token does not open this one
    other = await context.new_page()
    response = await other.goto(f"{hall.api_url}/kiosk/kiosk-1?token="
                                f"{token(hall.cfg, 'kiosk', kiosk='guide-1')}")
    assert response.status == 401
    await other.close()

    # a touch on a category that needs no card: the ticket prints, the screen says so
    await page.get_by_role("button", name="综合受理").click()
    await page.get_by_text("请取走您的号票").wait_for()
    await page.locator("#number", has_text="A001").wait_for()
    await printer.watch.until(lambda: printer.tickets, 10, "the ticket printed")
    assert "A001" in printer.tickets[-1].text
    await page.get_by_role("button", name="完成").click()
    # live: the line grew without a reload
    await page.get_by_role("button", name="综合受理").filter(has_text="等候 1 人").wait_for()

    # a card on the reader: the masked name and the lane within a second or so
    reader.place(make_card("王秀英", date(1952, 5, 1)))
    await page.locator("#card", has_text="王*").filter(has_text="老年人优先").wait_for(timeout=3000)
    assert "王秀英" not in await page.content()
    await page.get_by_role("button", name="不动产登记").click()
    await page.locator("#number", has_text="B001").wait_for()
    assert hall.state.tickets["B001"].lane == "elderly"
    assert "王*" not in await page.locator("#card").inner_text()  # gone with its ticket
    reader.lift()
    await page.get_by_role("button", name="完成").click()

    # elder mode: one touch, large type; the landscape layout too
    await page.get_by_role("button", name="长者模式").click()
    assert "elder" in await page.evaluate("document.body.className")
    await no_serious_violations(page)
    await shot(page, "kiosk-elder", tmp_path)
    await context.close()
    context, page = await open_kiosk(browser, sim, 1920, 1080)
    await shot(page, "kiosk-landscape", tmp_path)
    await context.close()


async def test_appointments_check_in_at_the_kiosk_by_qr_and_by_code(sim, browser):
    from datetime import timedelta

    from kioskd.engine import queue

    hall = sim.hall
    now = hall.now()
    slot = {"category": "C", "start": (now + timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(minutes=35)).isoformat()}
    await hall.execute(queue.LoadAppointments("v1", ({"code": "YY0100", **slot},
                                                     {"code": "YY0200", **slot})))
    reader, printer = kiosk_parts(sim)
    context, page = await open_kiosk(browser, sim)
    # the booking's QR at the kiosk's gun: the screen shows the ticket it printed
    sim.twin("scanner-k1").scan("YY0100", aim="]Q1")
    await page.locator("#number", has_text="C001").wait_for(timeout=5000)
    await printer.watch.until(lambda: printer.tickets, 10, "printed")
    await page.get_by_role("button", name="完成").click()
    # the code typed on the on-screen keypad
    await page.get_by_role("button", name="预约签到").click()
    for key in "YY0200":
        await page.get_by_role("button", name=key, exact=True).click()
    await page.locator("#code", has_text="YY0200").wait_for()
    await no_serious_violations(page)
    for button in await page.get_by_role("button").all():  # touch targets, keypad included
        if await button.is_visible():
            box = await button.bounding_box()
            assert box["width"] >= 48 and box["height"] >= 48, await button.inner_text()
    await page.get_by_role("button", name="确认签到").click()
    await page.locator("#number", has_text="C002").wait_for()
    assert hall.state.tickets["C002"].lane == "appointment"
    await page.get_by_role("button", name="完成").click()
    # the same code again: refused in a sentence
    await page.get_by_role("button", name="预约签到").click()
    for key in "YY0200":
        await page.get_by_role("button", name=key, exact=True).click()
    await page.get_by_role("button", name="确认签到").click()
    await page.get_by_role("alert").filter(has_text="此预约已签到，请勿重复取号").wait_for()
    await context.close()


async def test_elder_mode_speaks_and_an_idle_kiosk_forgets_the_card(demo_cfg, hall_of, browser):
    import dataclasses
    from datetime import date

    from kioskd.sim.idcard import make_card

    cfg = dataclasses.replace(demo_cfg, kiosks=tuple(
        dataclasses.replace(k, idle_s=10) if k.id == "kiosk-1" else k for k in demo_cfg.kiosks))
    sim = await hall_of(cfg)
    hall = sim.hall
    reader, printer = kiosk_parts(sim)
    context, page = await open_kiosk(browser, sim)
    spoken, heard = [], asyncio.Event()

    def on_response(r) -> None:  # the audio's requests: the browser may ask in ranges
        if "/voice/" in r.url:
            spoken.append((r.url.split("/voice/")[1], r.status, r.headers.get("content-type")))
            if len(set(spoken)) == 2:
                heard.set()

    page.on("response", on_response)
    await page.get_by_role("button", name="长者模式").click()
    await page.get_by_role("button", name="综合受理").click()
    await page.locator("#number", has_text="A001").wait_for()
    async with asyncio.timeout(5):
        await heard.wait()
    assert list(dict.fromkeys(spoken)) == [("home", 200, "audio/wav"),
                                           ("take?ticket=A001", 200, "audio/wav")]
    # a card read, then nobody touches the kiosk for idle_s: home, and the card forgotten by
    # the page and by the daemon (the next citizen's ticket is not in its holder's name)
    reader.place(make_card("王秀英", date(1952, 5, 1)))
    await page.get_by_role("button", name="完成").click()
    await page.locator("#card", has_text="王*").wait_for(timeout=3000)
    reader.lift()
    await page.get_by_role("button", name="预约签到").click()
    await page.locator("#card", has_text="王*").wait_for(state="detached", timeout=15000)
    await page.get_by_role("heading", name="请选择业务").wait_for()
    assert "kiosk-1" not in hall.kiosk_cards
    await context.close()


async def test_the_kiosk_says_why_a_category_cannot_issue_and_asks_for_the_card(
        demo_cfg, hall_of, browser, tmp_path):
    import dataclasses
    from datetime import date

    from kioskd.config import Category
    from kioskd.sim.idcard import make_card

    cats = {c.code: c for c in demo_cfg.categories}
    cfg = dataclasses.replace(demo_cfg, categories=(
        cats["A"], dataclasses.replace(cats["B"], hours=("08:30", "09:30")),  # the hall's 10:00
        dataclasses.replace(cats["C"], requires_id=True, per_person_daily=1)))
    sim = await hall_of(cfg)
    reader, printer = kiosk_parts(sim)
    context, page = await open_kiosk(browser, sim)
    closed = page.get_by_role("button", name="不动产登记")
    assert await closed.is_disabled()
    await closed.filter(has_text="今日取号已结束（08:30-09:30）").wait_for()
    await page.get_by_role("button", name="社保医保").filter(has_text="请先在读卡区放置身份证").wait_for()
    await shot(page, "kiosk-reasons", tmp_path)

    # a category that needs the card asks for it, and issues as soon as it is read
    await page.get_by_role("button", name="社保医保").click()
    await page.get_by_role("heading", name="请刷身份证").wait_for()
    li_ming = make_card("李明", date(1990, 8, 20))
    reader.place(li_ming)
    await page.locator("#number", has_text="C001").wait_for(timeout=5000)
    await page.get_by_role("button", name="完成").click()
    # the same person again (the card read anew): refused in a sentence, nothing printed
    printed = len(printer.tickets)
    await reader.lifted()
    reader.place(li_ming)
    await page.locator("#card", has_text="李*").wait_for()
    await page.get_by_role("button", name="社保医保").click()
    await page.get_by_role("alert").filter(has_text="您今日已取过此类号（每人每天 1 张）").wait_for()
    await no_serious_violations(page)
    assert len(printer.tickets) == printed
    reader.lift()
    await context.close()


async def test_a_clerk_works_the_window_from_its_page_and_cannot_rate(sim, browser, tmp_path):
    import re

    hall, cfg = sim.hall, sim.hall.cfg
    board = sim.twin(cfg.devices_of(window=1, role=Role.BOARD)[0].id)
    pad = sim.twin(cfg.devices_of(window=1, role=Role.PAD)[0].id)
    context, page = await screen(browser, 1366, 768)
    other = await page.goto(f"{hall.api_url}/window/1?token={token(cfg, 'clerk', window=2)}")
    assert other.status == 401  # window 2's clerk does not work window 1
    await page.goto(f"{hall.api_url}/window/1?token={token(cfg, 'clerk', window=1)}")
    assert page.url == f"{hall.api_url}/window/1"
    await page.get_by_role("heading", name="1 号窗口").wait_for()
    # 签到: whoever works the window types their 工号; a wrong one is said, not taken
    await page.get_by_role("button", name="签到").click()
    await page.get_by_label("工号").fill("9999")
    await page.get_by_label("工号").press("Enter")
    await page.get_by_text("工号不正确").wait_for()
    assert hall.state.windows[1].clerk is None
    await page.get_by_label("工号").fill("0102")  # clerk-w2 works window 1 today
    await page.get_by_label("工号").press("Enter")
    await page.get_by_text("clerk-w2（工号 0102）· 服务中").wait_for()
    assert hall.state.windows[1].staff_no == "0102"
    for _ in range(2):
        assert (await api(hall, "POST", "/api/tickets", {"category": "A", "kiosk": "kiosk-1"}))[0] == 201
    await page.locator("#next li", has_text="A002").wait_for()

    # the keypad's key 1 calls next: the page, the window board and the call agree
    await page.keyboard.press("1")
    await page.locator("#current", has_text="A001").filter(has_text="已叫号").wait_for()
    await board.watch.until(lambda: "A001" in board.text, 10, "the window board shows A001")
    await page.get_by_role("button", name="重呼").click()
    await page.locator("#current", has_text="重呼 1 次").wait_for()
    await no_serious_violations(page)
    await shot(page, "window", tmp_path)
    await page.get_by_role("button", name="办结").click()
    await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.ticket == "A001", 10,
                          "the pad asks the citizen")
    assert pad.prompt.clerk == "clerk-w2 工号0102"  # who signed in, on the citizen's pad
    # the clerk's page has no way to rate: only 请评价, which asks the citizen on the pad
    assert await page.get_by_role("button", name=re.compile("满意")).count() == 0
    await page.locator("#current", has_text="A001 等待评价").wait_for()

    # transfer the next citizen to window 3
    await page.get_by_role("button", name="叫号").click()
    await page.locator("#current", has_text="A002").wait_for()
    await page.get_by_role("button", name="转移").click()
    await page.get_by_label("转移到").select_option(label="3 号窗口")
    await page.get_by_role("button", name="确认转移").click()
    await page.locator("#current", has_text="空闲").wait_for()
    assert hall.state.tickets["A002"].directed == 3
    await context.close()


async def test_the_manager_reads_today_and_a_past_day_and_takes_the_tables_away(sim, browser,
                                                                                tmp_path):
    hall, cfg = sim.hall, sim.hall.cfg
    for category in "AAB":
        assert (await api(hall, "POST", "/api/tickets", {"category": category,
                                                         "kiosk": "kiosk-1"}))[0] == 201
    for action in ("call-next", "start", "finish"):
        assert (await api(hall, "POST", f"/api/windows/1/{action}", role="clerk", window=1))[0] == 200
    sim.clock.advance(hours=15)  # past the hall's midnight: the day's figures go to the journal
    hall.tick_soon()
    await hall.watch.until(lambda: hall.state.day == "2026-11-25", 10, "the next day")
    assert (await api(hall, "POST", "/api/tickets", {"category": "A", "kiosk": "kiosk-1"}))[0] == 201
    assert (await api(hall, "GET", "/api/stats?day=2026-11-23", role="technician"))[0] == 404

    context = await browser.new_context(viewport={"width": 1440, "height": 1000},
                                        accept_downloads=True)
    page = await context.new_page()
    await page.goto(f"{hall.api_url}/manage?token={token(cfg, 'manager')}")
    assert page.url == f"{hall.api_url}/manage"
    summary = page.locator("#summary")
    await summary.locator(".figure", has_text="取号").filter(has_text="1").first.wait_for()
    await page.get_by_label("日期").select_option("2026-11-24")
    await page.locator("#categories tr", has_text="A").filter(has_text="2").first.wait_for()
    row = page.locator("#windows tbody tr").first
    assert (await row.locator("td").nth(1).inner_text()) == "1"  # window 1 served one
    await page.locator("#chart svg text", has_text="17时").wait_for()  # the hall's usual day
    heights = await page.locator("#chart svg rect").evaluate_all(
        "rs => rs.map(r => Number(r.getAttribute('height')))")
    assert len(heights) == 10 and heights[2] > 0 and heights.count(0) == 9  # 3 at 10时 alone
    await no_serious_violations(page)
    await shot(page, "manage", tmp_path)
    async with page.expect_download() as download:
        await page.locator("#categories a.csv").click()
    saved = tmp_path / "categories.csv"
    await (await download.value).save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("类别,取号,办结") and "\nA,2,1," in text
    await context.close()


async def test_the_rating_tablet_is_enrolled_then_the_citizen_rates_and_signs_on_it(sim, browser,
                                                                                     tmp_path):
    """The tablet page in Chromium: enrolled with a technician's code (typed on the page), the
    idle screen names who serves, a bad rating with a reason reaches central sealed with the
    key the page holds, and a signature drawn with the pointer is kept as a PNG."""
    hall, cfg = sim.hall, sim.hall.cfg
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


async def test_a_kiosk_whose_printer_is_out_shows_the_ticket_and_its_qr(sim, browser, tmp_path):
    import io

    import zxingcpp
    from PIL import Image

    hall = sim.hall
    _, printer = kiosk_parts(sim)
    printer.change(paper="out")
    await hall.watch.until(lambda: not hall.kiosk_printer("kiosk-1")["prints"], 10,
                           "paper out seen")
    context, page = await open_kiosk(browser, sim)
    await page.get_by_role("button", name="综合受理").click()
    await page.locator("#number", has_text="A001").wait_for()
    await page.get_by_text("打印机暂停，请记下您的号码或拍下二维码").wait_for()
    qr = page.get_by_role("img", name="号票二维码")
    await qr.wait_for()
    await page.wait_for_function("() => document.querySelector('#ticket-qr').complete")
    # what the citizen photographs is the ticket's own signed link
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(await qr.screenshot())))
    assert f"/{hall.cfg.hall.id}/{hall.state.day}/A001/" in found.text
    await no_serious_violations(page)
    await context.close()


async def test_the_clerk_sees_the_time_limit_of_the_service(sim, browser):
    from datetime import timedelta

    hall, cfg = sim.hall, sim.hall.cfg
    assert (await api(hall, "POST", "/api/tickets", {"category": "A"}))[0] == 201
    await api(hall, "POST", "/api/windows/1/sign-in", role="clerk", window=1)
    await api(hall, "POST", "/api/windows/1/call-next", role="clerk", window=1)
    await api(hall, "POST", "/api/windows/1/start", role="clerk", window=1)
    context, page = await screen(browser, 1366, 768)
    await page.goto(f"{hall.api_url}/window/1?token={token(cfg, 'clerk', window=1)}")
    await page.locator("#current .limit", has_text="限时办结：剩余 30 分钟").wait_for()
    sim.clock.now += timedelta(minutes=31)  # category A: service_limit_min = 30
    await page.reload()
    await page.locator("#current .over", has_text="已超过限时 30 分钟（已办理 31 分钟）").wait_for()
    await no_serious_violations(page)
    await context.close()
