"""Every MQTT client of kioskd (the uplink, networked devices, their twins, the collector) is
made, started and closed here, with the work-arounds for the paho-mqtt bugs kioskd runs into.
Each keeps its own callbacks: the uplink counts PUBACKs in order, a device link reads its
topics; they cross to the loop one way (kioskd.threadhop.on_loop)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def stop_loop(client: mqtt.Client) -> None:
    """client.loop_stop(), safe when paho's network thread ends on its own meanwhile (after a
    disconnect): loop_stop checks `_thread`, the thread sets it to None as it exits, and the
    join then raises AttributeError (eclipse-paho/paho.mqtt.python#872, open in 2.1). Either
    way the thread is gone, which is what the caller asked for."""
    try:
        client.loop_stop()
    except AttributeError:
        pass



def message_lock(client: mqtt.Client) -> threading.RLock:
    """paho's lock over its outgoing messages. paho holds it while it calls on_publish (in
    `_handle_pubackcomp`), and publish() takes it: a lock of the caller's own, taken inside
    on_publish and around a publish() elsewhere, deadlocks the two threads (seen: the
    uplink's sending hung at its first PUBACK). Taking this one instead keeps a single lock
    order. Private in paho (1.x to 2.2, pinned <3); if it moves, every uplink test fails here."""
    return client._out_message_mutex


def new_client(client_id: str, *, clean: bool = True, login: tuple[str, str | None] | None = None,
               will: tuple[str, str] | None = None,
               tls: dict[str, Any] | bool = False) -> mqtt.Client:
    """A paho client as every part of kioskd makes one: the version-2 callbacks, MQTT 3.1.1,
    a will (topic, payload: QoS 1, retained) and a login where given; `tls` True for the
    system's CAs, or tls_set's arguments. The callbacks are the caller's: they run in paho's
    thread, and reach the loop through kioskd.threadhop.on_loop."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv311, clean_session=clean)
    if will:
        c.will_set(will[0], will[1], qos=1, retain=True)
    if login:
        c.username_pw_set(login[0], login[1] or None)
    if tls:
        c.tls_set(**(tls if isinstance(tls, dict) else {}))
    return c


def start(client: mqtt.Client, host: str, port: int, keepalive: int) -> None:
    """Connect in paho's own thread, which keeps retrying while the broker is away."""
    client.connect_async(host, port, keepalive=keepalive)
    client.loop_start()


async def close(client: mqtt.Client) -> None:
    """Disconnect (no will is sent) and wait for paho's thread to end, off the loop."""
    client.disconnect()
    await asyncio.to_thread(stop_loop, client)
