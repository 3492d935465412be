"""`kioskd devices`: what is plugged into this box, which [[device]] of devices.toml each one is,
which configured devices are absent, and a [[device]] block ready to paste for each known device
that no entry names. Read from sysfs (USB ids, serial ports, input and video devices) and the
/dev/*/by-id links udev makes, so it needs no root and opens no device (a reader mid-read or a
printer mid-ticket is never disturbed). A twin on kioskd's virtual USB bus is seen too."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kioskd.config import Config, DeviceConfig


@dataclass(frozen=True)
class Known:
    """A USB id kioskd knows: what it is and the driver that drives it (None: an adapter,
    whose far side could be a reader, a pad, a keypad or a board)."""

    name: str
    driver: str | None
    url: str  # the url template: {vid} {pid} {port} {tty}


KNOWN: dict[tuple[int, int], Known] = {
    (0x0400, 0xC35A): Known("ID-card reader (SAM, USB vendor-bulk)", "idcard.sam",
                            "usb://{vid}:{pid}?port={port}"),
    (0x0316, 0x5020): Known("ID-card reader (SAM, USB vendor-bulk)", "idcard.sam",
                            "usb://{vid}:{pid}?port={port}"),
    (0x0483, 0x5720): Known("ESC/POS ticket printer", "printer.escpos",
                            "usb://{vid}:{pid}?port={port}"),
    (0x0416, 0x5011): Known("ESC/POS ticket printer", "printer.escpos",
                            "usb://{vid}:{pid}?port={port}"),
    (0x1A86, 0x7523): Known("USB-serial adapter (CH340)", None, "serial://{tty}?baud=9600"),
    (0x0403, 0x6001): Known("USB-serial adapter (FTDI FT232R)", None, "serial://{tty}?baud=9600"),
    (0x10C4, 0xEA60): Known("USB-serial adapter (CP210x)", None, "serial://{tty}?baud=9600"),
    (0x067B, 0x2303): Known("USB-serial adapter (PL2303)", None, "serial://{tty}?baud=9600"),
}
# behind an adapter: the drivers that speak over a serial line (protocols.md §1, §5, §8, §9)
SERIAL_DRIVERS = "idcard.sam, printer.escpos, board.bx, pad.serial, scanner.serial, caller.serial"
ROOT_HUB_VENDOR = 0x1D6B  # Linux Foundation: the host controllers' root hubs
CCID_CLASS = "0b"  # USB interface class of smart-card readers


@dataclass
class Found:
    kind: str  # usb, serial, input, video
    path: str  # /dev/ttyUSB0, /dev/input/event3, /dev/video0; a USB device's port (1-1.2)
    name: str
    vid: int | None = None
    pid: int | None = None
    serial: str = ""
    usb_port: str = ""
    by_id: str = ""  # the stable /dev/.../by-id name udev gives it
    known: str = ""  # KNOWN's name for its ids
    driver: str | None = None  # the driver for it, when its ids say
    looks_like_gun: bool = False
    configured: list[str] = field(default_factory=list)

    @property
    def ids(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}" if self.vid is not None else ""


@dataclass
class Inventory:
    found: list[Found]
    absent: list[tuple[str, str]]  # configured (id, url) not found
    present: list[tuple[str, str, str]]  # configured (id, url, where) found
    network: list[tuple[str, str]]  # tcp:// and mqtt:// devices: not looked for here
    blocks: list[str]  # [[device]] blocks for known, unconfigured devices

    def as_json(self) -> dict[str, Any]:
        return {"found": [{**asdict(f), "ids": f.ids} for f in self.found],
                "present": [{"id": i, "url": u, "where": w} for i, u, w in self.present],
                "absent": [{"id": i, "url": u} for i, u in self.absent],
                "network": [{"id": i, "url": u} for i, u in self.network],
                "blocks": self.blocks}


# --- sysfs ---------------------------------------------------------------------------------------
def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


def _usb_parent(node: Path) -> Path | None:
    """The USB device a class device (tty, input, video) hangs off: the first ancestor with
    an idVendor file."""
    try:
        p = node.resolve()
    except OSError:
        return None
    for _ in range(8):
        if (p / "idVendor").exists():
            return p
        if p.parent == p:
            break
        p = p.parent
    return None


def _by_id(dev: Path, folder: str) -> dict[str, str]:
    """/dev/serial/by-id/… -> the node's basename it points at."""
    out: dict[str, str] = {}
    base = dev / folder
    if base.is_dir():
        for link in sorted(base.iterdir()):
            try:
                out.setdefault(os.path.basename(os.readlink(link)), str(link))
            except OSError:
                pass
    return out


def _with_usb(f: Found, usb: Path | None) -> Found:
    if usb is not None:
        f.serial = _read(usb / "serial")
        _with_usb_ids(f, _hex(_read(usb / "idVendor")), _hex(_read(usb / "idProduct")), usb.name)
    return f


