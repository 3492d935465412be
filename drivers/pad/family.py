"""好差评 rating pads: on a serial bus, on the hall's broker, and the tablet page (pad.web)."""

from __future__ import annotations

from typing import Any

from kioskd.drivers.family import Action, DeviceType, EntryCheck, Role
from kioskd.drivers.options import MQTT, Option, ms, mqtt_login, table


def device_key(opts: dict[str, Any], dev: Any, check: EntryCheck) -> None:
    """A pad seals every rating with its own key (HMAC): one pad cannot pretend to be another,
    nor anything else on the bus or broker to be a pad. `key` inline (demo) or `key_file`."""
    if ("key" in opts) == ("key_file" in opts):
        check.bad("key", "a rating pad needs its device key: key_file = \"/etc/kioskd/keys/"
                         "pad-w1\" (hex, 16+ bytes) or key = \"…\" (demo only)")
        return
    key = opts.pop("key", None) or check.secret("key_file", opts.pop("key_file"))
    try:
        raw_key = bytes.fromhex(key)
    except ValueError:
        check.bad("key", "the key is hex digits (e.g. from: openssl rand -hex 16)")
        return
    if len(raw_key) < 16:
        check.bad("key", f"the key has {len(raw_key)} bytes; use at least 16")
    opts["key"] = raw_key


PAD = table(ms("timeout_ms", 1000, "an answer's time-out"),
            ms("ping_ms", 5000, "how often the pad is pinged"))
KEY = table(Option("key", str, None, "the pad's device key in hex (demos; else key_file)"),
            Option("key_file", str, None, "a file holding the pad's device key (hex, 16+ bytes)"))
ACTIONS = (Action("p", "prompt-test", "Test prompt"),
           Action("c", "last", "Pad answer", "GET /api/devices/{id}/last"))

TYPES = (
    DeviceType("pad.serial", Role.PAD, ("window",), ("serial", "tcp"),
               {**PAD, **KEY, **table(Option("address", int, 1, "its bus address", 1, 254))},
               "kioskd.drivers.pad.driver:SerialPadDriver", rules=(device_key,),
               actions=ACTIONS),
    DeviceType("pad.mqtt", Role.PAD, ("window",), ("mqtt", "mqtts"), {**PAD, **KEY, **MQTT},
               "kioskd.drivers.pad.driver:MqttPadDriver", rules=(device_key, mqtt_login),
               actions=ACTIONS),
    # the rating tablet: a page the daemon serves (/pad/{n}), no wire of its own; its key
    # comes from the technician's enrollment (kioskd.tablets), not from devices.toml
    DeviceType("pad.web", Role.PAD, ("window",), (), PAD,
               "kioskd.drivers.pad.driver:WebPadDriver",
               actions=ACTIONS + (Action("n", "enroll", "Enrollment code",
                                         "POST /api/pads/{id}/enroll"),),
               no_url="a rating tablet has no url: its page connects to the daemon "
                      "(/pad/N, docs/pad-web.md)"),
)
