"""Which device types exist, what each accepts in devices.toml, and where its code lives.

Plain data so that `check-config` can validate without importing any driver (python-escpos
alone costs ~100-200 ms and touches the root logger on import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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


@dataclass(frozen=True)
class DeviceType:
    name: str
    role: Role
    # what a device of this type may serve: "kiosk", "window", "hall", or "windows" (a bus of
    # keypads, each at its own address)
    binds: tuple[str, ...]
    schemes: tuple[str, ...]
    options: dict[str, type] = field(default_factory=dict)
    driver: str | None = None  # "module:Class"; None = designed, not implemented yet
    twin: str | None = None


# what a board shows: a window board its window's line, a hall board (hall = true) the latest
# calls and the waiting counts; its size in pixels, one text line each line_px
BOARD = {"idle_text": str, "paused_text": str, "calls": int, "names": str, "notice": str,
         "width_px": int, "height_px": int, "line_px": int, "timeout_ms": int}

# a pad's device key (hex, inline for demos or in a file), how often it is pinged
MQTT_LOGIN = {"username": str, "password_file": str}  # on the hall's broker (devicebroker.py)
PAD = {"key": str, "key_file": str, "timeout_ms": int, "ping_ms": int}

TYPES: dict[str, DeviceType] = {
    t.name: t
    for t in [
        DeviceType("idcard.sam", Role.READER, ("kiosk", "window"), ("serial", "usb", "tcp"),
                   {"poll_ms": int, "timeout_ms": int, "fingerprint": bool,
                    "appended_address": bool},
                   "kioskd.drivers.idcard.driver:SamReaderDriver", "kioskd.sim.idcard:SamReaderTwin"),
        DeviceType("printer.escpos", Role.PRINTER, ("kiosk",), ("serial", "usb", "tcp"),
                   {"profile": str, "encoding": str, "timeout_ms": int, "qr": str, "asb": bool,
                    "status_ms": int},
                   "kioskd.drivers.printer.driver:EscposPrinterDriver", "kioskd.sim.printer:PrinterTwin"),
        DeviceType("board.bx", Role.BOARD, ("window", "hall"), ("serial", "tcp"),
                   {**BOARD, "address": int, "encoding": str, "card": str, "area_unit": str,
                    "run_mode": int, "area_timeout_s": int, "align": str},
                   "kioskd.drivers.board.driver:BxBoardDriver", "kioskd.sim.board:BxBoardTwin"),
        DeviceType("board.mqtt", Role.BOARD, ("window", "hall"), ("mqtt", "mqtts"),
                   {**BOARD, **MQTT_LOGIN, "topic": str, "ping_ms": int},
                   "kioskd.drivers.board.driver:MqttBoardDriver", "kioskd.sim.board:MqttBoardTwin"),
        DeviceType("pad.serial", Role.PAD, ("window",), ("serial", "tcp"), {**PAD, "address": int},
                   "kioskd.drivers.pad.driver:SerialPadDriver", "kioskd.sim.pad:SerialPadTwin"),
        DeviceType("pad.mqtt", Role.PAD, ("window",), ("mqtt", "mqtts"), {**PAD, **MQTT_LOGIN, "topic": str},
                   "kioskd.drivers.pad.driver:MqttPadDriver", "kioskd.sim.pad:MqttPadTwin"),
        # the rating tablet: a page the daemon serves (/pad/{n}), no wire of its own; its key
        # comes from the technician's enrollment (kioskd.tablets), not from devices.toml
        DeviceType("pad.web", Role.PAD, ("window",), (), {"timeout_ms": int, "ping_ms": int},
                   "kioskd.drivers.pad.driver:WebPadDriver", "kioskd.sim.pad:WebPadTwin"),
        DeviceType("camera.uvc", Role.CAMERA, ("window",), ("v4l2", "file"),
                   {"width": int, "height": int, "decoder": str, "still_ms": int,
                    "auto_capture": bool, "pace": bool, "loop": bool, "jpeg_quality": int},
                   "kioskd.drivers.camera.driver:CameraDriver", "kioskd.sim.camera:CameraTwin"),
        DeviceType("scanner.serial", Role.SCANNER, ("kiosk", "window"), ("serial", "tcp"),
                   {"aim": bool, "encoding": str, "timeout_ms": int},
                   "kioskd.drivers.scanner.driver:SerialScannerDriver",
                   "kioskd.sim.scanner:SerialScannerTwin"),
        DeviceType("scanner.hid", Role.SCANNER, ("kiosk", "window"), ("evdev",),
                   {"aim": bool, "gap_ms": int, "max_len": int},
                   "kioskd.drivers.scanner.driver:HidScannerDriver",
                   "kioskd.sim.scanner:HidScannerTwin"),
        DeviceType("caller.serial", Role.KEYPAD, ("window", "windows"), ("serial", "tcp"),
                   {"address": int, "keypads": list, "timeout_ms": int},
                   "kioskd.drivers.caller.driver:KeypadDriver", "kioskd.sim.caller:KeypadTwin"),
    ]
}


def load(ref: str):
    """Import "module:Attr" on demand."""
    import importlib

    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
