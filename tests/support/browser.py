"""What the screens' tests share: Debian's chromium (found, or the tests skip), a page of a
given size, axe-core's verdict, screenshots for the README, a kiosk page opened."""

from __future__ import annotations

import os
import pytest
import shutil
from pathlib import Path

from kioskd.drivers.registry import Role
from kioskd.sim.scenario import token


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screens"
NEEDS_CHROMIUM = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="Debian's chromium is not installed "
                                           "(scripts/system-deps)")


async def screen(browser, width: int, height: int):
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        locale="zh-CN")
    return context, await context.new_page()


async def no_serious_violations(page) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], bad


async def shot(page, name: str, tmp_path: Path) -> None:
    """docs/screens/NAME.png when KIOSKD_SHOTS=write (the README shows them), else a temp file."""
    folder = SHOTS if os.environ.get("KIOSKD_SHOTS") == "write" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"))


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


async def api_restart(hall, port: int) -> None:
    from kioskd.api.server import ApiServer

    hall.api = ApiServer(hall)
    assert await hall.api.start(port=port) == hall.api_url
