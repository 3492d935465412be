"""One supervisor for every driver: states, reconnects with capped jittered backoff, one log
line when a device drops and one when it returns.

States: absent (not there) -> opening -> ready <-> stale (there but not answering) -> fault
(answered wrongly, or failed in a way that is not "gone"). From any state but ready the
supervisor waits and opens again; it never gives up, so a device that comes back is used again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable

from kioskd.drivers.base import Driver
from kioskd.errors import DeviceAbsent, KioskdError

log = logging.getLogger("kioskd.supervisor")

class LinkState(StrEnum):
    """A device's link, as the supervisor knows it (a str: payloads and logs carry the word)."""

    ABSENT = "absent"  # not there (unplugged, no answer to opening, a page not open)
    OPENING = "opening"
    READY = "ready"
    STALE = "stale"  # there, but its periodic request went unanswered
    FAULT = "fault"  # answered wrongly, or failed in a way that is not "gone"


STATES = tuple(LinkState)
CONNECTED = (LinkState.READY, LinkState.STALE)


@dataclass(frozen=True)
class DeviceState:
    device: str
    state: LinkState
    detail: str
    since: float  # time.time()
    condition: str = "ok"  # what a connected device says of itself (paper_out...), else "ok"


@dataclass(frozen=True)
class Backoff:
    first: float = 0.2
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        # full exponential, then jitter down to half so that devices on one bus do not retry
        # in lockstep after a power cut
        return min(self.cap, self.first * 2 ** attempt) * random.uniform(0.5, 1.0)


class Supervisor:
    def __init__(self, driver: Driver, on_state: Callable[[DeviceState], None],
                 backoff: Backoff = Backoff()):
        self.driver = driver
        self.on_state = on_state
        self.backoff = backoff
        self.state = DeviceState(driver.id, LinkState.ABSENT, "not opened yet", time.time())
        self._down = False  # a warning was logged and no "back" yet
        self._reported = ""
        driver.on_stale = self._stale
        driver.on_condition = self._condition

    def _set(self, state: LinkState, detail: str = "") -> None:
        old = self.state
        if state == old.state:
            return
        self.state = DeviceState(self.driver.id, state, detail, time.time(), old.condition)
        self.driver.ready = state in CONNECTED
        if state is LinkState.OPENING:
            return  # a transition, not news: a missing device cycles through it quietly
        if state is LinkState.READY:
            if self._down:
                log.warning("%s (%s) is back: %s", self.driver.id, self.driver.type, detail)
            else:
                log.info("%s (%s) ready: %s", self.driver.id, self.driver.type, detail)
            self._down = False
        elif not self._down:
            log.warning("%s (%s) %s: %s", self.driver.id, self.driver.type, state, detail)
            self._down = True
        if state != self._reported:
            self._reported = state
            self.on_state(self.state)

    def _condition(self, condition: str, detail: str) -> None:
        """A connected device's own report changed: news for central and the technician at
        once, whether or not the link state changes."""
        connected = self.state.state in CONNECTED
        self.state = dataclasses.replace(self.state, condition=condition,
                                         detail=detail if connected else self.state.detail,
                                         since=time.time() if connected else self.state.since)
        if not connected:
            return  # said while opening: the "ready" report that follows carries it
        level = logging.INFO if condition == "ok" else logging.WARNING
        log.log(level, "%s (%s): %s", self.driver.id, self.driver.type, detail)
        self.on_state(self.state)

    def _stale(self, stale: bool, detail: str) -> None:
        if self.state.state in CONNECTED:
            self._set(LinkState.STALE if stale else LinkState.READY, detail)

    async def run_forever(self) -> None:
        attempt = 0
        while True:
            self._set(LinkState.OPENING)
            try:
                await self.driver.open()
                info = await self.driver.identify()
                attempt = 0
                self._set(LinkState.READY, info)
                await self.driver.run()
            except asyncio.CancelledError:
                await self.driver.close()
                raise
            except DeviceAbsent as exc:
                self._fail(LinkState.ABSENT, exc)
            except KioskdError as exc:
                self._fail(LinkState.FAULT, exc)
            except Exception as exc:  # a driver bug must not stop the hall
                log.exception("%s: driver error", self.driver.id)
                self._fail(LinkState.FAULT, exc)
            await self.driver.close()
            self.driver.counters.reconnects += 1
            await self.driver.pause(self.backoff.delay(attempt))
            attempt += 1

    def _fail(self, state: LinkState, exc: BaseException) -> None:
        self.driver.counters.last_error = f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"
        self._set(state, str(exc))
