"""A whole simulated hall from a devices.toml: a twin per device, a broker, and the daemon."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from datetime import datetime
from typing import Any, Callable

from kioskd import config as config_mod
from kioskd.hall import Hall
from kioskd.config import Config, parse_endpoint
from kioskd.drivers.registry import TYPES
from kioskd.drivers.supervisor import Backoff
from kioskd.devicebroker import DAEMON_USER
from kioskd.sim.broker import Mosquitto, lock_down, make_broker
from kioskd.sim.twin import Twin
from kioskd.sim.twins import twin_class
from kioskd.tablets import Tablets

log = logging.getLogger("kioskd.sim")


class SimHall:
    def __init__(self, cfg: Config | Path | str, state: Path, *, broker: Any = "auto",
                 api_port: int | None = None, backoff: Backoff = Backoff(first=0.05, cap=1.0),
                 clock: Callable[[], datetime] | None = None, central: bool = True,
                 central_login: tuple[str, str] | None = None,
                 faulty: frozenset[str] = frozenset()):
        self.cfg = cfg if isinstance(cfg, Config) else config_mod.load(cfg)
        self.faulty = faulty  # devices whose twins are set never to come up: not waited for
        # absolute: twins' urls are built from it, and serial://var/sim/x would read "var" as
        # a host (make run's default state is the relative ./var)
        self.state = Path(state).resolve()
        # a kind ("auto", "mosquitto", "embedded") to start one, or a running broker to use
        self.broker_kind = broker if isinstance(broker, str) else None
        self._own_broker = isinstance(broker, str)
        self.api_port = api_port
        self.backoff = backoff
        self.clock = clock  # tests: the hall's time, to cross a time limit without waiting
        # central: the reference collector on the uplink broker, acknowledging what it stored
        self.with_central = central
        self.central: Any = None
        self.central_login = central_login  # (user, password) on a broker that wants them
        self.twins: dict[str, Twin] = {}
        self.broker = None if isinstance(broker, str) else broker
        # networked devices (pad.mqtt) talk to the hall's own broker on the box, not to
        # central's: a central outage must not take the pads with it, here as in a hall
        self.device_broker: Any = None
        # the device broker's logins, by device id and the daemon's user (sim/broker.py)
        self.device_logins: dict[str, tuple[str, str]] = {}
        self.hall: Hall | None = None

    def central_keys(self, hall: str) -> bytes | None:
        """What central holds of this hall: its command key (acks and commands are signed
        with it), read from where the daemon keeps it."""
        if hall != self.cfg.hall.id:
            return None
        path = self.cfg.uplink.command_key_file or self.state / "daemon" / "keys" / "command.key"
        try:
            return bytes.fromhex(Path(path).read_text().strip())
        except (OSError, ValueError):
            return None

    async def start(self) -> Hall:
        try:
            if self._own_broker:
                self.broker = make_broker(self.broker_kind, self.state / "broker")
                await self.broker.start()
            if any(d.url.scheme in ("mqtt", "mqtts") for d in self.cfg.devices):
                self.device_broker = make_broker(self.broker_kind or "auto",
                                                 self.state / "device-broker")
                if isinstance(self.device_broker, Mosquitto):
                    self.device_logins = lock_down(self.device_broker, self.cfg)
                else:
                    log.warning("sim: the embedded device broker lets any client publish on "
                                "the devices' topics; install mosquitto for logins and the ACL")
                await self.device_broker.start()
            if self.with_central:
                from kioskd.central.collector import Collector

                user, password = self.central_login or ("", "")
                self.central = Collector(self.broker.url, self.state / "central.sqlite3",
                                         group=None, client_id=f"sim-central-{id(self)}",
                                         username=user, password=password,
                                         keys=self.central_keys)
                self.central.start()
            devices = []
            for dev in self.cfg.devices:
                twin: Twin = twin_class(dev.type)(dev, self.state / "dev" / dev.id)
                options = dev.options
                if dev.url.scheme in ("mqtt", "mqtts"):  # a networked device on the sim's broker
                    twin.use_broker("127.0.0.1", self.device_broker.port,
                                    self.device_logins.get(dev.id))
                    daemon = self.device_logins.get(DAEMON_USER)
                    if daemon:
                        options = {**options, "username": daemon[0], "password": daemon[1]}
                await twin.start()
                self.twins[dev.id] = twin
                if not TYPES[dev.type].schemes:  # a page (pad.web): it comes to the daemon
                    devices.append(dev)
                    continue
                devices.append(dataclasses.replace(
                    dev, url=parse_endpoint(twin.url, TYPES[dev.type].schemes), options=options))
            up = self.cfg.uplink
            api = self.cfg.api if self.api_port is None else dataclasses.replace(
                self.cfg.api, port=self.api_port)
            wired = dataclasses.replace(
                self.cfg, devices=tuple(devices), api=api,
                # a simulated hall speaks into WAV files, never through the laptop's speakers
                voice=dataclasses.replace(self.cfg.voice, output="wav"),
                uplink=dataclasses.replace(up, url=self.broker.url, host="127.0.0.1",
                                           port=self.broker.port, tls=False))
            self._wired = wired
            self._enroll_tablets()
            await self._start_daemon()
        except BaseException:
            await self.stop()
            raise
        return self.hall

    def _enroll_tablets(self) -> None:
        """The rating tablets' twins, enrolled before the daemon first starts, as a technician
        would have done once (the code's HTTP path is tests/hall/test_tablet.py's): the daemon comes
        up with its tablets enrolled, as a hall does every morning."""
        web = [t for t in self.twins.values() if t.dev.type == "pad.web"]
        if not web:
            return
        tablets = Tablets(self.state / "daemon" / "keys" / "tablets", self.cfg.devices)
        for twin in web:
            offer = tablets.offer(twin.dev.id)
            _, twin.cookie = tablets.redeem(offer.window, offer.code)
            twin.key = tablets.take_key(twin.dev.id)

    async def _start_daemon(self) -> None:
        self.hall = Hall(self._wired, state=self.state / "daemon", backoff=self.backoff,
                         clock=self.clock)
        await self.hall.start()
        hall = self.hall
        for twin in self.twins.values():
            if twin.dev.type == "pad.web" and not twin.evicted:
                await twin.attach(hall.api_url)  # a tablet's page connects
        await hall.watch.until(
            lambda: all(s.state.state == "ready" for d, s in hall.supervisors.items()
                        if d not in self.faulty and not getattr(self.twins.get(d), "evicted",
                                                                False)),
            10, "every simulated device is ready")

    async def restart_daemon(self) -> Hall:
        """Stop the daemon and start it again on the same state, devices and broker."""
        await self.stop_daemon()
        return await self.start_daemon()

    async def stop_daemon(self) -> None:
        assert self.hall is not None
        hall, self.hall = self.hall, None
        await hall.stop()

    async def start_daemon(self) -> Hall:
        await self._start_daemon()
        return self.hall

    def twin(self, device_id: str) -> Twin:
        return self.twins[device_id]

    async def stop(self) -> None:
        """Stop everything that was started, whatever fails on the way (a test that failed
        must not leave a broker running); the first failure is raised at the end."""
        failed: list[BaseException] = []

        async def step(coro) -> None:
            try:
                await coro
            except Exception as exc:  # noqa: BLE001 - collected, raised after the rest stopped
                log.exception("sim: stopping failed")
                failed.append(exc)

        if self.hall:
            hall, self.hall = self.hall, None
            await step(hall.stop())
        for twin in self.twins.values():
            await step(twin.stop())
        self.twins.clear()
        if self.central is not None:
            central, self.central = self.central, None
            await step(asyncio.to_thread(central.stop))
        if self.broker and self._own_broker:
            broker, self.broker = self.broker, None
            await step(broker.stop())
        if self.device_broker:
            device_broker, self.device_broker = self.device_broker, None
            await step(device_broker.stop())
        if failed:
            raise failed[0]
