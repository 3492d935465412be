"""Rating pads: prompt the citizen for a rating, report what they press, sealed.

One shape for both protocols (PadDriver): the host prompts with a fresh transaction id, and only
a rating that answers the latest prompt, sealed with this pad's key over that prompt, counts as
the pad's; the app and the queue engine decide whether it is accepted. A pad is pinged every
`ping_ms`; three pings unanswered and it is a fault (the standard wants the pad working and
facing the citizen), as is a pad whose MQTT availability says "offline".
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from typing import Any, Callable

from kioskd.drivers.base import DeviceInput, Driver
from kioskd.drivers.mqttlink import MqttLink, login_of, open_mqtt
from kioskd.drivers.pad import message, proto
from kioskd.drivers.pad.seal import sealed, signature_sealed
from kioskd.drivers.weblink import WebLink, WebLinks
from kioskd.errors import DeviceAbsent, DeviceFault, DeviceNotReady

PING_MS = 5000


FRAME_NAMES = {proto.PROMPT: "PROMPT", proto.IDLE: "IDLE", proto.RESULT: "RESULT",
               proto.REASONS: "REASONS", proto.PING: "PING", proto.RATING: "RATING"}


class PadDriver(Driver):

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.prompted: dict[Any, str] = {}  # txn -> ticket; only the latest prompt is answerable

    @property
    def key(self) -> bytes:
        return self.cfg.options["key"]

    # the technician's raw view: a rating's text is the citizen's own words, and its seal a
    # secret's work; the view shows what kind of frame it was and its size
    def trace_hex(self, direction: str, data: bytes) -> str:
        if direction == "in" and len(data) > 12:
            return data[:6].hex(" ") + f" … ({len(data) - 6} bytes hidden: a rating)"
        return super().trace_hex(direction, data)

    def describe_frame(self, frame: Any) -> str:
        if isinstance(frame, proto.PadFrame):
            name = FRAME_NAMES.get(frame.func & ~proto.REPLY, f"func {frame.func:#04x}")
            reply = " reply" if frame.func & proto.REPLY else ""
            return f"{name}{reply} from pad {frame.addr}, txn {frame.txn}, {len(frame.data)} bytes"
        return f"{frame.kind}, transaction {frame.data.get('transaction')}, " \
               f"{len(frame.data)} fields"

    async def poll(self) -> None:
        interval = self.cfg.opt("ping_ms") / 1000
        while True:
            await asyncio.sleep(interval)
            await self.probe(self._request("ping", self.new_txn()))

    async def identify(self) -> str:
        await self._request("ping", self.new_txn())
        return self.describe()

    async def handle(self, command: str, **args: Any) -> Any:
        if not self.ready:
            raise DeviceNotReady(f"{self.id} is not ready")
        if command == "prompt":
            txn = self.new_txn()
            # a new prompt replaces the last: a rating for an earlier one is no longer taken
            self.prompted = {txn: args["ticket"]}
            await self._request("prompt", txn, window=args["window"], ticket=args["ticket"],
                                clerk=args.get("clerk", ""), reasons=args.get("reasons", []),
                                timeout_s=args.get("timeout_s", 0))
            return {"txn": txn}
        if command == "idle":
            self.prompted = {}
            await self._request("idle", self.new_txn())
            return {}
        if command == "ping":
            await self._request("ping", self.new_txn())
            return {}
        return await super().handle(command, **args)

    def rating_in(self, txn: Any, level: int, reasons: tuple[int, ...], text: str,
                  mac: bytes) -> None:
        """A rating from the wire: the ticket it is for comes from our own prompt, never from
        the pad. The prompt stays open until a rating for it is accepted (`result`), so a
        citizen whose bad rating lacked a reason can add one, and a forged rating cannot
        close the citizen's prompt."""
        ticket = self.prompted.get(txn)
        ok = ticket is not None and sealed(self.key, mac, str(txn), ticket, level, reasons, text)
        self.emit(DeviceInput(self.id, "rating", {
            "ticket": ticket, "txn": txn, "level": level, "reasons": reasons, "text": text,
            "sealed": ok}))

    # --- per protocol ---------------------------------------------------------------------
    def new_txn(self) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    async def _request(self, op: str, txn: Any, **fields: Any) -> Any:
        raise NotImplementedError

    async def result(self, txn: Any, accepted: bool, code: str | None = None) -> None:
        """Tell the pad what became of its rating; an accepted one uses the prompt up, so the
        same message again (a replay) answers no prompt of ours."""
        if accepted:
            self.prompted.pop(txn, None)
        await self._send_result(txn, accepted, code)

    async def _send_result(self, txn: Any, accepted: bool, code: str | None) -> None:
        raise NotImplementedError


