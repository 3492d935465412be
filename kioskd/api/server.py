"""The local API (HTTP + WebSocket) for kiosks, clerks, boards and technicians.

Every request but /api/health carries a bearer token; the token's role decides what it may do.
No role can submit a rating over HTTP: ratings come only from the pad bound to the window.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kioskd import jsonlimits
from kioskd.api.http import CLIENT, error, log_refusals, refusal, window_number
from kioskd.api.kiosk import KioskHandlers
from kioskd.api.locker import LockerHandlers
from kioskd.api.pages import COOKIE, Pages
from kioskd.api.routes import ROUTES, Route, openapi
from kioskd.api.stream import Stream, StreamHandlers
from kioskd.api.tablet import TabletHandlers
from kioskd.api.technician import TechnicianHandlers
from kioskd.api.window import WindowHandlers
from kioskd.api.zone import ZoneHandlers
from kioskd.config import ApiClient, ApiConfig
from kioskd.errors import Refused

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


class ApiServer(KioskHandlers, WindowHandlers, TechnicianHandlers, TabletHandlers, StreamHandlers,
                ZoneHandlers, LockerHandlers):
    """The local API: one route table (routes.py), handlers grouped by who calls them."""

    def __init__(self, hall: HallPort):
        self.hall = hall
        self.clients = hall.cfg.api.clients
        self._sockets: dict[web.WebSocketResponse, Stream] = {}
        self.slow_dropped = 0  # event streams closed because their client did not read
        self._closing = False
        self.app = web.Application(middlewares=[log_refusals, self._auth])
        r = self.app.router
        for route in ROUTES:  # the one table: the role is checked from it, the document made
            r.add_route(route.method, route.path, self._guarded(route))
        self.pages = Pages(self)
        self.pages.add_routes(r)
        self._runner: web.AppRunner | None = None

    def reconfigure(self, api: ApiConfig) -> None:
        """A reloaded [api]: its clients and tokens at once (the listen address at a restart)."""
        self.clients = api.clients

    async def start(self, port: int | None = None) -> str:
        """Listen (on `port` instead of the config's: a test restarts it where it was)."""
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        api = self.hall.cfg.api
        site = web.TCPSite(self._runner, api.host, api.port if port is None else port,
                           reuse_address=True)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the real one when the config says 0
        self.hall.listen(self._broadcast)
        return f"http://{api.host}:{port}"

    async def stop(self) -> None:
        self._closing = True
        self.hall.watch.changed()  # the kiosks' waiting card requests answer now, not in 20 s
        self.hall.unlisten(self._broadcast)
        for ws in list(self._sockets):
            try:
                async with asyncio.timeout(2):
                    await ws.close()
            except TimeoutError:
                pass
        if self._runner:
            await self._runner.cleanup()

    # --- auth ------------------------------------------------------------------------------
    def client_for(self, token: str) -> ApiClient | None:
        for c in self.clients:
            if token and hmac.compare_digest(c.token.encode(), token.encode()):
                return c
        return self.hall.tablets.client_for(token)  # an enrolled rating tablet

    async def enroll_tablet(self, window: str, code: str) -> str:
        """A tablet's enrollment code (kioskd.tablets): its new token, audited; Refused."""
        n = window_number(window)
        if n is None:
            raise Refused("tablet.unknown", "window numbers are 1 to 4 digits")
        found, token = self.hall.tablets.redeem(n, code)
        # the tablet enrolled before is out now: its page's socket goes with its token
        await self.hall.web_links.drop(found.device, "another tablet was enrolled")
        self.hall.record("tablet.enrolled", {"device": found.device, "window": found.window})
        return token

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path in OPEN_PATHS or Pages.is_page(request.path):
            return await handler(request)  # a page answers for itself: it says what to do
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        if not token and (token := request.cookies.get(COOKIE, "")):
            # a screen set up with its token: the cookie is SameSite=Strict, and a change asked
            # from another origin is refused all the same (a page elsewhere cannot act here)
            origin = request.headers.get("Origin")
            if request.method not in ("GET", "HEAD") and origin and \
                    origin.split("://", 1)[-1] != request.host:
                return error(403, "auth.origin", "a request from another origin")
        client = self.client_for(token)
        if client is None:
            return error(401, "auth.token", "a valid bearer token is required")
        request[CLIENT] = client
        return await handler(request)

    def _guarded(self, route: Route):
        """The route's handler behind its role check (401 was the auth middleware's)."""
        handler = getattr(self, route.handler)
        if route.roles is None:
            return handler

        async def guarded(request: web.Request) -> web.StreamResponse:
            client: ApiClient = request[CLIENT]
            if client.role not in route.roles:
                return error(403, "auth.role", f"role {client.role!r} may not do this")
            return await handler(request)
        return guarded

    @staticmethod
    def _n(request: web.Request, default: int, most: int) -> int:
        try:
            return max(1, min(most, int(request.query.get("n", default))))
        except ValueError:
            return default

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        """The body as a JSON object, or a 4xx that says what is wrong with it (never a 500:
        an unknown charset, bytes that are not UTF-8 and a nesting bomb included)."""
        if not request.can_read_body:
            return {}
        charset = (request.charset or "utf-8").lower().replace("_", "-")
        if charset not in ("utf-8", "utf8"):
            raise refusal(415, "request.charset", f"the body must be UTF-8, not {charset[:40]!r}")
        try:
            body = jsonlimits.loads(await request.read())
        except jsonlimits.JsonRefused as exc:
            code = "request.json" if exc.code == "json.invalid" else \
                "request." + exc.code.split(".", 1)[1]
            raise refusal(400, code, f"the body: {exc}") from None
        if not isinstance(body, dict):
            raise refusal(400, "request.json", "the body must be a JSON object")
        return body

    async def board(self, request: web.Request) -> web.Response:
        """What the hall TV shows: the hall board's view (the latest calls, newest first, and
        the waiting count of each category), with names masked only where the hall's own LED
        hall boards show them, and the hall's name and time zone for its clock."""
        view = self.hall.boards.screen_view(calls=6)
        h = self.hall.cfg.hall
        return web.json_response({"hall": h.name, "timezone": h.timezone,
                                  "now": self.hall.now().isoformat(), **view.as_json()})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)


OPENAPI: dict[str, Any] = openapi()
OPEN_PATHS = {r.path for r in ROUTES if r.roles is None}
