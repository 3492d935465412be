"""What a driver is given: its device's parsed `url` (Endpoint) and its entry of devices.toml
(DeviceConfig). Owned here, by the drivers; `kioskd.config` builds them with line-numbered
errors, and a driver never needs the rest of the configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from kioskd.drivers.registry import TYPES, Role

SERIAL_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


@dataclass(frozen=True)
class Endpoint:
    """A device's parsed `url`: serial:///dev/x?baud=9600, tcp://host:9100,
    usb://0400:c35a?port=1-1.2 (`port` or `serial` picks one of several alike devices)."""

    scheme: str
    path: str = ""
    host: str = ""
    port: int = 0
    baud: int = 115200
    raw: str = ""
    vid: int = 0
    pid: int = 0
    usb_port: str = ""  # bus-port.port..., as in /sys/bus/usb/devices: stable per socket
    usb_serial: str = ""

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    type: str
    url: Endpoint
    kiosk: str | None = None
    window: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    sim: dict[str, Any] = field(default_factory=dict)
    hall: bool = False  # a hall board (综合屏): serves the whole hall, not a kiosk or window
    zone: str | None = None  # the 24-hour zone ([[zone]] id) whose door, reader or locker it is

    @property
    def role(self) -> Role:
        return TYPES[self.type].role

    def opt(self, name: str) -> Any:
        """An option as given, else its family's default (drivers/*/family.py); a name the
        type does not declare is a KeyError, not a silent None."""
        if name in self.options:
            return self.options[name]
        return TYPES[self.type].options[name].default


def parse_endpoint(url: str, schemes: tuple[str, ...]) -> Endpoint:
    """Parse a device url; raise ValueError with the reason."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(f"scheme {parts.scheme or '(none)'}:// not usable here "
                         f"(this type takes {', '.join(s + '://' for s in schemes)})")
    if parts.scheme == "serial":
        if not parts.path:
            raise ValueError(f"no device path in {url!r} (e.g. serial:///dev/ttyUSB0)")
        query = parse_qs(parts.query)
        baud_text = query.get("baud", ["115200"])[0]
        if not baud_text.isdigit() or int(baud_text) not in SERIAL_BAUDS:
            raise ValueError(f"baud {baud_text!r} is not one of {SERIAL_BAUDS}")
        return Endpoint("serial", path=parts.path, baud=int(baud_text), raw=url)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"bad port in {url!r} (expected 1-65535)") from None
        if not parts.hostname or not port:
            raise ValueError(f"expected tcp://HOST:PORT, got {url!r}")
        return Endpoint("tcp", host=parts.hostname, port=port, raw=url)
    if parts.scheme == "usb":
        m = re.fullmatch(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})", parts.netloc)
        if not m:
            raise ValueError(f"expected usb://VID:PID in hex (e.g. usb://0400:c35a), got {url!r}")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"port", "serial"}
        if unknown:
            raise ValueError(f"unknown usb:// parameter {sorted(unknown)[0]!r} (port=, serial=)")
        if "port" in query and not re.fullmatch(r"\d+-\d+(\.\d+)*", query["port"]):
            raise ValueError(f"port={query['port']!r} is not a USB port path like 1-1.2")
        return Endpoint("usb", vid=int(m[1], 16), pid=int(m[2], 16), raw=url,
                        usb_port=query.get("port", ""), usb_serial=query.get("serial", ""))
    if parts.scheme == "pcsc":
        # a reader by its index in pcscd's list, or by the start of its name
        reader = unquote(url[len("pcsc://"):]).strip()
        if not reader:
            raise ValueError(f"no reader in {url!r} (pcsc://0, or pcsc://NAME as "
                             "pcsc_scan lists it)")
        return Endpoint("pcsc", path=reader, raw=url)
    if parts.scheme in ("mqtt", "mqtts"):
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise ValueError(f"bad port in {url!r} (expected 1-65535)") from None
        if not parts.hostname:
            raise ValueError(f"expected mqtt://HOST[:PORT], got {url!r}")
        return Endpoint(parts.scheme, host=parts.hostname, port=port, raw=url)
    return Endpoint(parts.scheme, path=parts.netloc + parts.path, raw=url)
