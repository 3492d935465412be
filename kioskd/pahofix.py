"""Work-arounds for paho-mqtt bugs that kioskd runs into, one place for every MQTT client
(the uplink, the collector, networked devices, the twins)."""

from __future__ import annotations

import paho.mqtt.client as mqtt


def stop_loop(client: mqtt.Client) -> None:
    """client.loop_stop(), safe when paho's network thread ends on its own meanwhile (after a
    disconnect): loop_stop checks `_thread`, the thread sets it to None as it exits, and the
    join then raises AttributeError (eclipse-paho/paho.mqtt.python#872, open in 2.1). Either
    way the thread is gone, which is what the caller asked for."""
    try:
        client.loop_stop()
    except AttributeError:
        pass