def _usb_devices(sys_root: Path) -> list[Found]:
    out = []
    base = sys_root / "bus/usb/devices"
    for d in sorted(base.iterdir()) if base.is_dir() else []:
        vid = _hex(_read(d / "idVendor"))
        if vid is None or vid == ROOT_HUB_VENDOR or ":" in d.name:
            continue
        name = " ".join(filter(None, (_read(d / "manufacturer"), _read(d / "product"))))
        f = _with_usb(Found("usb", d.name, name or "(no name)"), d)
        if not f.known and any(_read(i / "bInterfaceClass") == CCID_CLASS
                               for i in base.glob(f"{d.name}:*")):
            # any CCID reader: pcscd's libccid drives it, whatever its maker (读卡器)
            f.known, f.driver = "contact-card reader (CCID, through pcscd)", "cardreader.pcsc"
        out.append(f)
    return out


def _class(sys_root: Path, dev: Path, cls: str, prefix: str) -> list[tuple[Path, Path]]:
    base = sys_root / "class" / cls
    return [(node, dev / node.name) for node in sorted(base.iterdir())
            if node.name.startswith(prefix)] if base.is_dir() else []


def _serial_ports(sys_root: Path, dev: Path) -> list[Found]:
    by_id = _by_id(dev, "serial/by-id")
    out = []
    for node, path in _class(sys_root, dev, "tty", "tty"):
        if not (node / "device").exists():  # virtual consoles and ptys have no device
            continue
        usb = _usb_parent(node / "device")
        if usb is None and not node.name.startswith(("ttyUSB", "ttyACM")) and \
                node.name not in by_id:
            continue  # ttyS0..31 exist whether or not a UART is fitted
        f = Found("serial", str(path), _read(node / "device/interface") or node.name,
                  by_id=by_id.get(node.name, ""))
        out.append(_with_usb(f, usb))
    return out


# keys a barcode gun (a USB keyboard) has: the digits 1-0 (codes 2-11) and Enter (28)
_GUN_KEYS = (*range(2, 12), 28)


def _has_keys(bitmap: str, codes: tuple[int, ...]) -> bool:
    words = [int(w, 16) for w in bitmap.split()][::-1]  # sysfs prints the highest word first
    bits = 64 if len(max(bitmap.split(), key=len, default="")) > 8 else 32
    return bool(words) and all(c // bits < len(words) and words[c // bits] >> (c % bits) & 1
                               for c in codes)


def _input_devices(sys_root: Path, dev: Path) -> list[Found]:
    by_id = _by_id(dev, "input/by-id")
    out = []
    for node, path in _class(sys_root, dev, "input", "event"):
        caps = _read(node / "device/capabilities/key")
        if not caps or not _has_keys(caps, _GUN_KEYS):
            continue  # not a keyboard: no gun
        name = _read(node / "device/name")
        f = _with_usb(Found("input", str(path), name, by_id=by_id.get(node.name, "")),
                      _usb_parent(node / "device"))
        # a USB keyboard whose name says scanner: the builtin keyboard of a laptop is not one
        f.looks_like_gun = f.vid is not None and any(
            w in name.lower() for w in ("scan", "barcode", "honeywell", "zebra", "symbol",
                                        "newland", "datalogic", "hid kbw"))
        if f.looks_like_gun:
            f.driver = "scanner.hid"
        out.append(f)
    return out


def _video_devices(sys_root: Path, dev: Path) -> list[Found]:
    by_id = _by_id(dev, "v4l/by-id")
    out = []
    for node, path in _class(sys_root, dev, "video4linux", "video"):
        f = _with_usb(Found("video", str(path), _read(node / "name"),
                            by_id=by_id.get(node.name, "")), _usb_parent(node / "device"))
        f.driver = "camera.uvc"
        out.append(f)
    return out


def _virtual_bus() -> list[Found]:
    """Twins on kioskd's in-process USB bus (`kioskd sim`, the tests): seen as pyusb sees them."""
    from kioskd.drivers import usblink

    bus = usblink.backend_override
    if bus is None:
        return []
    out = []
    for port in list(getattr(bus, "_ports", [])):
        if port.plugged:
            out.append(_with_usb_ids(Found("usb", port.port, "kioskd twin (virtual USB bus)"),
                                     port.vid, port.pid, port.port))
    return out


def _with_usb_ids(f: Found, vid: int | None, pid: int | None, port: str) -> Found:
    f.vid, f.pid, f.usb_port = vid, pid, port
    if known := KNOWN.get((vid, pid)):
        f.known, f.driver = known.name, known.driver
    return f


