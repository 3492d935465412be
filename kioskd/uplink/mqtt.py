"""The central link: journal rows out over MQTT in `seq` order, QoS 1, nothing lost while down.

The journal is the outbox. A row counts as delivered only when central acknowledges it: central
publishes `{prefix}/ack` `{"seq": N}` (retained), the highest seq below which it stored every
row (a broker's PUBACK says only that the broker took it, and frees a place in paho's in-flight
window). After every (re)connect or restart, sending starts again after central's ack, so a row
may arrive twice and central deduplicates by (hall, seq); at most AHEAD rows are sent beyond
central's ack, so a central that stalls does not fill the broker with a day's backlog. When the
ack stalls with rows out, they are sent again after RESEND_S, doubling up to RESEND_MAX_S.
Central's commands (`cmd/{op}`) and appointments (`appointments`) are handed to `on_central`
unjudged: the hall checks their signatures (kioskd/commands.py).
paho runs its network loop in its own thread; every callback hops onto the asyncio loop, and
only the loop's thread touches the journal. One thing runs in paho's thread itself: on each
PUBACK it sends the next row the loop read ahead (`_on_publish`), as raw paho sends the next
of its own queue, so a replay needs no hop per row and the window never waits for the loop.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
import socket
import ssl
import time
from typing import Any, Callable

import paho.mqtt.client as mqtt

from kioskd import __version__
from kioskd import pahofix
from kioskd.budget import Budget
from kioskd.config import UplinkConfig
from kioskd.journal import Journal
from kioskd.threadhop import on_loop
from kioskd.uplink.signed import CommandRefused, verify_ack

log = logging.getLogger("kioskd.uplink")


WINDOW = 20  # rows on the wire without PUBACK: paho's own default, and its fastest (baselines.md)
# rows read ahead from the journal for paho's thread to send on each PUBACK; the loop reads
# again when half are gone
READ_AHEAD = 1000
AHEAD = 10_000  # rows sent beyond central's acknowledgement, at most
RESEND_S = 3.0  # central's ack stalled this long with rows out: send them again ...
RESEND_MAX_S = 120.0  # ... waiting twice as long each time while central stays silent
REFUSAL_EVERY_S = 60.0  # a flood of forged acks is one audit row a minute per reason, not a flood
RETRY_S = (1.0, 8.0)  # reconnect backoff, doubling from the first to the cap (jittered)
REFUSED_RETRY_S = (60.0, 300.0)  # the broker refused our credentials: no use asking often
AUTH_REFUSED = {"Bad user name or password", "Not authorized", "Client identifier not valid",
                "Banned", "Bad authentication method"}


def prefix(hall: str) -> str:
    return f"kioskd/v1/{hall}"


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


class Uplink:
    def __init__(self, cfg: UplinkConfig, hall: str, journal: Journal,
                 on_change: Callable[[], None] = lambda: None, boot: int = 0,
                 on_central: Callable[[str, bytes], None] = lambda suffix, payload: None,
                 ack_key: bytes | None = None,
                 on_refused: Callable[[str, dict[str, Any]], None] = lambda code, data: None):
        self.cfg = cfg
        self.ack_key = ack_key  # central signs its acks with the hall's command key
        self.on_refused = on_refused  # an ack not obeyed: the hall audits it
        self.refused_acks = 0
        self._audits = Budget(1, REFUSAL_EVERY_S)  # per refusal code
        self.on_central = on_central  # ("cmd/OP" | "appointments", payload), on the loop
        self.hall = hall
        self.journal = journal
        self.on_change = on_change  # connected, lost, or a row delivered
        self.prefix = prefix(hall)
        self.connected = False
        self.listening = False  # subscribed to central's ack, commands and appointments
        self.since = time.time()
        self.boot = boot  # counts the daemon's starts: a late will of boot 6 is no news to boot 7
        self.central_upto = 0  # the last ack central sent
        self.reconnects = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        # sending, shared with paho's thread: `_send_lock` (paho's own, below) keeps "take
        # the next row, publish it, note it" whole against the loop starting over
        self._open = False  # paho's thread may send: connected, as the loop last heard
        self._inflight: dict[int, int] = {}  # paho mid -> seq
        self._sent_upto = 0  # the last row handed to paho
        self._ready: collections.deque[tuple[int, str, str]] = collections.deque()  # after it
        self._read_upto = 0  # the last row read into _ready (the loop's alone)
        self._more = False  # the last read stopped at READ_AHEAD: the journal may hold more
        self._refill_hop = False  # paho's thread asked the loop to read more
        self._progress = (0, time.monotonic())  # central's ack, and when it last moved
        self._resend_s = RESEND_S
        self._device_states: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task | None = None
        self._last_error = ""
        self.retry_s = RETRY_S
        self._heard = time.monotonic()  # the broker's last word to us (CONNACK, PUBACK, message)
        self._stopping = False
        self._stopped = False  # paho's thread is gone; what it queued before must not run
        self.client = self._make_client()
        self._send_lock = pahofix.message_lock(self.client)

    def _make_client(self) -> mqtt.Client:
        cfg = self.cfg
        c = pahofix.new_client(
            cfg.client_id or f"kioskd-{self.hall}",
            # a session the broker keeps: a command central sends while the hall's link is
            # down is delivered when it comes back (and is still refused there if it expired)
            clean=False, will=(f"{self.prefix}/state", self._state_payload(False)),
            login=(cfg.username, cfg.password) if cfg.username else None,
            tls={"ca_certs": cfg.ca_file or None, "certfile": cfg.cert_file or None,
                 "keyfile": cfg.key_file or None, "cert_reqs": ssl.CERT_REQUIRED}
            if cfg.tls else False)
        self._retry_within(RETRY_S, c)
        c.max_inflight_messages_set(WINDOW)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_connect_fail = self._on_connect_fail
        c.on_subscribe = self._on_subscribe
        return c

    def _state_payload(self, online: bool) -> str:
        return json.dumps({"online": online, "version": __version__, "since": rfc3339(self.since),
                           "boot": self.boot})

    # --- lifecycle -------------------------------------------------------------------------
    def rekey(self, ack_key: bytes | None) -> None:
        """The hall's command key changed (a reload): central's acks are checked with it."""
        self.ack_key = ack_key

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._send_from(self.journal.delivered_upto())
        # connect_async + loop_start: paho keeps retrying in its thread while the broker is
        # down, and the hall goes on working from the journal meanwhile
        pahofix.start(self.client, self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        self._task = asyncio.create_task(self._pump_forever(), name="uplink")

    async def stop(self, timeout: float = 1.0) -> None:
        self._stopping = True
        with self._send_lock:
            self._open = False
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.connected:
            # a clean disconnect sends no will: say "offline" ourselves, and wait for it briefly
            info = self.client.publish(f"{self.prefix}/state", self._state_payload(False),
                                       qos=1, retain=True)
            await asyncio.get_running_loop().run_in_executor(None, info.wait_for_publish, timeout)
        self._stopped = True  # what paho's thread queues from here on is not run
        await pahofix.close(self.client)

    def notify(self) -> None:
        """New rows are in the journal."""
        self._wake.set()

    def status(self) -> dict[str, Any]:
        return {"connected": self.connected, "backlog": self.journal.backlog(),
                "delivered_upto": self.journal.delivered_upto(), "central_upto": self.central_upto,
                "sent_upto": self._sent_upto, "in_flight": len(self._inflight),
                "reconnects": self.reconnects, "retry_s": list(self.retry_s),
                "refused_acks": self.refused_acks, "last_error": self._last_error}

    def answer(self, op: str, body: dict[str, Any]) -> None:
        """A reply to central's command, on cmd-result/{op} (QoS 1, not kept)."""
        if self.connected:
            self.client.publish(f"{self.prefix}/cmd-result/{op}",
                                json.dumps(body, ensure_ascii=False), qos=1)

    def publish_device_state(self, device: str, payload: dict[str, Any]) -> None:
        self._device_states[device] = payload
        if self.connected:
            self.client.publish(f"{self.prefix}/device/{device}/state", json.dumps(payload),
                                qos=1, retain=True)

    # --- sending -----------------------------------------------------------------------------
    async def _pump_forever(self) -> None:
        while True:
            timed_out = False
            try:
                async with asyncio.timeout(RESEND_S / 2):
                    await self._wake.wait()
            except TimeoutError:
                timed_out = True
            self._wake.clear()
            try:
                if timed_out:
                    self._resend_if_stalled()
                    self._check_liveness()
                self._pump()
            except Exception:  # a bug here must not end delivery for good: log, go on
                log.exception("uplink: sending failed; trying again")

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
            self._send_from(acked)
            self._progress = (acked, time.monotonic())
            self._resend_s = min(self._resend_s * 2, RESEND_MAX_S)

    def _check_liveness(self) -> None:
        """Rows out and not a word from the broker for liveness_s: the link is dead though TCP
        has not said so (a hung broker, a NAT that forgot us; paho's own keepalive would take
        up to twice keepalive_s). Drop the socket: paho reconnects, we send again."""
        silent = time.monotonic() - self._heard
        if not (self.connected and self._inflight and silent >= self.cfg.liveness_s):
            return
        self._last_error = f"no PUBACK from the broker for {silent:.0f} s"
        log.warning("uplink: %s with %d rows in flight; reconnecting", self._last_error,
                    len(self._inflight))
        self._heard = time.monotonic()
        sock = self.client.socket()
        if sock is not None:
            try:  # paho's loop sees the connection end and reconnects with its backoff
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _retry_within(self, bounds: tuple[float, float], client: mqtt.Client | None = None) -> None:
        """paho's reconnect backoff doubles from min to max; a random cap keeps a city's halls
        from coming back in lockstep after central's outage."""
        self.retry_s = bounds
        (client or self.client).reconnect_delay_set(
            min_delay=bounds[0], max_delay=bounds[1] * random.uniform(0.75, 1.25))

    def _pump(self) -> None:
        """Read rows ahead for paho's thread, and fill the window: from then on each PUBACK
        sends the next row from paho's thread (`_on_publish`)."""
        self._refill_hop = False
        if not self.connected:
            return
        want = READ_AHEAD - len(self._ready)
        limit = min(want, self.journal.delivered_upto() + AHEAD - self._read_upto)
        # read outside the lock: paho's thread only takes from the left
        rows = self.journal.read_wire(self._read_upto, limit) if limit > 0 else []
        if rows:
            self._read_upto = rows[-1][0]
            self._ready.extend((seq, f"{self.prefix}/event/{type_}", payload)
                               for seq, type_, payload in rows)
        if want > 0:  # fewer than asked: the hall's next row or central's next ack wakes us
            self._more = len(rows) == want
        with self._send_lock:
            while self._open and self._ready and len(self._inflight) < WINDOW:
                if not self._send_next():
                    return

    def _send_next(self) -> bool:
        """Hand the next ready row to paho (either thread, holding _send_lock)."""
        seq, topic, payload = self._ready[0]
        info = self.client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False  # the link just dropped; the reconnect starts over from the journal
        self._ready.popleft()
        self._inflight[info.mid] = seq
        self._sent_upto = seq
        return True

    def _send_from(self, seq: int) -> None:
        """Send on from the row after `seq` (a reconnect, a resend): what was read ahead goes."""
        with self._send_lock:
            self._sent_upto = self._read_upto = seq
            self._ready.clear()

    # --- paho callbacks (paho's thread) -> the loop ------------------------------------------
    def _call(self, fn, *args) -> None:
        if self._loop is not None:
            on_loop(self._loop, self._unless_stopped, fn, args)

    def _unless_stopped(self, fn, args: tuple) -> None:
        # an ack paho queued just before it stopped would otherwise run after the hall closed
        # its journal (a traceback at Ctrl-C, seen in CI's `kioskd sim` stop test)
        if not self._stopped:
            fn(*args)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call(self._connected, reason_code.is_failure, str(reason_code))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call(self._disconnected, str(reason_code))

    def _on_connect_fail(self, client, userdata) -> None:
        self._call(self._connected, True, "broker unreachable")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._call(self._subscribed)

    def _subscribed(self) -> None:
        self.listening = self.connected
        self.on_change()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # the next row goes out from here, not from the loop: a hop per PUBACK, or the loop
        # handing paho a queue and holding the GIL while the window drained, kept a replay at
        # 0.5-0.8x raw paho (bench/). The loop is asked only to read more, once per half of
        # READ_AHEAD. Not a row of this connection (the hall's state, a row of the last
        # connection that paho sent again): nothing to follow it.
        self._heard = time.monotonic()
        if self._inflight.pop(mid, None) is None:
            return
        with self._send_lock:
            if self._open and self._ready:
                self._send_next()
        if self._more and not self._refill_hop and len(self._ready) <= READ_AHEAD // 2:
            self._refill_hop = True
            self._call(self._wake.set)

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == f"{self.prefix}/ack":
            self._call(self._central_ack, msg.payload)
        elif msg.topic.startswith(self.prefix + "/"):
            self._call(self.on_central, msg.topic[len(self.prefix) + 1:], msg.payload)

    def _connected(self, failed: bool, reason: str) -> None:
        self._heard = time.monotonic()
        if failed:
            refused = reason in AUTH_REFUSED
            if refused:
                self._retry_within(REFUSED_RETRY_S)
            if reason != self._last_error:
                if refused:
                    log.error("uplink: broker %s:%s refused user %r: %s. Check [uplink] username, "
                              "password_file and cert_file; retrying every %.0f-%.0f s, events "
                              "wait in the journal", self.cfg.host, self.cfg.port,
                              self.cfg.username, reason, *REFUSED_RETRY_S)
                else:
                    log.error("uplink: no connection to broker %s:%s: %s (retrying; events "
                              "wait in the journal)", self.cfg.host, self.cfg.port, reason)
            self._last_error = reason
            self.on_change()
            return
        if self.retry_s != RETRY_S:
            self._retry_within(RETRY_S)
        self.connected = True
        self._last_error = ""
        log.info("uplink connected to %s:%s; %d events to send", self.cfg.host, self.cfg.port,
                 self.journal.backlog())
        self.client.subscribe([(f"{self.prefix}/ack", 1), (f"{self.prefix}/cmd/+", 1),
                               (f"{self.prefix}/appointments", 1)])
        self.client.publish(f"{self.prefix}/state", self._state_payload(True), qos=1, retain=True)
        for device, payload in self._device_states.items():
            self.client.publish(f"{self.prefix}/device/{device}/state", json.dumps(payload),
                                qos=1, retain=True)
        self._send_from(self.journal.delivered_upto())
        with self._send_lock:  # the last connection's mids mean nothing now
            self._inflight.clear()
            self._open = True
        self._wake.set()
        self.on_change()

    def _disconnected(self, reason: str) -> None:
        if not self._stopping:
            self._retry_within(self.retry_s)  # a new random cap each time
        if self.connected and not self._stopping:
            log.warning("uplink to %s:%s lost (%s); events wait in the journal",
                        self.cfg.host, self.cfg.port, reason)
            self.reconnects += 1
        self.connected = self.listening = False
        with self._send_lock:
            self._open = False
            self._inflight.clear()
        self.on_change()

    def _refuse_ack(self, code: str, why: str, seq: int | None) -> None:
        """Logged and audited (`ack.refused`) once a minute per code; every one counted."""
        self.refused_acks += 1
        if self._audits.take(code) is None:
            return
        log.error("uplink: ack refused (%s): %s", code, why)
        self.on_refused(code, {"code": code, "seq": seq, "refused_so_far": self.refused_acks})

    def _central_ack(self, payload: bytes) -> None:
        try:
            seq = verify_ack(self.ack_key, self.hall, payload)
        except CommandRefused as exc:
            self._refuse_ack(exc.code, str(exc), None)
            return
        if seq <= self.central_upto:
            return
        if seq > self.journal.last_seq:
            # never applied: it would mark rows delivered (and purge them) that central has
            # not got. A genuine one means central holds rows this journal does not — a wiped
            # state folder reusing seqs that central already has
            self._refuse_ack("ack.beyond_journal", f"central acknowledges seq {seq}, but this "
                             f"journal ends at {self.journal.last_seq}: was the state folder "
                             "replaced?", seq)
            return
        self.central_upto = seq
        self.journal.mark_delivered_upto(seq)
        self._wake.set()
        self.on_change()
