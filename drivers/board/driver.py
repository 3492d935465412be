"""board.bx: a window board on an Onbon BX controller; shows one line of text."""

from __future__ import annotations

import asyncio
from typing import Any

from kioskd.drivers.base import Driver
from kioskd.drivers.board import bx
from kioskd.errors import DeviceNotReady

KEEPALIVE_S = 5.0


class BxBoardDriver(Driver):
    type = "board.bx"
    default_timeout = 1.0

    def make_codec(self) -> bx.BxCodec:
        return bx.BxCodec()

    @property
    def address(self) -> int:
        return self.cfg.options.get("address", 1)

    async def _ask(self, cmd: tuple[int, int], args: bytes = b"") -> bx.Packet:
        answer = await self.transact(bx.request(cmd, args, address=self.address))
        bx.check_answer(answer)
        return answer

    async def identify(self) -> str:
        await self._ask(bx.PING)
        return f"BX controller at address {self.address}"

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            await self.probe(self._ask(bx.PING))

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "show":
            text: str = args["text"]
            encoded = text.encode(self.cfg.options.get("encoding", "gb2312"), errors="replace")
            await self._ask(bx.DYNAMIC_TEXT, bx.dynamic_text(encoded))
            return {"shown": text}
        if command == "clear":
            await self._ask(bx.CLEAR)
            return {"shown": ""}
        return await super().handle(command, **args)
