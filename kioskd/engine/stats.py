"""The day's statistics per category, window and hour, computed from the state. Pure."""

from __future__ import annotations

import math
from typing import Any

from kioskd.engine.state import HallState, Rating, Ticket


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank


def _p50(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.5 * len(ordered)) - 1]  # nearest rank, as p90


def _utilisation(served: list[Ticket]) -> float | None:
    """The share of a window's working span (its first call to its last finish) spent with a
    citizen (called to finished): idle windows and thin days show as a low share."""
    spans = [(t.called_at, t.finished_at) for t in served if t.called_at and t.finished_at]
    if not spans:
        return None
    whole = (max(f for _, f in spans) - min(c for c, _ in spans)).total_seconds()
    busy = sum((f - c).total_seconds() for c, f in spans)
    return round(min(1.0, busy / whole), 4) if whole > 0 else None


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _wait_s(t: Ticket) -> float | None:
    return (t.called_at - t.issued_at).total_seconds() if t.called_at else None


def _service_s(t: Ticket) -> float | None:
    if t.started_at and t.finished_at:
        return (t.finished_at - t.started_at).total_seconds()
    return None


def _summary(tickets: list[Ticket]) -> dict[str, Any]:
    waits = [w for t in tickets if (w := _wait_s(t)) is not None]
    services = [s for t in tickets if t.status == "finished" and (s := _service_s(t)) is not None]
    return {
        "issued": len(tickets),
        "served": sum(1 for t in tickets if t.status == "finished"),
        "skipped": sum(t.skips for t in tickets),
        "waiting": sum(1 for t in tickets if t.status == "waiting"),
        "wait_avg_s": _avg(waits),
        "wait_p50_s": _p50(waits),
        "wait_p90_s": _p90(waits),
        "service_avg_s": _avg(services),
    }


def _satisfaction(ratings: list[Rating]) -> dict[str, Any]:
    """好差评: satisfied = 4 or 5 (满意, 非常满意); the rate halls are judged by (>= 95%)."""
    good = sum(1 for r in ratings if r.level >= 4)
    return {"rated": len(ratings), "satisfied": good,
            "satisfaction": round(good / len(ratings), 4) if ratings else None}


def window_stats(state: HallState, n: int, tickets: list[Ticket] | None = None,
                 ratings: list[Rating] | None = None) -> dict[str, Any]:
    """One window's day (the clerk's page asks for its own alone)."""
    tickets = list(state.tickets.values()) if tickets is None else tickets
    ratings = list(state.ratings.values()) if ratings is None else ratings
    served = [t for t in tickets if t.served_by == n]
    services = [s for t in served if (s := _service_s(t)) is not None]
    return {"served": len(served), "skipped": state.windows[n].skipped,
            "service_avg_s": _avg(services), "utilisation": _utilisation(served),
            **_satisfaction([r for r in ratings if r.window == n])}


def day_stats(state: HallState) -> dict[str, Any]:
    tickets = list(state.tickets.values())
    hours: dict[str, list[Ticket]] = {}
    for t in tickets:
        hours.setdefault(f"{t.issued_at.hour:02d}", []).append(t)
    ratings = list(state.ratings.values())
    windows = {str(n): window_stats(state, n, tickets, ratings) for n in state.windows}
    clerks = {c: _satisfaction([r for r in ratings if r.clerk == c])
              for c in sorted({r.clerk for r in ratings if r.clerk})}
    return {
        "day": state.day,
        # issued by the category that issued the number; the rest by where the ticket is now
        # (a transfer moves it)
        "categories": {c: {**_summary([t for t in tickets if t.category == c]),
                           "issued": state.counters.get(c, 0)} for c in state.categories},
        "windows": windows,
        "clerks": clerks,
        "ratings": _satisfaction(ratings),
        "hours": {h: _summary(ts) for h, ts in sorted(hours.items())},
        "total": _summary(tickets),
    }
