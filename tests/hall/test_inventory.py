"""`kioskd devices`: what a technician setting up a box sees — on a made-up /sys and /dev (the
kernel's own layout: class devices linked to the USB device they hang off, udev's by-id links),
and on the simulated hall (ptys, the virtual USB bus)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.helpers import REPO, hall_toml
from kioskd import config, inventory


def _usb(sys_root: Path, port: str, vid: str, pid: str, product: str, serial: str = "") -> Path:
    d = sys_root / "devices/pci0000:00/0000:00:14.0/usb1" / port
    d.mkdir(parents=True)
    for name, value in (("idVendor", vid), ("idProduct", pid), ("product", product),
                        ("manufacturer", "ACME"), ("serial", serial)):
        if value:
            (d / name).write_text(value + "\n")
    (sys_root / "bus/usb/devices").mkdir(parents=True, exist_ok=True)
    (sys_root / "bus/usb/devices" / port).symlink_to(d)
    return d


def _class_dev(sys_root: Path, dev: Path, cls: str, node: str, parent: Path, **files: str) -> None:
    """/sys/class/CLS/NODE -> a folder under the USB device's interface, `device` linked to
    that interface (or, for input, the inputN folder holding name and capabilities)."""
    intf = parent / f"{parent.name}:1.0"
    intf.mkdir(exist_ok=True)
    target = intf / node
    target.mkdir(parents=True)
    device = intf
    if cls == "input":
        device = intf / "input3"
        (device / "capabilities").mkdir(parents=True)
        (device / "capabilities/key").write_text(files.pop("keys") + "\n")
        (device / "name").write_text(files.pop("name") + "\n")
    (target / "device").symlink_to(device)
    for name, value in files.items():
        (target / name).write_text(value + "\n")
    (sys_root / "class" / cls).mkdir(parents=True, exist_ok=True)
    (sys_root / "class" / cls / node).symlink_to(target)
    (dev / node).write_text("")


# a keyboard's key bitmap as sysfs prints it (64-bit words, highest first): Esc..Enter and more
KEYBOARD = "1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe"


def fake_box(tmp_path: Path) -> tuple[Path, Path]:
    sys_root, dev = tmp_path / "sys", tmp_path / "dev"
    dev.mkdir()
    reader = _usb(sys_root, "1-1.2", "0400", "c35a", "SAM reader")
    printer = _usb(sys_root, "1-1.4", "0416", "5011", "POS58 Printer")
    ch340 = _usb(sys_root, "1-1.3", "1a86", "7523", "USB Serial")
    _class_dev(sys_root, dev, "tty", "ttyUSB0", ch340)
    gun = _usb(sys_root, "1-1.5", "0c2e", "0b61", "Honeywell Scanner")
    _class_dev(sys_root, dev, "input", "event3", gun, keys=KEYBOARD,
               name="Honeywell Imaging & Mobility 1900 Scanner")
    cam = _usb(sys_root, "1-1.6", "2bdf", "0280", "HD Document Camera")
    _class_dev(sys_root, dev, "video4linux", "video0", cam, name="HD Document Camera")
    _usb(sys_root, "usb1", "1d6b", "0002", "xHCI Host Controller")  # a root hub: not listed
    ccid = _usb(sys_root, "1-1.7", "076b", "3021", "OMNIKEY 3121")  # any maker: its class says
    (ccid.parent / "1-1.7:1.0").mkdir()
    (ccid.parent / "1-1.7:1.0" / "bInterfaceClass").write_text("0b\n")
    (sys_root / "bus/usb/devices/1-1.7:1.0").symlink_to(ccid.parent / "1-1.7:1.0")
    for folder, node, link in (("serial/by-id", "ttyUSB0", "usb-1a86_USB_Serial-if00-port0"),
                               ("input/by-id", "event3", "usb-Honeywell_1900-event-kbd"),
                               ("v4l/by-id", "video0", "usb-HD_Document_Camera-video-index0")):
        (dev / folder).mkdir(parents=True)
        (dev / folder / link).symlink_to(f"../../{node}")
    return sys_root, dev


def test_a_made_up_box_each_family_found_matched_and_offered(tmp_path):
    sys_root, dev = fake_box(tmp_path)
    toml = tmp_path / "devices.toml"
    toml.write_text(hall_toml("h1", 'url = "mqtt://127.0.0.1:1883"') + f"""
[[device]]
id = "reader-k1"
type = "idcard.sam"
kiosk = "k1"
url = "usb://0400:c35a?port=1-1.2"

[[device]]
id = "scanner-k1"
type = "scanner.serial"
kiosk = "k1"
url = "serial://{dev}/serial/by-id/usb-1a86_USB_Serial-if00-port0?baud=9600"