class SerialPadDriver(PadDriver):
    """pad.serial (docs/pad-serial.md)."""


    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        # random start: after a restart, a rating recorded off the wire earlier does not answer
        # a new prompt by chance
        self._txn = itertools.count(secrets.randbelow(0xFFFF))
        self._reasons_sent: list[tuple[int, str]] | None = None

    @property
    def address(self) -> int:
        return self.cfg.opt("address")

    def make_codec(self) -> proto.PadCodec:
        return proto.PadCodec()

    async def open(self) -> None:
        self._reasons_sent = None  # a pad that was away may have restarted
        await super().open()

    def new_txn(self) -> int:
        return next(self._txn) & 0xFFFF

    def describe(self) -> str:
        return f"pad at address {self.address}"

    def is_reply(self, frame: proto.PadFrame) -> bool:
        return bool(frame.func & proto.REPLY) and frame.txn == self.awaiting

    async def _ask(self, txn: int, frame: bytes) -> proto.PadFrame:
        reply = await self.transact(frame, txn=txn)
        if len(reply.data) < 3 or reply.data[2]:
            raise DeviceFault(f"{self.id}: pad refused the request", "pad.refused")
        return reply

    async def _request(self, op: str, txn: int, **f: Any) -> Any:
        a = self.address
        if op == "prompt":
            reasons = [(r.code, r.name) for r in f["reasons"]]
            if reasons != self._reasons_sent:
                await self._ask(txn, proto.reasons_frame(a, txn, reasons))
                self._reasons_sent = reasons
            return await self._ask(txn, proto.prompt(a, txn, f["window"], f["ticket"], f["clerk"]))
        func = {"idle": proto.IDLE, "ping": proto.PING}[op]
        return await self._ask(txn, proto.encode(a, func, txn.to_bytes(2, "big")))

    def on_frame(self, frame: proto.PadFrame) -> None:
        if frame.func != proto.RATING:
            return super().on_frame(frame)
        try:
            r = proto.parse_rating(frame.data)
        except proto.FrameError as exc:
            self.counters.errors += 1
            self.counters.last_error = f"{exc.code}: {exc}"
            return
        self.rating_in(r.txn, r.level, r.reasons, r.text, r.seal)

    async def _send_result(self, txn: int, accepted: bool, code: str | None) -> None:
        await self.send(proto.encode(self.address, proto.RESULT,
                                     txn.to_bytes(2, "big") + bytes([0 if accepted else 1])))


class JsonPadDriver(PadDriver):
    """The JSON messages of docs/pad-mqtt.md, whatever carries them (a broker, a WebSocket)."""

    def make_codec(self) -> message.MessageCodec:
        return message.MessageCodec()

    def new_txn(self) -> str:
        return secrets.token_hex(8)

    def is_reply(self, m: message.PadMessage) -> bool:
        return m.kind == "response" and m.txn == self.awaiting

    async def _request(self, op: str, txn: str, **f: Any) -> Any:
        if op == "prompt":
            f["reasons"] = [{"code": r.code, "name": r.name} for r in f["reasons"]]
        reply = await self.transact(message.message("request",
                                                     {"transaction": txn, "op": op, **f}), txn=txn)
        if reply.data.get("status") != "ok":
            raise DeviceFault(f"{self.id}: pad refused {op}: {reply.data.get('error', '?')}",
                              "pad.refused")
        return reply

    def on_frame(self, m: message.PadMessage) -> None:
        if m.kind != "rating":
            return super().on_frame(m)
        self.rating_in(m.txn, m.data["level"], tuple(m.data.get("reasons", [])),
                       m.data.get("text", ""), _hex(m.data["seal"]))

    async def _send_result(self, txn: str, accepted: bool, code: str | None) -> None:
        await self.send(message.message("request", {
            "transaction": secrets.token_hex(8), "op": "result", "rating": txn,
            "accepted": accepted, **({"error": code} if code else {})}))


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


