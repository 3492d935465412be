"""What the queue looks like to its readers (the API's /api/queue). Pure."""

from __future__ import annotations

from typing import Any

from kioskd.engine import order
from kioskd.engine.state import HallState


# --- views -----------------------------------------------------------------------------------
def snapshot(state: HallState) -> dict[str, Any]:
    """The queue as the API shows it: counts, numbers and estimates; no personal data."""
    waiting = sorted(state.waiting(), key=lambda t: (order.lane_rank(state, t.lane), t.order))
    rows = []
    for t in waiting:
        ahead = order.ahead_of(state, t.category, t.lane, t.order)
        rows.append({"ticket": t.number, "category": t.category, "lane": t.lane,
                     "directed": t.directed, "ahead": ahead,
                     "wait_min": order.estimated_wait(state, t.category, ahead)})
    return {
        "day": state.day,
        "categories": [{"code": c, "name": cat.name, "waiting": len(state.waiting((c,))),
                        "issued": state.counters.get(c, 0),
                        "service_min": round(order.service_minutes(state, c), 1),
                        "open_windows": order.open_windows_for(state, c)}
                       for c, cat in state.categories.items()],
        "windows": [{"number": w.number, "state": w.state, "clerk": w.clerk, "current": w.current,
                     "categories": list(order.serves(state, w)[0]),
                     "awaiting_rating": w.awaiting_rating}
                    for w in state.windows.values()],
        "waiting": rows,
        "held": [t.number for t in state.tickets.values() if t.status == "held"],
        "skipped": [t.number for t in state.tickets.values() if t.status == "skipped"],
    }
