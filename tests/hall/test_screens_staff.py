"""The clerk's window page and the manager's page in a real browser against a simulated hall:
sign-in by 工号, calling, no way to rate, the time limit, today and past days."""

from __future__ import annotations

from kioskd.drivers.registry import Role
from kioskd.sim.scenario import token
from support.browser import NEEDS_CHROMIUM, no_serious_violations, screen, shot
from support.helpers import api


pytestmark = NEEDS_CHROMIUM


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
    # the 24-hour zone now: who is inside (as two counted in by the door's beam: the count
    # itself is tests/hall/test_zone.py's)
    hall.zones.zones["night"].occupancy = 2
    await page.reload()
    await page.locator("#zones tr", has_text="24小时自助服务区").filter(has_text="2").wait_for()
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


async def test_a_clerk_deposits_a_document_in_the_locker_and_takes_it_back(sim, browser):
    """出件 from the clerk's page: a compartment opens for the case; what waits in the lockers
    for this window is listed and taken out from the page (a pickup nobody came for)."""
    hall, cfg = sim.hall, sim.hall.cfg
    twin = sim.twin("locker-1")
    context, page = await screen(browser, 1366, 768)
    await page.goto(f"{hall.api_url}/window/1?token={token(cfg, 'clerk', window=1)}")
    await page.get_by_label("办件编号").fill("BJ2026112400007")
    await page.get_by_role("button", name="存入寄取柜").click()
    await page.get_by_text("locker-1 1 号柜已打开").wait_for()
    assert twin.is_open(1)
    await hall.watch.until(lambda: hall.lockers.lockers["locker-1"].compartments[1].open, 5,
                           "seen open")
    twin.close(1)
    await page.locator("#waiting li", has_text="待取 BJ2026112400007").wait_for()
    await no_serious_violations(page)
    await page.locator("#waiting li", has_text="BJ2026112400007").get_by_role(
        "button", name="取出").click()  # the clerk takes it back (the citizen never came)
    await twin.watch.until(lambda: twin.is_open(1), 5, "opened for the clerk")
    await hall.watch.until(lambda: hall.lockers.lockers["locker-1"].compartments[1].open, 5,
                           "seen open")
    twin.close(1)
    collected = lambda: [e.data for e in hall.journal.read()  # noqa: E731
                         if e.type == "locker.collected"]
    await hall.watch.until(collected, 5, "collected")
    assert collected()[-1]["by"] == "clerk:clerk-w1"
    await page.wait_for_function("document.querySelectorAll('#waiting li').length === 0")
    await context.close()
