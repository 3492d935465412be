"""devices.toml: parse, validate every key, and report each mistake as `PATH:LINE: key.path: what`.

Validation collects all problems instead of stopping at the first: a technician fixing a hall's
config wants the whole list in one go.
"""

from __future__ import annotations

import codecs
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kioskd import jsonlimits
from kioskd.drivers.printer.escpos import FIELDS, FOOTER
from kioskd.drivers.registry import TYPES, Role
from kioskd.drivers.spec import (SERIAL_BAUDS, DeviceConfig, Endpoint,  # noqa: F401
                                 parse_endpoint)
from kioskd.engine.rules import (LANES, REASONS, Category, QueuePolicy,  # noqa: F401
                                 Reason, RatingRules, Window)
from kioskd.errors import ConfigError

ROLES = ("kiosk", "clerk", "pad", "board", "manager", "technician")
DEFAULT_PATHS = (Path("devices.toml"), Path("/etc/kioskd/devices.toml"))


@dataclass(frozen=True)
class HallConfig:
    id: str
    name: str
    timezone: str
    state_dir: Path | None = None
    retention_days: int = 30  # journal rows (they hold holder tokens) older than this are purged
    scan_retention_days: int = 7  # captured pages are citizens' papers: kept only this long
    clock_jump_h: int = 6  # a wall clock leaping further while tickets are open is suspect
    disk_reserve_mb: int = 16  # given up by the journal when the disk is full
    disk_low_mb: int = 64  # less free than this: disk.low
    scan_quota_mb: int = 500  # captured pages kept at most; the oldest go first

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class UplinkConfig:
    url: str
    host: str
    port: int
    tls: bool = False
    client_id: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    cert_file: str = ""  # a client certificate (mutual TLS), with its key_file
    key_file: str = ""
    command_key_file: Path | None = None  # central's commands are signed with it
    keepalive_s: int = 30
    # rows out and no PUBACK (nor anything else) from the broker for this long: the link is
    # dead even if TCP says nothing (a hung broker, a NAT that dropped us); reconnect
    liveness_s: int = 20


@dataclass(frozen=True)
class ApiClient:
    name: str
    role: str
    token: str = field(repr=False)
    window: int | None = None
    kiosk: str | None = None
    staff_no: str = ""  # a clerk's 工号: the rating pad shows who served the citizen
    photo: Path | None = None  # a clerk's photo (JPEG/PNG): the rating tablet shows it when idle


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8470
    clients: tuple[ApiClient, ...] = ()


@dataclass(frozen=True)
class VoiceConfig:
    """[voice]: calls spoken aloud (语音叫号) with espeak-ng, a chime where it is missing."""

    enabled: bool = True
    template: str = "请 {ticket} 号 到 {window} 号窗口办理"
    english: str = ""  # e.g. "Number {ticket}, please go to window {window}"
    repeat: int = 2  # each announcement this many times (a citizen may miss the first)
    speed: int = 150  # espeak-ng words per minute
    volume: int = 100  # espeak-ng amplitude 0-200
    output: str = "auto"  # alsa (aplay), wav (files under STATE/voice), auto: alsa if a card
    voice: str = "cmn-latn-pinyin"  # espeak-ng 1.51's `cmn` reads Hanzi as English




@dataclass(frozen=True)
class Kiosk:
    id: str
    name: str = ""
    # a staffed guide desk (导服台): staff may ask for a priority lane there, after seeing the
    # certificate; a self-service kiosk gives only the lanes a card or appointment proves
    guide: bool = False
    idle_s: int = 60  # the kiosk page goes home (and forgets the card) after this long untouched


@dataclass(frozen=True)
class TicketTemplate:
    """[ticket]: what a printed (or on-screen) ticket shows, in which order."""

    title: str = ""  # "" = the hall's name
    footer: str = FOOTER
    fields: tuple[str, ...] = FIELDS
    # what the QR holds; {sig} signs hall/date/number so that central can take a later rating
    # for this ticket and no other (see `kioskd.ratinglink`)
    qr: str = "{hall}/{date}/{number}/{sig}"

    def qr_text(self, hall: str, date: str, number: str, sig: str = "") -> str:
        return self.qr.format(hall=hall, date=date, number=number, sig=sig)


