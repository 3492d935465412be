"""Citizens and clerks played against a simulated hall through its real interfaces: cards on
the reader twin, the local API with the kiosk's and the clerk's tokens, keys on the pad twin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp

from kioskd.config import Config
from kioskd.drivers.idcard.sam import IdCard
from kioskd.sim.hall import SimHall
from kioskd.drivers.registry import Role


@dataclass
class Visit:
    ticket: dict[str, Any]
    printed: str
    board: str
    rating: int
    accepted: bool


def token(cfg: Config, role: str, *, window: int | None = None, kiosk: str | None = None) -> str:
    return next(c.token for c in cfg.api.clients if c.role == role
                and (window is None or c.window == window) and (kiosk is None or c.kiosk == kiosk))


async def visit(sim: SimHall, http: aiohttp.ClientSession, *, card: IdCard | None,
                category: str, window: int, rating: int = 5, timeout: float = 5.0) -> Visit:
    """One citizen: card on the kiosk reader, a ticket, called at `window`, served, rates."""
    hall, cfg = sim.hall, sim.hall.cfg
    kiosk = cfg.kiosks[0].id
    reader = sim.twin(cfg.devices_of(kiosk=kiosk, role=Role.READER)[0].id)
    printer = sim.twin(cfg.devices_of(kiosk=kiosk, role=Role.PRINTER)[0].id)
    board = sim.twin(cfg.devices_of(window=window, role=Role.BOARD)[0].id)
    pad = sim.twin(cfg.devices_of(window=window, role=Role.PAD)[0].id)
    base = hall.api_url
    if card is not None:
        reader.place(card)
        await hall.watch.until(lambda: kiosk in hall.kiosk_cards, timeout, "the card is read")
        reader.lift()
    printed_before = len(printer.tickets)
    async with http.post(f"{base}/api/tickets", json={"category": category, "kiosk": kiosk},
                         headers=_auth(token(cfg, "kiosk", kiosk=kiosk))) as r:
        ticket = await r.json()
        if r.status != 201:
            raise RuntimeError(f"ticket refused: {ticket}")
    await printer.watch.until(lambda: len(printer.tickets) > printed_before, timeout, "printed")
    clerk = _auth(token(cfg, "clerk", window=window))
    async with http.post(f"{base}/api/windows/{window}/call-next", headers=clerk) as r:
        called = await r.json()
        if r.status != 200:
            raise RuntimeError(f"call-next refused: {called}")
    number = called["window"]["current"]
    await board.watch.until(lambda: number in board.text, timeout, f"board shows {number}")
    shown = board.text
    async with http.post(f"{base}/api/windows/{window}/finish", headers=clerk) as r:
        if r.status != 200:
            raise RuntimeError(f"finish refused: {await r.json()}")
    await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.ticket == number,
                          timeout, "the pad asks for a rating")
    txn = pad.press(rating, (1,) if rating <= 2 else ())
    await pad.watch.until(lambda: txn in pad.results, timeout, "the pad hears the result")
    return Visit(ticket, printer.tickets[-1].text, shown, rating, pad.results[txn])


def _auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


DEMO_PEOPLE = [("王秀英", date(1952, 5, 1)), ("李明", date(1990, 8, 20)),
               ("欧阳娜娜", date(1985, 1, 9)), ("陈建国", date(1949, 10, 1))]
