"""From a library's own thread (paho's network loop, pcscd's wait, OpenCV's frames) onto the
asyncio loop: one way, for every such library."""

from __future__ import annotations

import asyncio
from typing import Any, Callable


def on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Run fn(*args) on `loop` soon; nothing once the loop is closed (a callback that fires
    while the program ends)."""
    if not loop.is_closed():
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # closed between the test and the call
            pass