@dataclass(frozen=True)
class Config:
    path: Path
    hall: HallConfig
    uplink: UplinkConfig
    api: ApiConfig
    categories: tuple[Category, ...]
    windows: tuple[Window, ...]
    kiosks: tuple[Kiosk, ...]
    devices: tuple[DeviceConfig, ...]
    queue: QueuePolicy = QueuePolicy()
    ticket: TicketTemplate = TicketTemplate()
    rating: RatingRules = RatingRules()
    voice: VoiceConfig = VoiceConfig()

    def device(self, device_id: str) -> DeviceConfig:
        return next(d for d in self.devices if d.id == device_id)

    def devices_of(self, *, kiosk: str | None = None, window: int | None = None,
                   role: Role | None = None) -> list[DeviceConfig]:
        return [d for d in self.devices
                if (role is None or d.role is role)
                and (kiosk is None or d.kiosk == kiosk)
                and (window is None or d.window == window)]


# --- locating keys in the text, so semantic mistakes get a line number too --------------------
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def _key_lines(text: str) -> dict[str, int]:
    """Map `table[i].key` paths to 1-based line numbers (tables, arrays of tables, keys)."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    current = ""
    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            name = m.group(2)
            if m.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                current = f"{name}[{counts[name]}]"
            else:
                current = name
            lines.setdefault(current, no)
            continue
        m = _KEY.match(line)
        if m:
            lines.setdefault(f"{current}.{m.group(1)}" if current else m.group(1), no)
    return lines


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.problems: list[str] = []
        self._lines = _key_lines(text)

    def bad(self, keypath: str, what: str) -> None:
        probe = keypath
        line = None
        while probe:
            line = self._lines.get(probe)
            if line:
                break
            probe = probe.rpartition(".")[0]
        where = f"{self.path}:{line}" if line else f"{self.path}"
        self.problems.append(f"{where}: {keypath}: {what}")

    def take(self, table: dict, key: str, kind: type | tuple, at: str, *, required: bool = True,
             default: Any = None) -> Any:
        if key not in table:
            if required:
                self.bad(f"{at}.{key}" if at else key, "missing")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are ints to Python; a port of `true` is a mistake, not 1
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.bad(f"{at}.{key}" if at else key,
                     f"expected {_toml_kind(names)}, got {_toml_kind(type(value).__name__)} {value!r}")
            return default
        return value

    def int_in(self, table: dict, key: str, at: str, default: int, lo: int, hi: int,
               unit: str = "") -> int:
        """An optional integer within lo-hi; out of range is a problem, and the default."""
        value = self.take(table, key, int, at, required=False, default=default)
        if not lo <= value <= hi:
            self.bad(f"{at}.{key}", f"{value} is outside {lo}-{hi}{unit}")
            return default
        return value

    def unknown_keys(self, table: dict, allowed: set[str], at: str) -> None:
        for key in table:
            if key not in allowed:
                self.bad(f"{at}.{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _toml_kind(pyname: str) -> str:
    return {"str": "a string", "int": "an integer", "bool": "a boolean", "list": "an array",
            "dict": "a table", "float": "a number"}.get(pyname, pyname)


def find_config(path: str | os.PathLike | None) -> Path:
    if path:
        return Path(path)
    for candidate in DEFAULT_PATHS:
        if candidate.exists():
            return candidate
    return DEFAULT_PATHS[0]


# TOML strings, skipped when counting nesting: basic and literal, one line or three quotes
_STRINGS_TOML = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')


def load(path: str | os.PathLike) -> Config:
    """Read and validate a devices.toml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    # Windows editors save UTF-8 with a byte-order mark; TOML has none, tomllib calls it an
    # "invalid statement (column 1)". It carries no meaning: read past it.
    text = text.removeprefix("\ufeff")
    if (deep := jsonlimits.depth(_STRINGS_TOML.sub("", text))) > jsonlimits.MAX_DEPTH:
        # tomllib recurses per level: 50,000 nested arrays are a RecursionError, not a syntax
        # error, and a reload on SIGHUP would die of it
        raise ConfigError([f"{path}: arrays or tables nested {deep} deep; at most "
                           f"{jsonlimits.MAX_DEPTH}"])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{path}:{m.group(1)}" if m else f"{path}"
        col = f" (column {m.group(2)})" if m else ""
        raise ConfigError([f"{where}: syntax: {msg}{col}"]) from None
    check = _Checker(path, text)
    cfg = _validate(raw, path, check)
    if check.problems:
        raise ConfigError(check.problems)
    assert cfg is not None
    return cfg


