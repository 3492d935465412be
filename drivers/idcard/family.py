"""二代身份证阅读器 on a Synjones-compatible SAM module (protocols.md §1)."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import Option, ms, table

TYPES = (
    DeviceType(
        "idcard.sam", Role.READER, ("kiosk", "window", "zone"), ("serial", "usb", "tcp"),
        table(ms("poll_ms", 300, "how often the reader is asked for a card"),
              ms("timeout_ms", 500, "an answer's time-out (the Synjones SDK's find/select; a read "
                                   "gets 3.5 s)"),
              Option("fingerprint", bool, False,
                     "read the fingerprint block too (its own command)"),
              Option("appended_address", bool, False, "also read the 最新住址 page")),
        "kioskd.drivers.idcard.driver:SamReaderDriver",
        actions=(Action("c", "last", "Read card", "GET /api/devices/{id}/last"),)),
)
