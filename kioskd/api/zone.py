"""The 24-hour zone's answers: its doors and count, and the technician's emergency opening."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kioskd.api.http import CLIENT, error
from kioskd.errors import Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort


class ZoneHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    async def zones(self, request: web.Request) -> web.Response:
        return web.json_response({"zones": self.hall.zones.view()})

    async def zone_emergency(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body.get("open"), bool):
            return error(400, "request.open", "open is true (hold the doors) or false")
        try:
            answer = await self.hall.zones.emergency(
                request.match_info["id"], body["open"], f"technician:{request[CLIENT].name}",
                str(body.get("why", "")))
        except Refused as exc:
            return error(404 if exc.code == "zone.unknown" else 400, exc.code, str(exc))
        return web.json_response(answer)