def _validate(raw: dict, path: Path, c: _Checker) -> Config | None:
    c.unknown_keys(raw, {"hall", "uplink", "api", "queue", "ticket", "rating", "voice",
                         "category", "window", "kiosk", "device"}, "")
    hall, elderly_age = _hall(raw, c)  # [hall] elderly_age is a queue rule: it lives there
    policy = _queue(raw, c, elderly_age)
    uplink = _uplink(raw, path, c)
    categories = _categories(raw, c)
    windows = _windows(raw, c, {cat.code for cat in categories})
    kiosks = _kiosks(raw, c)
    api = _api(raw, path, c, {w.number for w in windows}, {k.id for k in kiosks})
    devices = _devices(raw, path, c, {w.number for w in windows}, {k.id for k in kiosks},
                       hall.id)
    ticket = _ticket(raw, c)
    rating = _rating(raw, path, c)
    voice = _voice(raw, c)
    if c.problems:
        return None
    return Config(path, hall, uplink, api, tuple(categories), tuple(windows), tuple(kiosks),
                  tuple(devices), policy, ticket, rating, voice)


def _voice(raw: dict, c: _Checker) -> VoiceConfig:
    t = _table(raw, "voice", c)
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


def _table(raw: dict, key: str, c: _Checker) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        c.bad(key, f"expected a table [{key}], got {_toml_kind(type(value).__name__)}")
        return {}
    return value


def _array(raw: dict, key: str, c: _Checker) -> list[dict]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        c.bad(key, f"expected an array of tables [[{key}]]")
        return []
    return value


def _hall(raw: dict, c: _Checker) -> tuple[HallConfig, int]:
    t = _table(raw, "hall", c)
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


def _queue(raw: dict, c: _Checker, elderly_age: int) -> QueuePolicy:
    t = _table(raw, "queue", c)
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


def _ticket(raw: dict, c: _Checker) -> TicketTemplate:
    t = _table(raw, "ticket", c)
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


def _rating(raw: dict, path: Path, c: _Checker) -> RatingRules:
    t = _table(raw, "rating", c)
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
                       _relative(path, key_file) if key_file else None)


def _relative(path: Path, value: str) -> Path:
    file = Path(value)
    return file if file.is_absolute() else path.parent / file


def _photo(path: Path, value: str, keypath: str, c: _Checker) -> Path | None:
    """A clerk's photo for the rating tablet: a JPEG or PNG file of at most 512 KB."""
    file = _relative(path, value)
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


def _read_secret(path: Path, value: str, keypath: str, c: _Checker) -> str:
    file = _relative(path, value)
    try:
        secret = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        c.bad(keypath, f"cannot read {file}: {exc.strerror or exc}")
        return ""
    if not secret:
        c.bad(keypath, f"{file} is empty")
    return secret


def _uplink(raw: dict, path: Path, c: _Checker) -> UplinkConfig:
    t = _table(raw, "uplink", c)
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
            password = _read_secret(path, pf, "uplink.password_file", c)
    files = {}
    for key in ("ca_file", "cert_file", "key_file", "command_key_file"):
        value = c.take(t, key, str, "uplink", required=False, default="")
        files[key] = _relative(path, value) if value else None
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


def _host_port(value: str, keypath: str, c: _Checker) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        c.bad(keypath, f"expected HOST:PORT with a port 0-65535, got {value!r}")
        return "127.0.0.1", 0
    return host.strip("[]"), int(port)


