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
    return state.lines.rank(lane)


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
    rank, prefs, unlisted, me = state.lines.rank, _ranks(cats), len(cats), w.number
    return [(t.directed != me, rank(t.lane), prefs.get(t.category, unlisted), t.order,
             t.number, t) for t in state.waiting() if _for(t, cats, windows)]


def _ranks(items) -> dict:
    """Each item's place, the first where it repeats: what tuple.index says, at a dict's cost."""
    ranks: dict = {}
    for i, item in enumerate(items):
        ranks.setdefault(item, i)
    return ranks


def candidates(state: HallState, w: WindowState) -> list[Ticket]:
    """Everyone `w` may call, in the order it calls them."""
    return [r[-1] for r in sorted(_ranked(state, w))]


def next_for(state: HallState, w: WindowState, now: datetime) -> Ticket | None:
    """The first in w's calling order (as `candidates`), from the head of each line w serves
    and the few tickets sent to it: a call costs O(categories), not O(waiting)."""
    cats, windows = serves(state, w)
    lines, prefs = state.lines, _ranks(cats)
    normal_rank, unlisted, me = len(lines.lanes), len(cats), w.number
    # keys as _ranked's: (not sent to w, lane rank, w's preference, order, number)
    heads, normals, oldest = [], [], []
    for cat, pref in prefs.items():
        line = lines.of.get(cat)
        if line is None:
            continue
        rank, order, number = line.first()
        heads.append((True, rank, pref, order, number))
        normal = line.first_normal()
        if normal is not None:
            normals.append((True, normal_rank, pref, *normal))
            oldest.append(line.oldest_normal())
    for b in windows:
        for t in lines.directed.get(b, {}).values():
            key = (t.directed != me, lines.rank(t.lane), prefs.get(t.category, unlisted),
                   t.order, t.number)
            heads.append(key)
            if t.lane is None:
                normals.append(key)
                oldest.append(t.issued_at)
    if not heads:
        return None
    first = min(heads)
    if not first[0]:
        return state.tickets[first[-1]]  # sent to this window: before the lanes and their rule
    # anti-starvation: after a streak of priority calls, a normal ticket that waited too long
    if (first[1] < normal_rank and w.streak >= state.policy.priority_streak
            and oldest and now - min(oldest) >= timedelta(minutes=state.policy.starving_after_min)):
        return state.tickets[min(normals)[-1]]
    return state.tickets[first[-1]]


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
