"""The console's one way into the hall: the daemon's local API with a technician token."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import aiohttp


class DiagError(Exception):
    """Why the console cannot show the hall; `code` is stable, the message says what to do."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class ApiClient:
    def __init__(self, base: str, token: str, timeout: float = 5.0):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "ApiClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=self.timeout, headers={"Authorization": f"Bearer {self.token}"})
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    async def call(self, method: str, path: str, body: dict | None = None) -> Any:
        try:
            async with self._session().request(method, self.base + path, json=body) as r:
                try:
                    data = await r.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    data = {}
                if r.status == 401:
                    raise DiagError("the daemon refused the token: give a technician's token "
                                    "(--token or --token-file; [[api.client]] role = "
                                    '"technician" in devices.toml)', "auth.token")
                if r.status == 403 and (data or {}).get("error") == "auth.role":
                    raise DiagError("this token is not a technician's: the console needs "
                                    'role = "technician"', "auth.role")
                if r.status >= 400:
                    raise DiagError(f"{(data or {}).get('error', r.status)}: "
                                    f"{(data or {}).get('message', r.reason)}",
                                    (data or {}).get("error", f"http.{r.status}"))
                return data
        except aiohttp.ClientConnectorError:
            raise DiagError(f"kioskd is not running at {self.base} (connection refused); "
                            "start it (systemctl start kioskd) or give --api URL",
                            "daemon.down") from None
        except TimeoutError:
            raise DiagError(f"kioskd at {self.base} did not answer within "
                            f"{self.timeout.total:.0f} s", "daemon.timeout") from None

    async def get(self, path: str) -> Any:
        return await self.call("GET", path)

    async def post(self, path: str, body: dict | None = None) -> Any:
        return await self.call("POST", path, body or {})

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """The live event stream (the same envelope central gets)."""
        url = self.base.replace("http", "ws", 1) + "/api/events"
        try:
            async with self._session().ws_connect(url, params={"token": self.token},
                                                  heartbeat=20) as ws:
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        yield json.loads(msg.data)
                    elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                        break
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise DiagError("the daemon refused the token for the event stream",
                                "auth.token") from None
            raise DiagError(f"the event stream: HTTP {exc.status}", f"http.{exc.status}") from None
        except aiohttp.ClientConnectorError:
            raise DiagError(f"kioskd is not running at {self.base}", "daemon.down") from None
