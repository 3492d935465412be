"""Small pure formatting helpers shared by the screens."""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text


def plain(*cells) -> list[Text]:
    """Table cells as plain text: a DataTable reads a str as markup, and "[Errno 2]" is not."""
    return [Text(str(c)) for c in cells]


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
