"""The live event stream: one bounded queue and one sender per socket."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING

from aiohttp import WSCloseCode, WSMsgType, web

from kioskd.api.http import CLIENT, error
from kioskd.config import ApiClient

if TYPE_CHECKING:
    from kioskd.hall.port import HallPort

log = logging.getLogger("kioskd.api")


SOCKETS_PER_TOKEN = 4  # a page, its reload, the console: more is a leak or a flood
STREAM_QUEUE = 500  # events a socket may fall behind before it is dropped (~150 KB)


@dataclasses.dataclass
class Stream:
    client: str
    queue: asyncio.Queue
    request: web.Request
    dropped: bool = False


class StreamHandlers:
    """Part of ApiServer (kioskd.api.server)."""

    hall: HallPort

    async def events(self, request: web.Request) -> web.StreamResponse:
        """The live stream. Each socket has its own bounded queue and one sender: a client
        that does not read is dropped (close 1013, counted), never buffered without end."""
        client: ApiClient = request[CLIENT]
        if sum(1 for s in self._sockets.values() if s.client == client.name) >= SOCKETS_PER_TOKEN:
            return error(429, "events.too_many", f"{client.name} has {SOCKETS_PER_TOKEN} event "
                                                  "streams open already")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        stream = Stream(client.name, asyncio.Queue(STREAM_QUEUE), request)
        self._sockets[ws] = stream
        sender = asyncio.create_task(self._send(ws, stream), name=f"events:{client.name}")
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.pop(ws, None)
            sender.cancel()
        return ws

    @staticmethod
    async def _send(ws: web.WebSocketResponse, stream: "Stream") -> None:
        while True:
            text = await stream.queue.get()
            if text is None:  # too slow: the client goes, with a close code that says why
                try:
                    async with asyncio.timeout(5):
                        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow")
                except TimeoutError:
                    stream.request.transport.close()  # it reads nothing, not even the close
                return
            await ws.send_str(text)

    def _broadcast(self, env) -> None:
        text = env.to_json()
        for ws, stream in list(self._sockets.items()):
            if ws.closed or stream.dropped:
                continue
            try:
                stream.queue.put_nowait(text)
            except asyncio.QueueFull:
                stream.dropped = True
                self.slow_dropped += 1
                log.warning("events: %s reads too slowly (%d events behind): dropped",
                            stream.client, STREAM_QUEUE)
                stream.queue.get_nowait()  # room for the marker that closes it
                stream.queue.put_nowait(None)
