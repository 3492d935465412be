"""Who is called next, and how long each waiting citizen should expect to wait. Pure.

A window calls, in this order: tickets transferred to it; then priority lanes in the hall's lane
order; then its categories in its own order of preference; then place in line. While a window it
backs up (AB岗) is paused or closed, it also serves that window's categories (after its own) and
the tickets transferred to it. Anti-starvation: after `priority_streak` priority calls in a row at
a window, a normal ticket that has waited `starving_after_min` or longer goes first.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from kioskd.engine.state import HallState, Ticket, WindowState


def lane_rank(state: HallState, lane: str | None) -> int:
    lanes = state.policy.lanes
    return lanes.index(lane) if lane in lanes else len(lanes)


def serves(state: HallState, w: WindowState) -> tuple[tuple[str, ...], set[int]]:
    """The categories `w` calls from now (in preference order) and whose directed tickets."""
    cats = list(w.categories)
    windows = {w.number}
    for b in w.rule.backup_for:
        other = state.windows[b]
        if other.state != "open":
            cats += [c for c in other.categories if c not in cats]
            windows.add(b)
    return tuple(cats), windows


def _for(t: Ticket, cats: tuple[str, ...], windows: set[int]) -> bool:
    return t.directed in windows if t.directed is not None else t.category in cats


def can_call(state: HallState, w: WindowState, t: Ticket) -> bool:
    return _for(t, *serves(state, w))


def _ranked(state: HallState, w: WindowState) -> list[tuple]:
    """The waiting tickets `w` may call, each as (its place in w's calling order..., ticket):
    tuples that compare in C, made in one pass (every call-next asks, over everyone waiting)."""
    cats, windows = serves(state, w)
    lanes, prefs = _ranks(state.policy.lanes), _ranks(cats)
    others, unlisted, me = len(lanes), len(cats), w.number
    return [(t.directed != me, lanes.get(t.lane, others), prefs.get(t.category, unlisted),
             t.order, t.number, t) for t in state.waiting() if _for(t, cats, windows)]


def _ranks(items) -> dict:
    """Each item's place, the first where it repeats: what tuple.index says, at a dict's cost."""
    ranks: dict = {}
    for i, item in enumerate(items):
        ranks.setdefault(item, i)
    return ranks


def candidates(state: HallState, w: WindowState) -> list[Ticket]:
    """Everyone `w` may call, in the order it calls them."""
    return [r[-1] for r in sorted(_ranked(state, w))]


def starving(state: HallState, w: WindowState, ranked: list[tuple],
             now: datetime) -> Ticket | None:
    """The normal ticket that goes before the priority lanes now, if the rule says one does."""
    if w.streak < state.policy.priority_streak:
        return None
    limit = timedelta(minutes=state.policy.starving_after_min)
    normal = [r for r in ranked if r[-1].lane is None]
    if normal and any(now - r[-1].issued_at >= limit for r in normal):
        return min(normal)[-1]
    return None


def next_for(state: HallState, w: WindowState, now: datetime) -> Ticket | None:
    # the first in calling order, not the whole order sorted: with hundreds waiting the sort
    # was most of a call's time (bench/calls.py, 100 windows at once)
    ranked = _ranked(state, w)
    if not ranked:
        return None
    first = min(ranked)[-1]
    if first.directed == w.number:
        return first  # sent to this window: first, before the lanes and their streak rule
    if lane_rank(state, first.lane) < len(state.policy.lanes):
        return starving(state, w, ranked, now) or first
    return first


# --- honest waiting information ----------------------------------------------------------------
def ahead_of(state: HallState, category: str, lane: str | None, order: int) -> int:
    """Waiting tickets of the category that a window would call before this one."""
    rank = lane_rank(state, lane)
    return sum(1 for t in state.waiting((category,))
               if (lane_rank(state, t.lane), t.order) < (rank, order))


def service_minutes(state: HallState, category: str) -> float:
    recent = state.service_s.get(category)
    if recent:
        return sum(recent) / len(recent) / 60
    return float(state.categories[category].service_min)


def open_windows_for(state: HallState, category: str) -> int:
    return sum(1 for w in state.windows.values()
               if w.state == "open" and category in serves(state, w)[0])


def estimated_wait(state: HallState, category: str, ahead: int) -> int | None:
    """Minutes until this ticket is called: the people ahead shared among the open windows
    that serve the category, each taking the category's recent average service time. None when
    no open window serves it (a number then would be a lie)."""
    return wait_from(open_windows_for(state, category), service_minutes(state, category), ahead)


def wait_from(windows: int, minutes: float, ahead: int) -> int | None:
    """estimated_wait from the category's open windows and minutes a service (a view of every
    waiting ticket works them out once a category, not once a ticket)."""
    if not windows:
        return None
    rounds = math.ceil(ahead / windows)  # services that end before a window is free for it
    return math.ceil(rounds * minutes)
