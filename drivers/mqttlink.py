"""mqtt:// devices (pad.mqtt, board.mqtt): a Link whose reads and writes are whole messages.

A device has one topic under the hall's prefix (`kioskd/v1/{hall}/pad/pad-w3`); the host
publishes on `{topic}/request` and reads `{topic}/{kind}` for the kinds the driver takes. The
device keeps `{topic}/availability` retained "online" and sets "offline" as its MQTT will, so a
pad that loses power or network is seen as gone by the broker within its keep-alive: the link
then raises DeviceAbsent, as a serial link does when its adapter is pulled. A read returns
`KIND LF PAYLOAD`; a write takes the same shape.

paho runs its network loop in its own thread; callbacks hop onto the asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket

import paho.mqtt.client as mqtt

from kioskd import pahofix
from kioskd.drivers.inbox import Inbox
from kioskd.drivers.spec import Endpoint
from kioskd.errors import DeviceAbsent
from kioskd.threadhop import on_loop

log = logging.getLogger("kioskd.drivers")


class MqttLink:
    def __init__(self, ep: Endpoint, topic: str, client_id: str, kinds: tuple[str, ...],
                 login: tuple[str, str] | None = None):
        self.ep, self.topic, self.kinds = ep, topic, kinds
        self.name = f"{ep.host}:{ep.port}/{topic}"
        self._loop = asyncio.get_running_loop()
        self._inbox = Inbox()
        self._online = False
        self._said = ""  # the last availability payload
        self._changed = asyncio.Event()
        self._gone: DeviceAbsent | None = None
        c = pahofix.new_client(client_id, login=login, tls=ep.scheme == "mqtts")
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        self.client = c

    async def open(self, timeout: float) -> None:
        pahofix.start(self.client, self.ep.host, self.ep.port, keepalive=15)
        try:
            async with asyncio.timeout(timeout):
                while not self._online and self._gone is None:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            self._gone = DeviceAbsent(f"{self.name}: the device says it is {self._said}"
                                      if self._said else f"{self.name}: no retained \"online\" "
                                      "on its availability topic")
        if self._gone is not None:
            await self.close()
            raise self._gone

    async def read(self) -> bytes:
        return await self._inbox.read()

    async def write(self, data: bytes) -> None:
        if self._gone is not None:
            raise self._gone
        kind, _, payload = data.partition(b"\n")
        info = self.client.publish(f"{self.topic}/{kind.decode()}", payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise DeviceAbsent(f"{self.name}: publish failed ({mqtt.error_string(info.rc)})")

    async def close(self) -> None:
        await pahofix.close(self.client)

    # --- paho's thread -> the loop -------------------------------------------------------------
    def _call(self, fn, *args) -> None:
        on_loop(self._loop, fn, *args)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._call(self._lost, f"broker refused: {reason_code}")
            return
        no_nagle(client)
        client.subscribe([(f"{self.topic}/{k}", 1) for k in (*self.kinds, "availability")])

    def _on_connect_fail(self, client, userdata) -> None:
        self._call(self._lost, "broker unreachable")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._call(self._lost, f"broker connection lost ({reason_code})")

    def _on_message(self, client, userdata, msg) -> None:
        self._call(self._incoming, msg.topic, msg.payload)

    def _incoming(self, topic: str, payload: bytes) -> None:
        kind = topic[len(self.topic) + 1:]
        if kind == "availability":
            self._said = payload.strip().decode("utf-8", "replace")[:40]
            if self._said == "online":
                self._online = True
                self._changed.set()
            elif self._online:
                self._lost(f"the device says it is {self._said}")
            return
        self._inbox.put(kind.encode() + b"\n" + payload)

    def _lost(self, why: str) -> None:
        if self._gone is None:
            self._gone = DeviceAbsent(f"{self.name}: {why}")
            self._inbox.put(self._gone)
            self._changed.set()


def login_of(options: dict) -> tuple[str, str] | None:
    """The daemon's (username, password) on the device broker, when the device's config gives
    one (config.py has read the password file)."""
    return (options["username"], options["password"]) if "username" in options else None


async def open_mqtt(ep: Endpoint, topic: str, device_id: str, kinds: tuple[str, ...],
                    timeout: float, login: tuple[str, str] | None = None) -> MqttLink:
    """A networked device's link, open once the device says it is online (else DeviceAbsent)."""
    link = MqttLink(ep, topic, f"kioskd-{device_id}-{secrets.token_hex(3)}", kinds, login)
    await link.open(timeout)
    return link


def no_nagle(client: mqtt.Client) -> None:
    """Small request/response messages: without TCP_NODELAY (paho does not set it) each one
    waits ~40 ms for the peer's delayed ACK (bench: pad press -> result 44 ms -> see note)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
