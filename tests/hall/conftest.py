"""The hall tier's fixtures beyond tests/conftest.py: a headless chromium for the screens."""

from __future__ import annotations

import pytest
from support.browser import CHROMIUM


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


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory):
    """pcscd with vpcd's virtual reader: (its name, the port the card twin connects to), for
    the whole session (a vpcd port stays in TIME-WAIT a minute after its pcscd stops)."""
    from kioskd.sim import pcscd as pcsc

    why = pcsc.missing()
    if why:
        pytest.skip(why)
    proc, port = pcsc.start(tmp_path_factory.mktemp("reader.conf.d"))
    yield pcsc.READER, port
    pcsc.stop(proc)
