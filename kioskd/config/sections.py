"""The sections of devices.toml, each checked: [hall], [queue], [ticket], [rating], [uplink],
[api], [voice], [[category]], [[window]], [[kiosk]]; [[device]] is `kioskd.config.devices`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kioskd.config.checker import Checker, array, host_port, read_secret, relative, table
from kioskd.config.devices import devices
from kioskd.config.model import (ROLES, ApiClient, ApiConfig, Config, HallConfig, Kiosk,
                                 TicketTemplate, UplinkConfig, VoiceConfig)
from kioskd.drivers.printer.escpos import FIELDS
from kioskd.drivers.registry import TYPES, Role
from kioskd.zone.rules import FAILS, ZoneRules, parse_hours
from kioskd.engine.rules import LANES, Category, QueuePolicy, Reason, RatingRules, Window


def validate(raw: dict, path: Path, c: Checker) -> Config | None:
    c.unknown_keys(raw, {"hall", "uplink", "api", "queue", "ticket", "rating", "voice",
                         "category", "window", "kiosk", "zone", "device"}, "")
    hall, elderly_age = _hall(raw, c)  # [hall] elderly_age is a queue rule: it lives there
    policy = _queue(raw, c, elderly_age)
    uplink = _uplink(raw, path, c)
    categories = _categories(raw, c)
    windows = _windows(raw, c, {cat.code for cat in categories})
    kiosks = _kiosks(raw, c)
    api = _api(raw, path, c, {w.number for w in windows}, {k.id for k in kiosks})
    zones = _zones(raw, c)
    devs = devices(raw, path, c, {w.number for w in windows}, {k.id for k in kiosks},
                   hall.id, {z.id for z in zones})
    _lockers_named(api, devs, c)
    ticket = _ticket(raw, c)
    rating = _rating(raw, path, c)
    voice = _voice(raw, c)
    if c.problems:
        return None
    return Config(path, hall, uplink, api, tuple(categories), tuple(windows), tuple(kiosks),
                  tuple(devs), policy, ticket, rating, voice, tuple(zones))


def _hall(raw: dict, c: Checker) -> tuple[HallConfig, int]:
    t = table(raw, "hall", c)
    if "hall" not in raw:
        c.bad("hall", "missing table [hall]")
    c.unknown_keys(t, {"id", "name", "timezone", "state_dir", "elderly_age", "retention_days",
                       "scan_retention_days", "clock_jump_h", "disk_reserve_mb", "disk_low_mb",
                       "scan_quota_mb"}, "hall")
    hall_id = c.take(t, "id", str, "hall", default="hall")
    if hall_id and not re.fullmatch(r"[A-Za-z0-9_\-]+", hall_id):
        c.bad("hall.id", "use letters, digits, '-' and '_' only (it is part of MQTT topics)")
    name = c.take(t, "name", str, "hall", default="")
    tz = c.take(t, "timezone", str, "hall", required=False, default="Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        c.bad("hall.timezone", f"unknown time zone {tz!r} (e.g. Asia/Shanghai)")
        tz = "Asia/Shanghai"
    state_dir = c.take(t, "state_dir", str, "hall", required=False)
    if state_dir and Path(state_dir).exists() and not Path(state_dir).is_dir():
        c.bad("hall.state_dir", f"{state_dir} is a file, not a folder (the journal, keys and "
                                "scans live in it)")
    age = c.take(t, "elderly_age", int, "hall", required=False, default=60)
    if not 0 < age < 150:
        c.bad("hall.elderly_age", f"{age} is not an age")
    keep = c.int_in(t, "retention_days", "hall", 30, 1, 3650)
    scans = c.int_in(t, "scan_retention_days", "hall", 7, 1, 3650)
    jump = c.int_in(t, "clock_jump_h", "hall", 6, 1, 24 * 30)
    reserve = c.int_in(t, "disk_reserve_mb", "hall", 16, 1, 4096)
    low = c.int_in(t, "disk_low_mb", "hall", 64, 1, 65536)
    quota = c.int_in(t, "scan_quota_mb", "hall", 500, 1, 10**6)
    return HallConfig(hall_id, name, tz, Path(state_dir) if state_dir else None, keep,
                      scans, jump, reserve, low, quota), age


def _queue(raw: dict, c: Checker, elderly_age: int) -> QueuePolicy:
    t = table(raw, "queue", c)
    ints = {"recall_limit": (0, 20), "skip_requeue_after": (0, 100), "skip_max": (0, 20),
            "priority_streak": (1, 100), "starving_after_min": (1, 24 * 60),
            "checkin_early_min": (0, 24 * 60), "checkin_late_min": (0, 24 * 60),
            "rating_timeout_s": (10, 3600), "rating_fast_ms": (0, 10_000)}
    c.unknown_keys(t, {"lanes", "transfer_keeps_place", *ints}, "queue")
    d = QueuePolicy()
    values: dict[str, Any] = {}
    for key, (lo, hi) in ints.items():
        values[key] = c.int_in(t, key, "queue", getattr(d, key), lo, hi)
    lanes = c.take(t, "lanes", list, "queue", required=False, default=list(d.lanes))
    for lane in lanes:
        if lane not in LANES:
            c.bad("queue.lanes", f"unknown lane {lane!r} (known: {', '.join(LANES)})")
    if len(set(lanes)) != len(lanes):
        c.bad("queue.lanes", "a lane is listed twice")
    keeps = c.take(t, "transfer_keeps_place", bool, "queue", required=False, default=True)
    return QueuePolicy(tuple(lanes), elderly_age, transfer_keeps_place=keeps, **values)


def _ticket(raw: dict, c: Checker) -> TicketTemplate:
    t = table(raw, "ticket", c)
    c.unknown_keys(t, {"title", "footer", "fields", "qr"}, "ticket")
    d = TicketTemplate()
    fields = c.take(t, "fields", list, "ticket", required=False, default=list(d.fields))
    for f in fields:
        if f not in FIELDS:
            c.bad("ticket.fields", f"unknown field {f!r} (known: {', '.join(FIELDS)})")
    if "number" not in fields:
        c.bad("ticket.fields", "a ticket without its number is no ticket: keep \"number\"")
    qr = c.take(t, "qr", str, "ticket", required=False, default=d.qr)
    try:
        TicketTemplate(qr=qr).qr_text("h", "2026-01-01", "A001", "0" * 16)
    except (KeyError, IndexError, ValueError) as exc:
        c.bad("ticket.qr", f"placeholders are {{hall}}, {{date}}, {{number}}, {{sig}} (got {exc})")
    return TicketTemplate(c.take(t, "title", str, "ticket", required=False, default=d.title),
                          c.take(t, "footer", str, "ticket", required=False, default=d.footer),
                          tuple(fields), qr)


def _rating(raw: dict, path: Path, c: Checker) -> RatingRules:
    t = table(raw, "rating", c)
    c.unknown_keys(t, {"reasons", "text_max", "real_name", "link_key_file"}, "rating")
    d = RatingRules()
    reasons: list[Reason] = []
    items = c.take(t, "reasons", list, "rating", required=False)
    for i, item in enumerate(items if items is not None else []):
        at = f"rating.reasons[{i}]"
        if not isinstance(item, dict):
            c.bad(at, 'expected { code = 1, name = "服务态度" }')
            continue
        c.unknown_keys(item, {"code", "name"}, at)
        code = c.take(item, "code", int, at, default=0)
        name = c.take(item, "name", str, at, default="")
        if not 1 <= code <= 255:
            c.bad(f"{at}.code", f"{code} is outside 1-255 (a serial pad sends it as one byte)")
        elif code in {r.code for r in reasons}:
            c.bad(f"{at}.code", f"reason code {code} is listed twice")
        if not name.strip():
            c.bad(f"{at}.name", "the pad shows this name: it cannot be empty")
        reasons.append(Reason(code, name))
    if items is not None and not reasons:
        c.bad("rating.reasons", "a bad rating needs a reason: list at least one")
    text_max = c.int_in(t, "text_max", "rating", d.text_max, 0, 500)
    key_file = c.take(t, "link_key_file", str, "rating", required=False)
    return RatingRules(tuple(reasons) or d.reasons, text_max,
                       c.take(t, "real_name", bool, "rating", required=False, default=False),
                       relative(path, key_file) if key_file else None)


def _photo(path: Path, value: str, keypath: str, c: Checker) -> Path | None:
    """A clerk's photo for the rating tablet: a JPEG or PNG file of at most 512 KB."""
    file = relative(path, value)
    try:
        head, size = file.read_bytes()[:8], file.stat().st_size
    except OSError as exc:
        c.bad(keypath, f"{file}: {exc.strerror or exc}")
        return None
    if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")):
        c.bad(keypath, f"{file} is not a JPEG or PNG image")
        return None
    if size > 512 * 1024:
        c.bad(keypath, f"{file} is {size // 1024} KB: at most 512 KB (the tablet shows it small)")
        return None
    return file


