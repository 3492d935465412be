"""The queue's only persistence: events go into the journal durably, then into the state; at
start the state is rebuilt from the journal. The daemon and the crash test both go through here."""

from __future__ import annotations

from datetime import datetime

from kioskd.config import Config
from kioskd.engine import queue
from kioskd.engine.state import HallState
from kioskd.journal import Envelope, Journal


def commit(state: HallState, journal: Journal, events: list[queue.Event],
           now: datetime) -> list[Envelope]:
    """Journal first (one durable transaction), then the state: a crash between the two loses
    nothing, because the state is rebuilt from the journal."""
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what the journal keeps
    envs = journal.append(events, ts=now.isoformat(timespec="milliseconds"))
    for env in envs:
        queue.evolve(state, env.type, env.data, now)
    return envs


def stage(state: HallState, journal: Journal, events: list[queue.Event],
          now: datetime) -> list[Envelope]:
    """As `commit`, for the group commit: the rows are staged (their seq is theirs) and the
    state moves on at once, so the next command decides on it; the caller awaits
    `journal.durable` before anything follows from them (an answer, an effect, central)."""
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    envs = journal.stage(events, ts=now.isoformat(timespec="milliseconds"))
    for env in envs:
        queue.evolve(state, env.type, env.data, now)
    return envs


def rebuild(cfg: Config, journal: Journal, now: datetime) -> HallState:
    """Today's state from the journal: the newest appointment list, then today's events."""
    today = now.date().isoformat()
    state = queue.initial_state(cfg, today)
    older = journal.last_of("appointments.loaded", today)
    rows = ([older] if older else []) + journal.since_ts(today)
    for env in rows:
        queue.evolve(state, env.type, env.data, datetime.fromisoformat(env.ts))
    return state


def audit(journal: Journal) -> list[str]:
    """What the hash chain cannot see: a day that goes back, a number issued twice in a day
    (both what a wrong clock did before the clock guard). One sentence per finding."""
    found: list[str] = []
    day, issued, after = "", set(), 0
    while rows := journal.read(after, 1000):
        for env in rows:
            d = env.data.get("next_day") if env.type == "stats.daily" else \
                env.data.get("day") if env.type == "ticket.issued" else None
            if d is None:
                continue
            if d < day:
                found.append(f"seq {env.seq}: the day goes back from {day} to {d}")
            if env.type == "ticket.issued":
                key = (d, env.data.get("ticket"))
                if key in issued:
                    found.append(f"seq {env.seq}: ticket {key[1]} issued twice on {d}")
                issued.add(key)
            day = max(day, d)
        after = rows[-1].seq
    return found
