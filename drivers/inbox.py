"""What a message link (a device on the broker, a tablet's page) has received and not yet
read: whole messages in order, and the link's end as the last item, raised to the reader as a
serial port's unplugging is."""

from __future__ import annotations

import asyncio

from kioskd.errors import DeviceAbsent


class Inbox:
    def __init__(self) -> None:
        self._items: asyncio.Queue[bytes | DeviceAbsent] = asyncio.Queue()

    def put(self, item: bytes | DeviceAbsent) -> None:
        self._items.put_nowait(item)

    async def read(self) -> bytes:
        item = await self._items.get()
        if isinstance(item, DeviceAbsent):
            raise item
        return item
