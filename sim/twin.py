"""What every device twin shares: a wire, a codec, scriptable faults, and waiting on changes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from kioskd import pahofix
from kioskd.config import DeviceConfig
from kioskd.drivers.mqttlink import no_nagle
from kioskd.sim.usbbus import BUS, UsbPort
from kioskd.sim.wire import PtyPort, TcpPort
from kioskd.threadhop import on_loop
from kioskd.watch import Watch


class Twin:
    """Base of the device twins. Subclasses set `codec` and implement `on_frame`."""

    def __init__(self, dev: DeviceConfig, link: Path):
        self.dev = dev
        # the twin sits on the same kind of wire as the device it stands for
        self.port: PtyPort | TcpPort | UsbPort
        if dev.url.scheme == "tcp":
            self.port = TcpPort(self._on_bytes)
        elif dev.url.scheme == "usb":
            self.port = UsbPort(dev.url.vid, dev.url.pid, dev.url.usb_port or BUS.free_port(),
                                self._on_bytes)
        else:
            self.port = PtyPort(link, self._on_bytes)
        self.watch = Watch()
        self.silent = False  # fault: swallow requests, answer nothing
        self.received = 0
        self.codec: Any = None

    @property
    def url(self) -> str:
        if isinstance(self.port, TcpPort):
            return f"tcp://{self.port.link}"
        if isinstance(self.port, UsbPort):
            return f"usb://{self.port.link}"
        return f"serial://{self.port.link}?baud={self.dev.url.baud}"

    async def start(self) -> None:
        await self._plug()

    async def stop(self) -> None:
        await self._unplug()

    async def _plug(self) -> None:
        if isinstance(self.port, TcpPort):
            await self.port.plug()
        else:
            self.port.plug()

    async def _unplug(self) -> None:
        if isinstance(self.port, TcpPort):
            await self.port.unplug()
        else:
            self.port.unplug()

    async def unplug(self) -> None:
        """Fault: the device goes away (USB pulled, power cut, network cable out)."""
        await self._unplug()
        self.watch.changed()

    async def plug(self) -> None:
        self.codec = type(self.codec)()
        await self._plug()
        self.watch.changed()

    def send(self, data: bytes) -> None:
        self.port.write(data)

    def garbage(self, n: int = 64) -> bytes:
        """Fault: line noise from the device."""
        noise = os.urandom(n)
        self.port.write(noise)
        return noise

    def _on_bytes(self, data: bytes) -> None:
        self.received += len(data)
        if self.silent:
            return
        for frame in self.codec.feed(data):
            if isinstance(frame, Exception):
                continue  # a real device ignores what it cannot parse
            self.on_frame(frame)
        self.watch.changed()

    def on_frame(self, frame: Any) -> None:
        raise NotImplementedError


class MqttTwin(Twin):
    """A networked device on the hall's broker (pad.mqtt, board.mqtt): retained availability
    with a will, `request` in, its answers out under its own topic."""

    def __init__(self, dev: DeviceConfig, link: Path):  # noqa: ARG002 (no wire: a broker)
        self.dev = dev
        self.watch = Watch()
        self.silent = False
        self.received = 0
        self.host, self.port = dev.url.host, dev.url.port
        self.topic = dev.options["topic"]
        self.client: mqtt.Client | None = None
        self.codec: Any = None
        self.login: tuple[str, str] | None = None

    def use_broker(self, host: str, port: int, login: tuple[str, str] | None = None) -> None:
        """The sim's broker, which the daemon's link is pointed at too; `login`: the device's
        own user on a broker with an ACL (kioskd.devicebroker)."""
        self.host, self.port, self.login = host, port, login

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        await self.come_back()

    async def stop(self) -> None:
        if self.client is not None:
            c, self.client = self.client, None
            if c.is_connected():  # a clean shutdown says goodbye itself (no will is sent)
                info = c.publish(f"{self.topic}/availability", "offline", qos=1, retain=True)
                await asyncio.to_thread(_wait_published, info)
            await pahofix.close(c)

    async def come_back(self) -> None:
        loop = asyncio.get_running_loop()
        connected = asyncio.Event()
        c = pahofix.new_client(f"twin-{self.dev.id}", login=self.login,
                               will=(f"{self.topic}/availability", "offline"))

        def on_connect(client, userdata, flags, reason_code, properties):
            no_nagle(client)
            client.subscribe(f"{self.topic}/request", qos=1)
            client.publish(f"{self.topic}/availability", "online", qos=1, retain=True)
            on_loop(loop, connected.set)

        c.on_connect = on_connect
        c.on_message = lambda client, u, msg: on_loop(loop, self._on_bytes,
                                                      b"request\n" + msg.payload)
        pahofix.start(c, self.host, self.port, keepalive=15)
        self.client = c
        async with asyncio.timeout(5):
            await connected.wait()
        self.watch.changed()

    async def go_offline(self) -> None:
        """Power cut: the connection drops without a goodbye, so the broker sends the will."""
        c, self.client = self.client, None
        if c is None:
            return
        await asyncio.to_thread(pahofix.stop_loop, c)
        sock = c.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.watch.changed()

    async def unplug(self) -> None:
        await self.go_offline()

    async def plug(self) -> None:
        await self.come_back()

    def _publish(self, kind: str, data: dict[str, Any]) -> None:
        if self.client is not None:
            self.client.publish(f"{self.topic}/{kind}", json.dumps(data, ensure_ascii=False), qos=1)


def _wait_published(info: mqtt.MQTTMessageInfo) -> None:
    try:
        info.wait_for_publish(1)
    except (RuntimeError, ValueError):
        pass  # the broker went away meanwhile: its will (or nothing) it is
