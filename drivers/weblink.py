"""web: devices that are a page in a browser (pad.web, the rating tablet): a Link whose reads and
writes are whole messages on the page's WebSocket to the daemon (`WS /api/pads/{id}/link`).

The page speaks pad.mqtt's messages (`KIND LF JSON`, docs/pad-mqtt.md) as WebSocket text: the
socket being open is the tablet's availability, as the retained "online" is a networked pad's.
The API hands each socket it accepts to `WebLinks`; the device's driver takes it from there. A
newer socket for the same device replaces the older (a reloaded page), and a socket that closes
makes the link raise DeviceAbsent, as a serial link does when its cable is pulled.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from kioskd.drivers.inbox import Inbox
from kioskd.errors import DeviceAbsent


class WebLink:
    def __init__(self, name: str, send: Callable[[str], Awaitable[None]],
                 close: Callable[[], Awaitable[None]]):
        self.name = name
        self._send, self._close = send, close
        self._inbox = Inbox()
        self.gone: DeviceAbsent | None = None

    async def read(self) -> bytes:
        return await self._inbox.read()

    async def write(self, data: bytes) -> None:
        if self.gone is not None:
            raise self.gone
        try:
            await self._send(data.decode("utf-8"))
        except (ConnectionError, RuntimeError) as exc:  # aiohttp: a socket closing under us
            self.lost(f"send failed: {exc}")
            raise self.gone from None  # type: ignore[misc]

    async def close(self) -> None:
        self.lost("closed by the daemon")
        await self._close()

    # --- the API's side --------------------------------------------------------------------------
    def incoming(self, data: bytes) -> None:
        if self.gone is None:
            self._inbox.put(data)

    def lost(self, why: str) -> None:
        if self.gone is None:
            self.gone = DeviceAbsent(f"{self.name}: {why}")
            self._inbox.put(self.gone)


class WebLinks:
    """The sockets of the hall's browser devices, by device id, waiting for their drivers."""

    def __init__(self) -> None:
        self._links: dict[str, WebLink] = {}
        self._arrived: dict[str, asyncio.Event] = {}

    def arrived(self, device: str) -> asyncio.Event:
        return self._arrived.setdefault(device, asyncio.Event())

    def offer(self, device: str, link: WebLink) -> WebLink | None:
        """A page connected for `device`; returns the link it replaces (to be closed)."""
        old = self._links.get(device)
        self._links[device] = link
        self.arrived(device).set()
        return old

    async def drop(self, device: str, why: str) -> None:
        """The device's tablet is no longer it (enrolled anew): its socket is closed, and its
        page finds, reconnecting, that its token is refused."""
        link = self._links.pop(device, None)
        if link is not None:
            link.lost(why)
            self.arrived(device).clear()
            await link.close()

    def withdraw(self, device: str, link: WebLink) -> None:
        if self._links.get(device) is link:
            del self._links[device]
            self.arrived(device).clear()

    async def take(self, device: str, timeout: float, why_absent: str) -> WebLink:
        """The device's open socket, waiting up to `timeout` for one; DeviceAbsent without."""
        try:
            async with asyncio.timeout(timeout):
                while (link := self._links.get(device)) is None or link.gone is not None:
                    self.arrived(device).clear()
                    await self.arrived(device).wait()
        except TimeoutError:
            raise DeviceAbsent(f"{device}: {why_absent}") from None
        return link

    async def wait_arrival(self, device: str, delay: float) -> None:
        """The supervisor's pause between tries, cut short when the page connects: a tablet
        switched on is a rating pad within a moment, not after the backoff."""
        try:
            async with asyncio.timeout(delay):
                await self.arrived(device).wait()
        except TimeoutError:
            pass
