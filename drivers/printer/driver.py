"""printer.escpos: checks paper and status around every ticket, sends ticket bytes."""

from __future__ import annotations

import asyncio
from typing import Any

from kioskd.drivers.base import Driver
from kioskd.drivers.printer import escpos
from kioskd.errors import DeviceFault, DeviceNotReady, DeviceTimeout


class EscposPrinterDriver(Driver):
    type = "printer.escpos"
    default_timeout = 1.0

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._job = asyncio.Lock()

    def make_codec(self) -> escpos.StatusCodec:
        return escpos.StatusCodec()

    async def status(self) -> escpos.PrinterStatus:
        replies: list[int | None] = []
        for n in (escpos.STATUS_PRINTER, escpos.STATUS_PAPER):
            try:
                replies.append(await self.transact(escpos.status_query(n)))
            except DeviceTimeout:
                replies.append(None)
        return escpos.PrinterStatus.decode(*replies)

    async def identify(self) -> str:
        st = await self.status()
        if st.online is None:
            raise DeviceTimeout(f"{self.id}: no valid answer to DLE EOT")
        return f"online={st.online} paper={st.paper}"

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "status":
            st = await self.status()
            return {"online": st.online, "paper": st.paper}
        if command == "print":
            async with self._job:  # one ticket at a time: status, bytes, status
                return await self.print_ticket(args["ticket"])
        return await super().handle(command, **args)

    async def print_ticket(self, ticket: escpos.TicketText) -> dict[str, Any]:
        before = await self.status()
        if before.paper == "out":
            raise DeviceFault(f"{self.id}: paper out", "printer.paper_out")
        if before.online is False:
            raise DeviceFault(f"{self.id}: printer offline (cover open or error)", "printer.offline")
        data = escpos.build_ticket(ticket, profile=self.cfg.options.get("profile", "default"),
                                   encoding=self.cfg.options.get("encoding", "gb18030"))
        await self.send(data)
        after = await self.status()
        if after.paper == "out":
            raise DeviceFault(f"{self.id}: paper ran out while printing", "printer.paper_out")
        return {"printed": True, "paper": after.paper, "bytes": len(data)}
