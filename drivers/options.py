"""A device option as one line of a table: name, type, default, range or choices, help.

The family that owns an option declares it once; `check-config` checks against it (with the
line number), `DeviceConfig.opt` answers its default, and `kioskd devices --types` and
docs/device-types.md print it. Pure data: checking a devices.toml imports no driver.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    name: str
    kind: type  # what TOML must give: int, str, bool, list
    default: Any = None  # None: absent means absent (the driver decides, or it is required)
    help: str = ""
    lo: int | None = None
    hi: int | None = None
    unit: str = ""  # "ms", "s", "px": shown after a range
    choices: tuple[str, ...] = ()
    encoding: bool = False  # a name Python's codecs know (gb18030, utf-8 …)
    device: bool = False  # it names another [[device]] by its id

    def problem(self, value: Any) -> str | None:
        """What is wrong with a value of the right TOML type, or None."""
        if self.lo is not None and self.hi is not None and not self.lo <= value <= self.hi:
            unit = f" {self.unit}" if self.unit else ""
            return f"{value} is outside {self.lo}-{self.hi}{unit}"
        if self.choices and value not in self.choices:
            return f"{value!r} is not one of {', '.join(self.choices)}"
        if self.encoding:
            try:
                codecs.lookup(value)
            except LookupError:
                return f"unknown encoding {value!r} (e.g. gb18030, utf-8)"
        return None

    def describe(self) -> str:
        """The option's kind, default and bounds as a technician reads them."""
        kind = {int: "integer", str: "string", bool: "boolean", list: "array"}[self.kind]
        parts = [kind]
        if self.lo is not None:
            parts.append(f"{self.lo}-{self.hi}{' ' + self.unit if self.unit else ''}")
        if self.choices:
            parts.append("/".join(self.choices))
        if self.default is not None:
            parts.append(f"default {_toml(self.default)}")
        return ", ".join(parts)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def ms(name: str, default: int, help: str) -> Option:
    """A period or time-out: every family bounds them alike (10 ms to a minute)."""
    return Option(name, int, default, help, 10, 60_000, "ms")


def table(*options: Option) -> dict[str, Option]:
    return {o.name: o for o in options}


# MQTT devices on the hall's broker (kioskd device-acl): the daemon's login there, and the
# device's topic (default kioskd/v1/HALL/FAMILY/ID, protocols.md §10)
MQTT = table(
    Option("topic", str, None, "the device's topic (default kioskd/v1/HALL/FAMILY/ID)"),
    Option("username", str, None, "the daemon's login on a locked-down device broker"),
    Option("password_file", str, None, "the file holding that login's password"),
)


def mqtt_login(opts: dict[str, Any], dev: Any, check: Any) -> None:
    """The daemon's login on a locked-down device broker: a username and the file holding its
    password, both or neither; the password is read here, once."""
    if ("username" in opts) != ("password_file" in opts):
        check.bad("username", "a broker login needs both username and password_file")
        opts.pop("password_file", None)
        return
    if "password_file" in opts:
        opts["password"] = check.secret("password_file", opts.pop("password_file"))