def _uplink(raw: dict, path: Path, c: Checker) -> UplinkConfig:
    t = table(raw, "uplink", c)
    c.unknown_keys(t, {"url", "client_id", "username", "password_file", "ca_file", "cert_file",
                       "key_file", "command_key_file", "keepalive_s", "liveness_s"}, "uplink")
    url = c.take(t, "url", str, "uplink", default="mqtt://127.0.0.1:1883")
    parts = urlsplit(url)
    host, port = parts.hostname or "", 0
    if parts.scheme not in ("mqtt", "mqtts"):
        c.bad("uplink.url", f"scheme must be mqtt:// or mqtts://, got {url!r}")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        c.bad("uplink.url", f"bad port in {url!r} (expected 1-65535)")
    if not host:
        c.bad("uplink.url", f"no host in {url!r}")
    password = ""
    if "password_file" in t:
        pf = c.take(t, "password_file", str, "uplink")
        if pf:
            password = read_secret(path, pf, "uplink.password_file", c)
    files = {}
    for key in ("ca_file", "cert_file", "key_file", "command_key_file"):
        value = c.take(t, key, str, "uplink", required=False, default="")
        files[key] = relative(path, value) if value else None
        if files[key] is not None and not files[key].is_file():
            c.bad(f"uplink.{key}", f"no such file: {files[key]}")
    if (files["cert_file"] is None) != (files["key_file"] is None):
        c.bad("uplink.cert_file", "a client certificate needs both cert_file and key_file")
    if files["cert_file"] and parts.scheme != "mqtts":
        c.bad("uplink.cert_file", "a client certificate needs TLS: use an mqtts:// url")
    keepalive = c.int_in(t, "keepalive_s", "uplink", 30, 5, 600)
    liveness = c.int_in(t, "liveness_s", "uplink", 20, 2, 600)
    text = lambda key: str(files[key]) if files[key] else ""  # noqa: E731
    return UplinkConfig(url, host, port, parts.scheme == "mqtts",
                        c.take(t, "client_id", str, "uplink", required=False, default=""),
                        c.take(t, "username", str, "uplink", required=False, default=""),
                        password, text("ca_file"), text("cert_file"), text("key_file"),
                        files["command_key_file"], keepalive, liveness)


