"""The one path for commands: decide -> journal (durable) -> evolve -> publish -> effects,
with the hall's clock it runs on and the tick that moves time on."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from kioskd.engine import queue
from kioskd.hall.effects import EffectResult
from kioskd.errors import DiskFull
from kioskd.journal import Envelope
from kioskd.ledger import rebuild, stage
from kioskd.privacy import mask_name_board

log = logging.getLogger("kioskd")


TICK_S = 15


class CommandPath:
    """Part of Hall: `execute`, the hall's clock, and the journal's records."""

    # --- the one path for commands -------------------------------------------------------------
    def now(self) -> datetime:
        """The hall's time: the wall clock while it is believed (clockguard), never going
        back; a change of judgement is an event (central and the console hear of it)."""
        t = self.guard.read(self.clock(), self.monotonic(), tickets_open=self._tickets_open)
        t = t.astimezone(self.tz)
        if self.guard.suspect != self._suspect_told and hasattr(self, "uplink"):
            self._tell_clock(t)
        return t

    def _still_called(self, ticket: str, window: int) -> bool:
        t = self.state.tickets.get(ticket)
        return t is not None and t.status == "called" and t.window == window

    def _tickets_open(self) -> bool:
        return bool(self.state.open_tickets()) if hasattr(self, "state") else False

    def _tell_clock(self, t: datetime, by: str | None = None) -> None:
        s, told = self.guard.suspect, self._suspect_told
        self._suspect_told = s
        if s is not None and told is not None and s.direction == told.direction:
            return  # still the same suspicion
        if s is not None:
            data = s.as_dict()
            log.warning("clock: the wall clock says %s, %d s %s the hall's reckoning; the "
                        "hall goes on by its own time (%s) until the clock agrees or a "
                        "technician confirms it", s.wall.astimezone(self.tz).isoformat(" ", "seconds"),
                        abs(s.skew_s), "ahead of" if s.direction == "forward" else "behind",
                        t.isoformat(" ", "seconds"))
            self._append("clock.suspect", data, t)
        else:
            log.warning("clock: %s; the hall's time is the wall clock again",
                        f"confirmed by {by}" if by else "the wall clock agrees again")
            self._append("clock.confirmed" if by else "clock.agreed",
                         {"wall": t.isoformat(timespec="seconds"), **({"by": by} if by else {})}, t)

    def confirm_clock(self, by: str) -> dict[str, Any]:
        """A technician says the wall clock is right (the hall then takes its day from it)."""
        self.guard.confirm(self.clock(), self.monotonic())
        self._tell_clock(self.now(), by=by)
        self.tick_soon()
        return self.clock_view()

    def clock_view(self) -> dict[str, Any]:
        s = self.guard.suspect
        return {"state": "ok"} if s is None else {"state": "suspect", **s.as_dict()}

    async def execute(self, cmd: queue.Command) -> tuple[list[Envelope], list[EffectResult]]:
        now = self.now()
        envs: list[Envelope] = []
        if queue.rollover_due(self.state, now):  # the first command of a day closes the last
            envs = stage(self.state, self.journal, queue.decide(self.state, queue.Tick(), now), now)
            self.real_names.clear()
            self.masked_names.clear()
            self.boards.new_day()
        envs += stage(self.state, self.journal, queue.decide(self.state, cmd, now), now)
        if envs:
            # decided and counted on (the next command sees it); done once it is on disk, in
            # the same group commit as the commands around it
            try:
                await self.journal.durable(envs[-1].seq)
            except Exception:
                # not written: the state goes back to what the journal holds
                self.state = rebuild(self.cfg, self.journal, now)
                raise
        holder = getattr(cmd, "holder", None)
        if holder is not None:
            for env in envs:
                if env.type == "ticket.issued" and holder.name:
                    self.real_names[env.data["ticket"]] = holder.name
                if env.type == "ticket.issued":  # the clerk greets 张先生 by this: memory only
                    self.masked_names[env.data["ticket"]] = holder.masked_name
                if env.type == "ticket.issued" and self.boards.wants_names:
                    self.boards.names[env.data["ticket"]] = mask_name_board(holder.masked_name)
        for env in envs:
            self._published(env)
        results = await self.carry_out([effect for env in envs
                                        for effect in queue.effects_of(env.type, env.data, env.ts)])
        if envs:
            self.boards.changed()
        return envs, results

    def record(self, type_: str, data: dict[str, Any]) -> Envelope:
        """Journal an event that is not a queue command (device.state)."""
        return self._append(type_, data, self.now())

    def _append(self, type_: str, data: dict[str, Any], t: datetime) -> Envelope:
        env = self.journal.append([(type_, data)], ts=t.isoformat(timespec="milliseconds"))[0]
        self._published(env)
        return env

    async def _ticking(self) -> None:
        """Time-driven rules: a new day, missed appointments, time-limit alerts; once a day
        the retention purge."""
        purged_on = None
        while True:
            try:
                self.check_disk()
                await self.execute(queue.Tick())
                if purged_on != self.state.day:
                    self.purge()
                    purged_on = self.state.day
            except DiskFull as exc:
                log.error("time-driven rules not run: %s", exc)
            except Exception:  # noqa: BLE001 - log it, keep the hall running, try again
                log.exception("time-driven rules failed; trying again in %d s", TICK_S)
            try:
                async with asyncio.timeout(TICK_S):
                    await self._tick_now.wait()
            except TimeoutError:
                pass
            self._tick_now.clear()

    def tick_soon(self) -> None:
        """Run the time-driven rules now, not at the next tick (the clock was moved on)."""
        self._tick_now.set()

    def _published(self, env: Envelope) -> None:
        self.uplink.notify()
        self.watch.changed()
        for listener in list(self.listeners):
            listener(env)

    async def load_appointments(self, version: str, items: list[dict[str, Any]]) -> Envelope:
        """A new appointment list (from central or the API). An item's `id_number` becomes the
        keyed token here and goes no further: it is never journaled nor kept."""
        clean = tuple({k: v for k, v in i.items() if k != "id_number"}
                      | {"holder": self.token_of(str(i["id_number"])) if i.get("id_number")
                         else None} for i in items)
        envs, _ = await self.execute(queue.LoadAppointments(version, clean))
        return envs[-1]
