"""The hall's life: start, reload, stop and serve; its devices' supervisors and states."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta

from kioskd import config as config_mod
from kioskd import sdnotify
from kioskd.clockguard import ClockGuard
from kioskd.commands import CentralCommands
from kioskd.config import Config
from kioskd.disk import DiskGuard
from kioskd.drivers.registry import TYPES, Role, load
from kioskd.drivers.supervisor import DeviceState, Supervisor
from kioskd.engine import queue
from kioskd.errors import ConfigError, KioskdError
from kioskd.journal import Journal
from kioskd.ledger import rebuild
from kioskd.privacy import install_log_scrubber, load_key
from kioskd.tablets import Tablets
from kioskd.uplink.mqtt import Uplink, rfc3339
from kioskd.voice import Announcer

log = logging.getLogger("kioskd")


class Lifecycle:
    """Part of Hall (kioskd.hall.core): what starts, reloads and stops it."""

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
        self._tasks.append(asyncio.create_task(self.zones.run(), name="zones"))
        self._tasks.append(asyncio.create_task(self.lockers.run(), name="lockers"))
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
            # what a driver asks of the hall, by the attribute it declares: a tablet page its
            # socket and key, a card reader the keyed token and masked name of a holder
            if hasattr(driver, "links"):
                driver.links, driver.key_of = self.web_links, self.tablets.key
            if hasattr(driver, "holder_of"):
                driver.holder_of = self.holder_of
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
        self.boards.reconfigure(cfg)
        await self._stop_devices()
        self.tz = cfg.hall.tz
        self.state = state
        self.commands.rekey(key)
        self.uplink.rekey(key)
        self.announcer.reconfigure(cfg.voice)
        self.zones.configure(cfg)
        self.lockers.configure(cfg)
        self._start_devices()
        if self.with_api and hasattr(self, "api"):
            self.api.reconfigure(cfg.api)
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

    def _on_device_state(self, st: DeviceState) -> None:
        data = {"device": st.device, "type": self.drivers[st.device].type, "state": st.state,
                "condition": st.condition, "detail": st.detail}
        self.record("device.state", data)
        self.uplink.publish_device_state(st.device, {"state": st.state, "condition": st.condition,
                                                     "detail": st.detail,
                                                     "since": rfc3339(st.since)})
        dev = self.cfg.device(st.device)
        if dev.role is Role.GATE:
            self.zones.link(dev, st.state, st.detail)
        if st.state == "ready" and dev.role is Role.BOARD:
            self.boards.device_ready(dev)  # it shows what it should, not what it had
        w = self.state.windows.get(dev.window) if dev.window is not None else None
        if st.state == "ready" and dev.role is Role.PAD and w and w.awaiting_rating:
            # a pad back from a power cut asks again for the rating still open at its window
            # (within the same time limit: the clock started at the finish)
            effect = queue.PromptRating(w.number, w.awaiting_rating, w.clerk, w.staff_no)
            self.spawn(self.run_effect(effect), f"reprompt:{dev.id}")

    def spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._side.add(task)
        task.add_done_callback(self._side.discard)