def _api(raw: dict, path: Path, c: _Checker, windows: set[int], kiosks: set[str]) -> ApiConfig:
    t = _table(raw, "api", c)
    c.unknown_keys(t, {"listen", "client", "allow_demo_tokens"}, "api")
    host, port = _host_port(c.take(t, "listen", str, "api", required=False,
                                   default="127.0.0.1:8470"), "api.listen", c)
    # the demo's tokens are public (this repository): fine on loopback, not for a hall's LAN
    demo_ok = c.take(t, "allow_demo_tokens", bool, "api", required=False, default=False) or \
        host in ("127.0.0.1", "::1", "localhost")
    clients = []
    seen_tokens: dict[str, str] = {}
    for i, ct in enumerate(_array(t, "client", c)):
        at = f"api.client[{i}]"
        c.unknown_keys(ct, {"name", "role", "token", "token_file", "window", "kiosk", "staff_no",
                            "photo"}, at)
        name = c.take(ct, "name", str, at, default=f"client{i}")
        role = c.take(ct, "role", str, at, default="")
        if role and role not in ROLES:
            c.bad(f"{at}.role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
        if "token_file" in ct:
            token = _read_secret(path, c.take(ct, "token_file", str, at) or "", f"{at}.token_file", c)
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
        clients.append(ApiClient(name, role, token, window, kiosk, staff_no,
                                 _photo(path, photo, f"{at}.photo", c) if photo else None))
    return ApiConfig(host, port, tuple(clients))


_HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")


def _categories(raw: dict, c: _Checker) -> list[Category]:
    out: list[Category] = []
    arr = _array(raw, "category", c)
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


def _windows(raw: dict, c: _Checker, categories: set[str]) -> list[Window]:
    out: list[Window] = []
    for i, t in enumerate(_array(raw, "window", c)):
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


def _kiosks(raw: dict, c: _Checker) -> list[Kiosk]:
    out: list[Kiosk] = []
    for i, t in enumerate(_array(raw, "kiosk", c)):
        at = f"kiosk[{i}]"
        c.unknown_keys(t, {"id", "name", "guide", "idle_s"}, at)
        kid = c.take(t, "id", str, at, default="")
        if kid in {k.id for k in out}:
            c.bad(f"{at}.id", f"duplicate kiosk id {kid!r}")
        out.append(Kiosk(kid, c.take(t, "name", str, at, required=False, default=""),
                         c.take(t, "guide", bool, at, required=False, default=False),
                         c.int_in(t, "idle_s", at, 60, 10, 600, " s")))
    return out


def _devices(raw: dict, path: Path, c: _Checker, windows: set[int], kiosks: set[str],
             hall_id: str) -> list[DeviceConfig]:
    out: list[DeviceConfig] = []
    for i, t in enumerate(_array(raw, "device", c)):
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
        elif dtype and dtype.driver is None:
            c.bad(f"{at}.type", f"device type {tname!r} is not implemented in this version yet")
        base = {"id", "type", "url", "kiosk", "window", "hall", "sim"}
        options = dtype.options if dtype else {}
        if dtype:
            c.unknown_keys(t, base | set(options), at)
        url = c.take(t, "url", str, at, default="", required=tname != "pad.web")
        endpoint = Endpoint("none", raw=url)
        if url and tname == "pad.web":
            c.bad(f"{at}.url", "a rating tablet has no url: its page connects to the daemon "
                               "(/pad/N, docs/pad-web.md)")
        elif url and dtype:
            try:
                endpoint = parse_endpoint(url, dtype.schemes)
            except ValueError as exc:
                c.bad(f"{at}.url", str(exc))
        kiosk = c.take(t, "kiosk", str, at, required=False)
        window = c.take(t, "window", int, at, required=False)
        hall = c.take(t, "hall", bool, at, required=False, default=False)
        if kiosk is not None and kiosk not in kiosks:
            c.bad(f"{at}.kiosk", f"no [[kiosk]] with id {kiosk!r}")
        if window is not None and window not in windows:
            c.bad(f"{at}.window", f"no [[window]] with number {window}")
        places = [p for p, given in (("kiosk", kiosk is not None), ("window", window is not None),
                                     ("hall", bool(hall)), ("windows", "keypads" in t)) if given]
        if dtype and len(places) != 1:
            said = {"kiosk": 'kiosk = "…"', "window": "window = N", "hall": "hall = true",
                    "windows": "keypads = [{address = 1, window = 1}, …]"}
            c.bad(at, f"say where it serves: exactly one of "
                      f"{' or '.join(said[b] for b in dtype.binds)} "
                      f"({tname} serves a {' or '.join(dtype.binds)})")
        elif dtype and places[0] not in dtype.binds:
            c.bad(at, f"a {tname} serves a {' or '.join(dtype.binds)}, not a {places[0]}")
        opts = {}
        for key, kind in options.items():
            value = c.take(t, key, kind, at, required=False)
            if value is not None:
                opts[key] = value
        if "encoding" in opts:
            try:
                codecs.lookup(opts["encoding"])
            except LookupError:
                c.bad(f"{at}.encoding", f"unknown encoding {opts['encoding']!r} (e.g. gb18030, utf-8)")
        for key in ("timeout_ms", "poll_ms", "status_ms", "ping_ms"):
            if key in opts and not 10 <= opts[key] <= 60_000:
                c.bad(f"{at}.{key}", f"{opts[key]} is outside 10-60000 ms")
        if opts.get("decoder", "zxing") not in ("zxing", "zbar"):
            c.bad(f"{at}.decoder", f"{opts['decoder']!r} is not zxing or zbar")
        for key, lo, hi in (("width", 160, 2592), ("height", 120, 1944), ("still_ms", 100, 10_000),
                            ("jpeg_quality", 30, 100), ("calls", 1, 20), ("width_px", 16, 4096),
                            ("height_px", 8, 2048), ("line_px", 8, 256)):
            if key in opts and not lo <= opts[key] <= hi:
                c.bad(f"{at}.{key}", f"{opts[key]} is outside {lo}-{hi}")
        if opts.get("qr", "auto") not in ("auto", "native", "image"):
            c.bad(f"{at}.qr", f"{opts['qr']!r} is not one of auto, native, image")
        if "profile" in opts:
            problem = _escpos_profile_problem(opts["profile"])
            if problem:
                c.bad(f"{at}.profile", problem)
        if dtype and dtype.role is Role.PAD and tname != "pad.web":  # a tablet's key: at enrollment
            _pad_key(t, opts, path, at, c)
        if tname == "caller.serial":
            _keypads(opts, window, windows, at, c)
        if endpoint.scheme in ("mqtt", "mqtts"):
            # one topic per device under the hall's prefix (protocols.md §10)
            opts.setdefault("topic", f"kioskd/v1/{hall_id}/{tname.split('.')[0]}/{did}")
            _mqtt_login(opts, path, at, c)
        sim = c.take(t, "sim", dict, at, required=False, default={})
        if opts.get("names", "none") not in ("none", "masked"):
            c.bad(f"{at}.names", f"{opts['names']!r} is not none or masked (张*)")
        if tname == "board.bx":
            _bx_options(opts, at, c)
        out.append(DeviceConfig(did, tname, endpoint, kiosk, window, opts, sim or {},
                                bool(hall)))
    # one port, one device: two opening one serial port read each other's bytes (a keypad bus
    # serving several windows is one [[device]] with keypads = [...])
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
    # one device of a kind per place: two pads on a window would let either rate
    seen: dict[tuple, str] = {}
    keys: dict[bytes, str] = {}
    for i, d in enumerate(out):
        if d.hall:
            continue  # a hall may hang several hall boards (entrance, waiting area)
        if "key" in d.options:
            if d.options["key"] in keys:
                c.bad(f"device[{i}].key", f"{keys[d.options['key']]!r} has the same key: each "
                                          "pad its own, or one could rate as the other")
            keys[d.options["key"]] = d.id
        served = ([(d.type.split(".")[0], None, w) for w in d.options["keypads"].values()]
                  if d.type == "caller.serial" else [(d.type.split(".")[0], d.kiosk, d.window)])
        for place in served:
            if place in seen:
                c.bad(f"device[{i}]", f"{seen[place]!r} already is the {place[0]} of "
                                      + (f"kiosk {d.kiosk}" if d.kiosk else f"window {place[2]}"))
            seen[place] = d.id
    return out


def _bx_options(opts: dict, at: str, c: _Checker) -> None:
    """An Onbon card: a BX-5K/6K model (another family speaks another protocol), x and width in
    its unit, and no run mode that makes the text vanish."""
    from kioskd.drivers.board import bx  # pure codec tables; no driver is imported

    card = opts.get("card", "auto")
    if card in bx.OTHER_FAMILIES:
        c.bad(f"{at}.card", f"{card} speaks another Onbon protocol ({bx.OTHER_FAMILIES[card]}): "
                            "board.bx drives BX-5K/6K cards")
    elif card != "auto" and card not in bx.CARDS:
        c.bad(f"{at}.card", f"{card!r} is not a BX-5K/6K card: auto or one of "
                            f"{', '.join(bx.CARDS)}")
    if opts.get("area_unit", bx.UNIT_8PX) not in bx.UNITS:
        c.bad(f"{at}.area_unit", f"{opts['area_unit']!r} is not one of {', '.join(bx.UNITS)}")
    unit = bx.configured_unit(card, opts.get("area_unit"))
    width = opts.get("width_px")
    if unit == bx.UNIT_8PX and width is not None and width % 8:
        c.bad(f"{at}.width_px", f"{width} is not a multiple of 8: "
                                f"{card if card in bx.CARDS else 'this card'} counts width in 8 px")
    if opts.get("align", "left") not in bx.ALIGNS:
        c.bad(f"{at}.align", f"{opts['align']!r} is not one of {', '.join(bx.ALIGNS)}")
    mode, timeout = opts.get("run_mode", 0), opts.get("area_timeout_s", 5)
    if not 0 <= mode <= 5:
        c.bad(f"{at}.run_mode", f"{mode} is outside 0-5")
    if not 0 <= timeout <= 65535:
        c.bad(f"{at}.area_timeout_s", f"{timeout} is outside 0-65535 s")
    elif mode in (2, 3, 5) and timeout == 0:
        c.bad(f"{at}.area_timeout_s", f"0 with run_mode {mode}: the card would drop the text "
                                      "at once (the vendor default is run_mode 0, 5 s)")


def _keypads(opts: dict, window: int | None, windows: set[int], at: str, c: _Checker) -> None:
    """A keypad bus as address -> window: one keypad (`window`, `address` default 1), or
    `keypads = [{address = 1, window = 1}, …]` for the windows sharing one RS-485 line."""
    if "keypads" not in opts:
        opts["keypads"] = {opts.get("address", 1): window} if window is not None else {}
        return
    if "address" in opts:
        c.bad(f"{at}.address", "a bus gives each keypad's address in keypads, not here")
    out: dict[int, int] = {}
    for j, entry in enumerate(opts["keypads"]):
        where = f"{at}.keypads[{j}]"
        if not isinstance(entry, dict) or set(entry) != {"address", "window"}:
            c.bad(where, "expected {address = N, window = N}")
            continue
        addr, win = entry["address"], entry["window"]
        if not isinstance(addr, int) or isinstance(addr, bool) or not 1 <= addr <= 254:
            c.bad(f"{where}.address", f"{addr!r} is not an address 1-254")
        elif addr in out:
            c.bad(f"{where}.address", f"address {addr} is already window {out[addr]}'s")
        elif not isinstance(win, int) or win not in windows:
            c.bad(f"{where}.window", f"no [[window]] with number {win!r}")
        elif win in out.values():
            c.bad(f"{where}.window", f"window {win} already has a keypad on this bus")
        else:
            out[addr] = win
    if not opts["keypads"]:
        c.bad(f"{at}.keypads", "lists no keypad")
    opts["keypads"] = out


def _pad_key(t: dict, opts: dict, path: Path, at: str, c: _Checker) -> None:
    """A pad seals every rating with its own key (HMAC): one pad cannot pretend to be another,
    nor anything else on the bus or broker to be a pad. `key` inline (demo) or `key_file`."""
    if ("key" in opts) == ("key_file" in opts):
        c.bad(f"{at}.key", "a rating pad needs its device key: key_file = \"/etc/kioskd/keys/"
                           "pad-w1\" (hex, 16+ bytes) or key = \"…\" (demo only)")
        return
    key = opts.pop("key", None) or _read_secret(path, opts.pop("key_file"), f"{at}.key_file", c)
    try:
        raw_key = bytes.fromhex(key)
    except ValueError:
        c.bad(f"{at}.key", "the key is hex digits (e.g. from: openssl rand -hex 16)")
        return
    if len(raw_key) < 16:
        c.bad(f"{at}.key", f"the key has {len(raw_key)} bytes; use at least 16")
    opts["key"] = raw_key


def _mqtt_login(opts: dict, path: Path, at: str, c: _Checker) -> None:
    """The daemon's login on a locked-down device broker (kioskd device-acl): a username and
    the file holding its password, both or neither; the password is read here, once."""
    if ("username" in opts) != ("password_file" in opts):
        c.bad(f"{at}.username", "a broker login needs both username and password_file")
        opts.pop("password_file", None)
        return
    if "password_file" in opts:
        opts["password"] = _read_secret(path, opts.pop("password_file"), f"{at}.password_file", c)


def _escpos_profile_problem(name: str) -> str | None:
    """python-escpos's printer database is a JSON file: read it, without importing escpos."""
    import json
    from importlib.util import find_spec

    spec = find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return None  # cannot check here; the driver says so when it builds a ticket
    db = Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
    try:
        profiles = json.loads(db.read_text(encoding="utf-8"))["profiles"]
    except (OSError, ValueError, KeyError):
        return None
    if name in profiles:
        return None
    return (f"unknown python-escpos profile {name!r} (58 mm: POS-5890; 80 mm: TM-T20II; "
            f"any: default)")


def state_dir(cfg: Config) -> Path:
    """$STATE_DIRECTORY (systemd), else [hall] state_dir, else ./var."""
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    if cfg.hall.state_dir:
        p = cfg.hall.state_dir
        return p if p.is_absolute() else cfg.path.parent / p
    return Path("var")
