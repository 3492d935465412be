"""Twins of the rating pads (docs/pad-serial.md, docs/pad-mqtt.md): a screen that shows prompts,
a citizen who presses, and faults, scriptable from devices.toml or driven by tests.

Script (`sim = { script = ["rate 5", "bad 1 1,3 排队太久", "never", "offline"], delay_ms = 2000 }`):
one step per prompt, in a loop. `rate N` presses N; `bad N CODES [TEXT]` a bad rating with
reason codes (and text); `never` leaves the prompt unanswered (it times out: rating.missed);
`offline` powers the pad off (for `offline_s`, default 5 s, then back); `silent` stops answering.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kioskd.config import DeviceConfig
from kioskd.drivers.pad import message, proto
from kioskd.drivers.pad.seal import seal, seal_signature
from kioskd.sim.twin import MqttTwin, Twin
from kioskd.watch import Watch

log = logging.getLogger("kioskd.sim.pad")


@dataclass(frozen=True)
class Prompt:
    txn: Any
    window: int
    ticket: str
    clerk: str


@dataclass(frozen=True)
class Step:
    action: str  # rate, never, offline, silent
    level: int = 0
    reasons: tuple[int, ...] = ()
    text: str = ""


def parse_step(text: str) -> Step:
    words = text.split(maxsplit=3)
    if not words or words[0] not in ("rate", "bad", "never", "offline", "silent"):
        raise ValueError(f"pad script step {text!r}: rate N | bad N CODES [TEXT] | never | "
                         "offline | silent")
    if words[0] == "rate":
        return Step("rate", int(words[1]))
    if words[0] == "bad":
        return Step("rate", int(words[1]), tuple(int(c) for c in words[2].split(",")),
                    words[3] if len(words) > 3 else "")
    return Step(words[0])


class PadScreen:
    """What both twins share: the screen, the citizen's presses, the script."""

    dev: DeviceConfig
    watch: Watch

    def _screen_init(self) -> None:
        self.key: bytes = self.dev.options["key"]
        self.prompt: Prompt | None = None  # what the screen shows now
        self.reasons: list[tuple[int, str]] = []  # the bad-rating reasons it was given
        self.results: dict[Any, bool] = {}  # txn -> accepted, the latest answer
        self.answers: list[tuple[Any, bool]] = []  # every result, in order
        self.script = [parse_step(s) for s in self.dev.sim.get("script", [])]
        self.delay = self.dev.sim.get("delay_ms", 2000) / 1000
        self._step = 0
        self._jobs: set[asyncio.Task] = set()

    def press(self, level: int, reasons: tuple[int, ...] = (), text: str = "", *,
              txn: Any = None, ticket: str | None = None, key: bytes | None = None) -> Any:
        """The citizen presses `level` on the prompt shown. For forgery tests: `txn` and
        `ticket` to answer another prompt, `key` to seal with another pad's key."""
        if txn is None:
            if self.prompt is None:
                raise RuntimeError(f"{self.dev.id} shows no prompt")
            txn = self.prompt.txn
        ticket = ticket if ticket is not None else (self.prompt.ticket if self.prompt else "")
        mac = seal(key or self.key, str(txn), ticket, level, reasons, text)
        self.send_rating(txn, level, reasons, text, mac)
        return txn

    def _prompt_message(self, m: message.PadMessage) -> None:
        """A JSON pad's prompt (pad.mqtt, pad.web): its reasons and the prompt on screen."""
        self.reasons = [(r["code"], r["name"]) for r in m.data.get("reasons", [])]
        self._prompted(Prompt(m.txn, m.data["window"], m.data["ticket"], m.data["clerk"]))

    def _prompted(self, p: Prompt) -> None:
        self.prompt = p
        if self.script:
            step = self.script[self._step % len(self.script)]
            self._step += 1
            self._spawn(self._play(step, p))

    async def _play(self, step: Step, p: Prompt) -> None:
        await asyncio.sleep(self.delay)  # the citizen reads the screen
        if step.action == "rate" and self.prompt == p:
            self.press(step.level, step.reasons, step.text)
        elif step.action == "offline":
            await self.go_offline()
            await asyncio.sleep(self.dev.sim.get("offline_s", 5))
            await self.come_back()
        elif step.action == "silent":
            self.silent = True
        self.watch.changed()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def _stop_jobs(self) -> None:
        for t in list(self._jobs):
            t.cancel()
        await asyncio.gather(*self._jobs, return_exceptions=True)

    def _result(self, txn: Any, accepted: bool) -> None:
        """Accepted: thanks, and the idle screen. Refused: the prompt stays (a bad rating
        without a reason may get one)."""
        self.results[txn] = accepted
        self.answers.append((txn, accepted))
        if accepted and self.prompt is not None and self.prompt.txn == txn:
            self.prompt = None

    # per protocol
    def send_rating(self, txn: Any, level: int, reasons: tuple[int, ...], text: str,
                    mac: bytes) -> None:
        raise NotImplementedError

    async def go_offline(self) -> None:
        raise NotImplementedError

    async def come_back(self) -> None:
        raise NotImplementedError