# --- matching ------------------------------------------------------------------------------------
def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _match(d: DeviceConfig, found: list[Found]) -> Found | None:
    u = d.url
    for f in found:
        if u.scheme == "usb" and f.kind == "usb" and (f.vid, f.pid) == (u.vid, u.pid) and \
                (not u.usb_port or u.usb_port == f.usb_port) and \
                (not u.usb_serial or u.usb_serial == f.serial):
            return f
        if u.scheme in ("serial", "evdev", "v4l2") and f.kind != "usb" and \
                (_same_file(u.path, f.path) or f.by_id and _same_file(u.path, f.by_id)):
            return f
    return None


def _block(f: Found, n: int) -> str:
    vid, pid = f"{f.vid:04x}", f"{f.pid:04x}"
    url = (KNOWN[(f.vid, f.pid)].url if (f.vid, f.pid) in KNOWN and f.kind in ("usb", "serial")
           else "pcsc://0" if f.driver == "cardreader.pcsc"  # pcscd names it: pcsc_scan says
           else {"input": "evdev://{tty}", "video": "v4l2://{tty}"}.get(f.kind, ""))
    url = url.format(vid=vid, pid=pid, port=f.usb_port, tty=f.by_id or f.path)
    driver = f.driver or "?"
    lines = ["[[device]]", f'id = "{driver.split(".")[0] if f.driver else "device"}-{n}"',
             f'type = "{driver}"' + ("" if f.driver else f"  # one of: {SERIAL_DRIVERS}"),
             'kiosk = "kiosk-1"  # or: window = 1' if driver in (
                 "idcard.sam", "printer.escpos", "scanner.hid", "cardreader.pcsc") else "window = 1",
             f'url = "{url}"  # {f.known or f.name}']
    return "\n".join(lines)


def take(cfg: Config | None, sys_root: Path = Path("/sys"), dev: Path = Path("/dev")) -> Inventory:
    found = [*_usb_devices(sys_root), *_virtual_bus(), *_serial_ports(sys_root, dev),
             *_input_devices(sys_root, dev), *_video_devices(sys_root, dev)]
    present, absent, network = [], [], []
    for d in cfg.devices if cfg else []:
        if d.url.scheme in ("tcp", "mqtt", "mqtts", "pcsc"):  # pcscd names its readers itself
            network.append((d.id, d.url.raw))
            continue
        if d.type == "pad.web":  # a tablet's page, on the hall's network: not on this box
            network.append((d.id, f"/pad/{d.window}"))
            continue
        f = _match(d, found)
        if f is not None:
            f.configured.append(d.id)
            present.append((d.id, d.url.raw, f.by_id or f.path))
        elif d.url.path and os.path.exists(d.url.path):  # a pty, a file, a /dev/kioskd link
            present.append((d.id, d.url.raw, os.path.realpath(d.url.path)))
        else:
            absent.append((d.id, d.url.raw))
    # a USB adapter's device and its tty are one thing: the block is written for the tty
    ttys = {f.usb_port for f in found if f.kind == "serial" and f.usb_port}
    candidates = [f for f in found if not f.configured and f.vid is not None and
                  (f.known or f.driver) and not (f.kind == "usb" and f.usb_port in ttys)
                  and (f.kind != "input" or f.looks_like_gun)]
    # an adapter whose tty is configured is configured
    used = {f.usb_port for f in found if f.configured and f.usb_port}
    candidates = [f for f in candidates if f.usb_port not in used]
    return Inventory(found, absent, present, network,
                     [_block(f, i + 1) for i, f in enumerate(candidates)])


def render(inv: Inventory) -> str:
    out = []
    kinds = (("usb", "USB devices"), ("serial", "serial ports"),
             ("input", "keyboards (a barcode gun is one)"), ("video", "video devices"))
    for kind, title in kinds:
        rows = [f for f in inv.found if f.kind == kind]
        out.append(f"{title}:" + ("" if rows else " none"))
        for f in rows:
            what = f.known or f.name
            gun = "  (looks like a barcode gun)" if f.looks_like_gun else ""
            where = f"  {f.by_id}" if f.by_id else ""
            conf = f"  = {', '.join(f.configured)}" if f.configured else ""
            out.append(f"  {f.path:<20} {f.ids:<9}  {what}{gun}{where}{conf}")
    out.append("configured and here:" + ("" if inv.present else " none"))
    out += [f"  {i:<14} {u}  -> {w}" for i, u, w in inv.present]
    out.append("configured but not found:" + ("" if inv.absent else " none"))
    out += [f"  {i:<14} {u}" for i, u in inv.absent]
    if inv.network:
        out.append("on the network or pcscd (not looked for here): " +
                   ", ".join(i for i, _ in inv.network))
    if inv.blocks:
        out.append("\nknown devices that no [[device]] names; for devices.toml:\n")
        out.append("\n\n".join(inv.blocks))
    return "\n".join(out) + "\n"
