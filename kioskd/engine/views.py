"""What the queue looks like to its readers (the API's /api/queue). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kioskd.engine import order
from kioskd.engine.state import HallState, WindowState
from kioskd.errors import Refused


# --- views -----------------------------------------------------------------------------------
def snapshot(state: HallState) -> dict[str, Any]:
    """The queue as the API shows it: counts, numbers and estimates; no personal data."""
    waiting = sorted(state.waiting(), key=lambda t: (order.lane_rank(state, t.lane), t.order))
    rows = []
    # in this order, the tickets a window would call before one are those of its category
    # already passed: counted as we go (order.ahead_of per ticket made the snapshot quadratic,
    # 95 % of the busy day's CPU with thousands waiting: kioskd.sim.day)
    passed: dict[str, int] = {}
    pace = {c: (order.open_windows_for(state, c), order.service_minutes(state, c))
            for c in {t.category for t in waiting}}
    for t in waiting:
        ahead = passed.get(t.category, 0)
        passed[t.category] = ahead + 1
        rows.append({"ticket": t.number, "category": t.category, "lane": t.lane,
                     "directed": t.directed, "ahead": ahead,
                     "wait_min": order.wait_from(*pace[t.category], ahead)})
    return {
        "day": state.day,
        "categories": [{"code": c, "name": cat.name, "waiting": state.waiting_count(c),
                        "issued": state.counters.get(c, 0),
                        "service_min": round(order.service_minutes(state, c), 1),
                        "open_windows": order.open_windows_for(state, c)}
                       for c, cat in state.categories.items()],
        "windows": [window_row(state, w) for w in state.windows.values()],
        "waiting": rows,
        "held": [t.number for t in state.tickets.values() if t.status == "held"],
        "skipped": [t.number for t in state.tickets.values() if t.status == "skipped"],
    }


def window_row(state: HallState, w: WindowState) -> dict[str, Any]:
    """One window as the snapshot lists it (and a clerk's action answers with)."""
    return {"number": w.number, "state": w.state, "clerk": w.clerk, "current": w.current,
            "categories": list(order.serves(state, w)[0]), "awaiting_rating": w.awaiting_rating}


@dataclass(frozen=True)
class Standing:
    """Where an open ticket stands now: what its reprint says."""

    number: str
    category_name: str
    ahead: int
    wait_min: int | None
    issued_at: str
    kiosk: str | None


def standing(state: HallState, number: str) -> Standing:
    """An open ticket's place as of now (people ahead, the wait), for a reprint."""
    t = state.tickets.get(number)
    if t is None or t.status in ("finished", "void"):
        raise Refused("ticket.unknown", "no such ticket waiting today")
    ahead = order.ahead_of(state, t.category, t.lane, t.order)
    return Standing(t.number, state.categories[t.category].name, ahead,
                    order.estimated_wait(state, t.category, ahead), t.issued_at.isoformat(),
                    t.kiosk)
