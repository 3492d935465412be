"""请签名: the clerk asks, the window's rating tablet (pad.web) shows a signing area, the citizen
signs with stylus or finger, and the image is kept with the ticket.

The image is the citizen's own mark: it stays in the hall, under STATE/signatures/DAY/ with the
scans' retention (`[hall] scan_retention_days`), and events name it by file id only. Like a
rating, a signature counts only from the tablet of that window, for the request it was sent,
sealed with the tablet's key over the image's digest; anything else is refused and audited.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kioskd.errors import DeviceError, KioskdError, Refused
from kioskd.journal import Envelope
from kioskd.scans import ScanStore
from kioskd.drivers.registry import Role

if TYPE_CHECKING:
    from kioskd.hall import Hall

log = logging.getLogger("kioskd.signatures")

PNG = b"\x89PNG\r\n\x1a\n"
SIGN_TIMEOUT_S = 180  # the tablet goes back to idle: a clerk asks again if need be


class Signatures:
    def __init__(self, hall: Hall):
        self.hall = hall
        self.store = ScanStore(hall.state_dir / "signatures", hall.cfg.hall.scan_quota_mb)

    async def ask(self, window: int, by: str) -> Envelope:
        """The clerk's 请签名: the ticket called or served at the window signs on its tablet."""
        hall = self.hall
        ticket = hall.state.windows[window].current if window in hall.state.windows else None
        if ticket is None:
            raise Refused("signature.no_ticket", f"window {window} serves nobody now: call the "
                                                 "citizen first")
        pad = hall.device_for(Role.PAD, window=window)
        if pad is None or pad.type != "pad.web":
            raise Refused("signature.no_tablet", f"window {window} has no rating tablet "
                                                 "(pad.web) to sign on")
        try:
            await pad.handle("sign", window=window, ticket=ticket, timeout_s=SIGN_TIMEOUT_S)
        except DeviceError as exc:
            raise Refused("signature.tablet_down", f"the tablet at window {window} is not "
                                                   f"ready: {exc}") from None
        return hall.record("signature.requested", {"window": window, "ticket": ticket,
                                                   "device": pad.id, "by": by})

    async def received(self, device: str, window: int | None, r: dict[str, Any]) -> None:
        hall = self.hall
        code = None
        try:
            if r["ticket"] is None:
                raise Refused("signature.not_asked", "the tablet signed no request of ours")
            if not r["sealed"]:
                raise Refused("signature.bad_seal", "not sealed with this tablet's key")
            if not r["image"].startswith(PNG):
                raise Refused("signature.not_png", "a signature is a PNG image")
            file_id = await asyncio.to_thread(self.store.save_png, hall.state.day,
                                              r["ticket"], r["image"])
            hall.record("signature.captured", {"window": window, "ticket": r["ticket"],
                                               "device": device, "file": file_id,
                                               "bytes": len(r["image"])})
        except Refused as exc:
            code = exc.code
            log.warning("signature from %s refused (%s): ticket=%s, %d bytes", device, code,
                        r.get("ticket"), r.get("size", 0))
            hall.record("signature.refused", {"code": code, "window": window, "device": device,
                                              "ticket": r.get("ticket")})
        except OSError as exc:  # a full disk: the tablet asks the citizen again later
            code = "signature.not_saved"
            log.error("%s: signature not saved: %s", device, exc)
        try:
            await hall.drivers[device].signed(r["txn"], code is None, code)
        except KioskdError as exc:
            log.warning("%s: could not confirm the signature: %s", device, exc.code)

    def purge(self, today, days: int) -> int:
        return self.store.purge(today, days)
