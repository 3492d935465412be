"""udev/99-kioskd.rules: every line as udev reads it (keys, operators, quoting), every family
named, every /dev/kioskd/... that the example hall uses made by a rule, ModemManager kept off
every serial adapter. (Debian 12's udevadm has no `verify`: this is its rule grammar, from
udev(7).)"""

from __future__ import annotations

import re

from support.helpers import REPO

MATCH = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM", "SUBSYSTEMS",
         "DRIVER", "DRIVERS", "ATTR", "ATTRS", "SYSCTL", "TAG", "TAGS", "ENV", "CONST", "TEST",
         "PROGRAM", "RESULT"}
ASSIGN = {"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "SECLABEL", "ATTR", "SYSCTL", "ENV",
          "TAG", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
BRACED = {"ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "TEST", "SECLABEL", "IMPORT", "RUN"}
TOKEN = re.compile(r'\s*([A-Z]+)(\{[^}]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')


def parse(line: str) -> list[tuple[str, str, str, str]]:
    out, pos = [], 0
    while pos < len(line):
        m = TOKEN.match(line, pos)
        assert m, f"udev cannot read {line[pos:]!r}"
        key, attr, op, value, _ = m.groups()
        assert (key in BRACED) == bool(attr) or key == "TEST", f"{key}{attr or ''}"
        if op in ("==", "!="):
            assert key in MATCH, f"{key} is not a match key"
        else:
            assert key in ASSIGN, f"{key} cannot be assigned"
        out.append((key, attr or "", op, value))
        pos = m.end()
    return out


def rules() -> list[list[tuple[str, str, str, str]]]:
    text = (REPO / "udev/99-kioskd.rules").read_text()
    assert "\\\n" not in text  # no continued lines: each rule is one line
    return [parse(ln) for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_every_rule_parses_and_gives_the_kioskd_group():
    for rule in rules():
        keys = {(k, a): (op, v) for k, a, op, v in rule}
        assert any(op in ("==", "!=") for _, _, op, _ in rule), rule
        assert keys[("GROUP", "")] == ("=", "kioskd") and keys[("MODE", "")] == ("=", "0660")


def test_every_family_has_a_rule():
    subsystems = {v for rule in rules() for k, _, op, v in rule if k == "SUBSYSTEM"}
    assert {"tty", "usb", "usbmisc", "input", "video4linux"} <= subsystems
    names = {v for rule in rules() for k, _, _, v in rule if k == "SYMLINK"}
    assert {"kioskd/idreader", "kioskd/idreader-usb", "kioskd/printer", "kioskd/gun",
            "kioskd/camera"} <= names


def test_modemmanager_keeps_off_every_serial_adapter():
    for rule in rules():
        if ("SUBSYSTEM", "", "==", "tty") in rule:
            assert ("ENV", "{ID_MM_DEVICE_IGNORE}", "=", "1") in rule, rule


def test_every_dev_kioskd_name_of_the_example_hall_has_a_rule():
    named = set(re.findall(r"/dev/(kioskd/[\w.-]+)", (REPO / "devices.toml").read_text()))
    assert named, "the example hall names no /dev/kioskd device"
    made = {v for rule in rules() for k, _, _, v in rule if k == "SYMLINK"}
    assert named - made == set()
