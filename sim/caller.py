"""Twin of a keypad bus (protocols.md §9): the keypads of one or more windows on one line. Each
presses keys by test or by script and keeps the acknowledgements (echoes) it heard.

Script (`sim = { script = ["next", "wait", "skip", "transfer 3"], every_ms = 20000 }`): one step
each `every_ms`, in a loop, at the bus's first keypad (`address = N` in the step picks
another: "next @3"). Steps: next, recall, skip, hold, back (call back), pause, rate (ask for a
rating), transfer N, wait (a step of nothing), keys HEX... (raw keys), stars N (the keypad's
own rating keys, FUNC 11: what kioskd must refuse).

Frames are built as the deployed host of protocols.md §9 builds them (the checksum sums ADDR,
FUNC and DATA), and checked against its byte vectors in tests/vectors/keypad.toml.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from kioskd.config import DeviceConfig
from kioskd.drivers.caller import proto
from kioskd.sim.twin import Twin

STEPS = {"next": bytes([proto.CALL_NEXT]), "recall": bytes([proto.RECALL]),
         "skip": bytes([0x06, proto.CONFIRM]), "hold": bytes([0x00, proto.CONFIRM]),
         "back": bytes([0x03, proto.CONFIRM]), "pause": bytes([proto.PAUSE]),
         "rate": bytes([proto.ASK_RATING]), "wait": b""}


def step_keys(step: str) -> tuple[bytes, int | None, int]:
    """A script step's keys, the keypad address it names (None: the bus's first) and FUNC."""
    text, _, at = step.partition("@")
    words = text.split()
    address = int(at) if at.strip() else None
    if not words:
        raise ValueError("an empty keypad script step")
    if words[0] == "transfer" and len(words) == 2 and words[1].isdigit():
        return proto.transfer_keys(int(words[1])), address, proto.FUNC_KEY
    if words[0] == "stars" and len(words) == 2 and words[1].isdigit():
        return bytes([int(words[1])]), address, proto.FUNC_RATING
    if words[0] == "keys" and len(words) > 1:
        return bytes.fromhex("".join(words[1:])), address, proto.FUNC_KEY
    if words[0] in STEPS and len(words) == 1:
        return STEPS[words[0]], address, proto.FUNC_KEY
    raise ValueError(f"keypad script step {step!r}: {' | '.join(STEPS)} | transfer N | "
                     "stars N | keys HEX [@ADDRESS]")


class KeypadTwin(Twin):
    def __init__(self, dev: DeviceConfig, link: Path):
        super().__init__(dev, link)
        self.codec = proto.KeypadCodec()
        self.address = min(dev.options.get("keypads") or {dev.options.get("address", 1): 0})
        self.acked: list[bytes] = []
        self.script = [step_keys(s) for s in dev.sim.get("script", [])]
        self.every = dev.sim.get("every_ms", 20_000) / 1000
        self._player: asyncio.Task | None = None

    def press(self, *keys: int, address: int | None = None, func: int = proto.FUNC_KEY) -> bytes:
        """One frame: the keys typed, the last one the command (e.g. 0x06, 0x0F = skip), at
        keypad `address` (default: the bus's first); func=FUNC_RATING for its rating keys."""
        frame = proto.encode(self.address if address is None else address, bytes(keys), func)
        self.send(frame)
        return frame

    async def start(self) -> None:
        await super().start()
        if self.script:
            self._player = asyncio.create_task(self._play(), name=f"script:{self.dev.id}")

    async def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
            await asyncio.gather(self._player, return_exceptions=True)
        await super().stop()

    async def _play(self) -> None:
        while True:
            for keys, address, func in self.script:
                await asyncio.sleep(self.every)  # the clerk's pace, not a wait for an event
                if keys:
                    try:
                        self.press(*keys, address=address, func=func)
                    except OSError:
                        pass  # unplugged meanwhile: the clerk presses on, unheard

    def on_frame(self, frame: proto.KeyFrame) -> None:
        self.acked.append(frame.raw)
