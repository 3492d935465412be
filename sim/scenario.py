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


def _journaled(hall, types: tuple[str, ...], after: int):
    return [e for e in hall.journal.read(after, 10_000) if e.type in types]


async def night_entry(sim: SimHall, card: IdCard, zone: str, timeout: float = 10.0
                      ) -> dict[str, Any]:
    """A citizen at the 24-hour zone's street door: the card on the reader outside, the door
    pulsed open, in through the beam, the door shut behind them."""
    hall, cfg = sim.hall, sim.hall.cfg
    reader = sim.twin(next(d.id for d in cfg.devices if d.zone == zone and d.role is Role.READER
                           and not hall.lockers.reader_of(d.id)))
    after = hall.journal.last_seq
    reader.place(card)
    await hall.watch.until(lambda: _journaled(hall, ("zone.entry", "zone.refused"), after),
                           timeout, "the zone decides on the card")
    decided = _journaled(hall, ("zone.entry", "zone.refused"), after)[0]
    await reader.lifted()
    if decided.type == "zone.entry":
        for door_id in decided.data["doors"]:
            door = sim.twin(door_id)
            await hall.watch.until(lambda: _journaled(hall, ("gate.opened",), after), timeout,
                                   "the door opens")
            if door.beam >= 0:
                door.walk_in()
                await hall.watch.until(lambda: _journaled(hall, ("gate.passed",), after),
                                       timeout, "counted in")
    return {"event": decided.type, **decided.data,
            "occupancy": hall.zones.zones[zone].occupancy}


async def locker_pickup(sim: SimHall, http: aiohttp.ClientSession, locker: str, case: str,
                        window: int, timeout: float = 10.0) -> dict[str, Any]:
    """出件: the clerk of `window` puts a finished document in the locker for `case`; central
    makes the pickup code from the deposit (as a city's central would, for its text message);
    the citizen types it at the locker's page and takes the document out."""
    from kioskd.lockers.rules import pickup_code

    hall, cfg = sim.hall, sim.hall.cfg
    twin = sim.twin(locker)
    compartments = hall.lockers.lockers[locker].compartments

    async def shut(n: int, kind: str) -> None:
        await hall.watch.until(lambda: compartments[n].open, timeout, f"compartment {n} open")
        after = hall.journal.last_seq
        twin.close(n)
        await hall.watch.until(lambda: _journaled(hall, (kind,), after), timeout, kind)

    async with http.post(f"{hall.api_url}/api/lockers/{locker}/deposit", json={"case": case},
                         headers=_auth(token(cfg, "clerk", window=window))) as r:
        put = await r.json()
        if r.status != 200:
            raise RuntimeError(f"deposit refused: {put}")
    await shut(put["compartment"], "locker.deposited")
    code = pickup_code(hall.commands.key, cfg.hall.id, put["deposit"])
    page = next(c.token for c in cfg.api.clients if c.role == "locker" and c.locker == locker)
    async with http.post(f"{hall.api_url}/api/lockers/{locker}/pickup", json={"code": code},
                         headers=_auth(page)) as r:
        got = await r.json()
        if r.status != 200:
            raise RuntimeError(f"pickup refused: {got}")
    await shut(got["compartment"], "locker.collected")
    return {"case": case, "compartment": got["compartment"], "window": window}
