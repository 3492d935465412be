"""The configuration a loaded devices.toml gives: typed, frozen, and checked (the checks are
in `kioskd.config.checker` and `.sections`; a device's entry is its family's `DeviceConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from kioskd.drivers.printer.escpos import FIELDS, FOOTER
from kioskd.drivers.registry import Role
from kioskd.drivers.spec import DeviceConfig
from kioskd.engine.rules import Category, QueuePolicy, RatingRules, Window
from kioskd.zone.rules import ZoneRules


ROLES = ("kiosk", "clerk", "pad", "board", "manager", "technician", "locker")
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
    locker: str | None = None  # a locker's touch page: the locker.modbus device it stands by


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
    zones: tuple[ZoneRules, ...] = ()

    def device(self, device_id: str) -> DeviceConfig:
        return next(d for d in self.devices if d.id == device_id)

    def devices_of(self, *, kiosk: str | None = None, window: int | None = None,
                   role: Role | None = None) -> list[DeviceConfig]:
        return [d for d in self.devices
                if (role is None or d.role is role)
                and (kiosk is None or d.kiosk == kiosk)
                and (window is None or d.window == window)]
