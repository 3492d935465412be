"""Test helpers: an MQTT subscriber on the real broker, and configs written to disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import textwrap
import threading
from datetime import date, datetime
from datetime import time as clock_time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kioskd.sim.clock import SimClock
from kioskd.watch import Watch
from kioskd.pahofix import stop_loop

REPO = Path(__file__).resolve().parents[2]

# Every simulated hall's day, unless a test gives its own clock: ages, expiries, the day's
# numbers and the rollover at the hall's midnight never depend on the day the suite runs.
HALL_DAY = date(2026, 11, 24)


class HallClock(SimClock):
    """A hall's time in tests: HALL_DAY at 10:00 in the hall's zone, unless told otherwise,
    going on with the real seconds (kioskd.sim.clock)."""

    def __init__(self, tz, start: datetime | None = None):
        super().__init__(start or datetime.combine(HALL_DAY, clock_time(10), tz))


async def read_until(stream, lines: list[str], done) -> None:
    """A child's output lines into `lines` until `done(lines)`; fails, showing them, if the
    child ends first. The caller bounds the wait (asyncio.timeout)."""
    while not done(lines):
        line = await stream.readline()
        assert line, "the process exited:\n" + "".join(lines)
        lines.append(line.decode())


async def api(hall, method: str, path: str, body=None, role: str = "kiosk", **who):
    """One API call as a client of `role` (picked by `who`: window=, kiosk=); status and JSON."""
    import aiohttp

    from kioskd.sim.scenario import token

    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{hall.api_url}{path}", json=body, headers={
                "Authorization": "Bearer " + token(hall.cfg, role, **who)}) as r:
            return r.status, await r.json()


KIOSK_TOKEN = "kiosk-token-for-tests-0001"


def hall_toml(hall: str, uplink: str, *, api: str = "127.0.0.1:0", extra: str = "") -> str:
    """A small hall's devices.toml: category A, window 1, kiosk k1 with a kiosk token; `uplink`
    is the [uplink] table's lines, `extra` more tables (devices, categories)."""
    lines = [
        "[hall]", f'id = "{hall}"', 'name = "测试大厅"',
        "[uplink]", *textwrap.dedent(uplink).strip().splitlines(),
        "[api]", f'listen = "{api}"',
        "[[api.client]]", 'name = "k1"', 'role = "kiosk"', 'kiosk = "k1"',
        f'token = "{KIOSK_TOKEN}"',
        "[[category]]", 'code = "A"', 'name = "综合受理"',
        "[[window]]", "number = 1", 'categories = ["A"]',
        "[[kiosk]]", 'id = "k1"']
    return "\n".join(lines) + "\n" + textwrap.dedent(extra).lstrip("\n")


def with_device(cfg, device_id: str, url: str | None = None, sim: dict | None = None,
                **options):
    """The config with one device's options (and url, simulator options) changed."""
    import dataclasses

    from kioskd import config

    def edit(d):
        d = dataclasses.replace(d, options={**d.options, **options}, sim={**d.sim, **(sim or {})})
        if url:
            d = dataclasses.replace(d, url=config.parse_endpoint(url, (url.split(":")[0],)))
        return d
    return dataclasses.replace(cfg, devices=tuple(edit(d) if d.id == device_id else d
                                                  for d in cfg.devices))


def command_key_of(state: Path):
    """Central's key ring for one hall whose daemon keeps its state in `state`: the command key
    it made there (central signs its acks with it)."""
    def key(hall: str) -> bytes | None:
        try:
            return bytes.fromhex((Path(state) / "keys" / "command.key").read_text().strip())
        except OSError:
            return None
    return key


def tamper(db: Path, sql: str) -> None:
    """Edit a journal behind kioskd's back, as an attacker with the file would."""
    conn = sqlite3.connect(db)
    conn.execute(sql)
    conn.commit()
    conn.close()


class Subscriber:
    """Collects every message under a topic filter; `until()` waits on them with a bound."""

    def __init__(self, port: int, topic: str = "kioskd/#", client_id: str = "",
                 persistent: bool = False, username: str = "", password: str = ""):
        self.port, self.topic = port, topic
        self.messages: list[tuple[str, bytes, bool]] = []  # topic, payload, retained
        self.watch = Watch()
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent)
        self.client.reconnect_delay_set(0.1, 0.5)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
        if self._loop:
            self._loop.call_soon_threadsafe(self.watch.changed)

    async def start(self, timeout: float = 5.0) -> "Subscriber":
        self._loop = asyncio.get_running_loop()
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        ok = await self._loop.run_in_executor(None, self._subscribed.wait, timeout)
        assert ok, "subscriber did not get its SUBACK"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        stop_loop(self.client)

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if "/event/" in t]

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events()]

    def payloads(self) -> bytes:
        with self._lock:
            return b"\n".join(p for _, p, _ in self.messages)

    def last(self, topic_end: str) -> tuple[dict, bool] | None:
        with self._lock:
            for t, p, retained in reversed(self.messages):
                if t.endswith(topic_end):
                    return json.loads(p), retained
        return None
