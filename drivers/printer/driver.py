"""printer.escpos: knows the printer's condition before a citizen does (DLE EOT 1-4 around every
ticket, a status poll while idle, Automatic Status Back where enabled) and sends ticket bytes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kioskd.drivers.base import Driver
from kioskd.drivers.printer import escpos
from kioskd.errors import DeviceFault, DeviceNotReady, DeviceTimeout

log = logging.getLogger("kioskd.drivers.printer")

DETAILS = {
    "ok": "ok", "paper_near_end": "paper near end: change the roll soon",
    "paper_out": "paper out", "cover_open": "cover open", "cutter_error": "cutter jammed",
    "offline": "offline (error or waiting for recovery)",
    "unknown": "state unknown: the printer gave no valid status reply",
}


class EscposPrinterDriver(Driver):

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._job = asyncio.Lock()  # one ticket or status round at a time
        self._swallow = 0  # status answers owed to DLE EOTs that raster bytes happened to spell
        self.last_status = escpos.PrinterStatus()
        self._asked = 0  # the last DLE EOT n sent: what the next status byte answers

    def make_codec(self) -> escpos.StatusCodec:
        return escpos.StatusCodec(asb=self.cfg.opt("asb"))

    # the technician's raw view: queries by name, status bytes decoded
    def describe_sent(self, data: bytes) -> str:
        if len(data) == 3 and data[:2] == escpos.DLE_EOT:
            self._asked = data[2]
            return f"DLE EOT {data[2]}: {escpos.STATUS_NAMES.get(data[2], '?')}"
        return f"{len(data)} bytes (a ticket, or printer setup)"

    def describe_frame(self, frame: Any) -> str:
        if isinstance(frame, int):
            return escpos.describe_status(self._asked, frame)
        return f"ASB {frame.data.hex(' ')}: {escpos.PrinterStatus.from_asb(frame.data).condition}"

    def is_reply(self, frame: Any) -> bool:
        if isinstance(frame, escpos.Asb):
            return False
        if self._swallow:
            self._swallow -= 1
            return False
        return True

    def on_frame(self, frame: Any) -> None:
        if isinstance(frame, escpos.Asb):
            self._note(escpos.PrinterStatus.from_asb(frame.data))

    async def status(self) -> escpos.PrinterStatus:
        replies: list[int | None] = []
        for n in (escpos.STATUS_PRINTER, escpos.STATUS_OFFLINE_CAUSE, escpos.STATUS_ERROR_CAUSE,
                  escpos.STATUS_PAPER):
            try:
                replies.append(await self.transact(escpos.status_query(n)))
            except DeviceTimeout:
                replies.append(None)
        st = escpos.PrinterStatus.decode(*replies)
        self._note(st)
        return st

    def _note(self, st: escpos.PrinterStatus) -> None:
        self.last_status = st
        self.set_condition(st.condition, DETAILS[st.condition])

    async def identify(self) -> str:
        if self.cfg.opt("asb"):
            await self.send(b"\x1d\x61\x0e")  # GS a: online/offline, errors, paper sensors
        async with self._job:
            st = await self.status()
        # A printer that never answers DLE EOT (one-way serial models) still prints: it is
        # used, with its condition "unknown", rather than leaving the kiosk without tickets.
        return f"{st.condition} (paper {st.paper})"

    async def poll(self) -> None:
        interval = self.cfg.opt("status_ms") / 1000
        while True:
            await asyncio.sleep(interval)
            async with self._job:
                await self.status()

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "status":
            async with self._job:
                st = await self.status()
            return {"condition": st.condition, "paper": st.paper, "online": st.online,
                    "cover_open": st.cover_open, "cutter_error": st.cutter_error}
        if command == "print":
            async with self._job:  # status, bytes, status: nothing between them
                return await self.print_ticket(args["ticket"], args.get("fields", escpos.FIELDS))
        return await super().handle(command, **args)

    async def print_ticket(self, ticket: escpos.TicketText,
                           fields: tuple[str, ...] = escpos.FIELDS) -> dict[str, Any]:
        before = await self.status()
        if before.condition in escpos.FAULTS:
            raise DeviceFault(f"{self.id}: {DETAILS[before.condition]}", f"printer.{before.condition}")
        data = escpos.build_ticket(ticket, profile=self.cfg.opt("profile"),
                                   encoding=self.cfg.opt("encoding"),
                                   fields=fields, qr=self.cfg.opt("qr"))
        self._swallow = escpos.status_queries_in(data)
        await self.send(data)
        after = await self.status()
        if after.condition in escpos.FAULTS:
            raise DeviceFault(f"{self.id}: {DETAILS[after.condition]} while printing",
                              f"printer.{after.condition}")
        return {"printed": True, "condition": after.condition, "paper": after.paper,
                "bytes": len(data)}