class MqttPadDriver(JsonPadDriver):
    """pad.mqtt (docs/pad-mqtt.md): tablets and networked pads."""


    @property
    def topic(self) -> str:
        return self.cfg.options["topic"]

    async def connect(self) -> MqttLink:  # type: ignore[override]
        return await open_mqtt(self.cfg.url, self.topic, self.id, message.PAD_TO_HOST,
                               self.timeout * 3, login_of(self.cfg.options))

    def describe(self) -> str:
        return f"pad on {self.topic}"


SIGNATURE_MAX = 512 * 1024  # a PNG of a signing area is ~20-80 KB; base64 adds a third


class WebPadDriver(JsonPadDriver):
    """pad.web (docs/pad-web.md): the rating tablet, a page the daemon serves (/pad/{n}),
    enrolled once by a technician (kioskd.tablets), on the page's WebSocket. It also takes the
    citizen's signature (请签名), sealed as a rating is."""

    links: WebLinks | None = None  # the API's sockets, given by the hall
    # the key of the tablet enrolled now (kioskd.tablets), given by the hall; None: none is
    key_of: Callable[[str], bytes | None] = staticmethod(lambda device: None)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.sign_prompted: dict[str, str] = {}  # txn -> ticket: the latest 请签名 only

    @property
    def key(self) -> bytes:
        return self.key_of(self.id) or b""

    def make_codec(self) -> message.MessageCodec:
        return message.MessageCodec(message.TABLET_TO_HOST, max_bytes=SIGNATURE_MAX * 4 // 3 + 4096)

    async def connect(self) -> WebLink:  # type: ignore[override]
        if self.links is None or self.key_of(self.id) is None:
            raise DeviceAbsent(f"{self.id}: no tablet enrolled (a technician enrolls one: "
                               "docs/pad-web.md)")
        return await self.links.take(self.id, self.timeout * 3,
                                     "the tablet's page is not open (/pad/"
                                     f"{self.cfg.window})")

    async def pause(self, delay: float) -> None:
        if self.links is None:
            return await super().pause(delay)
        await self.links.wait_arrival(self.id, delay)

    def describe(self) -> str:
        return f"tablet page /pad/{self.cfg.window}"

    async def handle(self, command: str, **args: Any) -> Any:
        if command == "sign":
            if not self.ready:
                raise DeviceNotReady(f"{self.id} is not ready")
            txn = self.new_txn()
            self.sign_prompted = {txn: args["ticket"]}
            await self._request("sign", txn, window=args["window"], ticket=args["ticket"],
                                timeout_s=args.get("timeout_s", 0))
            return {"txn": txn}
        if command == "idle":
            self.sign_prompted = {}
        return await super().handle(command, **args)

    def on_frame(self, m: message.PadMessage) -> None:
        if m.kind != "signature":
            return super().on_frame(m)
        ticket = self.sign_prompted.get(m.txn)
        try:
            image = base64.b64decode(m.data["image"], validate=True)
        except ValueError:
            image = b""
        ok = ticket is not None and bool(image) and signature_sealed(
            self.key, _hex(m.data["seal"]), m.txn, ticket, image)
        if ok:
            self.sign_prompted.pop(m.txn, None)  # one signature per request
        self.emit(DeviceInput(self.id, "signature", {
            "ticket": ticket, "txn": m.txn, "image": image if ok else b"", "sealed": ok,
            "size": len(image)}))

    async def signed(self, txn: str, accepted: bool, code: str | None = None) -> None:
        """Tell the tablet what became of its signature (the page shows 已签名 or asks again)."""
        await self.send(message.message("request", {
            "transaction": secrets.token_hex(8), "op": "signed", "signature": txn,
            "accepted": accepted, **({"error": code} if code else {})}))
