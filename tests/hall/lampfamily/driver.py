from __future__ import annotations

from typing import Any

from kioskd.drivers.base import Driver
from kioskd.errors import DeviceFault


class Lines:
    """The lamp's codec: one frame a line."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[str]:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        return [line.decode("utf-8", "replace").strip() for line in lines]


class LampDriver(Driver):
    def make_codec(self) -> Lines:
        return Lines()

    async def identify(self) -> str:
        return await self.transact(b"PING\n")

    async def _say(self, line: str) -> dict[str, Any]:
        answer = await self.transact(line.encode() + b"\n")
        if answer != "OK":
            raise DeviceFault(f"{self.id}: {answer}", "lamp.refused")
        return {"shown": True}

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "show":
            return await self._say(f"SHOW {self.cfg.opt('brightness')} {args['text']}")
        if command == "clear":
            return await self._say("CLEAR")
        if command == "blink":
            return await self._say("BLINK")
        return await super().handle(command, **args)