[[device]]
id = "printer-k2"
type = "printer.escpos"
kiosk = "k1"
url = "usb://0483:5720"
""")
    inv = inventory.take(config.load(toml), sys_root, dev)
    by_path = {f.path: f for f in inv.found}
    assert by_path["1-1.2"].configured == ["reader-k1"]
    assert by_path["1-1.2"].driver == "idcard.sam" and by_path["1-1.2"].ids == "0400:c35a"
    tty = by_path[str(dev / "ttyUSB0")]
    assert (tty.ids, tty.configured, tty.known) == ("1a86:7523", ["scanner-k1"],
                                                    "USB-serial adapter (CH340)")
    assert tty.by_id.endswith("usb-1a86_USB_Serial-if00-port0")
    gun = by_path[str(dev / "event3")]
    assert gun.looks_like_gun and gun.driver == "scanner.hid" and gun.ids == "0c2e:0b61"
    assert by_path[str(dev / "video0")].driver == "camera.uvc"
    assert "usb1" not in by_path  # the root hub
    assert inv.absent == [("printer-k2", "usb://0483:5720")]
    # offered: the printer (0416:5011), the gun and the camera; not the reader or the adapter
    # (configured), not the adapter's own USB entry
    blocks = "\n".join(inv.blocks)
    assert 'url = "usb://0416:5011?port=1-1.4"' in blocks and 'type = "printer.escpos"' in blocks
    assert f'url = "evdev://{dev}/input/by-id/usb-Honeywell_1900-event-kbd"' in blocks
    assert f'url = "v4l2://{dev}/v4l/by-id/usb-HD_Document_Camera-video-index0"' in blocks
    assert by_path["1-1.7"].driver == "cardreader.pcsc"
    assert 'type = "cardreader.pcsc"' in blocks and 'url = "pcsc://0"' in blocks
    assert "0400:c35a" not in blocks and "ttyUSB0" not in blocks and len(inv.blocks) == 4
    # each block is a [[device]] devices.toml takes as it is (one at a time: one printer a kiosk)
    for i, block in enumerate(inv.blocks):
        one = tmp_path / f"one-{i}.toml"
        one.write_text(hall_toml("h1", 'url = "mqtt://127.0.0.1:1883"') + "\n" +
                       block.replace('kiosk = "kiosk-1"  # or: window = 1', 'kiosk = "k1"') + "\n")
        assert [d.type for d in config.load(one).devices] == [block.split('type = "')[1][:-1]
                                                               .split('"')[0]]


def test_the_command_prints_text_and_json(tmp_path):
    sys_root, dev = fake_box(tmp_path)
    base = [sys.executable, "-m", "kioskd", "devices", "--sys", str(sys_root), "--dev", str(dev),
            "-c", str(REPO / "devices.toml")]
    text = subprocess.run(base, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "ID-card reader (SAM, USB vendor-bulk)" in text.stdout
    assert "(looks like a barcode gun)" in text.stdout
    assert "configured but not found:" in text.stdout and "reader-k1" in text.stdout
    assert "on the network or pcscd (not looked for here): board-w2" in text.stdout
    out = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60)
    got = json.loads(out.stdout)
    assert {f["ids"] for f in got["found"]} >= {"0400:c35a", "1a86:7523", "0c2e:0b61"}
    assert any(a["id"] == "reader-k1" for a in got["absent"])


def test_a_broken_config_is_named_and_exits_2(tmp_path):
    bad = tmp_path / "devices.toml"
    bad.write_text("[hall\n")
    out = subprocess.run([sys.executable, "-m", "kioskd", "devices", "-c", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and str(bad) in out.stderr


async def test_the_simulated_hall_every_local_device_here_then_one_unplugged(sim):
    hall = sim.hall
    inv = inventory.take(hall.cfg, Path("/nonexistent-sys"), Path("/nonexistent-dev"))
    local = {d.id for d in hall.cfg.devices if d.url.scheme not in ("tcp", "mqtt", "mqtts")
             and d.type != "pad.web"}  # a tablet is a page on the hall's network
    assert {i for i, _, _ in inv.present} == local and inv.absent == []
    usb = [f for f in inv.found if f.kind == "usb"]  # the reader on the virtual USB bus
    assert [(f.ids, f.configured) for f in usb] == [("0400:c35a", ["reader-g1"])]
    await sim.twin("reader-g1").unplug()
    try:
        inv = inventory.take(hall.cfg, Path("/nonexistent-sys"), Path("/nonexistent-dev"))
        assert [i for i, _ in inv.absent] == ["reader-g1"]
    finally:
        await sim.twin("reader-g1").plug()
    assert os.path.exists(str(next(w for i, _, w in inv.present if i == "reader-k1")))
