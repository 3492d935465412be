"""Small pure formatting helpers shared by the screens."""

from __future__ import annotations

import time
from datetime import datetime


def since(rfc3339: str) -> str:
    """`12:03:04` from an RFC 3339 time (the hall's local clock)."""
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).strftime("%H:%M:%S")
    except (ValueError, AttributeError):
        return "?"


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
