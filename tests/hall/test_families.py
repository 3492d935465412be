"""A device family is one folder: its types, options, rules and actions in drivers/FAMILY/
family.py, its twin in sim/, one line in the registry. Checked for the shipped families, and
proved by adding one: the window lamp of tests/hall/lampfamily, which nothing else in the repository
knows, is checked by check-config, run by the hall against its twin, listed with its
technician's actions, and printed in the types' reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.helpers import api
from kioskd import config
from kioskd.cli import main
from kioskd.config import reference
from kioskd.drivers import registry
from kioskd.drivers.registry import TYPES, Role, load
from kioskd.sim import twins
from kioskd.tui.screens.device import KEYS

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "device-types.md"


@pytest.mark.parametrize("name", list(TYPES))
def test_a_types_declaration_holds_together(name):
    t = TYPES[name]
    assert name.split(".")[0] == t.family and t.family in t.driver
    load(t.driver)  # its driver is where it says
    assert name in twins.TWINS, "every type has a twin: CI and laptops run a hall without it"
    for option in t.options.values():
        if option.default is not None:
            assert isinstance(option.default, option.kind), option
            assert option.problem(option.default) is None, f"{name}.{option.name}'s default"
    keys = [a.key for a in t.all_actions()]
    assert len(keys) == len(set(keys)) and set(keys) <= set(KEYS), keys


def test_the_reference_is_the_tables():
    """docs/device-types.md is made from the tables (`kioskd devices --types --markdown`)."""
    if DOC.read_text(encoding="utf-8") != reference.markdown():
        pytest.fail("docs/device-types.md differs from the families' tables: "
                    "kioskd devices --types --markdown > docs/device-types.md")


def test_an_option_the_type_does_not_declare_is_an_error_not_a_default():
    dev = config.load(REPO / "devices.toml").device("printer-k1")
    assert dev.opt("encoding") == "gb18030" and dev.opt("qr") == "auto"
    with pytest.raises(KeyError):
        dev.opt("encodng")


@pytest.fixture
def lamp_family():
    """The example family's one registry line (and its twin's), taken back after."""
    registry.register("lampfamily.family")
    twins.TWINS["lamp.serial"] = "lamptwin:LampTwin"
    yield TYPES["lamp.serial"]
    del TYPES["lamp.serial"], twins.TWINS["lamp.serial"]


LAMP = """
[[device]]
id = "lamp-w4"
type = "lamp.serial"
window = 4
url = "serial:///dev/kioskd/lamp-w4?baud=9600"
brightness = {brightness}
"""


def test_a_new_family_is_checked_by_its_own_table(lamp_family, tmp_path, capsys):
    text = (REPO / "devices.toml").read_text(encoding="utf-8")
    path = tmp_path / "devices.toml"
    path.write_text(text + LAMP.format(brightness=99) + 'colour = "red"\n', encoding="utf-8")
    assert main(["check-config", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    line = len(text.splitlines()) + LAMP.count("\n")
    assert f"{path}:{line}: device[19].brightness: 99 is outside 1-15" in err
    assert re.search(rf"{path}:{line + 1}: device\[19\]\.colour: unknown key \(allowed: .*"
                     r"brightness", err)
    assert "lamp.serial  (board; serves a window; url serial://, tcp://)" in reference.text()


async def test_a_new_family_runs_in_the_hall_against_its_twin(lamp_family, hall_of, tmp_path):
    path = tmp_path / "devices.toml"
    path.write_text((REPO / "devices.toml").read_text(encoding="utf-8")
                    + LAMP.format(brightness=3), encoding="utf-8")
    cfg = config.load(path)
    assert cfg.device("lamp-w4").role is Role.BOARD
    sim = await hall_of(cfg)
    hall, lamp = sim.hall, sim.twin("lamp-w4")
    await hall.watch.until(lambda: hall.supervisors["lamp-w4"].state.state == "ready", 10,
                           "the lamp answers PING")
    # the hall shows window 4's calls on it, as on any board of a window
    status, ticket = await api(hall, "POST", "/api/tickets", {"category": "A"}, kiosk="kiosk-1")
    assert status == 201, ticket
    status, called = await api(hall, "POST", "/api/windows/4/call-next", role="clerk", window=4)
    assert status == 200, called
    number = called["events"][0]["data"]["ticket"]
    await lamp.watch.until(lambda: any(number in s for s in lamp.shown), 5, "the call on the lamp")
    assert next(s for s in lamp.shown if number in s).startswith("3 ")  # its brightness option
    # the technician's console lists its action, and the action reaches the lamp
    status, devices = await api(hall, "GET", "/api/devices", role="technician")
    listed = next(d for d in devices["devices"] if d["id"] == "lamp-w4")
    assert {"key": "b", "name": "blink", "label": "Blink", "route": ""} in listed["actions"]
    status, answer = await api(hall, "POST", "/api/devices/lamp-w4/blink", {}, role="technician")
    assert status == 200 and answer["result"] == {"shown": True}
    assert lamp.shown[-1] == "BLINK"
