"""The technician's and manager's answers: health, devices, queue, statistics, a device's
actions, frames and last reads, the uplink, the clock, the log."""

from __future__ import annotations

import json
import logging
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from kioskd import __version__
from kioskd.api.http import CLIENT, error
from kioskd.config import ApiClient
from kioskd.engine import queue
from kioskd.engine.stats import day_stats
from kioskd.errors import DeviceError, Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


# what the manager's page counts from the journal for a day
DAY_COUNTS = ("alert.raised", "rating.missed", "rating.refused")


class TechnicianHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "hall": self.hall.cfg.hall.id, "version": __version__, **self.hall.health_view(),
            "events": {"streams": len(self._sockets), "slow_dropped": self.slow_dropped}})

    async def devices(self, request: web.Request) -> web.Response:
        return web.json_response({"devices": self.hall.devices_view()})

    async def queue(self, request: web.Request) -> web.Response:
        return web.json_response(queue.snapshot(self.hall.state))

    async def stats(self, request: web.Request) -> web.Response:
        """A day's statistics: today's from the queue, a past day's as the journal recorded it
        at that midnight (stats.daily), each with the day's alerts, missed and refused ratings
        counted from the journal."""
        state = self.hall.state
        day = request.query.get("day", state.day)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return error(400, "request.day", "day is YYYY-MM-DD")
        if day == state.day:
            stats = day_stats(state)
        else:
            found = next((d for d in self.hall.past_days() if d["day"] == day), None)
            if found is None:
                return error(404, "stats.no_day", f"the journal has no statistics of {day}")
            stats = {k: v for k, v in found.items() if k != "next_day"}
        nxt = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        stats["journal"] = self.hall.journal_counts(day, nxt, DAY_COUNTS)
        return web.json_response(stats)

    async def stats_days(self, request: web.Request) -> web.Response:
        """The days /api/stats can show: today, then the past days the journal still holds."""
        past = [d["day"] for d in self.hall.past_days()]
        return web.json_response({"today": self.hall.state.day, "days": past,
                                  "hall": self.hall.cfg.hall.name})

    async def device_command(self, request: web.Request) -> web.Response:
        dev_id = self._device(request)
        args = await self._json(request)
        try:
            return web.json_response({"result": await self.hall.device_action(
                dev_id, request.match_info["command"], args)})
        except DeviceError as exc:
            return error(409, exc.code, str(exc))
        except Refused as exc:
            return error(404, exc.code, str(exc))

    def _device(self, request: web.Request) -> str:
        dev_id = request.match_info["id"]
        if not self.hall.device_known(dev_id):
            raise web.HTTPNotFound(text=json.dumps({"error": "device.unknown",
                                                    "message": "no such device"}),
                                   content_type="application/json")
        return dev_id

    async def device_frames(self, request: web.Request) -> web.Response:
        """The last frames exchanged with a device, as hex and decoded, personal data masked."""
        dev_id = self._device(request)
        frames = self.hall.device_frames(dev_id, self._n(request, 50, 100))
        return web.json_response({"device": dev_id, "frames": [
            {"at": f.at, "dir": f.direction, "hex": f.hex, "decoded": f.decoded}
            for f in frames]})

    async def device_last(self, request: web.Request) -> web.Response:
        """What a device last reported, as the technician may see it: a reader's card (masked
        fields), a pad's answer to a test prompt, a gun's or camera's codes (kind and length)."""
        return web.json_response(self.hall.device_last(self._device(request)))

    async def uplink(self, request: web.Request) -> web.Response:
        return web.json_response(self.hall.uplink_view())

    async def confirm_clock(self, request: web.Request) -> web.Response:
        """The technician checked the wall clock: the hall believes it again (audited)."""
        client: ApiClient = request[CLIENT]
        return web.json_response(self.hall.confirm_clock(client.name))

    async def logs(self, request: web.Request) -> web.Response:
        return web.json_response({"lines": self.hall.recent_logs(self._n(request, 200, 500))})
