"""The clerk's window: its actions, its page's view, 请签名, scans, rating attempts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kioskd.api.http import CLIENT, error, text_field, window_number
from kioskd.config import ApiClient
from kioskd.drivers.registry import Role
from kioskd.engine import order, queue
from kioskd.engine.stats import window_stats
from kioskd.errors import DeviceError, Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


class WindowHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    async def window(self, request: web.Request) -> web.Response:
        client: ApiClient = request[CLIENT]
        n = window_number(request.match_info["n"])
        if n is None:
            return error(404, "window.unknown", "window numbers are 1 to 4 digits")
        if client.role == "clerk" and client.window != n:
            return error(403, "auth.window", f"this token belongs to window {client.window}")
        body = await self._json(request)
        for key in ("ticket", "to_category", "case_no"):
            text_field(body, key, 64)
        to_window = body.get("to_window")
        if to_window is not None and (not isinstance(to_window, int) or isinstance(to_window, bool)):
            return error(400, "request.to_window", "to_window is a window number")
        if request.match_info["action"] in ("scan", "document"):
            return await self._scan(n, request.match_info["action"])
        if request.match_info["action"] == "ask-signature":
            try:
                env = await self.hall.signatures.ask(n, client.name)
            except Refused as exc:
                return error(409, exc.code, str(exc))
            return web.json_response({"events": [env.to_dict()]})
        # a clerk signs in as themself; a technician may name the clerk; at the window's page
        # whoever works the window today types their 工号 (clerks move between windows)
        clerk = client.name if client.role == "clerk" else text_field(body, "clerk", 32)
        typed = text_field(body, "staff_no", 16)
        if typed is not None and request.match_info["action"] == "sign-in":
            clerk = next((c.name for c in self.hall.cfg.api.clients
                          if c.role == "clerk" and c.staff_no and c.staff_no == typed.strip()), None)
            if clerk is None:
                return error(409, "window.staff_no", f"工号 {typed.strip()[:16]!r} is no clerk "
                                                      "of this hall")
        staff_no = next((c.staff_no for c in self.hall.cfg.api.clients
                         if c.role == "clerk" and c.name == clerk), "")
        cmd = queue.WindowAction(n, request.match_info["action"], ticket=body.get("ticket"),
                                 to_category=body.get("to_category"), to_window=to_window,
                                 clerk=clerk, staff_no=staff_no, case_no=body.get("case_no"))
        try:
            envs, _ = await self.hall.execute(cmd)
        except Refused as exc:
            status = 404 if exc.code in ("window.unknown", "window.action_unknown") else 409
            return error(status, exc.code, str(exc))
        # this window's row, not the whole snapshot: that ranks everyone waiting, and cutting
        # every clerk's answer from it was a third of the busy day's samples (py-spy, sim.day)
        state = self.hall.state
        window = queue.window_row(state, state.windows[n])
        return web.json_response({"events": [e.to_dict() for e in envs], "window": window})

    async def window_view(self, request: web.Request) -> web.Response:
        """What the clerk's page shows: the window, its current ticket, the tickets it would
        call in the order it would call them, the held and skipped it may call back, and
        today's figures of this window. No personal data but the masked name of the citizen
        at the window (张*, from the card read at the kiosk); lanes, never names or numbers."""
        client: ApiClient = request[CLIENT]
        n = window_number(request.match_info["n"])
        state = self.hall.state
        if n is None or n not in state.windows:
            return error(404, "window.unknown", "no such window")
        if client.role == "clerk" and client.window != n:
            return error(403, "auth.window", f"this token belongs to window {client.window}")
        w, now = state.windows[n], self.hall.now()

        def row(t) -> dict[str, Any]:
            cat = state.categories[t.category]
            waited = int(((t.called_at or now) - t.issued_at).total_seconds() // 60)
            serving = int((now - t.started_at).total_seconds() // 60) if t.started_at else None
            # 限时办结: the category's limits, and whether this ticket is past one now
            over = (t.status == "waiting" and cat.wait_limit_min is not None
                    and waited >= cat.wait_limit_min) or \
                (t.status == "serving" and cat.service_limit_min is not None
                 and serving is not None and serving >= cat.service_limit_min)
            return {"ticket": t.number, "category": t.category, "category_name": cat.name,
                    "lane": t.lane, "status": t.status, "recalls": t.recalls,
                    "waited_min": waited, "serving_min": serving,
                    "wait_limit_min": cat.wait_limit_min,
                    "service_limit_min": cat.service_limit_min, "over_limit": over}

        current = state.tickets.get(w.current) if w.current else None
        if current is not None and current.status not in ("called", "serving"):
            current = None  # finished here: the window is free (its rating may still be asked)
        return web.json_response({
            "window": {"number": n, "name": w.rule.name, "state": w.state, "clerk": w.clerk,
                       "staff_no": w.staff_no, "awaiting_rating": w.awaiting_rating,
                       "categories": list(order.serves(state, w)[0])},
            # the one citizen at the window: the clerk greets them by the masked name (张*)
            "current": {**row(current), "name": self.hall.masked_names.get(current.number)}
            if current else None,
            "next": [row(t) for t in order.candidates(state, w)],
            "held": [row(t) for t in state.tickets.values() if t.status == "held"
                     and t.window == n],
            "skipped": [row(t) for t in state.tickets.values() if t.status == "skipped"
                        and order.can_call(state, w, t)],
            "categories": [{"code": c, "name": cat.name} for c, cat in state.categories.items()],
            "windows": sorted(state.windows),
            "today": window_stats(state, n),
            "tablet": self.hall.tablets.device_of_window(n) is not None,  # 请签名 possible
            # what waits in the lockers for this window: drop-offs, its pickups not collected
            "lockers": self.hall.lockers.waiting_for(n),
            "locker_ids": list(self.hall.lockers.lockers),
            "timezone": self.hall.cfg.hall.timezone, "now": now.isoformat()})

    async def rating_attempt(self, request: web.Request) -> web.Response:
        """No token rates, whatever its role: a rating comes only from the window's pad, sealed
        with the pad's key (工作人员不得代替服务对象作出评价). An attempt here is refused and
        audited with who tried, for central to follow up."""
        client: ApiClient = request[CLIENT]
        body = await self._json(request)
        ticket, level = body.get("ticket"), body.get("level")
        n = request.match_info.get("n")
        self.hall.refuse_rating(
            "rating.pad_only", via="api", client=client.name, role=client.role,
            window=window_number(n) or client.window,
            ticket=ticket[:16] if isinstance(ticket, str) else None,
            level=level if isinstance(level, int) and not isinstance(level, bool) else None)
        return error(403, "rating.pad_only", "only the citizen rates, on the window's pad")

    async def _scan(self, n: int, action: str) -> web.Response:
        """The window's document camera: `scan` captures the page under it now (a page that
        the automatic capture did not take); `document` makes one PDF of the pages since."""
        if action == "document":
            try:
                env = await self.hall.close_document(n)
            except Refused as exc:
                return error(409, exc.code, str(exc))
            return web.json_response({"events": [env.to_dict()]})
        camera = self.hall.device_for(Role.CAMERA, window=n)
        if camera is None:
            return error(404, "scan.no_camera", f"window {n} has no document camera")
        try:
            return web.json_response({"result": await camera.handle("capture")})
        except DeviceError as exc:
            return error(409, exc.code, str(exc))