class SerialPadTwin(PadScreen, Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        Twin.__init__(self, dev, link)
        self._screen_init()
        self.codec = proto.PadCodec()
        self.address = dev.opt("address")

    def on_frame(self, f: proto.PadFrame) -> None:
        if f.addr != self.address:
            return
        if f.func == proto.PROMPT:
            self._prompted(Prompt(*proto.parse_prompt(f.data)))
        elif f.func == proto.IDLE:
            self.prompt = None
        elif f.func == proto.REASONS:
            self.reasons = proto.parse_reasons(f.data)
        elif f.func == proto.RESULT:
            self._result(f.txn, f.data[2:3] == b"\x00")
            return  # a result needs no answer
        elif f.func != proto.PING:
            return
        self.send(proto.encode(self.address, f.func | proto.REPLY, f.data[:2] + b"\x00"))

    def send_rating(self, txn: int, level: int, reasons: tuple[int, ...], text: str,
                    mac: bytes) -> None:
        self.send(proto.rating(self.address, txn, level, reasons, mac, text))

    async def go_offline(self) -> None:
        self.prompt = None  # the screen goes dark with the power
        await self.unplug()

    async def come_back(self) -> None:
        await self.plug()

    async def stop(self) -> None:
        await self._stop_jobs()
        await Twin.stop(self)


class MqttPadTwin(PadScreen, MqttTwin):
    """A tablet pad on the hall's broker: retained availability with a will, requests in,
    responses and ratings out."""

    def __init__(self, dev: DeviceConfig, link: Path):
        MqttTwin.__init__(self, dev, link)
        self.codec = message.MessageCodec(message.HOST_TO_PAD)
        self._screen_init()

    async def stop(self) -> None:
        await self._stop_jobs()
        await MqttTwin.stop(self)

    async def go_offline(self) -> None:
        self.prompt = None  # the screen goes dark with the power
        await MqttTwin.go_offline(self)

    async def come_back(self) -> None:
        await MqttTwin.come_back(self)

    def on_frame(self, m: message.PadMessage) -> None:
        op = m.data.get("op")
        if op == "prompt":
            self._prompt_message(m)
        elif op == "idle":
            self.prompt = None
        elif op == "result":
            self._result(m.data.get("rating"), bool(m.data.get("accepted")))
            return
        elif op != "ping":
            self._publish("response", {"transaction": m.txn, "status": "error",
                                       "error": f"unknown op {op!r}"})
            return
        self._publish("response", {"transaction": m.txn, "status": "ok"})

    def send_rating(self, txn: str, level: int, reasons: tuple[int, ...], text: str,
                    mac: bytes) -> None:
        self._publish("rating", {"transaction": txn, "level": level, "reasons": list(reasons),
                                 "text": text, "seal": mac.hex()})


class WebPadTwin(PadScreen):
    """The rating tablet's page (pad.web), as a program: enrolled by the sim (SimHall), then on
    its socket (/api/pads/{id}/link) with the page's messages. Tests of the
    page itself drive the real page in Chromium; this twin lets every other test and `kioskd
    sim` have the window's tablet without a browser. A browser enrolled later takes its place."""

    def __init__(self, dev: DeviceConfig, link: Path):  # noqa: ARG002 (no wire: the API)
        self.watch = Watch()
        self.silent = False
        self.codec = message.MessageCodec(message.HOST_TO_PAD)
        self.url = ""
        self.cookie = ""  # the enrolled token, as the page's cookie
        self.api = ""
        self.evicted = False  # another tablet was enrolled: this one is out
        self.signed: list[tuple[str, bool]] = []  # (txn, accepted) of each signature sent
        self.sign_asked: Prompt | None = None
        self._ws: Any = None
        self._session: Any = None
        self._runner: asyncio.Task | None = None
        self._online = asyncio.Event()
        self.dev = dataclasses.replace(dev, options={**dev.options, "key": b""})
        self._screen_init()

    async def start(self) -> None:
        pass  # the daemon is not up yet: the sim attaches the twin once it is

    async def attach(self, api_url: str) -> None:
        """Connect to the daemon at `api_url` (enrolled by the sim: `cookie`, `key`)."""
        import aiohttp

        self.api = api_url
        if self._session is None:
            self._session = aiohttp.ClientSession()
        await self.come_back()

    def _auth(self) -> dict[str, str]:
        return {"Cookie": f"kioskd_token={self.cookie}"}

    async def come_back(self) -> None:
        if self._runner is None or self._runner.done():
            self._online.clear()
            self._runner = asyncio.get_running_loop().create_task(self._run())
            async with asyncio.timeout(5):
                await self._online.wait()
        self.watch.changed()

    async def _run(self) -> None:
        import aiohttp

        while not self.evicted:
            try:
                async with self._session.ws_connect(f"{self.api}/api/pads/{self.dev.id}/link",
                                                    headers=self._auth()) as ws:
                    self._ws = ws
                    self._online.set()
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            self._on_bytes(msg.data.encode("utf-8"))
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    self.evicted = True
                    log.info("%s: the daemon no longer takes this tablet (%d)", self.dev.id,
                             exc.status)
            except (aiohttp.ClientError, OSError):
                pass
            finally:
                self._ws = None
                self.watch.changed()
            await asyncio.sleep(0.1)  # the daemon restarting: try again soon

    async def go_offline(self) -> None:
        self.prompt = None  # the screen goes dark with the power
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        self.watch.changed()

    async def stop(self) -> None:
        await self._stop_jobs()
        await self.go_offline()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _send(self, kind: str, data: dict[str, Any]) -> None:
        if self._ws is None or self._ws.closed:
            raise RuntimeError(f"{self.dev.id} is not connected")
        self._spawn(self._ws.send_str(f"{kind}\n{json.dumps(data, ensure_ascii=False)}"))

    def _on_bytes(self, data: bytes) -> None:
        for m in self.codec.feed(data):
            if isinstance(m, message.PadMessage):
                self.on_frame(m)

    def on_frame(self, m: message.PadMessage) -> None:
        op = m.data.get("op")
        if op == "prompt":
            self._prompt_message(m)
        elif op == "idle":
            self.prompt = self.sign_asked = None
        elif op == "sign":
            self.sign_asked = Prompt(m.txn, m.data["window"], m.data["ticket"], "")
        elif op == "result":
            self._result(m.data.get("rating"), bool(m.data.get("accepted")))
            self.watch.changed()
            return
        elif op == "signed":
            self.signed.append((m.data.get("signature"), bool(m.data.get("accepted"))))
            if m.data.get("accepted"):
                self.sign_asked = None
            self.watch.changed()
            return
        if not self.silent:
            self._send("response", {"transaction": m.txn, "status": "ok"})
        self.watch.changed()

    def send_rating(self, txn: str, level: int, reasons: tuple[int, ...], text: str,
                    mac: bytes) -> None:
        self._send("rating", {"transaction": txn, "level": level, "reasons": list(reasons),
                              "text": text, "seal": mac.hex()})

    def sign(self, image: bytes, *, txn: str | None = None, key: bytes | None = None) -> str:
        """The citizen signs (`image`, PNG bytes) on the request shown."""
        asked = self.sign_asked
        if txn is None:
            if asked is None:
                raise RuntimeError(f"{self.dev.id} shows no signing area")
            txn = asked.txn
        mac = seal_signature(key or self.key, txn, asked.ticket if asked else "", image)
        self._send("signature", {"transaction": txn, "image": base64.b64encode(image).decode(),
                                 "seal": mac.hex()})
        return txn
