"""A busy hall's day, simulated as fast as it goes: the bench's (`bench/day.py`) and a test's.

The demo hall (every device family as twins, the real mosquitto and collector, voice to files)
grown to `windows` windows (a BX board and a serial rating pad each) and `kiosks` kiosks (an ID
reader and a ticket printer each). The hall's clock is a SimClock moved on a minute at a time
from 08:30; within a minute the kiosks and the windows act at once, each through the hall's
real interfaces as in `sim.scenario.visit`: a card on the reader, the kiosk's API, the clerk's
API, the pad's keys. Arrivals follow a morning peak; services last a lognormal time around the
category's; some citizens do not come when called (skipped), some are transferred, every
served one is asked to rate; boards are unplugged and plugged back now and then.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time, timedelta
from typing import Any

import aiohttp

from kioskd.sim.city import percentile
from kioskd.sim.clock import SimClock
from kioskd.sim.idcard import make_card

# arrivals by the hour from 08:00: a morning peak at 09-10, a lull at noon (weights)
PEAK = {8: 0.6, 9: 2.0, 10: 1.6, 11: 1.1, 12: 0.4, 13: 0.9, 14: 1.2, 15: 1.0, 16: 0.7}
OPEN, CLOSE = clock_time(8, 30), clock_time(17, 0)
SERVICE_MIN = {"A": 5.0, "B": 9.0, "C": 4.0}  # mean minutes of a service by category
SHARE = {"A": 0.6, "B": 0.15, "C": 0.25}  # of arrivals
NO_SHOW, TRANSFER, WITH_CARD, ELDERLY = 0.03, 0.04, 0.7, 0.15
# clerks acting at once: the twins share the daemon's loop, and a hundred windows acting in one
# instant kept the twins from answering the daemon's polls in time (devices went stale)
AT_ONCE = 16


@dataclass
class Plan:
    windows: int = 100
    kiosks: int = 20
    tickets: int = 10_000
    faults: int = 4  # boards unplugged for 10 minutes during the day
    seed: int = 20261206
    day: date = date(2026, 11, 23)  # a Monday


@dataclass
class Report:
    card_to_printed: list[float] = field(default_factory=list)  # ms, real time
    call_to_board: list[float] = field(default_factory=list)
    finish_to_prompt: list[float] = field(default_factory=list)
    stored: list[float] = field(default_factory=list)  # durable in the journal -> at central
    issued: int = 0
    served: int = 0
    rated: int = 0
    skipped: int = 0
    transferred: int = 0
    faults: int = 0
    read_again: int = 0  # cards the kiosk asked to place again
    gone: int = 0  # not served: skipped too often (void), or skipped and not back by closing
    hours: list[tuple[str, float, int]] = field(default_factory=list)  # (hh:mm, RSS MiB, fds)
    sim_s: float = 0.0
    real_s: float = 0.0

    def table(self) -> str:
        def row(name: str, xs: list[float]) -> str:
            return (f"| {name} | {len(xs):,} | {percentile(xs, 50):.1f} | "
                    f"{percentile(xs, 99):.1f} |")
        lines = ["| path | n | p50 ms | p99 ms |", "|---|---|---|---|",
                 row("card on the reader -> ticket printed", self.card_to_printed),
                 row("call -> window board frame", self.call_to_board),
                 row("finish -> rating prompt on the pad", self.finish_to_prompt),
                 row("event durable -> stored at central", self.stored)]
        lines.append("")
        lines.append(f"{self.issued:,} tickets, {self.served:,} served, {self.rated:,} rated, "
                     f"{self.skipped:,} skipped ({self.gone} never back), "
                     f"{self.transferred:,} transferred, "
                     f"{self.faults} board faults, {self.read_again} cards placed again; "
                     f"{self.sim_s / 3600:.1f} h of the hall's day "
                     f"in {self.real_s:.0f} s: {self.sim_s / self.real_s:.0f}x real time")
        lines.append("RSS MiB / open files by the hall's hour: " + ", ".join(
            f"{h} {rss:.0f}/{fds}" for h, rss, fds in self.hours))
        return "\n".join(lines)


def day_config(demo: str, plan: Plan) -> str:
    """The demo's devices.toml grown to the plan's hall; quotas beyond the day's tickets. The
    added devices are on TCP (serial-over-Ethernet converters, as many halls wire them): on
    ptys, a hundred windows' twins and drivers in one process pass 1,024 descriptors, and
    pyserial waits on its port with select(), which takes none above 1,023."""
    text = re.sub(r"daily_quota = \d+", "daily_quota = 100000", demo)
    text = re.sub(r'output = "auto"', 'output = "wav"', text)
    extra = []
    for w in range(5, plan.windows + 1):
        extra += ["[[window]]", f"number = {w}", 'categories = ["A", "B", "C"]', "",
                  "[[api.client]]", f'name = "clerk-w{w}"', 'role = "clerk"', f"window = {w}",
                  f'token = "day-clerk-w{w}-token"', "",
                  "[[device]]", f'id = "board-w{w}"', 'type = "board.bx"', f"window = {w}",
                  f'url = "tcp://127.0.0.1:{20000 + w}"', "",  # the twin's port replaces it
                  "[[device]]", f'id = "pad-w{w}"', 'type = "pad.serial"', f"window = {w}",
                  f'url = "tcp://127.0.0.1:{21000 + w}"',
                  f'key = "{os.urandom(16).hex()}"', ""]
    for k in range(2, plan.kiosks + 1):
        extra += ["[[kiosk]]", f'id = "kiosk-{k}"', f'name = "取号机{k}"', "",
                  "[[api.client]]", f'name = "kiosk-{k}"', 'role = "kiosk"', f'kiosk = "kiosk-{k}"',
                  f'token = "day-kiosk-{k}-token"', "",
                  "[[device]]", f'id = "reader-k{k}"', 'type = "idcard.sam"',
                  f'kiosk = "kiosk-{k}"', f'url = "tcp://127.0.0.1:{22000 + k}"', "poll_ms = 200", "",
                  "[[device]]", f'id = "printer-k{k}"', 'type = "printer.escpos"',
                  f'kiosk = "kiosk-{k}"', f'url = "tcp://127.0.0.1:{23000 + k}"',
                  'encoding = "gb18030"', ""]
    return text.rstrip("\n") + "\n\n" + "\n".join(extra)


@dataclass
class Citizen:
    minute: int  # of the day, from 00:00
    category: str
    card: Any  # an IdCard or None (a ticket by category alone)


@dataclass
class Desk:
    """A window as its clerk works it."""
    number: int
    ticket: str | None = None
    until: int = 0  # the minute the service ends
    no_show: bool = False
    transfer_to: str | None = None


class Day:
    def __init__(self, sim, clock: SimClock, plan: Plan):
        self.sim, self.hall, self.clock, self.plan = sim, sim.hall, clock, plan
        self.rng = random.Random(plan.seed)
        self.report = Report()
        self.windows = list(range(5, plan.windows + 1))
        self.kiosks = [f"kiosk-{k}" for k in range(2, plan.kiosks + 1)]
        self.desks = {w: Desk(w) for w in self.windows}
        self.down: dict[int, int] = {}  # window -> minute its board comes back
        self._pace = asyncio.Semaphore(AT_ONCE)
        self._durable: dict[int, float] = {}
        self._stored: dict[int, float] = {}

    # --- the plan of the day -------------------------------------------------------------------
    def arrivals(self) -> list[Citizen]:
        opens = OPEN.hour * 60 + OPEN.minute
        closes = CLOSE.hour * 60 + CLOSE.minute
        minutes = list(range(opens, closes))
        weights = [PEAK.get(m // 60, 0.5) for m in minutes]
        out = []
        for i, m in enumerate(sorted(self.rng.choices(minutes, weights, k=self.plan.tickets))):
            cat = self.rng.choices(list(SHARE), list(SHARE.values()))[0]
            card = None
            if self.rng.random() < WITH_CARD:
                born = date(1948, 1, 1) if self.rng.random() < ELDERLY else date(1985, 6, 1)
                card = make_card("王秀英" if born.year < 1960 else "李明",
                                 born + timedelta(days=i % 3000), serial=i % 999 + 1)
            out.append(Citizen(m, cat, card))
        return out

    def service_minutes(self, category: str) -> int:
        mean = SERVICE_MIN[category]
        sigma = 0.5  # lognormal: most near the mean, a few long ones
        return max(1, round(self.rng.lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma)))

    # --- the day -------------------------------------------------------------------------------
    async def run(self) -> Report:
        hall, rep = self.hall, self.report
        self._watch_journal()
        citizens = self.arrivals()
        faults = sorted(self.rng.sample(range(9 * 60 + 30, 16 * 60), self.plan.faults))
        start = datetime.combine(self.plan.day, clock_time(8, 0), hall.cfg.hall.tz)
        t0, i = time.perf_counter(), 0
        minute = OPEN.hour * 60 + OPEN.minute
        async with aiohttp.ClientSession() as http:
            self.http = http
            while i < len(citizens) or any(d.ticket for d in self.desks.values()) \
                    or hall.state.waiting():
                self.clock.now = start + timedelta(minutes=minute - 8 * 60)
                if minute % 60 == 0:
                    self._sample(minute)
                now_arriving = []
                while i < len(citizens) and citizens[i].minute <= minute:
                    now_arriving.append(citizens[i])
                    i += 1
                if faults and minute >= faults[0]:
                    faults.pop(0)
                    await self._fault(minute)
                for w, back in list(self.down.items()):
                    if minute >= back:
                        del self.down[w]
                        await self.sim.twin(f"board-w{w}").plug()
                by_kiosk: dict[str, list[Citizen]] = {}
                for n, c in enumerate(now_arriving):
                    by_kiosk.setdefault(self.kiosks[(i + n) % len(self.kiosks)], []).append(c)
                await asyncio.gather(*(self._kiosk(k, cs) for k, cs in by_kiosk.items()),
                                     *(self._desk(d, minute) for d in self.desks.values()))
                minute += 1
                if minute > 23 * 60:
                    raise RuntimeError("the day did not end by 23:00: the hall fell behind")
            self._sample(minute)
        await hall.watch.until(lambda: hall.journal.backlog() == 0, 120,
                               "central acknowledged the day")
        rep.real_s = time.perf_counter() - t0
        rep.gone = sum(1 for t in hall.state.tickets.values() if t.status in ("void", "skipped"))
        rep.sim_s = (minute - (OPEN.hour * 60 + OPEN.minute)) * 60
        rep.stored = [(self._stored[s] - self._durable[s]) * 1000
                      for s in self._stored if s in self._durable]
        return rep

    def problems(self) -> list[str]:
        """What the journal and central hold against what the citizens did."""
        hall, rep, out = self.hall, self.report, []
        rows = hall.journal.read(limit=10**9)
        issued = [(e.data["day"] if "day" in e.data else "", e.data["ticket"]) for e in rows
                  if e.type == "ticket.issued"]
        if len(issued) != rep.issued:
            out.append(f"{rep.issued} tickets printed, {len(issued)} journaled")
        if len(set(issued)) != len(issued):
            out.append(f"{len(issued) - len(set(issued))} numbers issued twice")
        rated = [e.data["ticket"] for e in rows if e.type == "rating.given"]
        if len(rated) != rep.rated or len(set(rated)) != len(rated):
            out.append(f"{rep.rated} ratings given on the pads, {len(rated)} journaled "
                       f"({len(rated) - len(set(rated))} twice)")
        left = [t.number for t in hall.state.tickets.values()
                if t.status in ("waiting", "called", "serving", "held")]
        if left:
            out.append(f"{len(left)} tickets still open when the day ended: {left[:5]}")
        with self.sim.central._lock:
            stored = self.sim.central.db.seqs(hall.cfg.hall.id)
        if stored != list(range(1, hall.journal.last_seq + 1)):
            out.append(f"central holds {len(stored)} rows, the journal {hall.journal.last_seq}")
        fds = [f for _, _, f in self.report.hours]
        if len(fds) > 2 and fds[-1] > fds[1] + 10:
            out.append(f"open files grew over the day: {fds}")
        return out

    def _sample(self, minute: int) -> None:
        status = open("/proc/self/status").read()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        self.report.hours.append((f"{minute // 60:02d}:{minute % 60:02d}", rss,
                                  len(os.listdir("/proc/self/fd"))))

    def _watch_journal(self) -> None:
        """When each row became durable (the journal's group commit) and when central stored
        it (the simulated hall's collector), in real time."""
        journal, central = self.hall.journal, self.sim.central
        flush, store = journal._flush, central.store_many

        def flushed(full_ok: bool) -> None:
            before = journal._durable_seq
            flush(full_ok)
            now = time.perf_counter()
            for s in range(before + 1, journal._durable_seq + 1):
                self._durable.setdefault(s, now)

        def stored(rows):
            fresh = store(rows)
            now = time.perf_counter()
            for hall, env in rows:
                if hall == self.hall.cfg.hall.id:
                    self._stored.setdefault(env["seq"], now)
            return fresh
        journal._flush, central.store_many = flushed, stored

    async def _fault(self, minute: int) -> None:
        w = self.rng.choice([w for w in self.windows if w not in self.down])
        self.down[w] = minute + 10
        self.report.faults += 1
        await self.sim.twin(f"board-w{w}").unplug()

    # --- a kiosk: its citizens one after another -------------------------------------------------
    async def _kiosk(self, kiosk: str, citizens: list[Citizen]) -> None:
        n = kiosk.rsplit("-", 1)[1]
        reader, printer = self.sim.twin(f"reader-k{n}"), self.sim.twin(f"printer-k{n}")
        for c in citizens:
            t0 = time.perf_counter()
            for attempt in range(3):
                if c.card is not None:
                    reader.place(c.card)
                    await self.hall.watch.until(lambda: kiosk in self.hall.kiosk_cards, 60,
                                                f"the card is read at {kiosk}")
                before = len(printer.tickets)
                async with self.http.post(f"{self.hall.api_url}/api/tickets",
                                          json={"category": c.category, "kiosk": kiosk},
                                          headers=_auth(f"day-{kiosk}-token")) as r:
                    answer = await r.json()
                if r.status == 201:
                    break
                # "place it again": what the kiosk tells the citizen when a read went wrong
                code = answer.get("error", "")
                if not (code.startswith("idcard.") or code == "device.timeout") or attempt == 2:
                    raise RuntimeError(f"ticket refused at {kiosk}: {answer}")
                self.report.read_again += 1
                await reader.lifted(60)  # a loaded simulation's polls come late
            await printer.watch.until(lambda: len(printer.tickets) > before, 60, "printed")
            self.report.issued += 1
            if c.card is not None:
                self.report.card_to_printed.append((time.perf_counter() - t0) * 1000)
                await reader.lifted(60)  # a loaded simulation's polls come late

    # --- a window: its clerk ---------------------------------------------------------------------
    async def _desk(self, d: Desk, minute: int) -> None:
        if d.ticket is not None and minute < d.until:
            return
        async with self._pace:
            await self._turn(d, minute)

    async def _turn(self, d: Desk, minute: int) -> None:
        if d.ticket is not None:
            if d.no_show:
                await self._act(d.number, "skip")
                self.report.skipped += 1
            elif d.transfer_to:
                await self._act(d.number, "transfer", {"to_category": d.transfer_to})
                self.report.transferred += 1
            else:
                await self._finish(d)
            d.ticket = None
        if d.ticket is None:
            await self._call(d, minute)

    async def _act(self, w: int, action: str, body: dict | None = None) -> tuple[int, dict]:
        async with self.http.post(f"{self.hall.api_url}/api/windows/{w}/{action}",
                                  json=body or {}, headers=_auth(f"day-clerk-w{w}-token")) as r:
            return r.status, await r.json()

    async def _call(self, d: Desk, minute: int) -> None:
        board = self.sim.twin(f"board-w{d.number}")
        t0 = time.perf_counter()
        status, body = await self._act(d.number, "call-next")
        if status == 409 and body.get("error") == "queue.empty":
            return
        if status != 200:
            raise RuntimeError(f"call-next at window {d.number}: {body}")
        d.ticket = body["window"]["current"]
        if d.number not in self.down:
            await board.watch.until(lambda: d.ticket in board.text, 60,
                                    f"board {d.number} shows {d.ticket}")
            self.report.call_to_board.append((time.perf_counter() - t0) * 1000)
        category = d.ticket[0]
        d.until = minute + self.service_minutes(category if category in SERVICE_MIN else "A")
        r = self.rng.random()
        d.no_show = r < NO_SHOW
        d.transfer_to = (self.rng.choice([c for c in SERVICE_MIN if c != category])
                         if NO_SHOW <= r < NO_SHOW + TRANSFER else None)
        if d.no_show:
            d.until = minute + 1

    async def _finish(self, d: Desk) -> None:
        pad = self.sim.twin(f"pad-w{d.number}")
        t0 = time.perf_counter()
        status, body = await self._act(d.number, "finish")
        if status != 200:
            raise RuntimeError(f"finish at window {d.number}: {body}")
        self.report.served += 1
        await pad.watch.until(lambda: pad.prompt is not None and pad.prompt.ticket == d.ticket,
                              60, f"pad {d.number} asks for {d.ticket}")
        self.report.finish_to_prompt.append((time.perf_counter() - t0) * 1000)
        level = self.rng.choices([5, 4, 3, 2, 1], [80, 12, 5, 2, 1])[0]
        txn = pad.press(level, (1,) if level <= 2 else ())
        await pad.watch.until(lambda: txn in pad.results, 60, "the pad hears the result")
        self.report.rated += 1


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_day(folder, plan: Plan, demo_toml: str) -> tuple[Report, list[str]]:
    """The plan's day in a simulated hall made from the demo's devices.toml (its own mosquitto
    and collector); the report, and what central or the journal got wrong ([] if nothing)."""
    from pathlib import Path

    from kioskd import config
    from kioskd.sim.hall import SimHall

    path = Path(folder) / "day.toml"
    path.write_text(day_config(demo_toml, plan), encoding="utf-8")
    cfg = config.load(path)
    clock = SimClock(datetime.combine(plan.day, clock_time(8), cfg.hall.tz))
    sim = SimHall(cfg, Path(folder) / "day-hall", api_port=0, clock=clock)
    await sim.start()
    try:
        day = Day(sim, clock, plan)
        report = await day.run()
        return report, day.problems()
    finally:
        await sim.stop()
