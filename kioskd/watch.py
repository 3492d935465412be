"""Wait, with a bound, until a condition holds: how tests and the demo follow the hall without
sleeping. Whoever changes state calls `changed()`."""

from __future__ import annotations

import asyncio
from typing import Callable


class Watch:
    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future]] = []

    def changed(self) -> None:
        for pred, fut in list(self._waiters):
            if not fut.done() and pred():
                fut.set_result(True)

    async def until(self, pred: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        if pred():
            return
        fut = asyncio.get_running_loop().create_future()
        entry = (pred, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):  # not wait_for: it can drop a cancel on 3.11
                await fut
        except TimeoutError:
            raise TimeoutError(f"not within {timeout} s: {what or pred}") from None
        finally:
            self._waiters.remove(entry)
