"""[[device]] entries: where each serves, its url, and its options, checked against its type's
declaration (drivers/*/family.py: the options table and the family's own rules). Nothing here
knows a device type by name; the rules left are the hall's: one port one device, one device of
a role per place, one key per pad."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kioskd.config.checker import Checker, array, read_secret
from kioskd.drivers.family import DeviceType
from kioskd.drivers.registry import TYPES
from kioskd.drivers.spec import DeviceConfig, Endpoint, parse_endpoint


BASE_KEYS = {"id", "type", "url", "kiosk", "window", "hall", "zone", "sim"}
# how an entry says where it serves, per binding
SAID = {"kiosk": 'kiosk = "…"', "window": "window = N", "hall": "hall = true",
        "zone": 'zone = "…"',
        "windows": "keypads = [{address = 1, window = 1}, …]"}


class _Entry:
    """One entry's view of the checker, for its family's rules (drivers.family.EntryCheck)."""

    def __init__(self, c: Checker, at: str, path: Path, windows: set[int]):
        self.c, self.at, self.path, self.windows = c, at, path, windows

    def bad(self, key: str, what: str) -> None:
        self.c.bad(f"{self.at}.{key}", what)

    def secret(self, key: str, value: str) -> str:
        return read_secret(self.path, value, f"{self.at}.{key}", self.c)


def devices(raw: dict, path: Path, c: Checker, windows: set[int], kiosks: set[str],
            hall_id: str, zones: set[str] = frozenset()) -> list[DeviceConfig]:
    out: list[DeviceConfig] = []
    for i, t in enumerate(array(raw, "device", c)):
        dev = _device(i, t, out, path, c, windows, kiosks, hall_id, zones)
        if dev is not None:
            out.append(dev)
    _one_port_one_device(out, c)
    _one_per_place(out, c)
    _devices_named(out, c)
    return out


def _devices_named(out: list[DeviceConfig], c: Checker) -> None:
    """An option that names another device (a locker's card reader) names one that is there."""
    ids = {d.id for d in out}
    for i, d in enumerate(out):
        for name, option in TYPES[d.type].options.items() if d.type in TYPES else ():
            if option.device and name in d.options and (d.options[name] not in ids
                                                        or d.options[name] == d.id):
                c.bad(f"device[{i}].{name}", f"no other [[device]] with id {d.options[name]!r}")


def _device(i: int, t: dict, out: list[DeviceConfig], path: Path, c: Checker,
            windows: set[int], kiosks: set[str], hall_id: str,
            zones: set[str]) -> DeviceConfig | None:
    at = f"device[{i}]"
    did = c.take(t, "id", str, at, default=f"device{i}")
    if did in {d.id for d in out}:
        c.bad(f"{at}.id", f"duplicate device id {did!r}")
    elif did and not re.fullmatch(r"[A-Za-z0-9_\-]+", did):
        c.bad(f"{at}.id", "use letters, digits, '-' and '_' only (it is part of MQTT topics)")
    tname = c.take(t, "type", str, at, default="")
    dtype = TYPES.get(tname)
    if tname and dtype is None:
        c.bad(f"{at}.type", f"unknown device type {tname!r} (known: {', '.join(TYPES)})")
    if dtype:
        c.unknown_keys(t, BASE_KEYS | set(dtype.options), at)
    endpoint = _url(t, dtype, at, c)
    kiosk = c.take(t, "kiosk", str, at, required=False)
    window = c.take(t, "window", int, at, required=False)
    hall = c.take(t, "hall", bool, at, required=False, default=False)
    zone = c.take(t, "zone", str, at, required=False)
    if zone is not None and zone not in zones:
        c.bad(f"{at}.zone", f"no [[zone]] with id {zone!r}")
    if kiosk is not None and kiosk not in kiosks:
        c.bad(f"{at}.kiosk", f"no [[kiosk]] with id {kiosk!r}")
    if window is not None and window not in windows:
        c.bad(f"{at}.window", f"no [[window]] with number {window}")
    places = [p for p, given in (("kiosk", kiosk is not None), ("window", window is not None),
                                 ("hall", bool(hall)), ("zone", zone is not None),
                                 ("windows", "keypads" in t)) if given]
    if dtype and len(places) != 1:
        c.bad(at, f"say where it serves: exactly one of "
                  f"{' or '.join(SAID[b] for b in dtype.binds)} "
                  f"({tname} serves a {' or '.join(dtype.binds)})")
    elif dtype and places[0] not in dtype.binds:
        c.bad(at, f"a {tname} serves a {' or '.join(dtype.binds)}, not a {places[0]}")
    sim = c.take(t, "sim", dict, at, required=False, default={})
    if dtype is None:
        return DeviceConfig(did, tname, endpoint, kiosk, window, {}, sim or {}, bool(hall), zone)
    opts = _options(t, dtype, at, c)
    if endpoint.scheme in ("mqtt", "mqtts"):
        # one topic per device under the hall's prefix (protocols.md §10)
        opts.setdefault("topic", f"kioskd/v1/{hall_id}/{dtype.family}/{did}")
    dev = DeviceConfig(did, tname, endpoint, kiosk, window, opts, sim or {}, bool(hall), zone)
    entry = _Entry(c, at, path, windows)
    for rule in dtype.rules:  # the family's own: they may normalise opts (a key file -> bytes)
        rule(opts, dev, entry)
    return dev


def _url(t: dict, dtype: DeviceType | None, at: str, c: Checker) -> Endpoint:
    url = c.take(t, "url", str, at, default="", required=dtype is None or bool(dtype.schemes))
    if url and dtype and not dtype.schemes:
        c.bad(f"{at}.url", dtype.no_url)
    elif url and dtype:
        try:
            return parse_endpoint(url, dtype.schemes)
        except ValueError as exc:
            c.bad(f"{at}.url", str(exc))
    return Endpoint("none", raw=url)


def _options(t: dict, dtype: DeviceType, at: str, c: Checker) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    for key, option in dtype.options.items():
        value = c.take(t, key, option.kind, at, required=False)
        if value is None:
            continue
        problem = option.problem(value)
        if problem:
            c.bad(f"{at}.{key}", problem)
        opts[key] = value
    return opts


def _one_port_one_device(out: list[DeviceConfig], c: Checker) -> None:
    """Two opening one serial port read each other's bytes (a keypad bus serving several
    windows is one [[device]] with keypads = [...])."""
    ports: dict[tuple, str] = {}
    for i, d in enumerate(out):
        e = d.url
        port = (e.scheme, e.path) if e.path and e.scheme in ("serial", "v4l2", "evdev") else \
            (e.scheme, e.host, e.port) if e.scheme == "tcp" else None
        if port is None:
            continue
        if port in ports:
            c.bad(f"device[{i}].url", f"{e.raw} is also device {ports[port]!r}'s: one port, "
                                      "one device")
        ports.setdefault(port, d.id)


def _one_per_place(out: list[DeviceConfig], c: Checker) -> None:
    """One device of a role per place: two pads on a window would let either rate; and each
    pad its own key, or one could rate as the other."""
    seen: dict[tuple, str] = {}
    keys: dict[bytes, str] = {}
    for i, d in enumerate(out):
        if d.hall or d.zone or d.type not in TYPES:
            continue  # several hall boards (entrance, waiting area); a zone's several readers
        if "key" in d.options:
            if d.options["key"] in keys:
                c.bad(f"device[{i}].key", f"{keys[d.options['key']]!r} has the same key: each "
                                          "pad its own, or one could rate as the other")
            keys[d.options["key"]] = d.id
        for place in TYPES[d.type].taken(d):
            if place in seen:
                c.bad(f"device[{i}]", f"{seen[place]!r} already is the {place[0]} of "
                                      + (f"kiosk {place[1]}" if place[1] else f"window {place[2]}"))
            seen[place] = d.id
