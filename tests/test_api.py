"""The local API's roles: who may do what, and clear errors for bad requests."""

from __future__ import annotations

import json

import aiohttp

from kioskd.sim.scenario import token


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


async def test_roles_and_errors(sim):
    hall = sim.hall
    cfg, base = hall.cfg, hall.api_url
    kiosk, clerk1 = bearer(token(cfg, "kiosk")), bearer(token(cfg, "clerk", window=1))
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/health") as r:
            assert r.status == 200 and (await r.json())["devices"] == {"ready": 15}
        for headers in ({}, bearer("wrong-token-wrong-token")):
            async with http.get(f"{base}/api/queue", headers=headers) as r:
                assert r.status == 401 and (await r.json())["error"] == "auth.token"
        async with http.post(f"{base}/api/windows/1/call-next", headers=kiosk) as r:
            assert r.status == 403
        async with http.post(f"{base}/api/windows/2/call-next", headers=clerk1) as r:
            assert r.status == 403 and (await r.json())["error"] == "auth.window"
        async with http.post(f"{base}/api/tickets", json={"category": "A"}, headers=clerk1) as r:
            assert r.status == 403
        async with http.post(f"{base}/api/tickets", data="{not json", headers=kiosk) as r:
            assert r.status == 400 and (await r.json())["error"] == "request.json"
        async with http.post(f"{base}/api/tickets", json={"category": "Q"}, headers=kiosk) as r:
            assert r.status == 409 and (await r.json())["error"] == "category.unknown"
        async with http.post(f"{base}/api/windows/1/call-next", headers=clerk1) as r:
            assert r.status == 409 and (await r.json())["error"] == "queue.empty"
        async with http.post(f"{base}/api/devices/printer-k1/status", headers=clerk1) as r:
            assert r.status == 403
        async with http.post(f"{base}/api/devices/printer-k1/status",
                             headers=bearer(token(cfg, "technician"))) as r:
            assert (await r.json())["result"] == {"condition": "ok", "paper": "ok", "online": True,
                                                     "cover_open": False, "cutter_error": False}
        async with http.get(f"{base}/api/openapi.json") as r:
            assert "/api/tickets" in (await r.json())["paths"]


async def test_websocket_streams_events(sim):
    hall = sim.hall
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{hall.api_url}/api/events",
                                   headers=bearer(token(hall.cfg, "clerk", window=1))) as ws:
            async with http.post(f"{hall.api_url}/api/tickets", json={"category": "B"},
                                 headers=bearer(token(hall.cfg, "kiosk"))) as r:
                assert r.status == 201
            msg = await ws.receive(timeout=5)
            env = json.loads(msg.data)
            assert env["type"] == "ticket.issued" and env["data"]["ticket"] == "B001"
            assert env["seq"] == hall.journal.last_seq


async def test_every_api_route_is_in_the_openapi_document(sim):
    """The document a hall's integrator reads names every route the daemon answers."""
    server = sim.hall.api
    routes = {(r.method.lower(), r.resource.canonical) for r in server.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/")
              and r.method != "HEAD"}
    from kioskd.api.server import OPENAPI

    # the two rating paths that only refuse are listed; windows/{n}/{action} covers the rest
    documented = {(m, p) for p, ops in OPENAPI["paths"].items() for m in ops}
    missing = {(m, p) for m, p in routes if (m, p) not in documented}
    assert missing == set()
