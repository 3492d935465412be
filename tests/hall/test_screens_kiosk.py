"""The self-service kiosk in a real browser (Debian's chromium, Playwright) against a simulated
hall: taking a number by touch and by card, check-in by QR and by code, elder mode, refusals
in words, a printer that is out. Every page is checked with axe-core."""

from __future__ import annotations

import asyncio

from kioskd.sim.scenario import token
from support.browser import NEEDS_CHROMIUM, kiosk_parts, no_serious_violations, open_kiosk, shot


pytestmark = NEEDS_CHROMIUM


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
    await page.locator("#card", has_text="王*").filter(has_text="老年人优先").wait_for(timeout=10000)
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
    asked, spoken, heard = [], [], asyncio.Event()

    def on_request(r) -> None:  # in the order the page asks: what it says, when
        if "/voice/" in r.url:
            asked.append(r.url.split("/voice/")[1])

    def on_response(r) -> None:  # the browser may ask in ranges, and answers come as they do
        if "/voice/" in r.url:
            spoken.append((r.url.split("/voice/")[1], r.status, r.headers.get("content-type")))
            if len(set(spoken)) == 2:
                heard.set()

    page.on("request", on_request)
    page.on("response", on_response)
    await page.get_by_role("button", name="长者模式").click()
    await page.get_by_role("button", name="综合受理").click()
    await page.locator("#number", has_text="A001").wait_for()
    async with asyncio.timeout(5):
        await heard.wait()
    assert list(dict.fromkeys(asked)) == ["home", "take?ticket=A001"]
    assert set(spoken) == {("home", 200, "audio/wav"), ("take?ticket=A001", 200, "audio/wav")}
    # a card read, then nobody touches the kiosk for idle_s: home, and the card forgotten by
    # the page and by the daemon (the next citizen's ticket is not in its holder's name)
    # 完成 forgets the last citizen's card: the next one's is read after it
    await page.get_by_role("button", name="完成").click()
    await page.get_by_role("heading", name="请选择业务").wait_for()
    reader.place(make_card("王秀英", date(1952, 5, 1)))
    await page.locator("#card", has_text="王*").wait_for(timeout=10000)
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
