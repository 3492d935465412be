"""What a device family declares about each of its types, in its own folder (`family.py`):
its role, where it may serve, its url schemes, its options, the rules of its entry beyond
them, the places it takes, the technician's actions and its driver class.

The registry (`drivers/registry.py`) lists the families; nothing else names a type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Protocol

from kioskd.drivers.options import Option

if TYPE_CHECKING:
    from kioskd.drivers.spec import DeviceConfig


class Role(StrEnum):
    """What a device is to the hall, whatever its protocol: the hall asks for "the pad of window
    3", never for a type name's prefix."""

    READER = "reader"  # 二代身份证阅读器
    PRINTER = "printer"  # 取号机's ticket printer
    BOARD = "board"  # 窗口屏, 综合屏
    PAD = "pad"  # 评价器
    KEYPAD = "keypad"  # the clerk's caller keypad
    SCANNER = "scanner"  # barcode gun
    CAMERA = "camera"  # 高拍仪
    CARD_READER = "cardreader"  # 读卡器: contact cards on PC/SC (the social-security card)
    GATE = "gate"  # 门禁: a door or turnstile of the 24-hour zone
    LOCKER = "locker"  # 自助寄取柜: a bank of compartments


@dataclass(frozen=True)
class Action:
    """A technician's action on a device of this type (the console's key, the API's name)."""

    key: str
    name: str
    label: str
    # its own route ("GET /api/devices/{id}/last"); "" = POST /api/devices/{id}/{name}, which
    # runs the hall's action of that name or the driver's command
    route: str = ""


# every device: test it, and drop and reopen its link
COMMON_ACTIONS = (Action("t", "test", "Test"), Action("r", "reconnect", "Reconnect"))


class EntryCheck(Protocol):
    """What a family's rules get from check-config: problems are reported with the entry's
    line, secrets are read relative to devices.toml."""

    windows: set[int]

    def bad(self, key: str, what: str) -> None: ...

    def secret(self, key: str, value: str) -> str: ...


# a family's rule: may read and normalise the entry's options (a key file -> its bytes)
Rule = Callable[[dict[str, Any], "DeviceConfig", EntryCheck], None]


@dataclass(frozen=True)
class DeviceType:
    name: str  # FAMILY.PROTOCOL; FAMILY is the folder, and the MQTT topic's segment
    role: Role
    # what a device of this type may serve: "kiosk", "window", "hall", "zone" (the 24-hour
    # zone's doors, readers and lockers), or "windows" (a bus of keypads, each at its address)
    binds: tuple[str, ...]
    schemes: tuple[str, ...]  # () = it has no url: it comes to the daemon (a page)
    options: dict[str, Option]
    driver: str | None  # "module:Class", imported when a device of it starts
    rules: tuple[Rule, ...] = ()
    actions: tuple[Action, ...] = ()
    no_url: str = ""  # why a type without schemes takes no url
    # the places it takes, one device of a role each: (role, kiosk, window)
    places: Callable[["DeviceConfig"], list[tuple]] | None = None

    @property
    def family(self) -> str:
        return self.name.split(".")[0]

    def all_actions(self) -> tuple[Action, ...]:
        return self.actions + COMMON_ACTIONS

    def taken(self, dev: "DeviceConfig") -> list[tuple]:
        if self.places:
            return self.places(dev)
        return [(self.role, dev.kiosk, dev.window)]
