"""Barcode guns: serial (one code a line) and USB keyboard-wedge (evdev)."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import Option, ms, table

AIM = Option("aim", bool, False, "codes carry an AIM symbology prefix (]Q1 …)")
CODES = (Action("k", "last", "Codes", "GET /api/devices/{id}/last"),)

TYPES = (
    DeviceType(
        "scanner.serial", Role.SCANNER, ("kiosk", "window"), ("serial", "tcp"),
        table(AIM, Option("encoding", str, "utf-8", "the gun's text encoding", encoding=True),
              ms("timeout_ms", 1000, "an answer's time-out")),
        "kioskd.drivers.scanner.driver:SerialScannerDriver", actions=CODES),
    DeviceType(
        "scanner.hid", Role.SCANNER, ("kiosk", "window"), ("evdev",),
        table(AIM, ms("gap_ms", 200, "a pause this long between keys starts a new code"),
              Option("max_len", int, 1024, "longer codes are dropped", 1, 65_536)),
        "kioskd.drivers.scanner.driver:HidScannerDriver", actions=CODES),
)
