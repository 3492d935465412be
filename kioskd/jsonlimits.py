"""JSON from outside the daemon (API bodies, central's MQTT messages, pads, boards), read with
limits. Python's json recurses per nesting level, so a document 200,000 levels deep raises
RecursionError — not a ValueError — and escaped every `except ValueError` that meant "bad
JSON". Here depth is counted before parsing, size bounded, UTF-8 required, and every refusal is
a `JsonRefused` (a ValueError, so those handlers catch it) with a stable code."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # no message of the hall nests deeper than 5; 32 leaves room, stops a bomb
MAX_BYTES = 1 << 20

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


class JsonRefused(ValueError):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings skipped (a "[" in a string is text)."""
    deepest = level = 0
    for m in _BRACKETS.finditer(_STRINGS.sub("", text)):
        level += 1 if m.group() in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def loads(data: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    if len(data) > max_bytes:
        raise JsonRefused(f"{len(data)} bytes; at most {max_bytes}", "json.too_big")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused(f"not UTF-8 (byte {exc.start})", "json.not_utf8") from None
    if (d := depth(data)) > max_depth:
        raise JsonRefused(f"nested {d} deep; at most {max_depth}", "json.too_deep")
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})",
                          "json.invalid") from None
