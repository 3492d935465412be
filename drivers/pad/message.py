"""pad.mqtt: the JSON messages of networked pads (docs/pad-mqtt.md). Pure.

The MQTT link hands over one whole message per read as `SUBTOPIC LF JSON` (the subtopic under
the device's topic: request, response, rating), so this codec is the pad.serial codec's twin:
bytes in, typed messages or a FrameError out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kioskd import jsonlimits
from kioskd.errors import FrameError

PAD_TO_HOST = ("response", "rating")
TABLET_TO_HOST = ("response", "rating", "signature")  # pad.web: a tablet also takes signatures
BOARD_TO_HOST = ("response",)  # a networked board answers, and says nothing by itself
HOST_TO_PAD = ("request",)


@dataclass(frozen=True)
class PadMessage:
    kind: str  # request (host -> pad), response, rating (pad -> host)
    data: dict[str, Any]

    @property
    def txn(self) -> str:
        return self.data.get("transaction", "")


def message(kind: str, data: dict[str, Any]) -> bytes:
    return kind.encode() + b"\n" + json.dumps(data, ensure_ascii=False).encode("utf-8")


class MessageCodec:
    def __init__(self, kinds: tuple[str, ...] = PAD_TO_HOST, max_bytes: int = 64 * 1024):
        self.kinds = kinds
        self.max_bytes = max_bytes  # a tablet's signature is a PNG: larger than any rating

    def feed(self, data: bytes) -> list[PadMessage | FrameError]:
        kind, _, payload = data.partition(b"\n")
        name = kind.decode("ascii", "replace")
        if name not in self.kinds:
            return [FrameError(f"a message on subtopic {name!r} (expected {', '.join(self.kinds)})")]
        try:
            obj = jsonlimits.loads(payload, max_bytes=self.max_bytes)
        except jsonlimits.JsonRefused as exc:
            return [FrameError(f"a {name} message refused: {exc} ({exc.code})")]
        if not isinstance(obj, dict) or not isinstance(obj.get("transaction"), str):
            return [FrameError(f"a {name} message without a \"transaction\" string")]
        if name == "rating" and not _rating_ok(obj):
            return [FrameError("a rating needs level 1-5, reasons [codes], text, seal (hex)")]
        if name == "signature" and not (isinstance(obj.get("image"), str)
                                        and isinstance(obj.get("seal"), str)):
            return [FrameError("a signature needs image (base64 PNG) and seal (hex)")]
        return [PadMessage(name, obj)]


def _rating_ok(obj: dict[str, Any]) -> bool:
    reasons = obj.get("reasons", [])
    return (isinstance(obj.get("level"), int) and not isinstance(obj["level"], bool)
            and isinstance(reasons, list)
            and all(isinstance(r, int) and not isinstance(r, bool) for r in reasons)
            and isinstance(obj.get("text", ""), str) and isinstance(obj.get("seal"), str))
