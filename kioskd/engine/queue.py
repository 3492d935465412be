"""The queue engine: pure. Time comes in as an argument; nothing here reads a clock or does I/O.

Two halves, so that the journal can come first:
- `decide(state, command, now)` checks a command against the state and returns the events it
  causes (or raises Refused); it never changes the state.
- `evolve(state, type, data, at)` folds one event into the state. Replaying the journal through
  `evolve` rebuilds the state after a restart, so the journal is the engine's only persistence.
`effects_of(event)` says what the devices must do about an event (print, show, prompt).
A new local day is an event of its own (`stats.daily`, from `Tick`), decided before anything
else on that day: `rollover_due()` says when.
"""

from __future__ import annotations

# the engine in one name, as its callers know it: the parts live in commands, decide, evolve,
# views and effects
from kioskd.engine.commands import (RATING_LEVELS, REQUESTABLE_LANES, WINDOW_ACTIONS,  # noqa: F401
                                    CheckIn, Command, Event, GiveRating, IssueTicket,
                                    LoadAppointments, Tick, WindowAction, age_lane, rollover_due)
from kioskd.engine.decide import decide  # noqa: F401
from kioskd.engine.effects import (Announce, CloseRating, Effect, PrintTicket,  # noqa: F401
                                   PromptRating, ShowOnBoard, effects_of)
from kioskd.engine.evolve import evolve  # noqa: F401
from kioskd.engine.state import initial_state  # noqa: F401
from kioskd.engine.views import Standing, snapshot, standing, window_row  # noqa: F401

__all__ = ["initial_state", "decide", "evolve", "effects_of", "snapshot", "standing",
           "rollover_due"]
