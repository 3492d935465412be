"""The hall's screens through Chromium (Debian's, as the tests): a call to the hall TV showing
it, the kiosk's first paint, and a card on the kiosk's reader to its masked name on screen.

Each beside its floor: the same browser showing a WebSocket message on a bare page (the call),
loading a bare page (the first paint), and the daemon itself having the card (the card).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import date
from pathlib import Path


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

BARE = """<!doctype html><html><body><ol id="calls"><li>-</li></ol><script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (m) => { document.querySelector("#calls li").textContent = m.data; };
</script></body></html>"""


async def _bare_server():
    """A page and a WebSocket with nothing between them: the browser's own floor."""
    from aiohttp import web

    sockets: list[web.WebSocketResponse] = []

    async def page(request):
        return web.Response(text=BARE, content_type="text/html")

    async def ws(request):
        s = web.WebSocketResponse()
        await s.prepare(request)
        sockets.append(s)
        async for _ in s:
            pass
        return s

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/ws", ws)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", sockets


async def bench_pages(n: int, folder: Path, report) -> None:
    from playwright.async_api import async_playwright

    from kioskd.engine import queue
    from kioskd.sim.hall import SimHall
    from kioskd.sim.idcard import make_card
    from kioskd.sim.scenario import token

    if not Path(CHROMIUM).exists():
        print("pages: skipped (Debian's chromium is not installed: scripts/system-deps)")
        return
    sim = SimHall(Path(__file__).parent.parent / "devices.toml", folder / "pages-hall",
                  api_port=0, central=False)
    hall = await sim.start()
    runner, bare, sockets = await _bare_server()
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            # a call to the hall TV showing it
            await page.goto(f"{hall.api_url}/board?token={token(hall.cfg, 'board')}")
            await page.locator("#calls").wait_for()
            await hall.execute(queue.WindowAction(1, "sign-in", clerk="clerk-w1"))
            ours = []
            for _ in range(n):
                envs, _ = await hall.execute(queue.IssueTicket("A"))
                number = envs[0].data["ticket"]
                t = time.perf_counter()
                await hall.execute(queue.WindowAction(1, "call", ticket=number))
                await page.wait_for_function(
                    "n => (document.querySelector('#calls li') || {}).textContent?.includes(n)",
                    arg=number, polling="raf")
                ours.append((time.perf_counter() - t) * 1000)
                await hall.execute(queue.WindowAction(1, "finish"))
            raw_page = await browser.new_page()
            await raw_page.goto(bare)
            while not sockets:
                await asyncio.sleep(0.01)
            raw = []
            for i in range(n):
                t = time.perf_counter()
                await sockets[-1].send_str(f"A{i:03d} 请到 1 号窗口")
                await raw_page.wait_for_function(
                    "n => document.querySelector('#calls li').textContent.startsWith(n)",
                    arg=f"A{i:03d}", polling="raf")
                raw.append((time.perf_counter() - t) * 1000)
            report("pages: call -> hall TV shows it (Chromium)", ours, raw)

            # the kiosk's first paint: its categories on screen, from navigation
            kiosk = await browser.new_page(viewport={"width": 1080, "height": 1920})
            await kiosk.goto(f"{hall.api_url}/kiosk/kiosk-1?token={token(hall.cfg, 'kiosk')}")
            ours, raw = [], []
            for _ in range(max(5, n // 5)):
                t = time.perf_counter()
                await kiosk.reload()
                await kiosk.locator("button.category").first.wait_for()
                ours.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                await raw_page.goto(bare)
                await raw_page.locator("#calls li").wait_for()
                raw.append((time.perf_counter() - t) * 1000)
            report("pages: kiosk first paint (categories shown)", ours, raw)

            # a card on the kiosk's reader to its masked name on the kiosk's screen; the floor
            # is the daemon having the card (the page polls its /card every 400 ms)
            reader = sim.twin("reader-k1")
            ours, raw = [], []
            for i in range(max(5, n // 5)):
                card = make_card("张三丰", date(1950, 3, 1), serial=100 + i)
                t = time.perf_counter()
                reader.place(card)
                await hall.watch.until(lambda: "kiosk-1" in hall.kiosk_cards, 5, "read")
                raw.append((time.perf_counter() - t) * 1000)
                await kiosk.locator("#card .holder", has_text="张*").wait_for()
                ours.append((time.perf_counter() - t) * 1000)
                await reader.lifted()
                await kiosk.evaluate("home()")  # the citizen leaves: the card is forgotten
                await kiosk.locator("#card .holder").wait_for(state="detached")
            report("pages: card read -> masked name on the kiosk", ours, raw)
            await browser.close()
    finally:
        await runner.cleanup()
        await sim.stop()