def _api(raw: dict, path: Path, c: Checker, windows: set[int], kiosks: set[str]) -> ApiConfig:
    t = table(raw, "api", c)
    c.unknown_keys(t, {"listen", "client", "allow_demo_tokens"}, "api")
    host, port = host_port(c.take(t, "listen", str, "api", required=False,
                                   default="127.0.0.1:8470"), "api.listen", c)
    # the demo's tokens are public (this repository): fine on loopback, not for a hall's LAN
    demo_ok = c.take(t, "allow_demo_tokens", bool, "api", required=False, default=False) or \
        host in ("127.0.0.1", "::1", "localhost")
    clients = []
    seen_tokens: dict[str, str] = {}
    for i, ct in enumerate(array(t, "client", c)):
        at = f"api.client[{i}]"
        c.unknown_keys(ct, {"name", "role", "token", "token_file", "window", "kiosk", "staff_no",
                            "photo", "locker"}, at)
        name = c.take(ct, "name", str, at, default=f"client{i}")
        role = c.take(ct, "role", str, at, default="")
        if role and role not in ROLES:
            c.bad(f"{at}.role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
        if "token_file" in ct:
            token = read_secret(path, c.take(ct, "token_file", str, at) or "", f"{at}.token_file", c)
        elif "token" in ct:
            token = c.take(ct, "token", str, at, default="")
        else:
            token = ""
            c.bad(f"{at}.token_file", "missing (or give `token` inline, for demos only)")
        if "token" in ct and not token:
            c.bad(f"{at}.token", "empty: give a random token of 16 or more characters")
        if token and len(token) < 16:
            c.bad(f"{at}.token", "too short: use at least 16 characters")
        if "change-me" in token and not demo_ok:
            c.bad(f"{at}.token", f"the demo's token, on {host}: anyone who read the demo can "
                                 "use it; set your own (or [api] allow_demo_tokens = true)")
        if token in seen_tokens:
            c.bad(f"{at}.token", f"same token as client {seen_tokens[token]!r}")
        seen_tokens[token] = name
        window = c.take(ct, "window", int, at, required=role in ("clerk", "pad"))
        if window is not None and window not in windows:
            c.bad(f"{at}.window", f"no [[window]] with number {window}")
        kiosk = c.take(ct, "kiosk", str, at, required=role == "kiosk")
        if kiosk is not None and kiosk not in kiosks:
            c.bad(f"{at}.kiosk", f"no [[kiosk]] with id {kiosk!r}")
        staff_no = c.take(ct, "staff_no", str, at, required=False, default="")
        photo = c.take(ct, "photo", str, at, required=False)
        locker = c.take(ct, "locker", str, at, required=role == "locker")
        clients.append(ApiClient(name, role, token, window, kiosk, staff_no,
                                 _photo(path, photo, f"{at}.photo", c) if photo else None,
                                 locker))
    return ApiConfig(host, port, tuple(clients))


def _voice(raw: dict, c: Checker) -> VoiceConfig:
    t = table(raw, "voice", c)
    d = VoiceConfig()
    c.unknown_keys(t, {"enabled", "template", "english", "repeat", "speed", "volume", "output",
                       "voice"}, "voice")
    texts = {}
    for key in ("template", "english"):
        texts[key] = c.take(t, key, str, "voice", required=False, default=getattr(d, key))
        if texts[key] and "{ticket}" not in texts[key]:
            c.bad(f"voice.{key}", "the announcement must say the number: put {ticket} in it")
        try:
            texts[key].format(ticket="A001", window=1)
        except (KeyError, IndexError, ValueError) as exc:
            c.bad(f"voice.{key}", f"placeholders are {{ticket}} and {{window}} ({exc})")
    output = c.take(t, "output", str, "voice", required=False, default=d.output)
    if output not in ("auto", "alsa", "wav"):
        c.bad("voice.output", f"{output!r}: one of auto, alsa, wav")
    return VoiceConfig(c.take(t, "enabled", bool, "voice", required=False, default=True),
                       texts["template"], texts["english"],
                       c.int_in(t, "repeat", "voice", d.repeat, 1, 3),
                       c.int_in(t, "speed", "voice", d.speed, 80, 450, " words a minute"),
                       c.int_in(t, "volume", "voice", d.volume, 0, 200),
                       output, c.take(t, "voice", str, "voice", required=False, default=d.voice))


_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


def _categories(raw: dict, c: Checker) -> list[Category]:
    out: list[Category] = []
    arr = array(raw, "category", c)
    if not arr:
        c.bad("category", "no [[category]]: a hall needs at least one")
    for i, t in enumerate(arr):
        at = f"category[{i}]"
        minutes = ("per_person_daily", "service_min", "wait_limit_min", "service_limit_min",
                   "alert_waiting")
        c.unknown_keys(t, {"code", "name", "hours", "daily_quota", "requires_id", "matter_code",
                           *minutes}, at)
        code = c.take(t, "code", str, at, default="")
        if code and not re.fullmatch(r"[A-Z]{1,2}", code):
            c.bad(f"{at}.code", f"ticket prefix must be 1-2 capital letters, got {code!r}")
        if code in {x.code for x in out}:
            c.bad(f"{at}.code", f"duplicate category code {code!r}")
        hours = c.take(t, "hours", str, at, required=False)
        span = None
        if hours is not None:
            m = _HOURS.fullmatch(hours)
            if not m or hours[:5] >= hours[6:]:
                c.bad(f"{at}.hours", f"expected HH:MM-HH:MM with start before end, got {hours!r}")
            else:
                span = (hours[:5], hours[6:])
        positive: dict[str, Any] = {}
        for key in ("daily_quota", *minutes):
            v = c.take(t, key, int, at, required=False)
            if v is not None and v <= 0:
                c.bad(f"{at}.{key}", "must be a positive integer")
            if v is not None:
                positive[key] = v
        out.append(Category(code, c.take(t, "name", str, at, default=""), span,
                            requires_id=c.take(t, "requires_id", bool, at, required=False,
                                               default=False),
                            matter_code=c.take(t, "matter_code", str, at, required=False,
                                               default=""), **positive))
    return out


def _windows(raw: dict, c: Checker, categories: set[str]) -> list[Window]:
    out: list[Window] = []
    for i, t in enumerate(array(raw, "window", c)):
        at = f"window[{i}]"
        c.unknown_keys(t, {"number", "categories", "name", "backup_for"}, at)
        number = c.take(t, "number", int, at, default=0)
        if number is not None and number <= 0:
            c.bad(f"{at}.number", "must be a positive integer")
        if number in {w.number for w in out}:
            c.bad(f"{at}.number", f"duplicate window number {number}")
        cats = c.take(t, "categories", list, at, default=[])
        for code in cats:
            if code not in categories:
                c.bad(f"{at}.categories", f"serves unknown category {code!r}")
        if cats == []:
            c.bad(f"{at}.categories", "a window must serve at least one category")
        backup = c.take(t, "backup_for", list, at, required=False, default=[])
        out.append(Window(number, tuple(cats), c.take(t, "name", str, at, required=False,
                                                          default=""), tuple(backup)))
    numbers = {w.number for w in out}
    for i, w in enumerate(out):
        for b in w.backup_for:
            if not isinstance(b, int) or isinstance(b, bool) or b not in numbers:
                c.bad(f"window[{i}].backup_for", f"no [[window]] with number {b!r}")
            elif b == w.number:
                c.bad(f"window[{i}].backup_for", "a window cannot be its own backup")
    return out


def _lockers_named(api: ApiConfig, devs: list, c: Checker) -> None:
    """A locker page's token stands by a locker that is there."""
    lockers = {d.id for d in devs if d.type in TYPES and d.role is Role.LOCKER}
    for i, client in enumerate(api.clients):
        if client.locker is not None and client.locker not in lockers:
            c.bad(f"api.client[{i}].locker", f"no locker.modbus [[device]] {client.locker!r}")


def _zones(raw: dict, c: Checker) -> list[ZoneRules]:
    """[[zone]]: the 24-hour zone (its doors, readers and lockers say `zone = "ID"`)."""
    out: list[ZoneRules] = []
    for i, t in enumerate(array(raw, "zone", c)):
        at = f"zone[{i}]"
        c.unknown_keys(t, {"id", "name", "hours", "held_open_s", "fails"}, at)
        zid = c.take(t, "id", str, at, default="")
        if zid in {z.id for z in out}:
            c.bad(f"{at}.id", f"duplicate zone id {zid!r}")
        hours = None
        text = c.take(t, "hours", str, at, required=False, default="00:00-24:00")
        try:
            hours = parse_hours(text)
        except ValueError as exc:
            c.bad(f"{at}.hours", str(exc))
        fails = c.take(t, "fails", str, at, required=False, default="secure")
        if fails not in FAILS:
            c.bad(f"{at}.fails", f"{fails!r} is not one of {', '.join(FAILS)} (what the door "
                                 "does when its controller is lost)")
        out.append(ZoneRules(zid, c.take(t, "name", str, at, required=False, default=""),
                             hours, c.int_in(t, "held_open_s", at, 30, 5, 3600, " s"), fails))
    return out


def _kiosks(raw: dict, c: Checker) -> list[Kiosk]:
    out: list[Kiosk] = []
    for i, t in enumerate(array(raw, "kiosk", c)):
        at = f"kiosk[{i}]"
        c.unknown_keys(t, {"id", "name", "guide", "idle_s"}, at)
        kid = c.take(t, "id", str, at, default="")
        if kid in {k.id for k in out}:
            c.bad(f"{at}.id", f"duplicate kiosk id {kid!r}")
        out.append(Kiosk(kid, c.take(t, "name", str, at, required=False, default=""),
                         c.take(t, "guide", bool, at, required=False, default=False),
                         c.int_in(t, "idle_s", at, 60, 10, 600, " s")))
    return out
