"""The local API (HTTP + WebSocket) for kiosks, clerks, boards and technicians.

Every request but /api/health carries a bearer token; the token's role decides what it may do.
No role can submit a rating over HTTP: ratings come only from the pad bound to the window.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from kioskd import __version__
from kioskd.config import ApiClient
from kioskd.engine import queue
from kioskd.errors import DeviceError, Refused

log = logging.getLogger("kioskd.api")

CLIENT = web.RequestKey("client", ApiClient)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class ApiServer:
    def __init__(self, hall):
        self.hall = hall
        self.clients = hall.cfg.api.clients
        self._sockets: set[web.WebSocketResponse] = set()
        self.app = web.Application(middlewares=[self._auth])
        r = self.app.router
        r.add_get("/api/health", self.health)
        r.add_get("/api/devices", self.devices)
        r.add_get("/api/queue", self.queue)
        r.add_post("/api/tickets", self.tickets)
        r.add_post("/api/windows/{n}/{action}", self.window)
        r.add_post("/api/devices/{id}/{command}", self.device_command)
        r.add_get("/api/events", self.events)
        r.add_get("/api/openapi.json", self.openapi)
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        api = self.hall.cfg.api
        site = web.TCPSite(self._runner, api.host, api.port, reuse_address=True)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # the real one when the config says 0
        self.hall.listeners.add(self._broadcast)
        return f"http://{api.host}:{port}"

    async def stop(self) -> None:
        self.hall.listeners.discard(self._broadcast)
        for ws in list(self._sockets):
            await ws.close()
        if self._runner:
            await self._runner.cleanup()

    # --- auth ------------------------------------------------------------------------------
    def client_for(self, token: str) -> ApiClient | None:
        for c in self.clients:
            if token and hmac.compare_digest(c.token.encode(), token.encode()):
                return c
        return None

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if request.path in ("/api/health", "/api/openapi.json"):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        client = self.client_for(token)
        if client is None:
            return _error(401, "auth.token", "a valid bearer token is required")
        request[CLIENT] = client
        return await handler(request)

    @staticmethod
    def _need(request: web.Request, *roles: str) -> ApiClient:
        client: ApiClient = request[CLIENT]
        if client.role not in roles:
            raise web.HTTPForbidden(text=json.dumps(
                {"error": "auth.role", "message": f"role {client.role!r} may not do this"}),
                content_type="application/json")
        return client

    # --- handlers ------------------------------------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        states = [s.state.state for s in self.hall.supervisors.values()]
        return web.json_response({
            "hall": self.hall.cfg.hall.id, "version": __version__,
            "devices": {st: states.count(st) for st in sorted(set(states))},
            "uplink": {"connected": self.hall.uplink.connected},
            "journal_seq": self.hall.journal.last_seq})

    async def devices(self, request: web.Request) -> web.Response:
        return web.json_response({"devices": self.hall.devices_view()})

    async def queue(self, request: web.Request) -> web.Response:
        return web.json_response(self.hall.state.snapshot())

    async def tickets(self, request: web.Request) -> web.Response:
        client = self._need(request, "kiosk", "technician")
        body = await self._json(request)
        category, kiosk = body.get("category"), body.get("kiosk", client.kiosk)
        if not isinstance(category, str):
            return _error(400, "request.category", "body needs {\"category\": \"A\"}")
        if client.role == "kiosk" and kiosk != client.kiosk:
            return _error(403, "auth.kiosk", f"this token belongs to kiosk {client.kiosk}")
        if kiosk is not None and kiosk not in {k.id for k in self.hall.cfg.kiosks}:
            return _error(400, "request.kiosk", f"no kiosk {kiosk!r}")
        lane = body.get("priority")
        if lane is not None and lane not in queue.LANE_ORDER:
            return _error(400, "request.priority", f"priority is one of {queue.LANE_ORDER}")
        try:
            holder = self.hall.take_card(kiosk) if kiosk else None
            envs, results = await self.hall.execute(
                queue.IssueTicket(category, kiosk, holder, lane))
        except Refused as exc:
            return _error(409, exc.code, str(exc))
        d = envs[0].data
        printed = next((r for r in results if r.get("effect") == "print"), {})
        return web.json_response({
            "ticket": d["ticket"], "number": d["ticket"], "category": d["category"],
            "ahead": d["ahead"], "lane": d["lane"], "seq": envs[0].seq,
            "holder": holder.masked_name if holder else None,
            "printed": bool(printed.get("printed")), "print_error": printed.get("error")},
            status=201)

    async def window(self, request: web.Request) -> web.Response:
        client = self._need(request, "clerk", "technician")
        try:
            n = int(request.match_info["n"])
        except ValueError:
            return _error(404, "window.unknown", "window numbers are integers")
        if client.role == "clerk" and client.window != n:
            return _error(403, "auth.window", f"this token belongs to window {client.window}")
        try:
            envs, _ = await self.hall.execute(queue.WindowAction(n, request.match_info["action"]))
        except Refused as exc:
            status = 404 if exc.code in ("window.unknown", "window.action_unknown") else 409
            return _error(status, exc.code, str(exc))
        return web.json_response({"events": [e.to_dict() for e in envs],
                                  "window": self.hall.state.snapshot()["windows"][
                                      list(self.hall.state.windows).index(n)]})

    async def device_command(self, request: web.Request) -> web.Response:
        self._need(request, "technician")
        driver = self.hall.drivers.get(request.match_info["id"])
        if driver is None:
            return _error(404, "device.unknown", "no such device")
        args = await self._json(request)
        try:
            return web.json_response({"result": await driver.handle(request.match_info["command"],
                                                                    **args)})
        except DeviceError as exc:
            return _error(409, exc.code, str(exc))
        except (TypeError, KeyError) as exc:
            return _error(400, "request.args", f"bad arguments: {exc}")

    async def events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.discard(ws)
        return ws

    def _broadcast(self, env) -> None:
        text = env.to_json()
        for ws in list(self._sockets):
            if not ws.closed:
                asyncio.ensure_future(ws.send_str(text))

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise web.HTTPBadRequest(text=json.dumps(
                {"error": "request.json", "message": "the body is not JSON"}),
                content_type="application/json") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text=json.dumps(
                {"error": "request.json", "message": "the body must be a JSON object"}),
                content_type="application/json")
        return body

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI)


def _op(summary: str, roles: str) -> dict[str, Any]:
    return {"summary": summary, "description": f"Roles: {roles}.",
            "responses": {"200": {"description": "OK"}, "401": {"description": "no valid token"},
                          "403": {"description": "role not allowed"}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "kioskd local API", "version": __version__},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/health": {"get": {**_op("Liveness and a device summary", "none"), "security": []}},
        "/api/devices": {"get": _op("Every device with its state and counters", "any")},
        "/api/queue": {"get": _op("Waiting tickets per category and the windows", "any")},
        "/api/tickets": {"post": _op("Issue a ticket {category, kiosk?, priority?}",
                                     "kiosk (its own kiosk), technician")},
        "/api/windows/{n}/{action}": {"post": _op(
            "Window action: " + ", ".join(queue.WINDOW_ACTIONS), "clerk (its own window), technician")},
        "/api/devices/{id}/{command}": {"post": _op("A device command (status, print, show...)",
                                                    "technician")},
        "/api/events": {"get": _op("WebSocket: the live event stream, MQTT envelope", "any")},
    },
}
