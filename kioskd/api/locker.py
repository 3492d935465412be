"""The lockers' answers: the locker's own touch page (取件 by code, 寄件), the clerk's deposit
and collection, and every bank for the manager and technician. A pickup code is taken, never
given: no answer carries one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kioskd.api.http import CLIENT, error
from kioskd.config import ApiClient
from kioskd.errors import Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

# a refusal's HTTP status; anything else is 409 (the locker's state said no)
STATUS = {"locker.unknown": 404, "locker.no_compartment": 404, "locker.locked_out": 429,
          "locker.bad_code": 403, "locker.code_used": 403, "locker.code_expired": 403,
          "locker.case": 400, "locker.size": 400, "locker.window": 400}


class LockerHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    def _own_locker(self, request: web.Request) -> str:
        client: ApiClient = request[CLIENT]
        lid = request.match_info["id"]
        if client.role == "locker" and client.locker != lid:
            raise Refused("auth.locker", f"this token belongs to locker {client.locker}")
        return lid

    def _clerks_window(self, request: web.Request, body: dict) -> int:
        client: ApiClient = request[CLIENT]
        if client.role == "clerk":
            return client.window
        n = body.get("window")
        if not isinstance(n, int) or isinstance(n, bool) or n not in self.hall.state.windows:
            raise Refused("locker.window", "say the window {window: N}")
        return n

    async def _answer(self, work) -> web.Response:
        try:
            return web.json_response(await work)
        except Refused as exc:
            status = 403 if exc.code.startswith("auth.") else STATUS.get(exc.code, 409)
            return error(status, exc.code, str(exc))

    async def lockers(self, request: web.Request) -> web.Response:
        return web.json_response({"lockers": self.hall.lockers.technician_view()})

    async def locker_view(self, request: web.Request) -> web.Response:
        async def view():
            return {**self.hall.lockers.view(self._own_locker(request)),
                    "hall": self.hall.cfg.hall.name, "timezone": self.hall.cfg.hall.timezone,
                    "now": self.hall.now().isoformat()}
        return await self._answer(view())

    async def locker_pickup(self, request: web.Request) -> web.Response:
        body = await self._json(request)

        async def pickup():
            lid = self._own_locker(request)
            code = body.get("code")
            return await self.hall.lockers.pickup(lid, code if isinstance(code, str) else "")
        return await self._answer(pickup())

    async def locker_dropoff(self, request: web.Request) -> web.Response:
        body = await self._json(request)

        async def dropoff():
            lid = self._own_locker(request)
            n = body.get("window")
            if not isinstance(n, int) or isinstance(n, bool):
                raise Refused("locker.window", "say the window the materials are for")
            return await self.hall.lockers.dropoff(lid, n, str(body.get("size", "S")))
        return await self._answer(dropoff())

    async def locker_deposit(self, request: web.Request) -> web.Response:
        body = await self._json(request)

        async def deposit():
            n = self._clerks_window(request, body)
            case = body.get("case")
            # the case is registered to the citizen served here now, when their card was read
            w = self.hall.state.windows[n]
            ticket = self.hall.state.tickets.get(w.current) if w.current else None
            return await self.hall.lockers.deposit(
                request.match_info["id"], case if isinstance(case, str) else "", n,
                str(body.get("size", "S")), ticket.holder if ticket else None)
        return await self._answer(deposit())

    async def locker_collect(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        client: ApiClient = request[CLIENT]

        async def collect():
            n = self._clerks_window(request, body)
            c = body.get("compartment")
            if not isinstance(c, int) or isinstance(c, bool):
                raise Refused("locker.no_compartment", "say the compartment {compartment: N}")
            return await self.hall.lockers.clerk_open(request.match_info["id"], c, n,
                                                      client.name)
        return await self._answer(collect())
