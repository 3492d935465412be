"""The central link: journal rows out over MQTT in `seq` order, QoS 1, nothing lost while down.

The journal is the outbox. A row counts as delivered only when central acknowledges it: central
publishes `{prefix}/ack` `{"seq": N}` (retained), the highest seq below which it stored every
row (a broker's PUBACK says only that the broker took it, and frees a place in paho's in-flight
window). After every (re)connect or restart, sending starts again after central's ack, so a row
may arrive twice and central deduplicates by (hall, seq); at most AHEAD rows are sent beyond
central's ack, so a central that stalls does not fill the broker with a day's backlog. When the
ack stalls with rows out, they are sent again after RESEND_S, doubling up to RESEND_MAX_S.
paho runs its network loop in its own thread; every callback hops onto the asyncio loop, and
only the loop's thread touches the journal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from kioskd import __version__
from kioskd.config import UplinkConfig
from kioskd.journal import Journal

log = logging.getLogger("kioskd.uplink")

WINDOW = 20  # rows in flight at once: paho's own default, and its fastest (baselines.md)
AHEAD = 10_000  # rows sent beyond central's acknowledgement, at most
RESEND_S = 3.0  # central's ack stalled this long with rows out: send them again ...
RESEND_MAX_S = 120.0  # ... waiting twice as long each time while central stays silent


def prefix(hall: str) -> str:
    return f"kioskd/v1/{hall}"


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


class Uplink:
    def __init__(self, cfg: UplinkConfig, hall: str, journal: Journal,
                 on_change: Callable[[], None] = lambda: None, boot: int = 0):
        self.cfg = cfg
        self.hall = hall
        self.journal = journal
        self.on_change = on_change  # connected, lost, or a row delivered
        self.prefix = prefix(hall)
        self.connected = False
        self.since = time.time()
        self.boot = boot  # counts the daemon's starts: a late will of boot 6 is no news to boot 7
        self.central_upto = 0  # the last ack central sent
        self.reconnects = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._inflight: dict[int, int] = {}  # paho mid -> seq
        self._sent_upto = 0
        self._progress = (0, time.monotonic())  # central's ack, and when it last moved
        self._resend_s = RESEND_S
        self._device_states: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task | None = None
        self._last_error = ""
        self._stopping = False
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2,
                        client_id=self.cfg.client_id or f"kioskd-{self.hall}",
                        protocol=mqtt.MQTTv311, clean_session=True)
        c.will_set(f"{self.prefix}/state", self._state_payload(False), qos=1, retain=True)
        c.reconnect_delay_set(min_delay=1, max_delay=8)
        c.max_inflight_messages_set(WINDOW)
        if self.cfg.username:
            c.username_pw_set(self.cfg.username, self.cfg.password or None)
        if self.cfg.tls:
            c.tls_set(ca_certs=self.cfg.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_connect_fail = self._on_connect_fail
        return c

    def _state_payload(self, online: bool) -> str:
        return json.dumps({"online": online, "version": __version__, "since": rfc3339(self.since),
                           "boot": self.boot})

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._sent_upto = self.journal.delivered_upto()
        # connect_async + loop_start: paho keeps retrying in its thread while the broker is
        # down, and the hall goes on working from the journal meanwhile
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=30)
        self.client.loop_start()
        self._task = asyncio.create_task(self._pump_forever(), name="uplink")

    async def stop(self, timeout: float = 1.0) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.connected:
            # a clean disconnect sends no will: say "offline" ourselves, and wait for it briefly
            info = self.client.publish(f"{self.prefix}/state", self._state_payload(False),
                                       qos=1, retain=True)
            await asyncio.get_running_loop().run_in_executor(None, info.wait_for_publish, timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def notify(self) -> None:
        """New rows are in the journal."""
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {"connected": self.connected, "backlog": self.journal.backlog(),
                "delivered_upto": self.journal.delivered_upto(), "central_upto": self.central_upto,
                "reconnects": self.reconnects,
                "last_error": self._last_error}

    def publish_device_state(self, device: str, payload: dict[str, Any]) -> None:
        self._device_states[device] = payload
        if self.connected:
            self.client.publish(f"{self.prefix}/device/{device}/state", json.dumps(payload),
                                qos=1, retain=True)

    # --- sending -----------------------------------------------------------------------------
    async def _pump_forever(self) -> None:
        while True:
            try:
                async with asyncio.timeout(RESEND_S / 2):
                    await self._wake.wait()
            except TimeoutError:
                self._resend_if_stalled()
            self._wake.clear()
            self._pump()

    def _resend_if_stalled(self) -> None:
        """Rows sent, connected, and central's ack has not moved for RESEND_S: they were lost
        between the broker and central (a broker that crashed with them queued, a central
        that lost its session). Send again from central's ack; central drops duplicates."""
        acked = self.journal.delivered_upto()
        if acked != self._progress[0]:
            self._progress, self._resend_s = (acked, time.monotonic()), RESEND_S
            return
        if (self.connected and self._sent_upto > acked
                and time.monotonic() - self._progress[1] >= self._resend_s):
            log.warning("uplink: no acknowledgement from central past seq %d for %.0f s; "
                        "sending %d rows again", acked, self._resend_s, self._sent_upto - acked)
            self._sent_upto = acked
            self._progress = (acked, time.monotonic())
            self._resend_s = min(self._resend_s * 2, RESEND_MAX_S)

    def _pump(self) -> None:
        room = min(WINDOW - len(self._inflight),
                   self.journal.delivered_upto() + AHEAD - self._sent_upto)
        if not self.connected or room <= 0:
            return
        for env in self.journal.read(after=self._sent_upto, limit=room, undelivered=True):
            info = self.client.publish(f"{self.prefix}/event/{env.type}", env.to_json(), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return  # the link just dropped; the reconnect starts over from the journal
            self._inflight[info.mid] = env.seq
            self._sent_upto = env.seq

    # --- paho callbacks (paho's thread) -> the loop ------------------------------------------
    def _call(self, fn, *args) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call(self._connected, reason_code.is_failure, str(reason_code))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call(self._disconnected, str(reason_code))

    def _on_connect_fail(self, client, userdata) -> None:
        self._call(self._connected, True, "broker unreachable")

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._call(self._puback, mid)

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == f"{self.prefix}/ack":
            self._call(self._central_ack, msg.payload)

    def _connected(self, failed: bool, reason: str) -> None:
        if failed:
            if reason != self._last_error:
                log.error("uplink: no connection to broker %s:%s: %s (retrying; events wait in the journal)",
                          self.cfg.host, self.cfg.port, reason)
            self._last_error = reason
            return
        self.connected = True
        self._last_error = ""
        log.info("uplink connected to %s:%s; %d events to send", self.cfg.host, self.cfg.port,
                 self.journal.backlog())
        self.client.subscribe(f"{self.prefix}/ack", qos=1)
        self.client.publish(f"{self.prefix}/state", self._state_payload(True), qos=1, retain=True)
        for device, payload in self._device_states.items():
            self.client.publish(f"{self.prefix}/device/{device}/state", json.dumps(payload),
                                qos=1, retain=True)
        self._inflight.clear()
        self._sent_upto = self.journal.delivered_upto()
        self._wake.set()
        self.on_change()

    def _disconnected(self, reason: str) -> None:
        if self.connected and not self._stopping:
            log.warning("uplink to %s:%s lost (%s); events wait in the journal",
                        self.cfg.host, self.cfg.port, reason)
            self.reconnects += 1
        self.connected = False
        self._inflight.clear()
        self.on_change()

    def _puback(self, mid: int) -> None:
        if self._inflight.pop(mid, None) is not None:
            self._wake.set()  # a place in the window: send on

    def _central_ack(self, payload: bytes) -> None:
        try:
            seq = json.loads(payload)["seq"]
        except (ValueError, KeyError, TypeError):
            log.warning("uplink: an ack that is not {\"seq\": N}: ignored")
            return
        if not isinstance(seq, int) or seq <= self.central_upto:
            return
        if seq > self.journal.last_seq:
            # central holds rows this journal does not: a wiped state folder reusing seqs
            # that central already has would be dropped there as duplicates
            log.error("uplink: central acknowledges seq %d, but this journal ends at %d: was "
                      "the state folder replaced?", seq, self.journal.last_seq)
            seq = self.journal.last_seq
        self.central_upto = seq
        self.journal.mark_delivered_upto(seq)
        self._wake.set()
        self.on_change()
