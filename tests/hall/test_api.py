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
            assert r.status == 200 and (await r.json())["devices"] == {"ready": 19}
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


async def test_every_route_refuses_the_roles_its_table_entry_does_not_name(sim):
    """kioskd/api/routes.py is the one table: each route answers 403 auth.role to every role it
    does not list (before its handler runs: no body is needed), and the document the daemon
    serves is made from the same table, every route in it with those roles."""
    from kioskd.api.routes import ANY, ROUTES

    hall = sim.hall
    fill = {"{id}": "kiosk-1", "{n}": "1", "{action}": "call-next", "{number}": "A001",
            "{command}": "test", "{prompt}": "home"}
    who = {"kiosk": {"kiosk": "kiosk-1"}, "clerk": {"window": 1}, "board": {}, "manager": {},
           "technician": {}}
    checked = 0
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hall.api_url}/api/openapi.json") as r:
            document = (await r.json())["paths"]
        for route in ROUTES:
            assert route.method.lower() in document[route.path], route.path
            if route.roles is None or route.roles == ANY:
                continue
            path = route.path
            for key, value in fill.items():
                path = path.replace(key, value)
            for role, kw in who.items():
                if role in route.roles:
                    continue
                async with http.request(route.method, hall.api_url + path, headers=bearer(
                        token(hall.cfg, role, **kw))) as r:
                    assert (r.status, (await r.json())["error"]) == (403, "auth.role"), \
                        (route.method, path, role)
                checked += 1
    assert checked >= 88  # every listed route, every role it leaves out
