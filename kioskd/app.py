"""The hall daemon: wires config, journal, engine, drivers, uplink and the local API together.

Every command takes one path (`execute`): decide -> journal (durable) -> evolve -> publish ->
effects. The first three run without an await between them, so two windows calling at the same
instant are serialised by the event loop and can never get the same ticket.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from kioskd import cardwords, config as config_mod
from kioskd import sdnotify
from kioskd.budget import Budget
from kioskd.clockguard import ClockGuard
from kioskd.disk import DiskGuard
from kioskd.commands import CentralCommands
from kioskd.config import Config, DeviceConfig, state_dir
from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.caller import proto as keypad
from kioskd.drivers.caller.driver import KeyPress
from kioskd.drivers.printer.escpos import FAULTS, TicketText
from kioskd.drivers.registry import TYPES, Role, load
from kioskd.drivers.supervisor import Backoff, DeviceState, Supervisor
from kioskd.drivers.weblink import WebLinks
from kioskd.engine import queue
from kioskd.errors import ConfigError, DeviceError, DiskFull, KioskdError, Refused
from kioskd.journal import Envelope, Journal
from kioskd.ledger import commit, rebuild
from kioskd.logring import LogRing
from kioskd.scans import ScanStore
from kioskd.signatures import Signatures
from kioskd.tablets import Tablets
from kioskd.showing import BoardKeeper
from kioskd.privacy import (Holder, age_on, holder_token, install_log_scrubber, link_sig,
                            load_key, mask_name, mask_name_board)
from kioskd.uplink.mqtt import Uplink, rfc3339
from kioskd.voice import Announcer, wav_bytes
from kioskd.watch import Watch

log = logging.getLogger("kioskd")

CARD_FRESH_S = 120  # a card read at a kiosk is used for the next ticket within this time
TEST_TICKET = "T000"  # the technician's test prompts and test tickets: never a real number
TICK_S = 15
REFUSALS_PER_MIN = 10  # refused rating attempts journaled per token or device a minute
TECHNICIAN_COMMANDS = frozenset({"test", "status", "ping", "capture", "clear"})  # no arguments
EFFECT_NAMES = {queue.PrintTicket: "print", queue.ShowOnBoard: "show", queue.PromptRating: "prompt",
                queue.CloseRating: "close", queue.Announce: "announce"}


def _clerk_label(clerk: str | None, staff_no: str) -> str:
    """Who served the citizen, as the rating pad shows it: name and 工号."""
    if not clerk:
        return ""
    return f"{clerk} 工号{staff_no}" if staff_no else clerk


def issued_view(envs: list[Envelope], results: list[dict[str, Any]]) -> dict[str, Any]:
    """A ticket just issued as the kiosk shows it: the number, the line ahead, and whether it
    printed (else the page shows it with its QR)."""
    d = next(e for e in envs if e.type == "ticket.issued").data
    printed = next((r for r in results if r.get("effect") == "print"), {})
    return {"ticket": d["ticket"], "number": d["ticket"], "category": d["category"],
            "ahead": d["ahead"], "wait_min": d["wait_min"], "lane": d["lane"],
            "appointment": d["appointment"],
            "printed": bool(printed.get("printed")), "print_error": printed.get("error"),
            "on_screen": not printed.get("printed"), "qr": printed.get("qr")}


@dataclass
class KioskCard:
    holder: Holder | None
    error: str | None
    at: float


class Hall:
    def __init__(self, cfg: Config, *, state: Path | None = None, backoff: Backoff = Backoff(),
                 clock: Callable[[], datetime] | None = None, api: bool = True):
        self.cfg = cfg
        self.state_dir = state or state_dir(cfg)
        self.backoff = backoff
        self.tz = cfg.hall.tz
        self.clock = clock or (lambda: datetime.now(self.tz))
        # a test clock that is moved on says how far time truly passed (its own monotonic)
        self.monotonic: Callable[[], float] = getattr(clock, "monotonic", time.monotonic)
        self.with_api = api
        self.drivers: dict[str, Driver] = {}
        self.supervisors: dict[str, Supervisor] = {}
        self.kiosk_cards: dict[str, KioskCard] = {}
        self.reader_cards: dict[str, KioskCard] = {}  # the last card each reader read
        self.test_ratings: dict[str, int] = {}  # the level a pad gave to a technician's prompt
        # the last codes a gun or camera read, as kind and length only (a code may be personal)
        self.last_codes: dict[str, list[dict[str, Any]]] = {}
        self.logs = LogRing()
        self.boards = BoardKeeper(cfg, self.drivers, lambda: self.state, self.spawn)
        self.board_text = self.boards.window_text  # what each window board should show now
        self.scans = ScanStore(self.state_dir / "scans", cfg.hall.scan_quota_mb)
        self.signatures = Signatures(self)
        self.web_links = WebLinks()  # the tablets' pages, connected through the API
        self.window_pages: dict[int, list[str]] = {}  # captured since the window's last document
        # the gun's last check-in at each kiosk (its ticket, or why not), shown once by the page
        self.kiosk_notices: dict[str, dict[str, Any]] = {}
        # real-name halls: ticket -> the card holder's name, in memory only, until the rating
        self.real_names: dict[str, str] = {}
        # ticket -> the card holder's masked name (张*), in memory only, for the clerk's page
        self.masked_names: dict[str, str] = {}
        self.listeners: set[Callable[[Envelope], None]] = set()
        self._spoken: dict[str, bytes] = {}  # kiosk prompts made in the hall's voice
        self.api_url = ""
        self._tasks: list[asyncio.Task] = []
        self._device_tasks: dict[str, asyncio.Task] = {}  # device id -> its supervisor's run
        self._side: set[asyncio.Task] = set()  # short jobs started by device callbacks
        self._stopping = asyncio.Event()
        self.watch = Watch()  # changed() after every event, card read and device state
        self._refusals = Budget(REFUSALS_PER_MIN, 60, lambda: self.monotonic())

    # --- start and stop ----------------------------------------------------------------------
    async def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("kioskd").addHandler(self.logs)
        self.disk = DiskGuard(self.state_dir, self.cfg.hall.disk_reserve_mb,
                              self.cfg.hall.disk_low_mb)
        self.disk.ensure_reserve()
        self._disk_told = "ok"
        self.journal = Journal(self.state_dir / "journal.sqlite3", self.cfg.hall.id,
                               on_full=self._disk_full)
        install_log_scrubber()  # whoever embeds the hall (tests, kioskd sim) gets it too
        self.key = load_key(self.state_dir / "keys" / "holder.key")
        self.link_key = load_key(self.cfg.rating.link_key_file
                                 or self.state_dir / "keys" / "rating-link.key")
        last = self.journal.last_ts()
        self.guard = ClockGuard(timedelta(hours=self.cfg.hall.clock_jump_h),
                                datetime.fromisoformat(last) if last else None,
                                self.clock(), self.monotonic())
        self._suspect_told = None
        self.state = rebuild(self.cfg, self.journal, self.guard.floor.astimezone(self.tz))
        # central's commands are signed with this key; central holds the same one
        self.commands = CentralCommands(self, self._command_key(self.cfg))
        self._boot = self._count_boot()
        await self._start_uplink()
        self._start_devices()
        self.announcer = Announcer(self.cfg.voice, self.state_dir / "voice",
                                   on_spoken=self.watch.changed, still_called=self._still_called)
        self._tasks.append(asyncio.create_task(self.announcer.run(), name="voice"))
        self._tick_now = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._ticking(), name="tick"))
        if self.with_api:
            from kioskd.api.server import ApiServer

            self.api = ApiServer(self)
            self.api_url = await self.api.start()
        log.info("hall %s running: %d devices, journal at seq %d, API %s", self.cfg.hall.id,
                 len(self.drivers), self.journal.last_seq, self.api_url or "off")

    async def _start_uplink(self) -> None:
        self.uplink = Uplink(self.cfg.uplink, self.cfg.hall.id, self.journal, self.watch.changed,
                             boot=self._boot, on_central=self.commands.received,
                             ack_key=self.commands.key,
                             on_refused=lambda code, data: self.record("ack.refused", data))
        await self.uplink.start()

    def _command_key(self, cfg: Config) -> bytes:
        """Central's commands are signed with this key; central holds the same one."""
        return load_key(cfg.uplink.command_key_file or self.state_dir / "keys" / "command.key")

    def _start_devices(self) -> None:
        self.tablets = Tablets(self.state_dir / "keys" / "tablets", self.cfg.devices,
                               self.monotonic)
        for dev in self.cfg.devices:
            driver = self.drivers[dev.id] = load(TYPES[dev.type].driver)(dev, self._on_input)
            if dev.type == "pad.web":  # a page: its socket arrives through the API
                driver.links, driver.key_of = self.web_links, self.tablets.key
            self._supervise(dev.id)

    def _supervise(self, dev_id: str) -> None:
        sup = Supervisor(self.drivers[dev_id], self._on_device_state, self.backoff)
        self.supervisors[dev_id] = sup
        self._device_tasks[dev_id] = asyncio.create_task(sup.run_forever(),
                                                         name=f"device:{dev_id}")

    async def _stop_devices(self) -> None:
        for task in self._device_tasks.values():
            task.cancel()
        await asyncio.gather(*self._device_tasks.values(), return_exceptions=True)
        self._device_tasks.clear()
        self.drivers.clear()
        self.supervisors.clear()

    async def reload(self, cfg: Config) -> None:
        """Run on a new, validated config: devices reopened, the day's state rebuilt from the
        journal under the new rules, API clients replaced, the uplink reconnected if its
        settings changed. The API's listen address and the state folder need a restart."""
        try:  # first, so that a config today's journal does not fit changes nothing
            state = rebuild(cfg, self.journal, self.clock().astimezone(cfg.hall.tz))
            key = self._command_key(cfg)
        except KioskdError:
            raise
        except Exception as exc:  # noqa: BLE001 - any misfit refuses the config, names it
            raise ConfigError([f"{cfg.path}: today's journal does not fit this config "
                               f"({type(exc).__name__}: {exc}); the running one stays"]) from None
        stranded = self._stranded(cfg)
        if stranded:
            raise ConfigError([f"{cfg.path}: {p}; the running config stays" for p in stranded])
        old, self.cfg = self.cfg, cfg
        self.boards.cfg = cfg
        await self._stop_devices()
        self.tz = cfg.hall.tz
        self.state = state
        self.commands.key = key
        self.uplink.ack_key = key
        self.announcer.cfg = cfg.voice
        self._start_devices()
        if self.with_api and hasattr(self, "api"):
            self.api.clients = cfg.api.clients
            if (cfg.api.host, cfg.api.port) != (old.api.host, old.api.port):
                log.warning("config: [api] listen changed: it takes effect at the next restart")
        if cfg.uplink != old.uplink:
            # after the answer to central's command has gone out on the old link
            self.spawn(self._restart_uplink(), "uplink-restart")
        log.info("config reloaded from %s: %d devices, %d windows, %d categories", cfg.path,
                 len(cfg.devices), len(cfg.windows), len(cfg.categories))
        self.watch.changed()

    def _stranded(self, cfg: Config) -> list[str]:
        """Citizens a new config would strand today: open tickets of a category it drops, a
        window it drops while it calls, serves or holds someone."""
        codes, windows = {c.code for c in cfg.categories}, {w.number for w in cfg.windows}
        open_ = self.state.open_tickets()
        out = []
        for code in sorted({t.category for t in open_} - codes):
            numbers = ", ".join(sorted(t.number for t in open_ if t.category == code))
            out.append(f"category {code} is gone but tickets {numbers} are open today")
        out += [f"window {t.window} is gone but ticket {t.number} is {t.status} there"
                for t in open_ if t.window is not None and t.window not in windows
                and t.status in ("called", "serving", "held")]
        return out

    async def _restart_uplink(self) -> None:
        await self.uplink.stop()
        await self._start_uplink()

    async def reload_from_disk(self) -> None:
        """SIGHUP (systemctl reload): the config file again; a broken one changes nothing."""
        try:
            cfg = config_mod.load(self.cfg.path)
            await self.reload(cfg)
        except ConfigError as exc:
            log.error("config not reloaded, the running one stays:\n%s", exc)
        except Exception as exc:  # noqa: BLE001 - whatever the file holds, the hall runs on
            log.error("config not reloaded, the running one stays: %s: %s",
                      type(exc).__name__, str(exc)[:300])

    def _count_boot(self) -> int:
        """The daemon's starts, kept in the state folder: `state` carries it so that central
        can tell a late will (an older boot) from a hall that is down now."""
        f = self.state_dir / "boot"
        try:
            boot = int(f.read_text().strip()) + 1
        except (FileNotFoundError, ValueError):
            boot = 1
        tmp = f.with_suffix(".tmp")
        tmp.write_text(f"{boot}\n")
        tmp.replace(f)
        return boot

    async def stop(self) -> None:
        if self.with_api and hasattr(self, "api"):
            await self.api.stop()
        for task in [*self._tasks, *self._side]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._side, return_exceptions=True)
        self._tasks.clear()
        await self._stop_devices()
        if hasattr(self, "uplink"):
            await self.uplink.stop()
        if hasattr(self, "journal"):
            self.journal.close()
        log.info("hall %s stopped", self.cfg.hall.id)
        logging.getLogger("kioskd").removeHandler(self.logs)

    async def serve(self) -> None:
        """Run until SIGTERM/SIGINT; speak systemd's notify protocol when it listens."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        loop.add_signal_handler(signal.SIGHUP,
                                lambda: self.spawn(self.reload_from_disk(), "reload"))
        await self.start()
        sdnotify.notify(f"READY=1\nSTATUS=serving hall {self.cfg.hall.id}")
        watchdog = None
        interval = sdnotify.watchdog_interval()
        if interval:
            watchdog = asyncio.create_task(sdnotify.watchdog(interval), name="watchdog")
        await self._stopping.wait()
        sdnotify.notify("STOPPING=1")
        if watchdog:
            watchdog.cancel()
        await self.stop()

    # --- the one path for commands -------------------------------------------------------------
    def now(self) -> datetime:
        """The hall's time: the wall clock while it is believed (clockguard), never going
        back; a change of judgement is an event (central and the console hear of it)."""
        t = self.guard.read(self.clock(), self.monotonic(), tickets_open=self._tickets_open)
        t = t.astimezone(self.tz)
        if self.guard.suspect != self._suspect_told and hasattr(self, "uplink"):
            self._tell_clock(t)
        return t

    def _still_called(self, ticket: str, window: int) -> bool:
        t = self.state.tickets.get(ticket)
        return t is not None and t.status == "called" and t.window == window

    def _tickets_open(self) -> bool:
        return bool(self.state.open_tickets()) if hasattr(self, "state") else False

    def _tell_clock(self, t: datetime, by: str | None = None) -> None:
        s, told = self.guard.suspect, self._suspect_told
        self._suspect_told = s
        if s is not None and told is not None and s.direction == told.direction:
            return  # still the same suspicion
        if s is not None:
            data = s.as_dict()
            log.warning("clock: the wall clock says %s, %d s %s the hall's reckoning; the "
                        "hall goes on by its own time (%s) until the clock agrees or a "
                        "technician confirms it", s.wall.astimezone(self.tz).isoformat(" ", "seconds"),
                        abs(s.skew_s), "ahead of" if s.direction == "forward" else "behind",
                        t.isoformat(" ", "seconds"))
            self._append("clock.suspect", data, t)
        else:
            log.warning("clock: %s; the hall's time is the wall clock again",
                        f"confirmed by {by}" if by else "the wall clock agrees again")
            self._append("clock.confirmed" if by else "clock.agreed",
                         {"wall": t.isoformat(timespec="seconds"), **({"by": by} if by else {})}, t)

    def confirm_clock(self, by: str) -> dict[str, Any]:
        """A technician says the wall clock is right (the hall then takes its day from it)."""
        self.guard.confirm(self.clock(), self.monotonic())
        self._tell_clock(self.now(), by=by)
        self.tick_soon()
        return self.clock_view()

    def clock_view(self) -> dict[str, Any]:
        s = self.guard.suspect
        return {"state": "ok"} if s is None else {"state": "suspect", **s.as_dict()}

    async def execute(self, cmd: queue.Command) -> tuple[list[Envelope], list[dict[str, Any]]]:
        now = self.now()
        envs: list[Envelope] = []
        if queue.rollover_due(self.state, now):  # the first command of a day closes the last
            envs = commit(self.state, self.journal, queue.decide(self.state, queue.Tick(), now), now)
            self.real_names.clear()
            self.masked_names.clear()
            self.boards.new_day()
        envs += commit(self.state, self.journal, queue.decide(self.state, cmd, now), now)
        holder = getattr(cmd, "holder", None)
        if holder is not None:
            for env in envs:
                if env.type == "ticket.issued" and holder.name:
                    self.real_names[env.data["ticket"]] = holder.name
                if env.type == "ticket.issued":  # the clerk greets 张先生 by this: memory only
                    self.masked_names[env.data["ticket"]] = holder.masked_name
                if env.type == "ticket.issued" and self.boards.wants_names:
                    self.boards.names[env.data["ticket"]] = mask_name_board(holder.masked_name)
        for env in envs:
            self._published(env)
        results = []
        for env in envs:
            for effect in queue.effects_of(env.type, env.data, env.ts):
                results.append(await self._run_effect(effect))
        if envs:
            self.boards.changed()
        return envs, results

    def record(self, type_: str, data: dict[str, Any]) -> Envelope:
        """Journal an event that is not a queue command (device.state)."""
        return self._append(type_, data, self.now())

    def _append(self, type_: str, data: dict[str, Any], t: datetime) -> Envelope:
        env = self.journal.append([(type_, data)], ts=t.isoformat(timespec="milliseconds"))[0]
        self._published(env)
        return env

    async def _ticking(self) -> None:
        """Time-driven rules: a new day, missed appointments, time-limit alerts; once a day
        the retention purge."""
        purged_on = None
        while True:
            try:
                self.check_disk()
                await self.execute(queue.Tick())
                if purged_on != self.state.day:
                    self.purge()
                    purged_on = self.state.day
            except DiskFull as exc:
                log.error("time-driven rules not run: %s", exc)
            except Exception:  # noqa: BLE001 - log it, keep the hall running, try again
                log.exception("time-driven rules failed; trying again in %d s", TICK_S)
            try:
                async with asyncio.timeout(TICK_S):
                    await self._tick_now.wait()
            except TimeoutError:
                pass
            self._tick_now.clear()

    def _disk_full(self) -> bool:
        """The journal found the disk full: give up the reserve (it writes again on that
        space), and say so at the next turn of the loop (not from inside the write)."""
        released = self.disk.release()
        if hasattr(self, "_tick_now"):
            self.tick_soon()
        return released

    def check_disk(self) -> None:
        """disk.low / disk.ok when the judgement changes; while low, the calls' WAVs go and
        no new ones are written; once space is back the reserve is made again."""
        view = self.disk.view()
        if view.state == "low" and self.disk.ensure_reserve():  # the space came back
            view = self.disk.view()
        if view.state == self._disk_told:
            return
        self.announcer.files = view.state == "ok"
        data = {"free_mb": view.free_mb, "reserve": view.reserve,
                "low_mb": self.cfg.hall.disk_low_mb}
        if view.state == "low":
            gone = self.announcer.drop_files()
            log.error("disk: %.1f MB free in %s (low below %d MB, reserve %s): call WAVs "
                      "dropped (%d); free space", view.free_mb, self.state_dir,
                      self.cfg.hall.disk_low_mb, "kept" if view.reserve else "given up", gone)
        else:
            log.warning("disk: %.1f MB free again, the reserve is in place", view.free_mb)
        told, self._disk_told = self._disk_told, view.state
        try:
            self.record(f"disk.{view.state}", data)
        except DiskFull:
            self._disk_told = told  # not told after all: the next tick tries again
            raise

    @property
    def disk_low(self) -> bool:
        return self._disk_told == "low"

    def disk_view(self) -> dict[str, Any]:
        v = self.disk.view()
        return {"state": v.state, "free_mb": v.free_mb, "reserve": v.reserve}

    def tick_soon(self) -> None:
        """Run the time-driven rules now, not at the next tick (the clock was moved on)."""
        self._tick_now.set()

    def purge(self) -> int:
        """Drop journal rows past `[hall] retention_days` that central has; the newest
        appointment list stays (a restart needs it)."""
        cutoff = self.now() - timedelta(days=self.cfg.hall.retention_days)
        appts = self.journal.last_of("appointments.loaded", "9999")
        n = self.journal.purge(cutoff.date().isoformat(), appts.seq if appts else None)
        if n:
            log.info("retention: %d journal rows older than %d days purged", n,
                     self.cfg.hall.retention_days)
        gone = self.scans.purge(self.now().date(), self.cfg.hall.scan_retention_days) + \
            self.signatures.purge(self.now().date(), self.cfg.hall.scan_retention_days)
        if gone:
            log.info("retention: %d scanned and signed files older than %d days deleted", gone,
                     self.cfg.hall.scan_retention_days)
        self.watch.changed()
        return n

    def _published(self, env: Envelope) -> None:
        self.uplink.notify()
        self.watch.changed()
        for listener in list(self.listeners):
            listener(env)

    # --- effects: what devices do about events -------------------------------------------------
    def device_for(self, role: Role, *, kiosk: str | None = None,
                   window: int | None = None) -> Driver | None:
        found = self.cfg.devices_of(kiosk=kiosk, window=window, role=role)
        return self.drivers.get(found[0].id) if found else None

    def kiosk_printer(self, kiosk: str) -> dict[str, Any]:
        """Whether a ticket printed at `kiosk` would come out; the kiosk page offers printed
        tickets only while it would, and shows them on screen otherwise."""
        found = self.cfg.devices_of(kiosk=kiosk, role=Role.PRINTER)
        if not found:
            return {"device": None, "prints": False, "reason": "printer.none"}
        sup = self.supervisors[found[0].id]
        st = sup.state
        if st.state not in ("ready", "stale"):
            return {"device": found[0].id, "prints": False, "state": st.state,
                    "condition": st.condition, "reason": f"device.{st.state}"}
        return {"device": found[0].id, "prints": st.condition not in FAULTS, "state": st.state,
                "condition": st.condition,
                "reason": None if st.condition not in FAULTS else f"printer.{st.condition}"}

    def ticket_text(self, ticket: str, category_name: str, ahead: int, wait_min: int | None,
                    issued_at: str) -> TicketText:
        tpl = self.cfg.ticket
        return TicketText(tpl.title or self.cfg.hall.name, category_name, ticket, ahead,
                          issued_at[:16].replace("T", " "),
                          tpl.qr_text(self.cfg.hall.id, issued_at[:10], ticket,
                                      link_sig(self.link_key, self.cfg.hall.id, issued_at[:10],
                                               ticket)),
                          footer=tpl.footer, wait_min=wait_min)

    async def print_at(self, kiosk: str, text: TicketText) -> dict[str, Any]:
        """Print one ticket at a kiosk; a failure is an answer (the kiosk shows the ticket on
        screen), never an exception: the ticket stays issued whatever the printer does."""
        out: dict[str, Any] = {"effect": "print", "ticket": text.number, "qr": text.qr}
        where = self.kiosk_printer(kiosk)
        if not where["prints"]:
            return {**out, "printed": False, "error": where["reason"]}
        printer = self.drivers[where["device"]]
        try:
            return {**out, **await printer.handle("print", ticket=text,
                                                  fields=self.cfg.ticket.fields)}
        except KioskdError as exc:
            log.warning("%s: ticket %s not printed (%s); shown on screen", kiosk, text.number,
                        exc.code)
            return {**out, "printed": False, "error": exc.code}

    async def _print(self, effect: queue.PrintTicket) -> dict[str, Any]:
        return await self.print_at(effect.kiosk, self.ticket_text(
            effect.ticket, effect.category_name, effect.ahead, effect.wait_min, effect.issued_at))

    async def _run_effect(self, effect: queue.Effect) -> dict[str, Any]:
        try:
            if isinstance(effect, queue.PrintTicket):
                return await self._print(effect)
            if isinstance(effect, queue.Announce):
                return self.announcer.call(effect.ticket, effect.window, effect.recall)
            if isinstance(effect, queue.ShowOnBoard):
                return await self.boards.show_window(effect.window, effect.ticket, effect.state)
            if isinstance(effect, (queue.PromptRating, queue.CloseRating)):
                name = EFFECT_NAMES[type(effect)]
                pad = self.device_for(Role.PAD, window=effect.window)
                if pad is None:
                    return {"effect": name, "error": "pad.none"}
                if isinstance(effect, queue.CloseRating):
                    return {"effect": name, **await pad.handle("idle")}
                return {"effect": name, **await pad.handle(
                    "prompt", window=effect.window, ticket=effect.ticket,
                    clerk=_clerk_label(effect.clerk, effect.staff_no),
                    reasons=self.cfg.rating.reasons, timeout_s=self.cfg.queue.rating_timeout_s)}
        except DeviceError as exc:
            log.warning("%s not carried out: %s (%s)", type(effect).__name__, exc, exc.code)
            return {"effect": EFFECT_NAMES[type(effect)], "error": exc.code}
        return {}

    # --- what devices report -------------------------------------------------------------------
    def _on_input(self, inp: DeviceInput) -> None:
        """What a device reported, to the handler of its kind (one table, INPUTS)."""
        handler = INPUTS.get(inp.kind)
        if handler is None:
            log.warning("%s: an input of kind %r that nothing handles", inp.device, inp.kind)
            return
        handler(self, self.cfg.device(inp.device), inp)

    def _card_read(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.reader_cards[dev.id] = c = self._card(inp)
        if dev.kiosk:
            self.kiosk_cards[dev.kiosk] = c
            log.info("card at kiosk %s: %s", dev.kiosk,
                     c.error or f"{c.holder.masked_name}, age {c.holder.age}")
            self.watch.changed()

    def _code_read(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        seen = self.last_codes.setdefault(dev.id, [])
        seen.append({"symbology": inp.payload.symbology, "length": len(inp.payload.code)})
        del seen[:-8]
        if dev.kiosk:
            self.spawn(self._scanned_at_kiosk(dev.kiosk, inp.payload), f"scan:{dev.id}")
        else:
            # a window's gun scans documents for the clerk: their use arrives with the scan
            # workflow; the code itself may be personal data, so only its length is logged
            log.info("%s: a %s code of %d characters", dev.id, inp.payload.symbology or "bar",
                     len(inp.payload.code))

    def _keys_pressed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self._keys(inp.payload, inp.device), f"keys:{dev.id}")

    def _rating_pressed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self._rating(dev.window, inp), f"rating:{dev.id}")

    def _signed(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        self.spawn(self.signatures.received(dev.id, dev.window, inp.payload), f"sign:{dev.id}")

    def _page_scanned(self, dev: DeviceConfig, inp: DeviceInput) -> None:
        if dev.window is not None:
            self.spawn(self._page_captured(dev.id, dev.window, inp.payload), f"page:{dev.id}")

    async def _page_captured(self, device: str, window: int, cap) -> None:
        """A page from a window's document camera: to disk, then `scan.captured` (its id and
        shape, never its content) tied to the ticket being served there."""
        try:
            file_id = await asyncio.to_thread(self.scans.save_jpeg, self.state.day,
                                              f"w{window}", cap.jpeg)
        except OSError as exc:  # a full disk: the clerk is told by the missing page, and we log
            log.error("%s: page not saved: %s", device, exc)
            return
        self.window_pages.setdefault(window, []).append(file_id)
        self.record("scan.captured", {
            "device": device, "window": window, "ticket": self._serving(window),
            "kind": "page", "file": file_id,
            "width": cap.width, "height": cap.height, "cropped": cap.cropped, "auto": cap.auto,
            "codes": cap.codes})

    async def close_document(self, window: int) -> Envelope:
        """The pages captured at a window since its last document, as one PDF."""
        pages = self.window_pages.get(window, [])
        if not pages:
            raise Refused("scan.no_pages", f"window {window} has captured no page since its "
                                           "last document")
        file_id = await asyncio.to_thread(self.scans.save_pdf, self.state.day, f"w{window}-doc",
                                          list(pages))
        self.window_pages[window] = []
        return self.record("scan.captured", {
            "device": None, "window": window, "kind": "document", "file": file_id,
            "pages": list(pages), "ticket": self._serving(window)})

    def _serving(self, window: int) -> str | None:
        """The ticket called or served at `window` now: what a captured page belongs to."""
        w = self.state.windows.get(window)
        return w.current if w else None

    async def _scanned_at_kiosk(self, kiosk: str, scan) -> None:
        """An appointment QR at a kiosk checks the appointment in (and prints its ticket)."""
        try:
            envs, results = await self.execute(queue.CheckIn(kiosk, scan.code.strip()))
        except Refused as exc:
            log.info("kiosk %s: scanned code not checked in: %s", kiosk, exc.code)
            zh, en = cardwords.checkin_words(exc.code)
            self.kiosk_notices[kiosk] = {"error": exc.code, "words": zh, "words_en": en}
        else:
            self.kiosk_notices[kiosk] = issued_view(envs, results)
        self.watch.changed()

    def _card(self, inp: DeviceInput) -> KioskCard:
        if inp.kind == "card_error":
            return KioskCard(None, inp.payload, time.monotonic())
        card = inp.payload
        if not card.number_valid:
            return KioskCard(None, "idcard.bad_check_digit", time.monotonic())
        today = self.now().date()  # the hall's local date, not UTC's
        if card.expired_on(today):
            return KioskCard(None, "idcard.expired", time.monotonic())
        age = age_on(card.birth, today)
        holder = Holder(holder_token(self.key, card.id_number), mask_name(card.name), age,
                        card.name if self.cfg.rating.real_name else "")
        return KioskCard(holder, None, time.monotonic())

    def token_of(self, id_number: str) -> str:
        return holder_token(self.key, id_number)

    def take_card(self, kiosk: str) -> Holder | None:
        """The holder of the card just read at `kiosk`, used once; Refused if it was bad."""
        card = self.kiosk_cards.pop(kiosk, None)
        if card is None or time.monotonic() - card.at > CARD_FRESH_S:
            return None
        if card.error:
            raise Refused(card.error, " / ".join(cardwords.words(card.error)))
        return card.holder

    async def _rating(self, window: int | None, inp: DeviceInput) -> None:
        """A rating from a device. Only a window's pad can give one, for the prompt it was last
        sent, sealed with its own key; the engine then checks the ticket, the time and "once"."""
        r = inp.payload
        dev = self.cfg.device(inp.device)
        code = None
        if r.get("ticket") == TEST_TICKET and r.get("sealed"):
            # the technician's test prompt: the pad works; nothing is rated
            log.info("%s: test rating %s (a technician's prompt; not counted)", inp.device,
                     r.get("level"))
            self.test_ratings[inp.device] = r.get("level")
            self.watch.changed()
            await self.drivers[inp.device].result(r["txn"], True, None)
            return
        try:
            if dev.role is not Role.PAD or window is None:
                raise Refused("rating.not_a_pad", f"{dev.type} cannot rate")
            if r["ticket"] is None:
                raise Refused("rating.not_prompted", "the pad rated no prompt of ours")
            if not r["sealed"]:
                raise Refused("rating.bad_seal", "the rating is not sealed with this pad's key")
            await self.execute(queue.GiveRating(
                window, r["ticket"], r["level"], inp.device, tuple(r["reasons"]), r["text"],
                self.real_names.get(r["ticket"])))
            self.real_names.pop(r["ticket"], None)
        except Refused as exc:
            code = exc.code
            self.refuse_rating(exc.code, window=window, via=dev.type, device=inp.device,
                               ticket=r.get("ticket"), level=r.get("level"))
        pad = self.drivers[inp.device]
        if hasattr(pad, "result"):
            try:
                await pad.result(r["txn"], code is None, code)
            except KioskdError as exc:
                log.warning("%s: could not confirm the rating: %s", inp.device, exc.code)

    async def _keys(self, press: KeyPress, device: str) -> None:
        """A clerk's keypad: each command goes through the engine as the clerk's API call does.
        A level typed before the rating key (代评) is refused and audited."""
        window, keys = press.window, press.keys
        w = self.state.windows[window]
        if press.rating:  # FUNC 11: the keypad's own rating keys
            self.refuse_rating("rating.pad_only", via="caller.serial", device=device,
                               window=window, ticket=w.awaiting_rating,
                               key=keys[0] if keys else None, func="11")
            return
        level = keypad.rating_attempt(keys)
        if level is not None:
            self.refuse_rating("rating.pad_only", via="caller.serial", device=device,
                               window=window, ticket=w.awaiting_rating, level=level)
            return
        command = keypad.command_of(keys)
        if command is None:
            log.info("%s: keys %s at window %d are no command", device, keys.hex(" "), window)
            return
        action = command.action
        if action == "pause" and w.state == "paused":
            action = "resume"  # one key toggles
        ticket = None
        if action == "call-back":  # the ticket held here last
            held = [t for t in self.state.tickets.values()
                    if t.status == "held" and t.window == window]
            ticket = held[-1].number if held else None
        try:
            await self.execute(queue.WindowAction(window, action, ticket=ticket,
                                                  to_window=command.to_window, clerk=w.clerk,
                                                  staff_no=w.staff_no))
        except Refused as exc:
            log.info("%s: %s at window %d refused: %s", device, action, window, exc.code)

    def refuse_rating(self, code: str, **who: Any) -> Envelope | None:
        """The audit trail central receives: every refused rating attempt, with who tried what.
        Never counted: statistics read rating.given only. One token or device trying in a
        loop (300 rows in 3 s, seen) journals REFUSALS_PER_MIN a minute; the rest are counted
        and the next row says how many (`suppressed`), so central's count stays whole."""
        suppressed = self._refusals.take(str(who.get("client") or who.get("device")
                                                 or who.get("via")))
        if suppressed is None:
            return None
        log.warning("rating refused (%s): %s%s", code,
                    ", ".join(f"{k}={v}" for k, v in who.items() if v is not None),
                    f" (and {suppressed} more from it, not journaled)" if suppressed else "")
        return self.record("rating.refused", {"code": code, **who,
                                              **({"suppressed": suppressed} if suppressed else {})})

    def _on_device_state(self, st: DeviceState) -> None:
        data = {"device": st.device, "type": self.drivers[st.device].type, "state": st.state,
                "condition": st.condition, "detail": st.detail}
        self.record("device.state", data)
        self.uplink.publish_device_state(st.device, {"state": st.state, "condition": st.condition,
                                                     "detail": st.detail,
                                                     "since": rfc3339(st.since)})
        dev = self.cfg.device(st.device)
        if st.state == "ready" and dev.role is Role.BOARD:
            self.boards.device_ready(dev)  # it shows what it should, not what it had
        w = self.state.windows.get(dev.window) if dev.window is not None else None
        if st.state == "ready" and dev.role is Role.PAD and w and w.awaiting_rating:
            # a pad back from a power cut asks again for the rating still open at its window
            # (within the same time limit: the clock started at the finish)
            effect = queue.PromptRating(w.number, w.awaiting_rating, w.clerk, w.staff_no)
            self.spawn(self._run_effect(effect), f"reprompt:{dev.id}")

    def spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    async def announce(self, text: str, seconds: int) -> dict[str, Any]:
        """A notice from central on the boards for `seconds`, then each shows its own again;
        spoken once through the hall's announcement queue."""
        shown = await self.boards.announce(text, seconds)
        spoken = self.announcer.notice(text)
        return {**shown, "spoken": spoken.get("spoken", True)}

    async def speak_wav(self, text: str) -> bytes:
        """`text` in the hall's voice as a WAV (a kiosk's prompt, played by its own speaker);
        the same few prompts are asked for all day, so each is made once."""
        if text not in self._spoken:
            pcm = await asyncio.to_thread(self.announcer.render_once, text)
            self._spoken[text] = wav_bytes(pcm)
            while len(self._spoken) > 64:  # numbers taken: a day's worth would be megabytes
                self._spoken.pop(next(iter(self._spoken)))
        return self._spoken[text]

    async def load_appointments(self, version: str, items: list[dict[str, Any]]) -> Envelope:
        """A new appointment list (from central or the API). An item's `id_number` becomes the
        keyed token here and goes no further: it is never journaled nor kept."""
        clean = tuple({k: v for k, v in i.items() if k != "id_number"}
                      | {"holder": self.token_of(str(i["id_number"])) if i.get("id_number")
                         else None} for i in items)
        envs, _ = await self.execute(queue.LoadAppointments(version, clean))
        return envs[-1]

    # --- the technician's device actions ---------------------------------------------------
    async def device_action(self, dev_id: str, command: str, args: dict[str, Any]) -> Any:
        """A technician's test of one device: the hall's own actions (a test ticket, a test
        prompt, a board's test pattern, a reconnect), else the driver's command."""
        driver = self.drivers[dev_id]
        dev = self.cfg.device(dev_id)
        if command == "reconnect":
            return await self.reconnect_device(dev_id)
        if command == "print-test":
            text = self.ticket_text(TEST_TICKET, "设备测试", 0, None,
                                    self.now().isoformat(timespec="seconds"))
            return await driver.handle("print", ticket=text, fields=self.cfg.ticket.fields)
        if command == "prompt-test":
            self.test_ratings.pop(dev_id, None)
            return await driver.handle("prompt", window=dev.window, ticket=TEST_TICKET,
                                       clerk="设备测试", reasons=self.cfg.rating.reasons,
                                       timeout_s=self.cfg.queue.rating_timeout_s)
        if command == "pattern":
            return await driver.handle("show", text="测试 TEST 0123456789 请到8号窗口")
        if command == "show" and dev.role is Role.BOARD:
            # the board's own text comes back with its next change, or on `restore`
            return await driver.handle("show", text=str(args.get("text", ""))[:200])
        if command == "restore" and dev.role is Role.BOARD:
            return await self.boards.restore(dev)
        declared = {a.name for a in TYPES[dev.type].all_actions() if not a.route}
        if command not in TECHNICIAN_COMMANDS | declared:
            # print, prompt, idle...: the hall's effects, built by the hall from its own state
            # (a ticket, a prompt's seal), never from a request body
            raise Refused("device.command_unknown", f"{command[:40]!r} is not a technician's "
                          f"command; these are: {', '.join(sorted(TECHNICIAN_COMMANDS))}, "
                          "print-test, prompt-test, pattern, show, restore, reconnect")
        return await driver.handle(command)  # a family's own action takes no arguments

    async def reconnect_device(self, dev_id: str) -> dict[str, Any]:
        """Close the device and open it again (a technician's "reconnect"), as after a drop."""
        task = self._device_tasks[dev_id]
        task.cancel()  # the supervisor closes the driver on its way out
        await asyncio.gather(task, return_exceptions=True)
        self.drivers[dev_id].counters.reconnects += 1
        self._supervise(dev_id)
        return {"reconnecting": dev_id}

    def reader_card(self, dev_id: str) -> dict[str, Any] | None:
        """The last card a reader read, as the technician may see it: masked fields only."""
        card = self.reader_cards.get(dev_id)
        if card is None:
            return None
        ago = round(time.monotonic() - card.at, 1)
        if card.error:
            return {"error": card.error, "seconds_ago": ago}
        h = card.holder
        return {"name": h.masked_name, "age": h.age, "lane": queue.age_lane(self.cfg.queue, h.age),
                "token": h.token[:8] + "…", "seconds_ago": ago}

    # --- views for the API ---------------------------------------------------------------------
    def devices_view(self) -> list[dict[str, Any]]:
        out = []
        for dev_id, sup in self.supervisors.items():
            d = self.cfg.device(dev_id)
            bus = sorted(d.options.get("keypads", {}).values()) if d.window is None else []
            actions = [{"key": a.key, "name": a.name, "label": a.label,
                        "route": a.route.format(id=dev_id)} for a in TYPES[d.type].all_actions()]
            out.append({"id": dev_id, "type": d.type, "role": d.role, "url": str(d.url),
                        "kiosk": d.kiosk, "window": d.window, **({"windows": bus} if bus else {}),
                        "actions": actions,
                        "state": sup.state.state, "detail": sup.state.detail,
                        "condition": sup.state.condition, "since": rfc3339(sup.state.since),
                        **self.drivers[dev_id].health()})
        return out


# what each kind of device input goes to: a new kind of input is one line here and its handler
INPUTS: dict[str, Callable[[Hall, DeviceConfig, DeviceInput], None]] = {
    "card": Hall._card_read, "card_error": Hall._card_read, "code": Hall._code_read,
    "keys": Hall._keys_pressed, "rating": Hall._rating_pressed, "signature": Hall._signed,
    "scan": Hall._page_scanned}
