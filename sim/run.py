"""`kioskd sim`: start a simulated hall, say where it is, optionally play a demo, stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
from pathlib import Path

import aiohttp

from kioskd.api.pages import PAGES
from kioskd.config import Config
from kioskd.sim.hall import SimHall
from kioskd.sim.idcard import make_card
from kioskd.sim.scenario import DEMO_PEOPLE, locker_pickup, night_entry, visit
from kioskd.drivers.registry import Role

log = logging.getLogger("kioskd.sim")


async def run_sim(cfg: Config, state: Path, *, broker: str = "auto", demo: bool = False,
                  api_port: int | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sim = SimHall(cfg, state, broker=broker, api_port=api_port)
    hall = await sim.start()
    demo_task = None
    try:  # whatever goes wrong from here on, the broker and the twins are stopped
        print(f"\nkioskd sim: hall {cfg.hall.id} ({cfg.hall.name})", flush=True)
        print(f"  API      {hall.api_url}/api/health   (OpenAPI: {hall.api_url}/api/openapi.json)")
        print(f"  broker   {sim.broker.kind} at {sim.broker.url}, topics kioskd/v1/{cfg.hall.id}/#")
        print(f"  state    {sim.state}")
        print(f"  console  kioskd diag --api {hall.api_url} -c {cfg.path}")
        for url in screen_urls(cfg, hall.api_url, hall.tablets):
            print(f"  screen   {url}")
        print(f"  central  kioskd command --broker {sim.broker.url} --hall {cfg.hall.id} --key "
              f"{hall.state_dir / 'keys' / 'command.key'} window.pause '{{\"window\": 1}}'")
        for dev_id, twin in sim.twins.items():
            print(f"  device   {dev_id:<12} {twin.dev.type:<15} twin at "
                  f"{twin.url or f'{hall.api_url}/pad/{twin.dev.window} (a tablet page)'}")
        print("  Ctrl-C stops everything.\n", flush=True)
        demo_task = asyncio.create_task(_demo(sim, stop)) if demo else None
        await stop.wait()
    finally:
        if demo_task:
            demo_task.cancel()
            await asyncio.gather(demo_task, return_exceptions=True)
        await sim.stop()
    print("kioskd sim: stopped", flush=True)
    return 0


async def _demo(sim: SimHall, stop: asyncio.Event) -> None:
    cfg = sim.hall.cfg
    # a visit needs the window's board and pad (window 4 of the demo has a tablet, no board)
    windows = [w.number for w in cfg.windows if cfg.devices_of(window=w.number, role=Role.PAD)
               and cfg.devices_of(window=w.number, role=Role.BOARD)]
    async with aiohttp.ClientSession() as http:
        for i in itertools.count():
            name, birth = DEMO_PEOPLE[i % len(DEMO_PEOPLE)]
            window = windows[i % len(windows)]
            category = next(w for w in cfg.windows if w.number == window).categories[0]
            try:
                v = await visit(sim, http, card=make_card(name, birth, serial=i % 999 + 1),
                                category=category, window=window, rating=5 - (i % 3))
            except Exception as exc:  # noqa: BLE001 - said, and the demo goes on
                print(f"demo: visit {i + 1} stopped: {type(exc).__name__}: {exc}", flush=True)
            else:
                t = v.ticket
                print(f"demo: {t['holder']} took {t['ticket']} ({t['lane'] or 'normal'} lane, "
                      f"{t['ahead']} ahead); window {window} board: '{v.board}'; "
                      f"rated {v.rating} ({'accepted' if v.accepted else 'refused'})", flush=True)
                print("      ticket: " + " | ".join(v.printed.splitlines()), flush=True)
            try:  # now and then, the 24-hour zone: a night-time entry, a locker pickup
                await _zone_demo(sim, http, i)
            except Exception as exc:  # noqa: BLE001 - said, and the demo goes on
                print(f"demo: the 24-hour zone stopped: {type(exc).__name__}: {exc}", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), 3.0)  # a citizen every few seconds
                return
            except TimeoutError:
                pass


async def _zone_demo(sim: SimHall, http: aiohttp.ClientSession, i: int) -> None:
    cfg = sim.hall.cfg
    if not cfg.zones or i % 4 not in (1, 3):
        return
    zone = cfg.zones[0].id
    if i % 4 == 1:
        name, birth = DEMO_PEOPLE[(i + 1) % len(DEMO_PEOPLE)]
        e = await night_entry(sim, make_card(name, birth, serial=i % 999 + 1), zone)
        said = f"door {', '.join(e['doors'])} opened" if e["event"] == "zone.entry" \
            else f"refused ({e['code']})"
        print(f"demo: night-time entry at {zone}: {e['masked_name']} {said}; "
              f"{e['occupancy']} inside", flush=True)
        return
    locker = next((d.id for d in cfg.devices if d.role is Role.LOCKER), None)
    if locker:
        p = await locker_pickup(sim, http, locker, f"BJ{i:05d}", cfg.windows[0].number)
        print(f"demo: case {p['case']} deposited by window {p['window']}, collected with its "
              f"code from compartment {p['compartment']} of {locker}", flush=True)


def screen_urls(cfg, base: str, tablets=None) -> list[str]:
    """Each page a client of the config may open, with its token: a newcomer clicks straight
    into the running hall (the demo's tokens; a real hall's are in its token files). A rating
    tablet's page comes with a fresh one-time enrollment code instead: the browser that opens
    it becomes the window's tablet (in place of the simulated one)."""
    where = {"kiosk": lambda c: f"/{c.kiosk}", "window": lambda c: f"/{c.window}",
             "locker": lambda c: f"/{c.locker}"}
    urls = [f"{base}/{page}{where.get(page, lambda c: '')(c)}?token={c.token}"
            for page, roles in PAGES.items() for c in cfg.api.clients if c.role == roles[0]]
    for dev in cfg.devices:
        if dev.type == "pad.web" and tablets is not None:
            urls.append(f"{base}/pad/{dev.window}?enroll={tablets.offer(dev.id).code}")
    return urls

