"""The rating tablet (pad.web): enrollment, its key, its view, the clerk's photo, its socket."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from kioskd.api.http import CLIENT, error, refusal
from kioskd.config import ApiClient
from kioskd.drivers.weblink import WebLink
from kioskd.errors import Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


class TabletHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    # --- the rating tablet (pad.web) ---------------------------------------------------------------
    def _tablet(self, request: web.Request) -> tuple[ApiClient, Any]:
        """The pad.web device of the path, for its own tablet (or a technician)."""
        client: ApiClient = request[CLIENT]
        dev = self.hall.tablets.devices.get(request.match_info["id"])
        if dev is None:
            raise refusal(404, "tablet.unknown", "no such pad.web device")
        if client.role == "pad" and client.name != dev.id:
            raise refusal(403, "auth.pad", f"this token belongs to {client.name}")
        return client, dev

    async def pad_whoami(self, request: web.Request) -> web.Response:
        """The tablet's page learns which device its cookie makes it."""
        client: ApiClient = request[CLIENT]
        return web.json_response({"device": client.name, "window": client.window})

    async def pad_enroll(self, request: web.Request) -> web.Response:
        """A one-time code for enrolling a tablet (the technician types it on the tablet, or
        opens the URL there); audited."""
        client: ApiClient = request[CLIENT]
        try:
            offer = self.hall.tablets.offer(request.match_info["id"])
        except Refused as exc:
            return error(404, exc.code, str(exc))
        self.hall.record("tablet.enroll_offered", {"device": offer.device, "window": offer.window,
                                                   "by": client.name})
        return web.json_response({"device": offer.device, "window": offer.window,
                                  "code": offer.code, "expires_in_s": offer.expires_in_s,
                                  "url": f"/pad/{offer.window}?enroll={offer.code}"})

    async def pad_key(self, request: web.Request) -> web.Response:
        """The tablet's key, to its own page, once after enrollment (kioskd.tablets)."""
        _, dev = self._tablet(request)
        try:
            return web.json_response({"key": self.hall.tablets.take_key(dev.id).hex()})
        except Refused as exc:
            return error(409, exc.code, str(exc))

    async def pad_view(self, request: web.Request) -> web.Response:
        """What the tablet's idle screen shows: the window and who serves there; the five
        levels' reasons for a bad rating and the text limit."""
        _, dev = self._tablet(request)
        w = self.hall.state.windows[dev.window]
        h, rating = self.hall.cfg.hall, self.hall.cfg.rating
        return web.json_response({
            "device": dev.id, "window": dev.window, "window_name": w.rule.name, "clerk": w.clerk,
            "staff_no": w.staff_no, "photo": self._clerk_photo(w.clerk) is not None,
            "state": w.state, "hall": h.name, "timezone": h.timezone,
            "now": self.hall.now().isoformat(), "text_max": rating.text_max,
            "reasons": [{"code": r.code, "name": r.name} for r in rating.reasons]})

    def _clerk_photo(self, clerk: str | None):
        return next((c.photo for c in self.clients if c.role == "clerk" and c.name == clerk
                     and clerk), None)

    async def pad_photo(self, request: web.Request) -> web.StreamResponse:
        """The photo of the clerk signed in at the tablet's window, where configured."""
        _, dev = self._tablet(request)
        photo = self._clerk_photo(self.hall.state.windows[dev.window].clerk)
        if photo is None:
            return error(404, "tablet.no_photo", "no photo for the clerk at this window")
        return web.FileResponse(photo, headers={"Cache-Control": "no-store"})

    async def pad_link(self, request: web.Request) -> web.StreamResponse:
        """The tablet's own socket: pad.mqtt's messages as text (drivers/weblink.py)."""
        _, dev = self._tablet(request)
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=1 << 20)
        await ws.prepare(request)
        link = WebLink(f"tablet page /pad/{dev.window}", ws.send_str, ws.close)
        old = self.hall.web_links.offer(dev.id, link)
        if old is not None:
            await old.close()  # a reloaded page: the newer socket is the tablet
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    link.incoming(msg.data.encode("utf-8"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            link.lost("the tablet's page closed")
            self.hall.web_links.withdraw(dev.id, link)
        return ws
