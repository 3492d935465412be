"""读卡器: contact-card readers on PC/SC (pcscd, any CCID reader), reading the
social-security card (protocols.md §11)."""

from kioskd.drivers.family import Action, DeviceType, Role
from kioskd.drivers.options import ms, table

TYPES = (
    DeviceType(
        "cardreader.pcsc", Role.CARD_READER, ("kiosk", "window", "zone"), ("pcsc",),
        table(ms("poll_ms", 500, "how long one wait on pcscd for a change lasts")),
        "kioskd.drivers.cardreader.driver:PcscCardDriver",
        actions=(Action("c", "last", "Read card", "GET /api/devices/{id}/last"),)),
)
