"""Boards (窗口屏, 综合屏): one shape for both protocols.

Every board takes `show` (one text over the board: a window's call, idle or paused line, a
notice, a technician's test) and `clear`; a hall board (hall = true) also takes `show-hall`,
the latest calls and the waiting counts (kioskd/boards.py's HallView).

board.bx: an Onbon BX-5K/6K controller over serial or TCP (protocols.md §5.1). Text goes in
realtime dynamic areas, encoded as `encoding` says (GB2312 by default: the BX text encoding is
not published; docs/boards.md). x and width go in the card's unit: 8 px on a BX-5K, pixels on
a BX-6K, from `card` (or the device type the controller answers with) or `area_unit`.
board.mqtt: a networked board speaking JSON (docs/board-mqtt.md).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from kioskd.drivers.board.view import HallView
from kioskd.drivers.base import Driver
from kioskd.drivers.board import bx
from kioskd.drivers.board.layout import hall_rows
from kioskd.drivers.mqttlink import MqttLink, login_of, open_mqtt
from kioskd.drivers.pad import message
from kioskd.errors import BoardError, DeviceFault, DeviceNotReady

KEEPALIVE_S = 5.0
BUSY_RETRIES = 3  # a BX controller busy (03) or seeing a garbled frame (05): the same again


class BoardDriver(Driver):

    @property
    def size(self) -> tuple[int, int, int]:
        o = self.cfg.options
        hall = self.cfg.hall
        return (o.get("width_px", 192 if hall else 64), o.get("height_px", 96 if hall else 32),
                self.cfg.opt("line_px"))

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "test":
            return await super().handle(command, **args)
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "show":
            await self.show(args["text"])
            return {"shown": args["text"]}
        if command == "show-hall":
            view: HallView = args["view"]
            await self.show_hall(view)
            return {"shown": "\n".join(view.lines())}
        if command == "clear":
            await self.clear()
            return {"shown": ""}
        if command == "status":
            return await self.status()
        return await super().handle(command, **args)

    async def status(self) -> dict[str, Any]:
        raise NotImplementedError

    async def show(self, text: str) -> None:
        raise NotImplementedError

    async def show_hall(self, view: HallView) -> None:
        raise NotImplementedError

    async def clear(self) -> None:
        raise NotImplementedError


class BxBoardDriver(BoardDriver):

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.answered_type: int | None = None  # the device type of the controller's answers

    def make_codec(self) -> bx.BxCodec:
        return bx.BxCodec()

    @property
    def card(self) -> str | None:
        """The card model: as configured, else as the controller says in its answers."""
        card = self.cfg.opt("card")
        return card if card != "auto" else bx.MODELS.get(self.answered_type)

    @property
    def unit(self) -> str:
        # a controller that names no model is taken for the sheet's BX-5K (8 px units)
        return (bx.configured_unit(self.cfg.opt("card"), self.cfg.opt("area_unit"))
                or (bx.area_unit(self.answered_type) if self.card else bx.UNIT_8PX))

    def _area(self, text: bytes, number: int, y: int, width: int, height: int,
              effect: int = bx.SHOW) -> bx.Area:
        return bx.Area(text, number, 0, y, width, height, effect,
                       run_mode=self.cfg.opt("run_mode"),
                       timeout_s=self.cfg.opt("area_timeout_s"),
                       align=bx.ALIGNS[self.cfg.opt("align")])

    @property
    def address(self) -> int:
        return self.cfg.opt("address")

    @property
    def encoding(self) -> str:
        return self.cfg.opt("encoding")

    async def _ask(self, cmd: tuple[int, int], args: bytes = b"") -> bx.Packet:
        frame = bx.request(cmd, args, address=self.address)
        for attempt in range(BUSY_RETRIES + 1):
            answer = await self.transact(frame)
            if answer.devtype != bx.DEVTYPE_ANY:
                self.answered_type = answer.devtype
            try:
                bx.check_answer(answer)
                return answer
            except BoardError as exc:
                if exc.status not in bx.TRANSIENT or attempt == BUSY_RETRIES:
                    raise
                await asyncio.sleep(0.05 * (attempt + 1))  # the controller's own pace
        raise AssertionError("unreachable")

    def describe_frame(self, frame: Any) -> str:
        if isinstance(frame, bx.Packet) and len(frame.data) >= 3:
            if frame.command == bx.ACK:
                return f"ACK from {frame.src}"
            status = frame.data[2]
            name = bx.ERRORS.get(status, (f"error {status:02X}",))[0]
            what = "NACK" if frame.command == bx.NACK else \
                f"{frame.data[0]:02X} {frame.data[1]:02X} (no answer)"
            return f"{what} from {frame.src}: {name}"
        return super().describe_frame(frame)

    async def identify(self) -> str:
        await self._ask(bx.PING)
        card = self.card or "a BX-5K/6K card that names no model"
        return f"{card} at address {self.address}, x and width in {self.unit}"

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            await self.probe(self._ask(bx.PING))

    def _encode(self, text: str) -> bytes:
        return bx.plain_text(text).encode(self.encoding, errors="replace")

    def _rows(self, rows: list[tuple[str, bool]]) -> list[bx.Area]:
        width, _, line = self.size
        return [self._area(self._encode(text), i, i * line, width, line,
                           bx.SCROLL if scroll else bx.SHOW)
                for i, (text, scroll) in enumerate(rows)]

    async def show(self, text: str) -> None:
        width, height, line = self.size
        if not self.cfg.hall:
            await self._ask(bx.DYNAMIC_TEXT, bx.dynamic_areas(
                [self._area(self._encode(text), 0, 0, width, height)], self.unit))
            return
        # a hall board keeps one area a row: the text in the first, the others blanked
        rows = [(text, False)] + [("", False)] * (max(height // line, 1) - 1)
        await self._ask(bx.DYNAMIC_TEXT, bx.dynamic_areas(self._rows(rows), self.unit))

    async def show_hall(self, view: HallView) -> None:
        width, height, line = self.size
        rows = hall_rows(view, width_px=width, height_px=height, line_px=line)
        await self._ask(bx.DYNAMIC_TEXT, bx.dynamic_areas(
            self._rows([(r.text, r.scroll) for r in rows]), self.unit))

    async def clear(self) -> None:
        await self._ask(bx.CLEAR)

    async def status(self) -> dict[str, Any]:
        """A1 02: the controller's status bytes as it sends them (their layout is not in the
        sheet, so they are shown, not interpreted)."""
        answer = await self._ask(bx.STATUS)
        return {"status": "ok", "bytes": answer.data[5:].hex(" ")}


class MqttBoardDriver(BoardDriver):
    """board.mqtt (docs/board-mqtt.md): ESP32 and other networked boards."""


    def make_codec(self) -> message.MessageCodec:
        return message.MessageCodec(message.BOARD_TO_HOST)

    async def connect(self) -> MqttLink:  # type: ignore[override]
        return await open_mqtt(self.cfg.url, self.cfg.options["topic"], self.id,
                               message.BOARD_TO_HOST, self.timeout * 3, login_of(self.cfg.options))

    def is_reply(self, m: message.PadMessage) -> bool:
        return m.txn == self.awaiting

    def describe_frame(self, frame: Any) -> str:
        return f"response {frame.data.get('status')}, transaction {frame.txn}"

    async def _request(self, op: str, **fields: Any) -> None:
        txn = secrets.token_hex(8)
        reply = await self.transact(message.message(
            "request", {"transaction": txn, "op": op, **fields}), txn=txn)
        if reply.data.get("status") != "ok":
            raise DeviceFault(f"{self.id}: board refused {op}: {reply.data.get('error', '?')}",
                              "board.refused")

    async def identify(self) -> str:
        await self._request("ping")
        return f"board on {self.cfg.options['topic']}"

    async def poll(self) -> None:
        interval = self.cfg.opt("ping_ms") / 1000
        while True:
            await asyncio.sleep(interval)
            await self.probe(self._request("ping"))

    async def show(self, text: str) -> None:
        await self._request("show", text=text, lines=[text])

    async def show_hall(self, view: HallView) -> None:
        await self._request("hall", **view.as_json(), lines=view.lines())

    async def clear(self) -> None:
        await self._request("show", text="", lines=[])

    async def status(self) -> dict[str, Any]:
        await self._request("ping")
        return {"status": "ok"}
